package broker

import (
	"container/list"
	"context"
	"sync"
)

// memPool is the broker-wide budget of request and response bytes being
// held (queued.max.request.bytes), like Kafka's MemoryPool: a connection
// reserves a request's bytes before reading its body and gives them back
// once the response is written, so when the budget is spent the readers
// stop reading and clients feel backpressure instead of the process
// growing.
//
// As Kafka's pool in its non-strict mode, a reservation is granted while
// any byte is free, so one request may overshoot the size by its own
// charge: a large request is never starved by small ones, and small ones
// are not held behind a large one. What is held stays below twice the
// size (requestCharge refuses any charge above the size). Readers that
// find nothing free wait in arrival order. Fetches never wait: they take
// what is free (takeUpTo) and answer with less, so a fetch can never hold
// the pool while waiting for it. force records bytes already allocated
// beyond a reservation (KIP-74's first batch), so the count stays true.
//
// A nil *memPool is unbounded (queued.max.request.bytes=-1).
type memPool struct {
	mu      sync.Mutex
	size    int64
	used    int64
	waiters list.List     // of *poolWaiter, oldest first
	freed   chan struct{} // closed on the next release; nil until asked for
}

type poolWaiter struct {
	n     int64
	ready chan struct{}
}

func newMemPool(size int64) *memPool {
	if size <= 0 {
		return nil
	}
	return &memPool{size: size}
}

// acquire reserves n bytes, waiting in turn until some bytes are free or
// ctx ends.
func (m *memPool) acquire(ctx context.Context, n int64) error {
	if m == nil || n <= 0 {
		return nil
	}
	m.mu.Lock()
	if m.waiters.Len() == 0 && m.used < m.size {
		m.used += n
		m.mu.Unlock()
		return nil
	}
	w := &poolWaiter{n: n, ready: make(chan struct{})}
	e := m.waiters.PushBack(w)
	m.mu.Unlock()
	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
		m.mu.Lock()
		select {
		case <-w.ready:
			// Granted just as ctx ended: hand the bytes back.
			m.used -= n
			m.grantLocked()
		default:
			m.waiters.Remove(e)
			// A large waiter leaving may let smaller ones in.
			m.grantLocked()
		}
		m.mu.Unlock()
		return ctx.Err()
	}
}

// tryAcquire reserves n bytes if acquire would grant them at once.
func (m *memPool) tryAcquire(n int64) bool {
	if m == nil || n <= 0 {
		return true
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.waiters.Len() == 0 && m.used < m.size {
		m.used += n
		return true
	}
	return false
}

// takeUpTo reserves as many of n bytes as are free without waiting, none
// while a reader waits (readers come first), and returns how many.
func (m *memPool) takeUpTo(n int64) int64 {
	if m == nil {
		return n
	}
	if n <= 0 {
		return 0
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.waiters.Len() > 0 {
		return 0
	}
	got := min(n, m.size-m.used)
	if got < 0 {
		got = 0
	}
	m.used += got
	return got
}

// force counts n bytes that are already allocated, beyond the pool's size
// if need be.
func (m *memPool) force(n int64) {
	if m == nil || n <= 0 {
		return
	}
	m.mu.Lock()
	m.used += n
	m.mu.Unlock()
}

// release gives n bytes back and wakes whoever they let in.
func (m *memPool) release(n int64) {
	if m == nil || n <= 0 {
		return
	}
	m.mu.Lock()
	m.used -= n
	m.grantLocked()
	if m.freed != nil {
		close(m.freed)
		m.freed = nil
	}
	m.mu.Unlock()
}

// grantLocked lets in waiters, oldest first, while any byte is free.
func (m *memPool) grantLocked() {
	for e := m.waiters.Front(); e != nil; e = m.waiters.Front() {
		w := e.Value.(*poolWaiter)
		if m.used >= m.size {
			return
		}
		m.used += w.n
		m.waiters.Remove(e)
		close(w.ready)
	}
}

// freedChan returns a channel closed the next time bytes are released, so
// a fetch that got nothing can long-poll for memory as it does for data.
func (m *memPool) freedChan() <-chan struct{} {
	if m == nil {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.freed == nil {
		m.freed = make(chan struct{})
	}
	return m.freed
}

// inUse reports the bytes reserved, for tests and health.
func (m *memPool) inUse() int64 {
	if m == nil {
		return 0
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.used
}
