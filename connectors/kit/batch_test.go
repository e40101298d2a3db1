package kit

import (
	"context"
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/runtime/connect"
)

// dest is a destination that remembers what was written, batch by batch.
type dest struct {
	batches [][]*connect.Record
	fail    error
}

func (d *dest) write(_ context.Context, batch []*connect.Record) error {
	if d.fail != nil {
		return d.fail
	}
	d.batches = append(d.batches, append([]*connect.Record(nil), batch...))
	return nil
}

func (d *dest) offsets() []int64 {
	var out []int64
	for _, b := range d.batches {
		for _, r := range b {
			out = append(out, r.OriginalOffset)
		}
	}
	return out
}

func sinkRecs(topic string, partition int32, from int64, n int) []*connect.Record {
	out := make([]*connect.Record, n)
	for i := range out {
		off := from + int64(i)
		out[i] = &connect.Record{
			Topic: topic, Partition: partition, Offset: off, Value: []byte("0123456789"),
			OriginalTopic: topic, OriginalPartition: partition, OriginalOffset: off,
		}
	}
	return out
}

func TestBatcherTriggers(t *testing.T) {
	ctx := context.Background()
	size := func(r *connect.Record) int64 { return int64(len(r.Value.([]byte))) }
	for _, tc := range []struct {
		name   string
		policy BatchPolicy
		adds   []int // records per Add
		want   []int // sizes of the batches written
		left   int
	}{
		{"records", BatchPolicy{Records: 3}, []int{2, 2, 5}, []int{3, 3, 3}, 0},
		{"bytes", BatchPolicy{Bytes: 25, Size: size}, []int{2, 2}, []int{3}, 1},
		{"none: only Flush writes", BatchPolicy{}, []int{100}, nil, 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := &dest{}
			b := NewBatcher(tc.policy, d.write)
			var off int64
			for _, n := range tc.adds {
				require.NoError(t, b.Add(ctx, sinkRecs("t", 0, off, n)...))
				off += int64(n)
			}
			var got []int
			for _, batch := range d.batches {
				got = append(got, len(batch))
			}
			assert.Equal(t, tc.want, got)
			assert.Equal(t, tc.left, b.Len())
		})
	}
}

func TestBatcherLinger(t *testing.T) {
	ctx := context.Background()
	d := &dest{}
	b := NewBatcher(BatchPolicy{Records: 100, Linger: time.Second}, d.write)
	now := time.Unix(0, 0)
	b.now = func() time.Time { return now }

	require.NoError(t, b.Add(ctx, sinkRecs("t", 0, 0, 1)...))
	now = now.Add(999 * time.Millisecond)
	require.NoError(t, b.Add(ctx, sinkRecs("t", 0, 1, 1)...))
	assert.Empty(t, d.batches, "the oldest record has not waited Linger yet")
	now = now.Add(time.Millisecond)
	require.NoError(t, b.Add(ctx, sinkRecs("t", 0, 2, 1)...))
	assert.Equal(t, []int64{0, 1, 2}, d.offsets(), "Linger counts from the oldest buffered record")
}

func TestBatcherWriteErrors(t *testing.T) {
	ctx := context.Background()
	boom := errors.New("destination down")
	d := &dest{}
	b := NewBatcher(BatchPolicy{Records: 4}, d.write)
	require.NoError(t, b.Add(ctx, sinkRecs("t", 0, 0, 2)...))

	d.fail = boom
	err := b.Add(ctx, sinkRecs("t", 0, 2, 3)...)
	require.ErrorIs(t, err, boom)
	assert.Equal(t, 2, b.Len(), "the failed call's records are dropped, the earlier ones kept")

	current := map[connect.TopicPartition]int64{{Topic: "t", Partition: 0}: 5}
	safe, err := b.Flush(ctx, current)
	require.ErrorIs(t, err, boom)
	assert.Nil(t, safe, "nothing may be committed when the write failed")

	d.fail = nil
	require.NoError(t, b.Add(ctx, sinkRecs("t", 0, 2, 3)...), "the worker redelivers the batch")
	safe, err = b.Flush(ctx, current)
	require.NoError(t, err)
	assert.Equal(t, current, safe)
	assert.Equal(t, []int64{0, 1, 2, 3, 4}, d.offsets(), "each record written once")
}

func TestBatcherCommittable(t *testing.T) {
	ctx := context.Background()
	d := &dest{}
	b := NewBatcher(BatchPolicy{Records: 3}, d.write)
	a0, a1 := connect.TopicPartition{Topic: "a", Partition: 0}, connect.TopicPartition{Topic: "a", Partition: 1}
	routed := sinkRecs("a", 1, 7, 1)
	routed[0].Topic = "renamed"                                // a transform changed the topic; offsets follow the original
	require.NoError(t, b.Add(ctx, sinkRecs("a", 0, 10, 3)...)) // written
	require.NoError(t, b.Add(ctx, sinkRecs("a", 0, 13, 1)...))
	require.NoError(t, b.Add(ctx, routed...))
	got := b.Committable(map[connect.TopicPartition]int64{a0: 14, a1: 8})
	assert.Equal(t, map[connect.TopicPartition]int64{a0: 13, a1: 7}, got)
}

// TestBatcherFlushBeforeCommit drives a Batcher as the worker drives a
// sink task, with random batches over several partitions and a commit
// every few Puts: every offset committed must have every record before it
// in the destination, through Flush and through Committable.
func TestBatcherFlushBeforeCommit(t *testing.T) {
	for _, mode := range []string{"Flush", "Committable"} {
		t.Run(mode, func(t *testing.T) {
			ctx := context.Background()
			rng := rand.New(rand.NewPCG(3, 4))
			d := &dest{}
			b := NewBatcher(BatchPolicy{Records: 17}, d.write)
			current := map[connect.TopicPartition]int64{}
			next := map[int32]int64{}
			for round := range 300 {
				var batch []*connect.Record
				for range rng.IntN(10) {
					p := rng.Int32N(3)
					batch = append(batch, sinkRecs("t", p, next[p], 1)...)
					next[p]++
				}
				require.NoError(t, b.Add(ctx, batch...))
				for _, r := range batch {
					current[connect.TopicPartition{Topic: "t", Partition: r.Partition}] = r.Offset + 1
				}
				if round%7 != 0 {
					continue
				}
				var safe map[connect.TopicPartition]int64
				if mode == "Flush" {
					var err error
					safe, err = b.Flush(ctx, current)
					require.NoError(t, err)
				} else {
					safe = b.Committable(current)
				}
				written := map[connect.TopicPartition]map[int64]bool{}
				for _, wb := range d.batches {
					for _, r := range wb {
						tp := connect.TopicPartition{Topic: r.OriginalTopic, Partition: r.OriginalPartition}
						if written[tp] == nil {
							written[tp] = map[int64]bool{}
						}
						written[tp][r.OriginalOffset] = true
					}
				}
				for tp, commit := range safe {
					for off := range commit {
						require.True(t, written[tp][off], "round %d: commit %d on %s but offset %d is not in the destination", round, commit, tp, off)
					}
				}
			}
		})
	}
}
