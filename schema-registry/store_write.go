package registry

import (
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
// A write that timed out may still be in the producer: franz-go fails a
// record when its context ends only when that is safe, that is when no
// request carrying it is in flight with an unknown outcome. Such a record
// can still land later. Until every record produced has an outcome, no
// other write starts (errUnsettled): otherwise the next one would read a
// topic without the late record and could hand out its schema id again.
// A record that does land late is read and applied like any other, so
// the state stays what the topic says.

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
// earlier is waiting for its outcome.
func (s *store) awaitSettled(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if err := s.log.Settled(ctx); err != nil {
		return fmt.Errorf("%w after %v: %w", errUnsettled, s.timeout, err)
	}
	return nil
}

// write produces records in order and returns once they are applied: the
// broker must acknowledge them within the store timeout, and the reader
// apply them within another. The caller holds the write lock.
func (s *store) write(ctx context.Context, recs ...*kgo.Record) error {
	return s.writeWithin(ctx, s.timeout, recs...)
}

// writeWithin is write with timeout for the store timeout.
func (s *store) writeWithin(ctx context.Context, timeout time.Duration, recs ...*kgo.Record) error {
	if s.client() == nil {
		return errNotStarted
	}
	// The caller holds the write lock, so no other write starts between
	// this check and the records being counted as pending.
	if s.log.Pending() > 0 {
		return errUnsettled
	}
	produceCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel() // fails the records still buffered, where that is safe
	// Buffered for every record: a promise never blocks, even once this
	// write has given up waiting.
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
