package worker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/runtime/storage"
)

// Exactly-once source support (KIP-618): with
// exactly.once.source.support=enabled each source task produces through a
// transactional producer (transactional id <group.id>-<connector>-<task>)
// and writes its source offsets to the offsets topic in the same
// transaction as the records, so a record is in the topic exactly when its
// offset is. A restarted task — on any worker — fences its predecessor by
// initialising the same transactional id, which also aborts whatever the
// predecessor left open; the leader fences every task of a connector
// before new task configs take effect.

// txnOffsets is the offset store exactly-once tasks write through.
type txnOffsets interface {
	Records(connector string, entries []storage.OffsetEntry) ([]*kgo.Record, error)
	Committed(connector string, entries []storage.OffsetEntry, recs []*kgo.Record)
}

// txnSource configures a source task for exactly-once delivery.
type txnSource struct {
	offsets  txnOffsets
	interval time.Duration // 0: commit after every poll
	open     bool
	started  time.Time
}

// exactlyOnce reports whether source tasks run with transactions.
func (h *Herder) exactlyOnce() bool { return h.cfg.ExactlyOnceSource == "enabled" }

// transactionalID is Kafka's id for a source task's producer.
func (h *Herder) transactionalID(id ConnectorTaskID) string {
	return fmt.Sprintf("%s-%s-%d", h.cfg.GroupID, id.Connector, id.Task)
}

// beginTxn opens a transaction before the first record of a batch.
func (t *sourceTask) beginTxn() error {
	if t.txn == nil || t.txn.open {
		return nil
	}
	if err := t.producer.BeginTransaction(); err != nil {
		return fmt.Errorf("begin transaction of %s: %w", t.id, err)
	}
	t.txn.open, t.txn.started = true, time.Now()
	return nil
}

// txnDue reports whether the open transaction should commit now.
func (t *sourceTask) txnDue() bool {
	return t.txn != nil && t.txn.open && (t.txn.interval == 0 || time.Since(t.txn.started) >= t.txn.interval)
}

// commitTxn writes the batch's source offsets into the transaction and
// commits it.
func (t *sourceTask) commitTxn(ctx context.Context) error {
	if t.txn == nil || !t.txn.open {
		return nil
	}
	if err := t.producer.Flush(ctx); err != nil {
		return t.abortTxn(fmt.Errorf("flush transaction of %s: %w", t.id, err))
	}
	if err := t.asyncFailure(); err != nil {
		return t.abortTxn(err)
	}
	entries := t.tracker.take()
	recs, err := t.txn.offsets.Records(t.id.Connector, entries)
	if err != nil {
		return t.abortTxn(fmt.Errorf("source offsets of %s: %w", t.id, err))
	}
	for _, r := range recs {
		if err := t.producer.ProduceSync(ctx, r).FirstErr(); err != nil {
			return t.abortTxn(fmt.Errorf("write source offsets of %s in its transaction: %w", t.id, err))
		}
	}
	if err := t.producer.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.txn.open = false
		return fmt.Errorf("commit transaction of %s: %w", t.id, err)
	}
	t.txn.open = false
	t.txn.offsets.Committed(t.id.Connector, entries, recs)
	t.notifyCommit(committedOffsets(entries))
	return nil
}

// abortTxn aborts the open transaction and returns cause.
func (t *sourceTask) abortTxn(cause error) error {
	if t.txn == nil || !t.txn.open {
		return cause
	}
	t.txn.open = false
	actx, cancel := context.WithTimeout(context.Background(), t.timeout)
	defer cancel()
	if err := t.producer.AbortBufferedRecords(actx); err != nil {
		return errors.Join(cause, err)
	}
	if err := t.producer.EndTransaction(actx, kgo.TryAbort); err != nil {
		return errors.Join(cause, fmt.Errorf("abort transaction of %s: %w", t.id, err))
	}
	return cause
}

// fenceTasks fences the transactional producers of a connector's tasks
// 0..count-1, so no task of an older generation can commit again (Kafka's
// zombie fencing before new task configs are written).
func (h *Herder) fenceTasks(ctx context.Context, connector string, count int) error {
	for i := range count {
		id := h.transactionalID(ConnectorTaskID{Connector: connector, Task: i})
		req := kmsg.NewPtrInitProducerIDRequest()
		req.TransactionalID = &id
		req.TransactionTimeoutMillis = 60000
		req.ProducerID, req.ProducerEpoch = -1, -1
		resp, err := req.RequestWith(ctx, h.admin)
		if err == nil {
			err = kerr.ErrorForCode(resp.ErrorCode)
		}
		if err != nil {
			return fmt.Errorf("fence producer %s: %w", id, err)
		}
	}
	return nil
}

// isFenced reports an error a newer instance of the task caused: the task
// must not restart here.
func isFenced(err error) bool {
	return errors.Is(err, kerr.ProducerFenced) || errors.Is(err, kerr.InvalidProducerEpoch) || errors.Is(err, kerr.TransactionalIDAuthorizationFailed)
}
