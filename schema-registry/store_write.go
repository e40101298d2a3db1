package registry

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Writes to the topic are bounded as Confluent's KafkaStore bounds them:
// reading the topic to its end, the broker's acknowledgement and reading
// the write back each get the store timeout (kafkastore.timeout.ms). A
// broker that cannot write (a full disk answers KAFKA_STORAGE_ERROR, which
// the producer retries) therefore costs a write its timeout, not forever.
//
// Each write is one transaction of the primary's producer (fence.go).
// A write that timed out may still be in the producer: franz-go fails a
// record when its context ends only when that is safe, that is when no
// request carrying it is in flight with an unknown outcome. Such a record
// can still land later: its transaction is settled in the background,
// committed once every record is acknowledged, aborted otherwise. Until
// then no other write starts (errUnsettled): otherwise the next one would
// read a topic without the late record and could hand out its schema id
// again. A record that does land late is read and applied like any
// other, so the state stays what the topic says. A commit whose outcome
// is unknown drops the producer; the next write's InitProducerID settles
// the transaction before that write reads the topic.

// errUnsettled: an earlier write's outcome is not known yet.
var errUnsettled = errors.New("an earlier write to the topic is not acknowledged yet")

// produced is a record's outcome, as its promise reports it.
type produced struct {
	partition int32
	offset    int64
	err       error
}

// catchUp reads the topic to its end within the store timeout.
func (s *store) catchUp(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if err := s.readToEnd(ctx); err != nil {
		return fmt.Errorf("catch up with topic %s within %v: %w", s.topic, s.timeout, err)
	}
	return nil
}

// awaitSettled waits, up to the store timeout, until no record produced
// earlier is waiting for its outcome and no late transaction is being
// settled.
func (s *store) awaitSettled(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	err := s.log.Settled(ctx)
	if err == nil {
		s.mu.Lock()
		settling := s.settling
		s.mu.Unlock()
		if settling != nil {
			select {
			case <-settling:
			case <-ctx.Done():
				err = ctx.Err()
			}
		}
	}
	if err != nil {
		return fmt.Errorf("%w after %v: %w", errUnsettled, s.timeout, err)
	}
	return nil
}

// unsettled reports whether an earlier write has no outcome yet.
func (s *store) unsettled() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.settling != nil || s.log.Pending() > 0
}

// write produces records in order, in one transaction of the primary's
// producer (claimed by beginWrite; fence.go), and returns once they are
// committed and applied: the broker must acknowledge them within the
// store timeout, commit them within another, and the reader apply them
// within a third. The caller holds the write lock.
func (s *store) write(ctx context.Context, recs ...*kgo.Record) error {
	w := s.writer()
	if w == nil {
		return errNotPrimary
	}
	if s.unsettled() {
		return errUnsettled
	}
	if err := w.client.BeginTransaction(); err != nil {
		s.dropWriter()
		return fmt.Errorf("begin a transaction on topic %s: %w", s.topic, err)
	}
	if pause := s.fence.beforeProduce.Load(); pause != nil {
		(*pause)()
	}
	produceCtx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel() // fails the records still buffered, where that is safe
	// Buffered for every record: a promise never blocks, even once this
	// write has given up waiting.
	acks := make(chan produced, len(recs))
	for _, r := range recs {
		w.client.Produce(produceCtx, r, func(r *kgo.Record, err error) {
			acks <- produced{partition: r.Partition, offset: r.Offset, err: err}
		})
	}
	end := map[int32]int64{}
	var failed error
	for n := range len(recs) {
		select {
		case a := <-acks:
			if a.err != nil {
				failed = cmp.Or(failed, a.err)
			}
			end[a.partition] = max(end[a.partition], a.offset+1)
		case <-produceCtx.Done():
			s.settleLater(w, acks, len(recs)-n, failed)
			return fmt.Errorf("write to topic %s: not acknowledged within %v: %w", s.topic, s.timeout, produceCtx.Err())
		}
	}
	if failed != nil {
		s.abort(w)
		if s.fencedBy(w, failed) {
			return fmt.Errorf("write to topic %s: %w: %w", s.topic, errFenced, failed)
		}
		return fmt.Errorf("write to topic %s: %w", s.topic, failed)
	}
	if err := s.commit(ctx, w); err != nil {
		return err
	}
	readCtx, cancelRead := context.WithTimeout(ctx, s.timeout)
	defer cancelRead()
	if err := s.log.WaitFor(readCtx, end); err != nil {
		return fmt.Errorf("read back the write within %v: %w", s.timeout, err)
	}
	return nil
}

// commit ends w's transaction with a commit within the store timeout. On
// failure the producer is dropped: the commit's outcome may be unknown,
// and the next write's InitProducerID settles it before that write reads
// the topic.
func (s *store) commit(ctx context.Context, w *primaryWriter) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	err := w.client.EndTransaction(ctx, kgo.TryCommit)
	switch {
	case err == nil:
		return nil
	case s.fencedBy(w, err):
		return fmt.Errorf("commit the write to topic %s: %w: %w", s.topic, errFenced, err)
	default:
		s.dropWriter()
		return fmt.Errorf("commit the write to topic %s within %v: %w", s.topic, s.timeout, err)
	}
}

// abort ends w's transaction with an abort; when that fails the producer
// is dropped, and the next one's InitProducerID aborts the transaction.
func (s *store) abort(w *primaryWriter) {
	ctx, cancel := context.WithTimeout(s.bgCtx, s.timeout)
	defer cancel()
	err := w.client.AbortBufferedRecords(ctx)
	if err == nil {
		err = w.client.EndTransaction(ctx, kgo.TryAbort)
	}
	if err != nil && s.writer() == w {
		s.logger.Debug("abort a failed write; dropping the producer", "error", err)
		s.dropWriter()
	}
}

// settleTimeout bounds ending a late write's transaction.
const settleTimeout = 30 * time.Second

// settleLater ends the transaction of a write that gave up waiting for
// remaining records: once they all have an outcome it commits them (the
// write may still land, as a late record of a plain producer would) or
// aborts them. Until then no other write begins (errUnsettled). It runs
// on the store's background group, which close waits for.
func (s *store) settleLater(w *primaryWriter, acks <-chan produced, remaining int, failed error) {
	done := make(chan struct{})
	s.mu.Lock()
	s.settling = done
	s.mu.Unlock()
	s.bg.Go(func() {
		defer func() {
			s.mu.Lock()
			s.settling = nil
			s.mu.Unlock()
			close(done)
		}()
		for ; remaining > 0; remaining-- {
			select {
			case a := <-acks:
				if a.err != nil {
					failed = cmp.Or(failed, a.err)
				}
			case <-s.bgCtx.Done():
				return
			}
		}
		if failed != nil {
			s.abort(w)
			s.fencedBy(w, failed)
			return
		}
		ctx, cancel := context.WithTimeout(s.bgCtx, settleTimeout)
		defer cancel()
		if err := w.client.EndTransaction(ctx, kgo.TryCommit); err != nil && !s.fencedBy(w, err) {
			s.logger.Warn("commit a late write; dropping the producer", "error", err)
			s.dropWriter()
		}
	})
}

// writeWithin produces records outside any transaction and returns once
// they are applied, each step within timeout: the start-up NOOP, which
// any instance may write.
func (s *store) writeWithin(ctx context.Context, timeout time.Duration, recs ...*kgo.Record) error {
	if s.client() == nil {
		return errNotStarted
	}
	if s.log.Pending() > 0 {
		return errUnsettled
	}
	produceCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	acks := make(chan produced, len(recs))
	for _, r := range recs {
		err := s.log.Produce(produceCtx, r, func(r *kgo.Record, err error) {
			acks <- produced{partition: r.Partition, offset: r.Offset, err: err}
		})
		if err != nil {
			return fmt.Errorf("write to topic %s: %w", s.topic, err)
		}
	}
	end := map[int32]int64{}
	for range recs {
		select {
		case a := <-acks:
			if a.err != nil {
				return fmt.Errorf("write to topic %s: %w", s.topic, a.err)
			}
			end[a.partition] = max(end[a.partition], a.offset+1)
		case <-produceCtx.Done():
			return fmt.Errorf("write to topic %s: not acknowledged within %v: %w", s.topic, timeout, produceCtx.Err())
		}
	}
	readCtx, cancelRead := context.WithTimeout(ctx, timeout)
	defer cancelRead()
	if err := s.log.WaitFor(readCtx, end); err != nil {
		return fmt.Errorf("read back the write within %v: %w", timeout, err)
	}
	return nil
}
