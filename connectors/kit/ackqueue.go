package kit

import (
	"context"
	"fmt"
	"sync"

	"github.com/sluicehq/sluice/runtime/connect"
)

// AckQueue is a Queue for push sources that must answer their clients
// only once the data is durable (an HTTP endpoint's 200, an MQTT PUBACK):
// Put returns when the broker has acknowledged every record it added, or
// with the error that prevented it.
//
// The task's Poll is AckQueue.Poll, and its CommitRecord calls Ack with the
// record it is given. The worker calls CommitRecord once the broker
// acknowledged a record, and also for a record a transform filtered out or
// that errors.tolerance=all sent to the dead letter queue: such a record is
// dealt with for good, so it counts as acknowledged too.
//
// Each record put must be a distinct *connect.Record: the queue knows a
// record by its pointer, as CommitRecord hands back the very record Poll
// returned. The concurrency rules are Queue's; Ack may be called from any
// goroutine.
type AckQueue struct {
	q *Queue

	mu      sync.Mutex
	owner   map[*connect.Record]*Ticket // records put and not yet acknowledged
	pending map[*Ticket]struct{}        // tickets not yet done
	end     error                       // why no ticket can succeed any more
}

// Ticket follows the records of one Submit until the broker acknowledged
// them all.
type Ticket struct {
	left int // records not yet acknowledged; guarded by the AckQueue's mu
	done chan struct{}
	err  error // set before done is closed
}

// Wait returns nil once every record of the ticket was acknowledged, the
// error that prevented it (the producer's error given to Fail, ErrClosed
// after Close), or ctx's error when ctx ends first. Records already queued
// when ctx ends are still delivered: a client that gives up and retries
// may send them twice (at-least-once).
func (t *Ticket) Wait(ctx context.Context) error {
	select {
	case <-t.done:
		return t.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Done is closed once the ticket is decided; Wait then returns at once.
func (t *Ticket) Done() <-chan struct{} { return t.done }

// NewAckQueue returns an empty AckQueue bounded and batched by opts.
func NewAckQueue(opts QueueOptions) *AckQueue {
	return &AckQueue{
		q:       NewQueue(opts),
		owner:   map[*connect.Record]*Ticket{},
		pending: map[*Ticket]struct{}{},
	}
}

// Put adds records and waits until the broker acknowledged them all:
// Submit then Wait.
func (a *AckQueue) Put(ctx context.Context, recs ...*connect.Record) error {
	t, err := a.Submit(ctx, recs...)
	if err != nil {
		return err
	}
	return t.Wait(ctx)
}

// Submit adds records as Queue.Put does and returns a ticket to wait on
// for their acknowledgement, so a producer can queue more meanwhile. It
// panics when a record is already in the queue unacknowledged, a
// programming error.
func (a *AckQueue) Submit(ctx context.Context, recs ...*connect.Record) (*Ticket, error) {
	t := &Ticket{left: len(recs), done: make(chan struct{})}
	a.mu.Lock()
	if a.end != nil {
		a.mu.Unlock()
		return nil, a.end
	}
	for _, r := range recs {
		if a.owner[r] != nil {
			a.mu.Unlock()
			panic(fmt.Sprintf("kit: record %s put twice", r))
		}
		a.owner[r] = t
	}
	if t.left == 0 {
		close(t.done)
	} else {
		a.pending[t] = struct{}{}
	}
	a.mu.Unlock()
	// Registered first: the worker may acknowledge a record as soon as
	// Put has queued it.
	if err := a.q.Put(ctx, recs...); err != nil {
		a.mu.Lock()
		for _, r := range recs {
			delete(a.owner, r)
		}
		delete(a.pending, t)
		a.mu.Unlock()
		return nil, err
	}
	return t, nil
}

// Ack records that the broker acknowledged r (call it from CommitRecord).
// A record the queue does not know, or already acknowledged, is ignored.
func (a *AckQueue) Ack(r *connect.Record) {
	a.mu.Lock()
	defer a.mu.Unlock()
	t := a.owner[r]
	if t == nil {
		return
	}
	delete(a.owner, r)
	if t.left--; t.left == 0 {
		a.finishLocked(t, nil)
	}
}

func (a *AckQueue) finishLocked(t *Ticket, err error) {
	if _, ok := a.pending[t]; !ok {
		return
	}
	delete(a.pending, t)
	t.err = err
	close(t.done)
}

// endLocked fails every waiting ticket with err and refuses new ones.
func (a *AckQueue) endLocked(err error) {
	if a.end != nil {
		return
	}
	a.end = err
	for t := range a.pending {
		a.finishLocked(t, err)
	}
	clear(a.owner)
}

// Poll returns the next batch, as Queue.Poll.
func (a *AckQueue) Poll(ctx context.Context) ([]*connect.Record, error) { return a.q.Poll(ctx) }

// Fail reports that the producer stopped with err: every waiting Put
// returns err now, since the task is about to fail and its records may
// never be acknowledged; later Puts return it too. Poll delivers what is
// queued, then err once, as Queue.Fail.
func (a *AckQueue) Fail(err error) {
	if err == nil {
		return
	}
	a.q.Fail(err)
	a.mu.Lock()
	defer a.mu.Unlock()
	a.endLocked(err)
}

// Close makes every waiting and later Put return ErrClosed (call it from
// the task's Stop). It is idempotent.
func (a *AckQueue) Close() {
	a.q.Close()
	a.mu.Lock()
	defer a.mu.Unlock()
	a.endLocked(ErrClosed)
}

// Len returns how many records are queued, not yet polled.
func (a *AckQueue) Len() int { return a.q.Len() }

// Unacked returns how many records were put and not yet acknowledged.
func (a *AckQueue) Unacked() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.owner)
}
