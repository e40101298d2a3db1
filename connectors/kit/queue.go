package kit

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/sluicehq/sluice/runtime/connect"
)

// Debezium's defaults for max.queue.size and max.batch.size, the queue
// bound and batch size of every push source unless it says otherwise.
const (
	DefaultMaxRecords = 8192
	DefaultBatch      = 2048
)

// QueueOptions bound a Queue and shape the batches Poll returns.
type QueueOptions struct {
	// MaxRecords bounds how many records the queue holds (Debezium's
	// max.queue.size); 0 means DefaultMaxRecords.
	MaxRecords int
	// MaxBytes bounds the bytes the queue holds, as Size measures them
	// (Debezium's max.queue.size.in.bytes); 0 means no byte bound.
	MaxBytes int64
	// Size measures one record for MaxBytes. It must be set when
	// MaxBytes is, and give the same answer for the same record.
	Size func(*connect.Record) int64
	// Batch is the most records one Poll returns (max.batch.size); 0
	// means DefaultBatch.
	Batch int
	// Linger is how long Poll, once it holds a record, waits for a full
	// batch before returning what it has. 0 returns at once: the worker
	// polls again as soon as it has sent a batch, so lingering only pays
	// when batches are costly and producers slow.
	Linger time.Duration
}

func (o QueueOptions) withDefaults() QueueOptions {
	if o.MaxRecords <= 0 {
		o.MaxRecords = DefaultMaxRecords
	}
	if o.Batch <= 0 {
		o.Batch = DefaultBatch
	}
	if o.MaxBytes > 0 && o.Size == nil {
		panic("kit: QueueOptions.MaxBytes needs a Size function")
	}
	return o
}

// Queue turns records pushed by a producer goroutine (a replication
// stream, an HTTP handler, an MQTT subscription) into the batches a source
// task's Poll returns. It is bounded: Put blocks while the queue is full,
// which slows the producer to the pace of the broker.
//
// Any number of producers may call Put concurrently, and Fail once they
// cannot go on; one goroutine calls Poll (the worker's); Close, Reset and
// Len may be called from any goroutine.
type Queue struct {
	opts QueueOptions
	// turn lets one Put at a time wait for room, the others queued in
	// arrival order behind it, so a large Put is not starved by small ones.
	turn chan struct{}

	mu      sync.Mutex
	recs    []*connect.Record
	sizes   []int64 // Size of each of recs, when MaxBytes is set
	bytes   int64
	failure error // the producer's error, refused to Put until Reset
	shown   bool  // Poll has returned failure
	closed  bool
	wake    chan struct{} // closed and replaced whenever the state changes
}

// NewQueue returns an empty queue. It panics when opts.MaxBytes is set
// without opts.Size, a programming error.
func NewQueue(opts QueueOptions) *Queue {
	return &Queue{opts: opts.withDefaults(), turn: make(chan struct{}, 1), wake: make(chan struct{})}
}

// Put adds records to the queue, in order and all at once, blocking while
// they do not fit. A Put larger than the bounds is taken when the queue is
// empty, so it waits but never deadlocks. It returns ctx's error when ctx
// ends first (nothing was added), ErrClosed after Close, and the
// producer's error after Fail until Reset.
func (q *Queue) Put(ctx context.Context, recs ...*connect.Record) error {
	var sizes []int64
	var total int64
	if q.opts.MaxBytes > 0 {
		sizes = make([]int64, len(recs))
		for i, r := range recs {
			sizes[i] = q.opts.Size(r)
			total += sizes[i]
		}
	}
	select {
	case q.turn <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-q.turn }()
	for {
		q.mu.Lock()
		if err := q.refusedLocked(); err != nil {
			q.mu.Unlock()
			return err
		}
		if q.fitsLocked(len(recs), total) {
			q.recs = append(q.recs, recs...)
			if sizes != nil {
				q.sizes = append(q.sizes, sizes...)
			}
			q.bytes += total
			q.changedLocked()
			q.mu.Unlock()
			return nil
		}
		wake := q.wake
		q.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (q *Queue) refusedLocked() error {
	if q.closed {
		return ErrClosed
	}
	return q.failure
}

func (q *Queue) fitsLocked(n int, size int64) bool {
	if len(q.recs) == 0 {
		return true
	}
	return len(q.recs)+n <= q.opts.MaxRecords && (q.opts.MaxBytes <= 0 || q.bytes+size <= q.opts.MaxBytes)
}

// changedLocked wakes everyone waiting for the state to change.
func (q *Queue) changedLocked() {
	close(q.wake)
	q.wake = make(chan struct{})
}

// Fail reports that the producer stopped with err (nil is ignored). Poll
// returns the records queued before it, then err exactly once; Put returns
// err until Reset. Only the first error counts.
func (q *Queue) Fail(err error) {
	if err == nil {
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.failure == nil {
		q.failure = err
		q.changedLocked()
	}
}

// Poll returns up to a batch of records: at once when a full batch is
// there, else after waiting at most Linger for one, else as soon as one
// record is. With nothing queued it waits; it returns nil, nil as soon as
// ctx is done, leaving the records queued (the worker drops what a
// cancelled Poll returns). Once the queue is empty it returns the error
// given to Fail, exactly once, and ErrClosed after Close.
func (q *Queue) Poll(ctx context.Context) ([]*connect.Record, error) {
	var linger *time.Timer
	var lingered <-chan time.Time
	defer func() {
		if linger != nil {
			linger.Stop()
		}
	}()
	for {
		if ctx.Err() != nil {
			return nil, nil
		}
		q.mu.Lock()
		n := len(q.recs)
		switch {
		case n > 0 && (n >= q.opts.Batch || q.opts.Linger <= 0 || q.failure != nil || q.closed):
			out := q.takeLocked()
			q.mu.Unlock()
			return out, nil
		case n == 0 && q.failure != nil && !q.shown:
			q.shown = true
			q.mu.Unlock()
			return nil, q.failure
		case n == 0 && q.closed:
			q.mu.Unlock()
			return nil, ErrClosed
		case n > 0 && linger == nil:
			linger = time.NewTimer(q.opts.Linger)
			lingered = linger.C
		}
		wake := q.wake
		q.mu.Unlock()
		select {
		case <-wake:
		case <-lingered:
			q.mu.Lock()
			out := q.takeLocked()
			q.mu.Unlock()
			if len(out) > 0 {
				return out, nil
			}
			linger, lingered = nil, nil // taken by Reset meanwhile
		case <-ctx.Done():
			return nil, nil
		}
	}
}

// takeLocked removes and returns up to a batch from the head.
func (q *Queue) takeLocked() []*connect.Record {
	n := min(len(q.recs), q.opts.Batch)
	if n == 0 {
		return nil
	}
	out := slices.Clone(q.recs[:n])
	clear(q.recs[:n]) // the queue no longer keeps them reachable
	q.recs = q.recs[n:]
	if q.sizes != nil {
		for _, s := range q.sizes[:n] {
			q.bytes -= s
		}
		q.sizes = q.sizes[n:]
	}
	q.changedLocked()
	return out
}

// Reset drops every queued record and forgets the producer's error, so a
// restarted producer can Put again (a source that reconnects and resumes
// from its committed offset, sending again what was queued). The old
// producer must have stopped. Reset does not reopen a closed queue.
func (q *Queue) Reset() {
	q.mu.Lock()
	defer q.mu.Unlock()
	clear(q.recs)
	q.recs, q.sizes, q.bytes = nil, nil, 0
	q.failure, q.shown = nil, false
	q.changedLocked()
}

// Close makes Put return ErrClosed and wakes every waiting Put and Poll;
// Poll still returns what is queued, then ErrClosed. Close is idempotent.
func (q *Queue) Close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.closed {
		q.closed = true
		q.changedLocked()
	}
}

// Len returns how many records are queued.
func (q *Queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.recs)
}
