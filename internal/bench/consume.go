package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// ConsumeResult is what one [Consume] run measured.
type ConsumeResult struct {
	// Records is the number of records read.
	Records int
	// Bytes is the key and value bytes read.
	Bytes int64
	// Elapsed runs from when the client could fetch (connected, or for a
	// group, first assigned partitions) to the last record read, so a
	// group's join does not count against the broker's read rate.
	Elapsed time.Duration
}

// RecordsPerSec is the record read rate.
func (r ConsumeResult) RecordsPerSec() float64 {
	return perSecond(float64(r.Records), r.Elapsed)
}

// MBPerSec is the read throughput in MiB (2^20 bytes) per second.
func (r ConsumeResult) MBPerSec() float64 {
	return perSecond(float64(r.Bytes)/(1<<20), r.Elapsed)
}

// Consume reads o.Topic until o.Records records are read or every partition
// has been read up to the end offset it had when the run started, whichever
// comes first. Without a group it reads every partition from its start;
// with one it reads from the group's committed offsets and, at the end,
// commits exactly the records it counted. It prints a progress line to
// progress every second (nil prints nothing).
//
// A run that hits o.Timeout or a cancelled ctx returns what it read so far
// together with the error. A partition whose tail is a transaction marker or
// was compacted away never shows its last offset, so such a topic ends by
// timeout unless o.Records is set.
func Consume(ctx context.Context, o ConsumeOptions, progress io.Writer) (ConsumeResult, error) {
	o = o.withDefaults()
	if err := o.Validate(); err != nil {
		return ConsumeResult{}, fmt.Errorf("consume options: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()

	ends, total, err := consumeTargets(ctx, o)
	if err != nil {
		return ConsumeResult{}, err
	}
	if o.Records > 0 {
		total = min(total, int64(o.Records))
	}
	if total == 0 {
		return ConsumeResult{}, nil
	}

	c := &consumer{topic: o.Topic, group: o.Group, limit: o.Records, ends: ends}
	cl, err := c.newClient(ctx, o)
	if err != nil {
		return ConsumeResult{}, err
	}
	defer cl.Close()

	stop := startProgress(progress, progressInterval, "consume", total, &c.done)
	err = c.readAll(ctx, cl)
	stop()
	r := ConsumeResult{Records: int(c.done.records.Load()), Bytes: c.done.bytes.Load(), Elapsed: c.elapsed()}
	if err != nil {
		return r, fmt.Errorf("consume topic %s: read %d of %d records: %w", o.Topic, r.Records, total, err)
	}
	return r, nil
}

// consumeTargets returns the end offset of every partition of o.Topic that
// has records to read from where this run starts, and how many records
// that is in all.
func consumeTargets(ctx context.Context, o ConsumeOptions) (map[int32]int64, int64, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(o.Brokers...), kgo.ClientID("sluice-bench-admin"))
	if err != nil {
		return nil, 0, fmt.Errorf("create admin client: %w", err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)

	ends, err := listOffsets(ctx, adm.ListEndOffsets, o.Topic, "end")
	if err != nil {
		return nil, 0, err
	}
	starts, err := listOffsets(ctx, adm.ListStartOffsets, o.Topic, "start")
	if err != nil {
		return nil, 0, err
	}
	var committed kadm.OffsetResponses
	if o.Group != "" {
		// A group that never committed is new, not an error (kfake says so
		// with GROUP_ID_NOT_FOUND, Kafka with no offsets).
		committed, err = adm.FetchOffsets(ctx, o.Group)
		if err != nil && !errors.Is(err, kerr.GroupIDNotFound) {
			return nil, 0, fmt.Errorf("fetch committed offsets of group %s: %w", o.Group, err)
		}
	}

	targets := make(map[int32]int64)
	var total int64
	for p, end := range ends[o.Topic] {
		from := starts[o.Topic][p].Offset
		if c, ok := committed.Lookup(o.Topic, p); ok && c.Err == nil && c.At >= 0 {
			from = max(from, c.At)
		}
		if end.Offset > from {
			targets[p] = end.Offset
			total += end.Offset - from
		}
	}
	return targets, total, nil
}

// listOffsets calls list for topic and fails if any partition, or the
// topic itself, is missing from the answer.
func listOffsets(ctx context.Context, list func(context.Context, ...string) (kadm.ListedOffsets, error), topic, which string) (kadm.ListedOffsets, error) {
	offsets, err := list(ctx, topic)
	if err == nil {
		err = offsets.Error()
	}
	if err == nil && len(offsets[topic]) == 0 {
		err = kerr.UnknownTopicOrPartition
	}
	if err != nil {
		return nil, fmt.Errorf("list %s offsets of topic %s: %w", which, topic, err)
	}
	return offsets, nil
}

// consumer reads one topic and tracks what is left.
type consumer struct {
	topic string
	group string          // empty: no group
	limit int             // 0: no limit
	ends  map[int32]int64 // partitions not yet read to their end offset
	done  counter

	mu          sync.Mutex // guards the times: kgo sets start from its own goroutine
	start, last time.Time
}

func (c *consumer) newClient(ctx context.Context, o ConsumeOptions) (*kgo.Client, error) {
	opts := []kgo.Opt{
		kgo.SeedBrokers(o.Brokers...),
		kgo.ClientID("sluice-bench"),
		kgo.ConsumeTopics(o.Topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
	}
	if o.Group != "" {
		opts = append(opts, kgo.ConsumerGroup(o.Group), kgo.AutoCommitMarks(),
			kgo.OnPartitionsAssigned(func(context.Context, *kgo.Client, map[string][]int32) { c.started() }))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("create consumer client: %w", err)
	}
	if err := cl.Ping(ctx); err != nil {
		cl.Close()
		return nil, fmt.Errorf("connect consumer client to %v: %w", o.Brokers, err)
	}
	if o.Group == "" {
		c.started()
	}
	return cl, nil
}

// started marks the start of the timed read; later calls (rebalances) do
// not move it.
func (c *consumer) started() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.start.IsZero() {
		c.start = time.Now()
	}
}

func (c *consumer) elapsed() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.start.IsZero() || c.last.Before(c.start) {
		return 0
	}
	return c.last.Sub(c.start)
}

// readAll polls until the limit or every end offset is reached. In a group
// it marks what it counted and commits that at the end, so a limited run
// leaves the group exactly past the records it read.
func (c *consumer) readAll(ctx context.Context, cl *kgo.Client) error {
	for len(c.ends) > 0 && !c.limitReached() {
		maxRecords := 0 // no limit: PollRecords polls like PollFetches
		if c.limit > 0 {
			maxRecords = c.limit - int(c.done.records.Load())
		}
		fetches := cl.PollRecords(ctx, maxRecords)
		if err := ctx.Err(); err != nil {
			return err
		}
		var errs []error
		fetches.EachError(func(t string, p int32, err error) {
			errs = append(errs, fmt.Errorf("fetch topic %s partition %d: %w", t, p, err))
		})
		if err := errors.Join(errs...); err != nil {
			return err
		}
		fetches.EachPartition(func(fp kgo.FetchTopicPartition) {
			if read := c.count(fp); c.group != "" {
				cl.MarkCommitRecords(read...)
			}
		})
		c.mu.Lock()
		c.last = time.Now()
		c.mu.Unlock()
	}
	if c.group != "" {
		if err := cl.CommitMarkedOffsets(ctx); err != nil {
			return fmt.Errorf("commit offsets of group %s: %w", c.group, err)
		}
	}
	return nil
}

func (c *consumer) limitReached() bool {
	return c.limit > 0 && c.done.records.Load() >= int64(c.limit)
}

// count adds the records of one fetched partition, up to the limit, and
// returns the ones it counted.
func (c *consumer) count(fp kgo.FetchTopicPartition) []*kgo.Record {
	if len(fp.Records) == 0 {
		return nil
	}
	recs := fp.Records
	if c.limit > 0 {
		recs = recs[:min(len(recs), c.limit-int(c.done.records.Load()))]
	}
	var bytes int64
	for _, r := range recs {
		bytes += int64(len(r.Key) + len(r.Value))
	}
	c.done.add(int64(len(recs)), bytes)
	if end, ok := c.ends[fp.Partition]; ok && fp.Records[len(fp.Records)-1].Offset+1 >= end {
		delete(c.ends, fp.Partition)
	}
	return recs
}
