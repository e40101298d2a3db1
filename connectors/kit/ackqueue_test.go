package kit

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/runtime/connect"
)

func TestAckQueuePutWaitsForEveryAck(t *testing.T) {
	a := NewAckQueue(QueueOptions{Batch: 10})
	ctx := context.Background()
	rs := recs(0, 3)
	done := make(chan error, 1)
	go func() { done <- a.Put(ctx, rs...) }()

	var got []*connect.Record
	for len(got) < 3 {
		batch, err := a.Poll(ctx)
		require.NoError(t, err)
		got = append(got, batch...)
	}
	require.True(t, blocked(done), "polled is not acknowledged")
	a.Ack(got[2])
	a.Ack(got[0])
	a.Ack(got[0]) // twice: ignored
	require.True(t, blocked(done), "one record is still unacknowledged")
	a.Ack(got[1])
	require.NoError(t, <-done)
	assert.Zero(t, a.Unacked())
}

func TestAckQueueSubmitTicket(t *testing.T) {
	a := NewAckQueue(QueueOptions{})
	ctx := context.Background()
	first, err := a.Submit(ctx, recs(0, 1)...)
	require.NoError(t, err)
	second, err := a.Submit(ctx, recs(1, 1)...)
	require.NoError(t, err, "Submit does not wait for acks")
	batch, err := a.Poll(ctx)
	require.NoError(t, err)
	require.Len(t, batch, 2)
	a.Ack(batch[1])
	require.NoError(t, second.Wait(ctx), "tickets are acknowledged independently")
	select {
	case <-first.Done():
		t.Fatal("the first ticket's record was not acknowledged")
	default:
	}
	empty, err := a.Submit(ctx)
	require.NoError(t, err)
	require.NoError(t, empty.Wait(ctx), "nothing to acknowledge")
}

func TestAckQueueEnds(t *testing.T) {
	boom := errors.New("boom")
	for _, tc := range []struct {
		name string
		end  func(*AckQueue)
		want error
	}{
		{"fail", func(a *AckQueue) { a.Fail(boom) }, boom},
		{"close", (*AckQueue).Close, ErrClosed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := NewAckQueue(QueueOptions{})
			ctx := context.Background()
			done := make(chan error, 1)
			go func() { done <- a.Put(ctx, recs(0, 2)...) }()
			batch, err := a.Poll(ctx)
			require.NoError(t, err)
			a.Ack(batch[0])
			require.True(t, blocked(done))
			tc.end(a)
			assert.ErrorIs(t, <-done, tc.want, "a waiting producer learns why its records will not be acknowledged")
			assert.ErrorIs(t, a.Put(ctx, recs(2, 1)...), tc.want, "later Puts are refused")
			a.Ack(batch[1]) // late: harmless
		})
	}
}

func TestAckQueuePutContextDone(t *testing.T) {
	a := NewAckQueue(QueueOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	assert.ErrorIs(t, a.Put(ctx, recs(0, 1)...), context.DeadlineExceeded)
}

func TestAckQueueCancelledWhileFullAddsNothing(t *testing.T) {
	a := NewAckQueue(QueueOptions{MaxRecords: 1})
	require.NoError(t, a.q.Put(context.Background(), recs(0, 1)...))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	_, err := a.Submit(ctx, recs(1, 1)...)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Zero(t, a.Unacked(), "records that were never queued are forgotten")
}

// TestAckQueueConcurrentProducers runs many producers against a worker
// that acknowledges records out of order, late and across batches: no Put
// may return before every one of its records was acknowledged, and every
// Put returns.
func TestAckQueueConcurrentProducers(t *testing.T) {
	const producers, puts = 16, 40
	a := NewAckQueue(QueueOptions{MaxRecords: 32, Batch: 9})
	ctx := context.Background()

	var mu sync.Mutex
	acked := map[*connect.Record]bool{}

	stop := make(chan struct{})
	var worker sync.WaitGroup
	worker.Go(func() {
		rng := rand.New(rand.NewPCG(1, 2))
		var inFlight []*connect.Record
		pctx, cancel := context.WithCancel(ctx)
		defer cancel()
		for {
			select {
			case <-stop:
				return
			default:
			}
			short, c := context.WithTimeout(pctx, 5*time.Millisecond)
			batch, err := a.Poll(short)
			c()
			if err != nil {
				t.Error(err)
				return
			}
			inFlight = append(inFlight, batch...)
			rng.Shuffle(len(inFlight), func(i, j int) { inFlight[i], inFlight[j] = inFlight[j], inFlight[i] })
			n := rng.IntN(len(inFlight) + 1) // some stay in flight for a later round
			for _, r := range inFlight[:n] {
				mu.Lock()
				acked[r] = true
				mu.Unlock()
				a.Ack(r)
			}
			inFlight = inFlight[n:]
		}
	})

	var wg sync.WaitGroup
	for p := range producers {
		wg.Go(func() {
			for i := range puts {
				rs := recs(p*1000+i*10, 1+(p+i)%5)
				if err := a.Put(ctx, rs...); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				for _, r := range rs {
					if !acked[r] {
						t.Errorf("Put returned before record %v was acknowledged", r.SourceOffset)
					}
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(stop)
	worker.Wait()
	assert.Zero(t, a.Unacked())
}
