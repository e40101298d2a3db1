package broker_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/testenv"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestCompactedTopicKeepsLatestPerKey produces 100k updates over 1k keys,
// some ending in tombstones, to a compacted topic; the broker's background
// cleaner (every 100 ms here) leaves a consumer from the start with exactly
// the latest value of every key, and no trace of the deleted keys once
// delete.retention.ms has passed.
func TestCompactedTopicKeepsLatestPerKey(t *testing.T) {
	b := testenv.StartBroker(t, map[string]string{"log.cleaner.backoff.ms": "100"})
	const topic, total, keys = "compacted", 100_000, 1000
	createTopic(t, b.Addr, topic, 1, map[string]*string{
		"cleanup.policy":            kadm.StringPtr("compact"),
		"internal.segment.bytes":    kadm.StringPtr("65536"),
		"min.cleanable.dirty.ratio": kadm.StringPtr("0.1"),
		"delete.retention.ms":       kadm.StringPtr("500"),
	})
	// Batches well below segment.bytes, so segments roll steadily and the
	// tombstones end up outside the active segment, which is never cleaned.
	cl := newClient(t, b.Addr, kgo.DefaultProduceTopic(topic), kgo.ProducerBatchMaxBytes(8<<10))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	latest := map[string]string{}
	errs := make(chan error, total+10_020)
	produce := func(key string, val []byte) {
		if val == nil {
			delete(latest, key)
		} else {
			latest[key] = string(val)
		}
		cl.Produce(ctx, &kgo.Record{Key: []byte(key), Value: val}, func(_ *kgo.Record, err error) { errs <- err })
	}
	for i := range total {
		produce(fmt.Sprintf("k%d", (i*7919)%keys), fmt.Appendf(nil, "v%d", i))
	}
	for i := range 20 { // delete 20 keys, then push the tombstones out of the active segment
		produce(fmt.Sprintf("k%d", i), nil)
	}
	for i := range 10_000 {
		produce(fmt.Sprintf("k%d", 100+i%50), fmt.Appendf(nil, "w%d", i))
	}
	require.NoError(t, cl.Flush(ctx))
	for range total + 2020 {
		require.NoError(t, <-errs)
	}

	deadline := time.Now().Add(60 * time.Second)
	for {
		got, n, tombstones := readCompacted(t, b.Addr, topic)
		require.Equal(t, latest, got, "a consumer from the start sees the latest value of every key")
		if n < total/10 && tombstones == 0 {
			t.Logf("after cleaning a consumer reads %d records for %d keys", n, len(got))
			return
		}
		require.True(t, time.Now().Before(deadline), "not compacted in time: %d records, %d tombstones", n, tombstones)
		time.Sleep(200 * time.Millisecond)
	}
}

// readCompacted consumes topic from the start to its high watermark and
// returns the last value of each key (deleted keys absent), the number of
// records read and how many of them were tombstones.
func readCompacted(t *testing.T, addr, topic string) (map[string]string, int, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	adm := kadm.NewClient(newClient(t, addr))
	ends, err := adm.ListEndOffsets(ctx, topic)
	require.NoError(t, err)
	end, ok := ends.Lookup(topic, 0)
	require.True(t, ok)
	require.NoError(t, end.Err)
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(200*time.Millisecond))
	require.NoError(t, err)
	defer cl.Close()
	out := map[string]string{}
	n, tombstones := 0, 0
	for last := int64(-1); last < end.Offset-1; {
		fs := cl.PollFetches(ctx)
		require.NoError(t, ctx.Err(), "read to %d of %d", last, end.Offset)
		fs.EachError(func(topic string, p int32, err error) { t.Fatalf("fetch %s-%d: %v", topic, p, err) })
		fs.EachRecord(func(r *kgo.Record) {
			n++
			last = r.Offset
			if r.Value == nil {
				tombstones++
				delete(out, string(r.Key))
			} else {
				out[string(r.Key)] = string(r.Value)
			}
		})
	}
	return out, n, tombstones
}
