package datagen

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/runtime/connect"
)

// Source partition and offset fields.
const (
	taskField = "task"
	seqField  = "seq"
)

// idleWait is how long a task that has generated all its iterations waits
// in one poll.
const idleWait = time.Second

// task generates records; see the package documentation.
type task struct {
	topic      string
	batchSize  int
	iterations int64 // < 1: unlimited
	next       int64 // seq of the next record
	partition  map[string]any
	gen        *generator
	pace       pacer
}

// Start implements connect.SourceTask: it reads the config and resumes
// after the committed seq.
func (t *task) Start(ctx connect.SourceTaskContext, config map[string]string) error {
	cfg, err := Config.Parse(config)
	if err != nil {
		return fmt.Errorf("start DatagenTask: %w", err)
	}
	id, err := taskID(config)
	if err != nil {
		return err
	}
	seed := rand.Uint64()
	if !cfg.IsNull(RandomSeedConfig) {
		seed = uint64(cfg.Int(RandomSeedConfig))
	}
	qs := findQuickstart(strings.ToLower(cfg.String(QuickstartConfig)))
	t.topic = cfg.String(TopicConfig)
	t.batchSize = int(cfg.Int(BatchSizeConfig))
	t.iterations = cfg.Int(IterationsConfig)
	t.partition = map[string]any{taskField: id}
	t.gen = newGenerator(qs, seed, id, cfg.Int(KeyCardinalityConfig), int(cfg.Int(MessageSizeConfig)))
	t.pace = pacer{rate: cfg.Double(RateConfig), maxInterval: time.Duration(cfg.Int(MaxIntervalConfig)) * time.Millisecond}
	t.next, err = resumeSeq(ctx, t.partition)
	return err
}

func taskID(config map[string]string) (int64, error) {
	raw, ok := config[TaskIDConfig]
	if !ok {
		return 0, nil
	}
	id, err := strconv.ParseInt(strings.TrimSpace(raw), 10, 32)
	if err != nil || id < 0 {
		return 0, fmt.Errorf("start DatagenTask: %w", connect.NewConfigError(TaskIDConfig,
			"Invalid value %s for configuration %s: Not a number of type INT", raw, TaskIDConfig))
	}
	return id, nil
}

// resumeSeq returns the seq after the committed one, or 0.
func resumeSeq(ctx connect.SourceTaskContext, partition map[string]any) (int64, error) {
	if ctx == nil {
		return 0, nil
	}
	off, err := ctx.Offset(partition)
	if err != nil {
		return 0, fmt.Errorf("read committed offset of task %v: %w", partition[taskField], err)
	}
	seq, ok, err := off.Int(seqField)
	if err != nil {
		return 0, fmt.Errorf("resume task %v: committed seq %v: %w", partition[taskField], off[seqField], err)
	}
	if seq < 0 {
		return 0, fmt.Errorf("resume task %v: committed seq %d: %w: a seq is not negative", partition[taskField], seq, connect.ErrOffset)
	}
	if !ok {
		return 0, nil
	}
	return seq + 1, nil
}

// Poll implements connect.SourceTask: it waits until records are due and
// returns up to batch.size of them.
func (t *task) Poll(ctx context.Context) ([]*connect.Record, error) {
	n := t.batchSize
	if t.iterations > 0 {
		left := t.iterations - t.next
		if left <= 0 {
			sleep(ctx, idleWait)
			return nil, nil
		}
		n = int(min(int64(n), left))
	}
	n = t.pace.take(ctx, n)
	if n == 0 {
		return nil, nil
	}
	return t.generate(n), nil
}

// generate returns the next n records, allocated together.
func (t *task) generate(n int) []*connect.Record {
	now := time.Now()
	recs := make([]connect.Record, n)
	out := make([]*connect.Record, n)
	for i := range recs {
		r := &recs[i]
		r.Topic = t.topic
		r.Partition = connect.AnyPartition
		r.Timestamp = now
		r.SourcePartition = t.partition
		t.gen.fill(r, t.next, now)
		t.next++
		out[i] = r
	}
	return out
}

// Stop implements connect.SourceTask.
func (t *task) Stop() error { return nil }
