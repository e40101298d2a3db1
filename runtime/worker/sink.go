package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/runtime/connect"
	"github.com/sluicehq/sluice/runtime/transform"
)

// maxPollRecords bounds one batch handed to Put (Kafka's max.poll.records
// default).
const maxPollRecords = 500

// sinkTask runs one SinkTask: consume (group connect-<name>) → converters
// → transforms → put, and commits consumer offsets only for what the task
// flushed.
type sinkTask struct {
	id       ConnectorTaskID
	task     connect.SinkTask
	class    string
	config   map[string]string
	chain    *transform.Chain
	conv     converters
	tol      *tolerance
	consumer *kgo.Client
	// consumerOpts build the consumer once Start returned, as Kafka's
	// WorkerSinkTask subscribes only after starting the task: the group's
	// first assignment (Open) then never races Start.
	consumerOpts []kgo.Opt
	// clientOpts reach the worker's Kafka cluster, for KafkaClientOpts.
	clientOpts []kgo.Opt
	interval   time.Duration
	timeout    time.Duration
	logger     *slog.Logger
	state      *taskState
	track      func(topic string)
	maxPoll    int // records per Put (max.poll.records)
	metrics    *taskMetrics

	// current is the next offset to read per partition, after Put.
	current map[connect.TopicPartition]int64
	// committed is what was last committed.
	committed map[connect.TopicPartition]int64
	lastFlush time.Time
	// dead is set once the task failed: nothing more is committed.
	dead bool

	mu      sync.Mutex // guards rewinds and the raw records
	rewinds map[connect.TopicPartition]int64
	// batchRaw maps each record put since its offset was last flushed to
	// the consumed record, so that Report can send a record of an earlier
	// Put to the dead letter queue (a batching sink reports failures in a
	// later Put or in Flush); Flush's safe offsets prune it.
	batchRaw map[*connect.Record]*kgo.Record
	ctx      context.Context
}

func (t *sinkTask) Config() map[string]string { return t.config }

// Logger implements connect.SinkTaskContext: the plugin's logger, which
// the worker put in the task's context.
func (t *sinkTask) Logger() *slog.Logger { return connect.Logger(t.ctx) }

// Rewind implements connect.SinkTaskContext.
func (t *sinkTask) Rewind(tp connect.TopicPartition, offset int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.rewinds == nil {
		t.rewinds = map[connect.TopicPartition]int64{}
	}
	t.rewinds[tp] = offset
}

// Report implements connect.SinkTaskContext (KIP-610's errant record
// reporter).
func (t *sinkTask) Report(r *connect.Record, err error) error {
	t.mu.Lock()
	raw := t.batchRaw[r]
	t.mu.Unlock()
	return t.tol.handle(t.ctx, failure{stage: StageTaskPut, class: t.class, rec: r, raw: raw, err: err})
}

// KafkaClientOpts returns the options that reach the worker's Kafka
// cluster (seed brokers, TLS, SASL): an optional capability of the sink
// task context, found by type assertion, for a sink that produces records
// of its own (the HTTP sink's success and error reporter) to the worker's
// cluster by default.
func (t *sinkTask) KafkaClientOpts() []kgo.Opt {
	return slices.Clone(t.clientOpts)
}

// run executes the task until ctx is cancelled or the task fails, ending
// with a final flush and commit.
func (t *sinkTask) run(ctx context.Context) error {
	t.ctx = ctx
	t.current = map[connect.TopicPartition]int64{}
	t.committed = map[connect.TopicPartition]int64{}
	if err := t.task.Start(t, t.config); err != nil {
		return fmt.Errorf("start sink task %s (%s): %w", t.id, t.class, err)
	}
	consumer, err := kgo.NewClient(t.consumerOpts...)
	if err != nil {
		_ = t.task.Stop()
		return fmt.Errorf("consumer for sink task %s: %w", t.id, err)
	}
	t.consumer = consumer
	t.state.set(StateRunning, "")
	t.logger.Info("sink task started")
	t.lastFlush = time.Now()
	loopErr := t.loop(ctx)
	t.dead = t.dead || loopErr != nil
	var commitErr error
	if loopErr == nil {
		commitErr = t.flushAndCommit(context.WithoutCancel(ctx), nil)
	}
	t.closeConsumer()
	stopErr := t.task.Stop()
	switch {
	case loopErr != nil:
		return loopErr
	case commitErr != nil:
		return commitErr
	case stopErr != nil:
		return fmt.Errorf("stop sink task %s: %w", t.id, stopErr)
	}
	return nil
}

// closeConsumer leaves the consumer group and closes the client, waiting
// at most the flush timeout: leaving waits for a rebalance in progress,
// which a dead member of the group can hold up until its session expires.
func (t *sinkTask) closeConsumer() {
	done := make(chan struct{})
	go func() {
		defer close(done)
		t.consumer.CloseAllowingRebalance()
	}()
	select {
	case <-done:
	case <-time.After(t.timeout):
		t.logger.Warn("sink consumer still leaving its group; not waiting for it")
	}
}

func (t *sinkTask) loop(ctx context.Context) error {
	for {
		if err := t.state.waitRunnable(ctx); err != nil {
			return nil
		}
		t.consumer.AllowRebalance()
		pollCtx, cancel := context.WithTimeout(ctx, t.untilFlush())
		fetches := t.consumer.PollRecords(pollCtx, t.maxPoll)
		cancel()
		if ctx.Err() != nil {
			return nil
		}
		if err := fatalFetchError(fetches); err != nil {
			return fmt.Errorf("consume for sink task %s: %w", t.id, err)
		}
		if err := t.deliver(ctx, fetches.Records()); err != nil {
			return err
		}
		if time.Since(t.lastFlush) >= t.interval {
			if err := t.flushAndCommit(ctx, nil); err != nil {
				return err
			}
		}
		t.applyRewinds()
	}
}

// maxPollWait bounds one PollRecords: with BlockRebalanceOnPoll a
// rebalance (e.g. a new partition of a subscribed topic) waits until the
// poll returns, so polls must be short.
const maxPollWait = 250 * time.Millisecond

func (t *sinkTask) untilFlush() time.Duration {
	d := t.interval - time.Since(t.lastFlush)
	return min(max(d, 10*time.Millisecond), maxPollWait)
}

// fatalFetchError returns the first fetch error other than a closed client
// or a cancelled context; retriable broker errors are handled inside the
// client.
func fatalFetchError(f kgo.Fetches) error {
	var err error
	f.EachError(func(topic string, p int32, e error) {
		if err == nil && !errors.Is(e, context.Canceled) && !errors.Is(e, context.DeadlineExceeded) && !errors.Is(e, kgo.ErrClientClosed) {
			err = fmt.Errorf("%s-%d: %w", topic, p, e)
		}
	})
	return err
}

// deliver converts, transforms and puts one polled batch.
func (t *sinkTask) deliver(ctx context.Context, raws []*kgo.Record) error {
	if len(raws) == 0 {
		return nil
	}
	t.metrics.read.Add(int64(len(raws)))
	batch := make([]*connect.Record, 0, len(raws))
	next := map[connect.TopicPartition]int64{}
	rawOf := make(map[*connect.Record]*kgo.Record, len(raws))
	for _, kr := range raws {
		t.track(kr.Topic)
		r, ok, err := t.convert(ctx, kr)
		if err != nil {
			return err
		}
		if ok {
			var out *connect.Record
			var terr error
			ok, err = t.tol.run(ctx, failure{stage: StageTransformation, class: "transforms", rec: r, raw: kr}, func() error {
				out, terr = t.chain.Apply(r)
				return terr
			})
			if err != nil {
				return err
			}
			if ok && out != nil {
				batch = append(batch, out)
				rawOf[out] = kr
			}
		}
		next[connect.TopicPartition{Topic: kr.Topic, Partition: kr.Partition}] = kr.Offset + 1
	}
	t.mu.Lock()
	if t.batchRaw == nil {
		t.batchRaw = rawOf
	} else {
		maps.Copy(t.batchRaw, rawOf)
	}
	t.mu.Unlock()
	if err := t.put(ctx, batch); err != nil || ctx.Err() != nil {
		// Not delivered: the offsets stay where they were.
		t.dead = err != nil
		return err
	}
	maps.Copy(t.current, next)
	t.metrics.put.Add(int64(len(batch)))
	return nil
}

// put hands a batch to the task, redelivering it after a backoff while the
// task reports retriable errors (Kafka's RetriableException from put).
func (t *sinkTask) put(ctx context.Context, batch []*connect.Record) error {
	delay := 500 * time.Millisecond
	for {
		err := t.task.Put(ctx, batch)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return nil
		}
		if !errors.Is(err, connect.ErrRetriable) {
			return fmt.Errorf("put to sink task %s (%s): %w", t.id, t.class, err)
		}
		t.logger.Warn("sink task put failed, redelivering the batch", "records", len(batch), "retry_in", delay, "error", err)
		if !sleep(ctx, delay) {
			return nil
		}
		delay = min(delay*2, 30*time.Second)
	}
}

// convert turns a consumed record into a Connect record.
func (t *sinkTask) convert(ctx context.Context, kr *kgo.Record) (*connect.Record, bool, error) {
	r := &connect.Record{
		Topic: kr.Topic, Partition: kr.Partition, Offset: kr.Offset,
		Timestamp:     kr.Timestamp,
		TimestampType: timestampType(kr),
		OriginalTopic: kr.Topic, OriginalPartition: kr.Partition, OriginalOffset: kr.Offset,
	}
	var err error
	ok, ferr := t.tol.run(ctx, failure{stage: StageKeyConverter, class: t.conv.keyClass, rec: r, raw: kr}, func() error {
		r.KeySchema, r.Key, err = t.conv.key.ToConnect(kr.Topic, nil, kr.Key)
		return err
	})
	if ferr != nil || !ok {
		return nil, false, ferr
	}
	ok, ferr = t.tol.run(ctx, failure{stage: StageValueConverter, class: t.conv.valueClass, rec: r, raw: kr}, func() error {
		r.ValueSchema, r.Value, err = t.conv.value.ToConnect(kr.Topic, nil, kr.Value)
		return err
	})
	if ferr != nil || !ok {
		return nil, false, ferr
	}
	for _, h := range kr.Headers {
		var hs *connect.Schema
		var hv any
		ok, ferr = t.tol.run(ctx, failure{stage: StageHeaderConverter, class: t.conv.headerClass, rec: r, raw: kr}, func() error {
			hs, hv, err = t.conv.header.ToConnectHeader(kr.Topic, h.Key, h.Value)
			return err
		})
		if ferr != nil || !ok {
			return nil, false, ferr
		}
		r.Headers = append(r.Headers, connect.Header{Key: h.Key, Schema: hs, Value: hv})
	}
	return r, true, nil
}

func timestampType(kr *kgo.Record) string {
	if kr.Attrs.TimestampType() == 1 {
		return "LogAppendTime"
	}
	return "CreateTime"
}

// flushAndCommit asks the task which offsets are safe (preCommit) and
// commits them to the consumer group. only limits it to some partitions
// (on revocation); nil means all.
func (t *sinkTask) flushAndCommit(ctx context.Context, only []connect.TopicPartition) error {
	t.lastFlush = time.Now()
	current := t.current
	if only != nil {
		current = map[connect.TopicPartition]int64{}
		for _, tp := range only {
			if off, ok := t.current[tp]; ok {
				current[tp] = off
			}
		}
	}
	if len(current) == 0 {
		return nil
	}
	fctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	safe, err := t.task.Flush(fctx, maps.Clone(current))
	if err != nil {
		if errors.Is(err, connect.ErrRetriable) {
			t.logger.Warn("sink task flush failed; offsets not committed, retrying at the next interval", "error", err)
			return nil
		}
		return fmt.Errorf("flush sink task %s (%s): %w", t.id, t.class, err)
	}
	t.pruneRaw(safe)
	commit := map[string]map[int32]kgo.EpochOffset{}
	for tp, off := range safe {
		if prev, ok := t.committed[tp]; ok && prev == off {
			continue
		}
		if _, ok := commit[tp.Topic]; !ok {
			commit[tp.Topic] = map[int32]kgo.EpochOffset{}
		}
		commit[tp.Topic][tp.Partition] = kgo.EpochOffset{Epoch: -1, Offset: off}
	}
	if len(commit) == 0 {
		return nil
	}
	var commitErr error
	t.consumer.CommitOffsetsSync(fctx, commit, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
		commitErr = commitResponseError(resp, err)
	})
	if commitErr != nil {
		t.metrics.commitErr.Add(1)
		t.logger.Warn("sink offset commit failed; retrying at the next interval", "error", commitErr)
		return nil
	}
	t.metrics.commits.Add(1)
	for topic, ps := range commit {
		for p, eo := range ps {
			t.committed[connect.TopicPartition{Topic: topic, Partition: p}] = eo.Offset
		}
	}
	return nil
}

// pruneRaw forgets the raw records below the offsets a Flush called safe:
// the task has settled them and will not report them.
func (t *sinkTask) pruneRaw(safe map[connect.TopicPartition]int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for r, kr := range t.batchRaw {
		if off, ok := safe[connect.TopicPartition{Topic: kr.Topic, Partition: kr.Partition}]; ok && kr.Offset < off {
			delete(t.batchRaw, r)
		}
	}
}

// applyRewinds seeks partitions the task asked to rewind.
func (t *sinkTask) applyRewinds() {
	t.mu.Lock()
	rw := t.rewinds
	t.rewinds = nil
	t.mu.Unlock()
	if len(rw) == 0 {
		return
	}
	set := map[string]map[int32]kgo.EpochOffset{}
	for tp, off := range rw {
		if set[tp.Topic] == nil {
			set[tp.Topic] = map[int32]kgo.EpochOffset{}
		}
		set[tp.Topic][tp.Partition] = kgo.EpochOffset{Epoch: -1, Offset: off}
		t.current[tp] = off
	}
	t.consumer.SetOffsets(set)
}

// onAssigned and onRevoked are the consumer's rebalance callbacks; with
// BlockRebalanceOnPoll they run while the task loop waits in PollRecords,
// so they never overlap a Put.
func (t *sinkTask) onAssigned(_ context.Context, _ *kgo.Client, assigned map[string][]int32) {
	if h, ok := t.task.(connect.SinkPartitionHandler); ok {
		if err := h.Open(toTPs(assigned)); err != nil {
			t.logger.Error("sink task open partitions", "error", err)
		}
	}
}

func (t *sinkTask) onRevoked(ctx context.Context, _ *kgo.Client, revoked map[string][]int32) {
	tps := toTPs(revoked)
	if t.dead {
		return
	}
	if err := t.flushAndCommit(context.WithoutCancel(ctx), tps); err != nil {
		t.logger.Warn("commit before partitions were revoked", "error", err)
	}
	if h, ok := t.task.(connect.SinkPartitionHandler); ok {
		if err := h.Close(tps); err != nil {
			t.logger.Warn("sink task close partitions", "error", err)
		}
	}
	for _, tp := range tps {
		delete(t.current, tp)
		delete(t.committed, tp)
	}
}

func toTPs(m map[string][]int32) []connect.TopicPartition {
	var out []connect.TopicPartition
	for topic, ps := range m {
		for _, p := range ps {
			out = append(out, connect.TopicPartition{Topic: topic, Partition: p})
		}
	}
	return out
}

// commitResponseError returns the request error or the first partition
// error of an OffsetCommit response.
func commitResponseError(resp *kmsg.OffsetCommitResponse, err error) error {
	if err != nil {
		return err
	}
	for _, tp := range resp.Topics {
		for _, p := range tp.Partitions {
			if e := kerr.ErrorForCode(p.ErrorCode); e != nil {
				return fmt.Errorf("commit %s-%d: %w", tp.Topic, p.Partition, e)
			}
		}
	}
	return nil
}
