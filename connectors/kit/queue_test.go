package kit

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/runtime/connect"
)

func recs(from, n int) []*connect.Record {
	out := make([]*connect.Record, n)
	for i := range out {
		out[i] = connect.NewSourceRecord(nil, map[string]any{"n": int64(from + i)}, "t", nil, nil, nil, []byte("abcd"))
	}
	return out
}

func seq(t *testing.T, rs []*connect.Record) []int64 {
	t.Helper()
	out := make([]int64, len(rs))
	for i, r := range rs {
		out[i] = r.SourceOffset["n"].(int64)
	}
	return out
}

// blocked reports whether done stays open for a short while.
func blocked(done <-chan error) bool {
	select {
	case <-done:
		return false
	case <-time.After(50 * time.Millisecond):
		return true
	}
}

func TestQueuePollBatches(t *testing.T) {
	q := NewQueue(QueueOptions{MaxRecords: 100, Batch: 3})
	ctx := context.Background()
	require.NoError(t, q.Put(ctx, recs(0, 4)...))
	require.NoError(t, q.Put(ctx, recs(4, 1)...))

	got, err := q.Poll(ctx)
	require.NoError(t, err)
	assert.Equal(t, []int64{0, 1, 2}, seq(t, got), "a batch is at most Batch records, in order")
	got, err = q.Poll(ctx)
	require.NoError(t, err)
	assert.Equal(t, []int64{3, 4}, seq(t, got), "what is there, at once without Linger")
	assert.Zero(t, q.Len())
}

func TestQueuePutBlocksWhenFull(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts QueueOptions
	}{
		{"records", QueueOptions{MaxRecords: 3, Batch: 2}},
		{"bytes", QueueOptions{MaxRecords: 100, MaxBytes: 12, Size: func(*connect.Record) int64 { return 4 }, Batch: 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := NewQueue(tc.opts)
			ctx := context.Background()
			require.NoError(t, q.Put(ctx, recs(0, 3)...))
			done := make(chan error, 1)
			go func() { done <- q.Put(ctx, recs(3, 1)...) }()
			require.True(t, blocked(done), "Put must wait while the queue is full")

			got, err := q.Poll(ctx)
			require.NoError(t, err)
			assert.Equal(t, []int64{0, 1}, seq(t, got))
			require.NoError(t, <-done, "room made by Poll lets the Put in")
			got, err = q.Poll(ctx)
			require.NoError(t, err)
			assert.Equal(t, []int64{2, 3}, seq(t, got))
		})
	}
}

func TestQueueOversizedPutWaitsForEmpty(t *testing.T) {
	q := NewQueue(QueueOptions{MaxRecords: 2, Batch: 10})
	ctx := context.Background()
	require.NoError(t, q.Put(ctx, recs(0, 5)...), "a Put larger than the bound goes into an empty queue")
	done := make(chan error, 1)
	go func() { done <- q.Put(ctx, recs(5, 1)...) }()
	require.True(t, blocked(done))
	got, err := q.Poll(ctx)
	require.NoError(t, err)
	assert.Len(t, got, 5)
	require.NoError(t, <-done)
}

func TestQueuePutCancelled(t *testing.T) {
	q := NewQueue(QueueOptions{MaxRecords: 1})
	require.NoError(t, q.Put(context.Background(), recs(0, 1)...))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- q.Put(ctx, recs(1, 1)...) }()
	require.True(t, blocked(done))
	cancel()
	assert.ErrorIs(t, <-done, context.Canceled)
	assert.Equal(t, 1, q.Len(), "a cancelled Put adds nothing")
}

func TestQueuePollReturnsPromptlyWhenCancelled(t *testing.T) {
	q := NewQueue(QueueOptions{Linger: time.Hour, Batch: 10})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	var got []*connect.Record
	var err error
	go func() {
		defer close(done)
		got, err = q.Poll(ctx)
	}()
	require.NoError(t, q.Put(context.Background(), recs(0, 1)...)) // Poll lingers for more
	time.Sleep(20 * time.Millisecond)
	cancel()
	select {
	case <-done:
	case <-time.After(time.Second):
		t.Fatal("Poll did not return when its context was cancelled")
	}
	require.NoError(t, err)
	assert.Empty(t, got, "a cancelled Poll returns nothing: the worker would drop it")
	assert.Equal(t, 1, q.Len(), "the record stays queued for the next Poll")
}

func TestQueueLinger(t *testing.T) {
	ctx := context.Background()
	q := NewQueue(QueueOptions{Linger: 300 * time.Millisecond, Batch: 3})
	require.NoError(t, q.Put(ctx, recs(0, 1)...))
	go func() {
		time.Sleep(10 * time.Millisecond)
		_ = q.Put(ctx, recs(1, 1)...)
	}()
	start := time.Now()
	got, err := q.Poll(ctx)
	require.NoError(t, err)
	assert.Equal(t, []int64{0, 1}, seq(t, got), "Poll lingered and took the record that came meanwhile")
	assert.GreaterOrEqual(t, time.Since(start), 300*time.Millisecond)

	full := NewQueue(QueueOptions{Linger: time.Hour, Batch: 3})
	require.NoError(t, full.Put(ctx, recs(0, 1)...))
	go func() {
		time.Sleep(10 * time.Millisecond)
		_ = full.Put(ctx, recs(1, 2)...)
	}()
	got, err = full.Poll(ctx) // would hang for an hour if a full batch lingered
	require.NoError(t, err)
	assert.Len(t, got, 3, "a batch filled while lingering returns at once")
}

func TestQueueFailSurfacesOnceAfterQueuedRecords(t *testing.T) {
	q := NewQueue(QueueOptions{Linger: time.Hour, Batch: 10})
	ctx := context.Background()
	boom := errors.New("boom")
	require.NoError(t, q.Put(ctx, recs(0, 2)...))
	q.Fail(boom)
	q.Fail(errors.New("second"))

	got, err := q.Poll(ctx)
	require.NoError(t, err)
	assert.Len(t, got, 2, "records queued before the failure are delivered first, without lingering")
	_, err = q.Poll(ctx)
	assert.ErrorIs(t, err, boom)
	assert.ErrorIs(t, q.Put(ctx, recs(2, 1)...), boom, "Put refuses after Fail")

	short, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
	defer cancel()
	got, err = q.Poll(short)
	assert.NoError(t, err, "the error surfaces exactly once")
	assert.Empty(t, got)

	q.Reset()
	require.NoError(t, q.Put(ctx, recs(3, 1)...), "Reset lets a restarted producer in")
}

func TestQueueFailWakesWaitingPoll(t *testing.T) {
	q := NewQueue(QueueOptions{})
	done := make(chan error, 1)
	go func() {
		_, err := q.Poll(context.Background())
		done <- err
	}()
	require.True(t, blocked(done))
	boom := errors.New("boom")
	q.Fail(boom)
	assert.ErrorIs(t, <-done, boom)
}

func TestQueueReset(t *testing.T) {
	q := NewQueue(QueueOptions{MaxRecords: 2})
	ctx := context.Background()
	require.NoError(t, q.Put(ctx, recs(0, 2)...))
	done := make(chan error, 1)
	go func() { done <- q.Put(ctx, recs(2, 1)...) }()
	require.True(t, blocked(done))
	q.Reset()
	require.NoError(t, <-done, "Reset made room")
	got, err := q.Poll(ctx)
	require.NoError(t, err)
	assert.Equal(t, []int64{2}, seq(t, got), "Reset dropped what was queued")
}

func TestQueueClose(t *testing.T) {
	q := NewQueue(QueueOptions{MaxRecords: 1})
	ctx := context.Background()
	require.NoError(t, q.Put(ctx, recs(0, 1)...))
	done := make(chan error, 1)
	go func() { done <- q.Put(ctx, recs(1, 1)...) }()
	require.True(t, blocked(done))
	q.Close()
	q.Close()
	assert.ErrorIs(t, <-done, ErrClosed, "Close wakes a waiting Put")
	got, err := q.Poll(ctx)
	require.NoError(t, err)
	assert.Len(t, got, 1, "what was queued is still delivered")
	_, err = q.Poll(ctx)
	assert.ErrorIs(t, err, ErrClosed)
}

func TestQueueConcurrentProducers(t *testing.T) {
	const producers, each = 8, 200
	q := NewQueue(QueueOptions{MaxRecords: 16, Batch: 7})
	ctx := context.Background()
	var wg sync.WaitGroup
	for p := range producers {
		wg.Go(func() {
			for i := range each {
				require.NoError(t, q.Put(ctx, recs(p*each+i, 1)...))
			}
		})
	}
	seen := map[int64]bool{}
	last := make([]int64, producers)
	for i := range last {
		last[i] = -1
	}
	for len(seen) < producers*each {
		got, err := q.Poll(ctx)
		require.NoError(t, err)
		require.LessOrEqual(t, len(got), 7)
		require.LessOrEqual(t, q.Len(), 16)
		for _, n := range seq(t, got) {
			require.False(t, seen[n], "record %d delivered twice", n)
			seen[n] = true
			p := n / each
			require.Greater(t, n, last[p], "a producer's records keep their order")
			last[p] = n
		}
	}
	wg.Wait()
}
