package kit

import (
	"context"
	"maps"
	"time"

	"github.com/sluicehq/sluice/runtime/connect"
)

// BatchPolicy says when a Batcher writes: once it holds Records records,
// or Bytes bytes as Size measures them, or its oldest record has waited
// Linger. A zero field is no trigger; with all zero, only Flush writes.
type BatchPolicy struct {
	Records int
	Bytes   int64
	// Size measures one record for Bytes; it must be set when Bytes is.
	Size   func(*connect.Record) int64
	Linger time.Duration
}

// WriteFunc writes a batch to the destination and returns once it is
// durable there. It either writes the whole batch or returns an error; a
// batch it failed is offered again.
type WriteFunc func(ctx context.Context, batch []*connect.Record) error

// Batcher accumulates a sink task's records and writes them in batches.
// The task's Put calls Add, and its Flush calls Flush: the worker commits
// the offsets Flush returns, so committed consumer offsets never run ahead
// of what the destination has.
//
// Linger is checked when Add runs; the worker does not call Put without
// records, so a lone record waits at most until the next Put or the
// worker's next Flush (offset.flush.interval.ms).
//
// A Batcher is used from the task's one goroutine, as the worker calls
// Put and Flush.
type Batcher struct {
	policy BatchPolicy
	write  WriteFunc
	now    func() time.Time // the clock, for tests

	buf    []*connect.Record
	bytes  int64
	oldest time.Time // when the first buffered record was added
}

// NewBatcher returns an empty Batcher that writes with write. It panics
// when policy.Bytes is set without policy.Size, a programming error.
func NewBatcher(policy BatchPolicy, write WriteFunc) *Batcher {
	if policy.Bytes > 0 && policy.Size == nil {
		panic("kit: BatchPolicy.Bytes needs a Size function")
	}
	return &Batcher{policy: policy, write: write, now: time.Now}
}

// Add buffers records and writes every batch that became due. On a write
// error the records of this call that were not written are dropped from
// the buffer and the error is returned, so that the worker's redelivery of
// the batch (after connect.Retriable) does not buffer them twice; records
// of earlier calls stay buffered.
func (b *Batcher) Add(ctx context.Context, recs ...*connect.Record) error {
	if len(recs) == 0 {
		return nil
	}
	if len(b.buf) == 0 {
		b.oldest = b.now()
	}
	before := len(b.buf)
	for _, r := range recs {
		b.buf = append(b.buf, r)
		b.bytes += b.size(r)
		if b.full() {
			if err := b.writeAll(ctx); err != nil {
				b.dropFrom(before)
				return err
			}
			before, b.oldest = 0, b.now()
		}
	}
	if len(b.buf) > 0 && b.policy.Linger > 0 && b.now().Sub(b.oldest) >= b.policy.Linger {
		if err := b.writeAll(ctx); err != nil {
			b.dropFrom(before)
			return err
		}
	}
	return nil
}

func (b *Batcher) size(r *connect.Record) int64 {
	if b.policy.Size == nil {
		return 0
	}
	return b.policy.Size(r)
}

func (b *Batcher) full() bool {
	return (b.policy.Records > 0 && len(b.buf) >= b.policy.Records) ||
		(b.policy.Bytes > 0 && b.bytes >= b.policy.Bytes)
}

// writeAll writes the buffer and empties it.
func (b *Batcher) writeAll(ctx context.Context) error {
	if len(b.buf) == 0 {
		return nil
	}
	if err := b.write(ctx, b.buf); err != nil {
		return err
	}
	b.buf, b.bytes = nil, 0
	return nil
}

// dropFrom removes buf[i:], the records of a failed Add.
func (b *Batcher) dropFrom(i int) {
	for _, r := range b.buf[i:] {
		b.bytes -= b.size(r)
	}
	clear(b.buf[i:])
	b.buf = b.buf[:i]
}

// Flush writes everything buffered and returns current, every offset the
// worker delivered now being in the destination; on a write error it
// returns the error and the records stay buffered. Call it from the task's
// Flush.
func (b *Batcher) Flush(ctx context.Context, current map[connect.TopicPartition]int64) (map[connect.TopicPartition]int64, error) {
	if err := b.writeAll(ctx); err != nil {
		return nil, err
	}
	return current, nil
}

// Committable returns current held back, on each partition, to the
// offset of its oldest record still buffered, without writing anything:
// for a sink that writes only when its batches are full (an object store
// writing one file per batch) and lets the worker commit what is written
// meanwhile. Records are placed by their offset before transforms, as
// Kafka commits them.
func (b *Batcher) Committable(current map[connect.TopicPartition]int64) map[connect.TopicPartition]int64 {
	out := maps.Clone(current)
	for _, r := range b.buf {
		tp := connect.TopicPartition{Topic: r.OriginalTopic, Partition: r.OriginalPartition}
		if off, ok := out[tp]; ok && r.OriginalOffset < off {
			out[tp] = r.OriginalOffset
		}
	}
	return out
}

// Len returns how many records are buffered.
func (b *Batcher) Len() int { return len(b.buf) }
