package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/runtime/connect"
	"github.com/sluicehq/sluice/runtime/convert"
	"github.com/sluicehq/sluice/runtime/transform"
)

// sourceTask runs one SourceTask: poll → transforms → converters → produce,
// committing source offsets only for records the broker acknowledged.
type sourceTask struct {
	id       ConnectorTaskID
	task     connect.SourceTask
	class    string
	config   map[string]string
	chain    *transform.Chain
	conv     converters
	dlqConv  connect.Converter // schemaless JSON, for the DLQ
	tol      *tolerance
	producer *kgo.Client
	// delivery is the producer's delivery.timeout.ms; reach hears how its
	// connections go, for the error when records time out.
	delivery time.Duration
	reach    *taskReach
	offsets  OffsetStore
	topics   *topicSetup
	interval time.Duration
	timeout  time.Duration
	logger   *slog.Logger
	state    *taskState

	tracker *submitted
	txn     *txnSource // nil unless exactly-once
	metrics *taskMetrics
	// failure holds the first asynchronous produce error that fails the
	// task.
	failOnce sync.Once
	failErr  error
	failed   chan struct{}
}

// sourceContext is the task's SourceTaskContext.
type sourceContext struct {
	connector string
	config    map[string]string
	offsets   OffsetStore
	logger    *slog.Logger
}

// Logger implements connect.SourceTaskContext.
func (c *sourceContext) Logger() *slog.Logger { return c.logger }

func (c *sourceContext) Offset(partition map[string]any) (connect.Offset, error) {
	return c.offsets.Get(c.connector, partition)
}

func (c *sourceContext) Config() map[string]string { return c.config }

// run executes the task until ctx is cancelled or the task fails; it always
// ends with a final offset commit of what the broker acknowledged.
func (t *sourceTask) run(ctx context.Context) error {
	t.tracker = newSubmitted()
	t.failed = make(chan struct{})
	sctx := &sourceContext{connector: t.id.Connector, config: t.config, offsets: t.offsets, logger: connect.Logger(ctx)}
	if err := t.task.Start(sctx, t.config); err != nil {
		return fmt.Errorf("start source task %s (%s): %w", t.id, t.class, err)
	}
	t.state.set(StateRunning, "")
	t.logger.Info("source task started")

	commitCtx, stopCommitter := context.WithCancel(context.WithoutCancel(ctx))
	committerDone := make(chan struct{})
	go func() {
		defer close(committerDone)
		if t.txn == nil {
			t.commitLoop(commitCtx)
		}
	}()

	loopErr := t.loop(ctx)

	stopCommitter()
	<-committerDone
	if t.txn != nil {
		// Commit what was produced since the last boundary; a failed task
		// aborts instead.
		if loopErr == nil {
			loopErr = t.asyncFailure()
		}
		tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), t.timeout)
		var txnErr error
		if loopErr == nil {
			txnErr = t.commitTxn(tctx)
		} else {
			txnErr = t.abortTxn(nil)
		}
		cancel()
		stopErr := t.task.Stop()
		return errors.Join(loopErr, txnErr, wrapStop(t.id, stopErr))
	}
	// Final commit: wait for in-flight records (bounded), then commit what
	// was acknowledged.
	flushCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), t.timeout)
	if err := t.producer.Flush(flushCtx); err != nil {
		t.logger.Warn("records still in flight at shutdown; their offsets are not committed", "outstanding", t.tracker.outstanding(), "error", err)
	}
	cancel()
	commitErr := t.commit(context.WithoutCancel(ctx))
	stopErr := t.task.Stop()
	if loopErr == nil {
		loopErr = t.asyncFailure()
	}
	if loopErr != nil {
		return loopErr
	}
	if commitErr != nil {
		return commitErr
	}
	if stopErr != nil {
		return fmt.Errorf("stop source task %s: %w", t.id, stopErr)
	}
	return nil
}

func (t *sourceTask) loop(ctx context.Context) error {
	retry := pollRetry{s: t.tol.s}
	for {
		if err := t.state.waitRunnable(ctx); err != nil {
			return nil
		}
		select {
		case <-t.failed:
			return t.asyncFailure()
		default:
		}
		records, err := t.task.Poll(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			if errors.Is(err, connect.ErrRetriable) {
				wait, gaveUp := retry.failed(time.Now(), err)
				if gaveUp != nil {
					return fmt.Errorf("poll source task %s (%s): %w", t.id, t.class, gaveUp)
				}
				t.logger.Warn("source task poll failed, retrying", "retry_in", wait, "error", err)
				if !sleep(ctx, wait) {
					return nil
				}
				continue
			}
			return fmt.Errorf("poll source task %s (%s): %w", t.id, t.class, err)
		}
		retry.succeeded()
		t.metrics.polled.Add(int64(len(records)))
		if len(records) > 0 {
			if err := t.beginTxn(); err != nil {
				return err
			}
		}
		batch := newDeliveryBatch(ctx, t.delivery, len(records))
		for i, r := range records {
			if err := t.send(ctx, batch, r); err != nil {
				batch.releaseN(len(records) - i) // the records never sent, and the loop
				return t.abortTxn(err)
			}
		}
		batch.release()
		if t.txnDue() {
			if err := t.commitTxn(ctx); err != nil {
				return err
			}
		}
	}
}

func wrapStop(id ConnectorTaskID, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("stop source task %s: %w", id, err)
}

// send transforms, converts and produces one record of batch.
func (t *sourceTask) send(ctx context.Context, batch *deliveryBatch, r *connect.Record) error {
	produced := false
	defer func() {
		if !produced {
			batch.release()
		}
	}()
	pending := t.tracker.submit(r.SourcePartition, r.SourceOffset)
	if raw, isRaw := r.Value.(connect.RawJSON); isRaw && !t.passesRawJSON() {
		ok, ferr := t.tol.run(ctx, failure{stage: StageValueConverter, class: t.conv.valueClass, rec: r, rawFn: func() *kgo.Record { return t.dlqRecord(r) }}, func() error {
			v, err := convert.DecodeRawJSON(raw)
			if err == nil {
				r.Value = v
			}
			return err
		})
		if ferr != nil {
			return ferr
		}
		if !ok {
			t.skip(pending, r)
			return nil
		}
	}
	out := r
	var err error
	ok, ferr := t.tol.run(ctx, failure{stage: StageTransformation, class: "transforms", rec: r, rawFn: func() *kgo.Record { return t.dlqRecord(r) }}, func() error {
		out, err = t.chain.Apply(r)
		return err
	})
	if ferr != nil {
		return ferr
	}
	if !ok || out == nil {
		t.skip(pending, r)
		return nil
	}
	kr, ok, ferr := t.convert(ctx, r, out)
	if ferr != nil {
		return ferr
	}
	if !ok {
		t.skip(pending, r)
		return nil
	}
	if err := t.topics.ensure(ctx, kr.Topic, t.id); err != nil {
		return err
	}
	produced = true
	t.producer.Produce(batch.ctx, kr, func(_ *kgo.Record, err error) {
		batch.release()
		if err != nil {
			if ctx.Err() != nil {
				return // shutting down: the offset stays uncommitted
			}
			if t.tol.s.toleranceAll {
				t.tol.skipped.Add(1)
				t.logger.Error("record could not be produced, skipped under errors.tolerance=all", "record", r.String(), "topic", kr.Topic, "error", err)
				t.skip(pending, r) // CommitRecord too, as Kafka calls commitRecord with null metadata
				return
			}
			t.fail(t.produceError(r, kr.Topic, err))
			return
		}
		t.tracker.ack(pending)
		t.metrics.written.Add(1)
		if c, ok := t.task.(connect.SourceTaskCommitter); ok {
			if err := c.CommitRecord(r); err != nil {
				t.logger.Warn("commit record", "error", err)
			}
		}
	})
	return nil
}

// passesRawJSON reports whether a connect.RawJSON value may reach the
// value converter as it is: no transform looks into it and the converter
// writes it verbatim. Otherwise send decodes it first, in the record
// itself (the connector gets the same record back in CommitRecord).
func (t *sourceTask) passesRawJSON() bool {
	w, ok := t.conv.value.(connect.RawJSONWriter)
	return ok && t.chain.Len() == 0 && w.WritesRawJSON()
}

// produceError is the task's error for a record the producer failed. A
// record that timed out says after how long, and why: the connection
// failure the task's clients saw last (the producer only says it timed
// out), else the producer's own last error.
func (t *sourceTask) produceError(r *connect.Record, topic string, err error) error {
	if !errors.Is(err, kgo.ErrRecordTimeout) && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("produce %s to topic %s: %w", r, topic, err)
	}
	cause := err
	if dial := t.reach.err(); dial != nil {
		cause = dial
	}
	return fmt.Errorf("produce to topic %s: records not delivered within delivery.timeout.ms=%d: %w", topic, t.delivery.Milliseconds(), cause)
}

// skip acknowledges a record that was filtered out, parked in the DLQ or
// dropped under errors.tolerance=all:
// its offset may be committed.
func (t *sourceTask) skip(p *pendingRecord, r *connect.Record) {
	t.tracker.ack(p)
	if c, ok := t.task.(connect.SourceTaskCommitter); ok {
		if err := c.CommitRecord(r); err != nil {
			t.logger.Warn("commit record", "error", err)
		}
	}
}

// convert turns a transformed record into a Kafka record, with the error
// tolerance of each converter stage.
func (t *sourceTask) convert(ctx context.Context, orig, r *connect.Record) (*kgo.Record, bool, error) {
	kr := &kgo.Record{Topic: r.Topic, Partition: r.Partition}
	if !r.Timestamp.IsZero() {
		kr.Timestamp = r.Timestamp
	}
	var err error
	dlq := func() *kgo.Record { return t.dlqRecord(orig) }
	for _, h := range r.Headers {
		var b []byte
		ok, ferr := t.tol.run(ctx, failure{stage: StageHeaderConverter, class: t.conv.headerClass, rec: orig, rawFn: dlq}, func() error {
			b, err = t.conv.header.FromConnectHeader(r.Topic, h.Key, h.Schema, h.Value)
			return err
		})
		if ferr != nil || !ok {
			return nil, false, ferr
		}
		kr.Headers = append(kr.Headers, kgo.RecordHeader{Key: h.Key, Value: b})
	}
	ok, ferr := t.tol.run(ctx, failure{stage: StageKeyConverter, class: t.conv.keyClass, rec: orig, rawFn: dlq}, func() error {
		kr.Key, err = t.conv.key.FromConnect(r.Topic, r.Headers, r.KeySchema, r.Key)
		return err
	})
	if ferr != nil || !ok {
		return nil, false, ferr
	}
	ok, ferr = t.tol.run(ctx, failure{stage: StageValueConverter, class: t.conv.valueClass, rec: orig, rawFn: dlq}, func() error {
		kr.Value, err = t.conv.value.FromConnect(r.Topic, r.Headers, r.ValueSchema, r.Value)
		return err
	})
	if ferr != nil || !ok {
		return nil, false, ferr
	}
	return kr, true, nil
}

// dlqRecord renders a source record for the dead letter queue: Kafka has
// no DLQ for sources, Sluice parks the record as schemaless JSON so it can
// be inspected and replayed.
func (t *sourceTask) dlqRecord(r *connect.Record) *kgo.Record {
	k, _ := t.dlqConv.FromConnect(r.Topic, nil, r.KeySchema, r.Key)
	v, _ := t.dlqConv.FromConnect(r.Topic, nil, r.ValueSchema, r.Value)
	return &kgo.Record{Topic: r.Topic, Key: k, Value: v}
}

func (t *sourceTask) fail(err error) {
	t.failOnce.Do(func() {
		t.failErr = err
		close(t.failed)
	})
}

func (t *sourceTask) asyncFailure() error {
	select {
	case <-t.failed:
		return t.failErr
	default:
		return nil
	}
}

// commitLoop commits source offsets every offset.flush.interval.ms.
func (t *sourceTask) commitLoop(ctx context.Context) {
	tick := time.NewTicker(t.interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if err := t.commit(ctx); err != nil {
				t.logger.Warn("source offset commit failed; retrying at the next interval", "error", err)
			}
		}
	}
}

// commit writes the acknowledged offsets to the offset store, then tells
// the task.
func (t *sourceTask) commit(ctx context.Context) error {
	entries := t.tracker.take()
	if len(entries) == 0 {
		return nil
	}
	wctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	if err := t.offsets.Set(wctx, t.id.Connector, entries); err != nil {
		t.tracker.restore(entries)
		t.metrics.commitErr.Add(1)
		return fmt.Errorf("commit source offsets of %s: %w", t.id, err)
	}
	t.metrics.commits.Add(1)
	t.notifyCommit(committedOffsets(entries))
	return nil
}

// notifyCommit tells a SourceTaskCommitter the offsets just committed.
func (t *sourceTask) notifyCommit(committed []connect.SourceOffset) {
	c, ok := t.task.(connect.SourceTaskCommitter)
	if !ok {
		return
	}
	if err := c.Commit(committed); err != nil {
		t.logger.Warn("source task commit", "error", err)
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}

// deliveryBatch bounds the delivery of one poll's records by
// delivery.timeout.ms from when they are sent, through the context they
// are produced with. franz-go's own RecordDeliveryTimeout counts from a
// batch's first record Timestamp, which a source sets to the event's own
// time: a record older than the timeout (a replayed log line, a change
// captured an hour ago) would fail at once.
type deliveryBatch struct {
	ctx    context.Context
	cancel context.CancelFunc
	left   atomic.Int64 // records not yet done, plus one for the send loop
}

func newDeliveryBatch(parent context.Context, timeout time.Duration, n int) *deliveryBatch {
	b := &deliveryBatch{}
	if timeout > 0 {
		b.ctx, b.cancel = context.WithTimeout(parent, timeout)
	} else {
		b.ctx, b.cancel = context.WithCancel(parent)
	}
	b.left.Store(int64(n) + 1)
	return b
}

// release marks one record (or the send loop) done; the last releases
// the context's timer.
func (b *deliveryBatch) release() { b.releaseN(1) }

// releaseN marks n records done.
func (b *deliveryBatch) releaseN(n int) {
	if b.left.Add(-int64(n)) == 0 {
		b.cancel()
	}
}
