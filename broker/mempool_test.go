package broker

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMemPoolBackpressure(t *testing.T) {
	p := newMemPool(100)
	ctx := context.Background()
	require.NoError(t, p.acquire(ctx, 60))
	// Non-strict, as Kafka's pool: granted while any byte is free.
	require.NoError(t, p.acquire(ctx, 60))
	assert.Equal(t, int64(120), p.inUse())
	assert.Zero(t, p.takeUpTo(10), "nothing free for a fetch")
	assert.False(t, p.tryAcquire(1))

	granted := make(chan error, 1)
	go func() { granted <- p.acquire(ctx, 30) }()
	select {
	case <-granted:
		t.Fatal("granted with the pool spent")
	case <-time.After(50 * time.Millisecond):
	}
	freed := p.freedChan()
	p.release(60)
	require.NoError(t, <-granted)
	<-freed // a fetch waiting for memory is woken
	assert.Equal(t, int64(90), p.inUse())
	assert.Equal(t, int64(10), p.takeUpTo(50), "a fetch takes what is free")

	// A waiter whose connection closes leaves without bytes.
	cctx, cancel := context.WithCancel(ctx)
	go func() { granted <- p.acquire(cctx, 5) }()
	time.Sleep(10 * time.Millisecond) // let it queue; either order is correct
	cancel()
	require.ErrorIs(t, <-granted, context.Canceled)
	assert.Equal(t, int64(100), p.inUse())
	p.release(100)
	assert.Zero(t, p.inUse())

	p.force(7) // KIP-74's first batch past a reservation
	assert.Equal(t, int64(7), p.inUse())

	var unbounded *memPool
	require.NoError(t, unbounded.acquire(ctx, 1<<40))
	assert.Equal(t, int64(5), unbounded.takeUpTo(5))
}
