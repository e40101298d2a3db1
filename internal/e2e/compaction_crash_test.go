package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestCompactionSurvivesKill SIGKILLs the broker at random moments while an
// acks=all producer overwrites a small key space on a compacted topic and
// the cleaner runs every 20 ms, so kills land before, during and after
// segment swaps. After every restart, and at the end, reading the topic
// from the start must give each key a value at least as new as its latest
// acknowledged one: cleaning never loses a newer record, and no torn or
// half-swapped segment is served.
func TestCompactionSurvivesKill(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 7))
	rounds := 8
	if testing.Short() {
		rounds = 3
	}
	dir, addr := t.TempDir(), freeAddr(t)
	out := &procLog{}
	dumpOnFailure(t, "broker", out)
	props := []string{"log.cleaner.backoff.ms=20", "offsets.topic.num.partitions=1"}
	p := startBroker(t, out, dir, addr, props...)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	admCl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	require.NoError(t, err)
	resp, err := kadm.NewClient(admCl).CreateTopic(ctx, 1, 1, map[string]*string{
		"cleanup.policy":            kadm.StringPtr("compact"),
		"internal.segment.bytes":    kadm.StringPtr("8192"),
		"min.cleanable.dirty.ratio": kadm.StringPtr("0.01"),
	}, "kv")
	admCl.Close()
	require.NoError(t, err)
	require.NoError(t, resp.Err)

	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DefaultProduceTopic("kv"),
		kgo.ProducerBatchMaxBytes(2048), kgo.RetryBackoffFn(func(int) time.Duration { return 50 * time.Millisecond }))
	require.NoError(t, err)
	defer cl.Close()

	const keys = 100
	var mu sync.Mutex
	acked := map[string]int{} // key → highest acknowledged sequence
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			key := fmt.Sprintf("k%03d", i%keys)
			seq := i
			cl.Produce(ctx, &kgo.Record{Key: []byte(key), Value: []byte(strconv.Itoa(seq))}, func(_ *kgo.Record, err error) {
				if err == nil {
					mu.Lock()
					acked[key] = max(acked[key], seq)
					mu.Unlock()
				}
			})
			if i%200 == 199 {
				time.Sleep(time.Millisecond)
			}
		}
	}()

	check := func(stage string) int {
		t.Helper()
		mu.Lock()
		want := make(map[string]int, len(acked))
		for k, v := range acked {
			want[k] = v
		}
		mu.Unlock()
		got, n := readLatest(t, addr, "kv")
		for k, seq := range want {
			require.GreaterOrEqualf(t, got[k], seq, "%s: key %s has %d, but %d was acknowledged", stage, k, got[k], seq)
		}
		return n
	}
	for round := range rounds {
		time.Sleep(time.Duration(300+rng.IntN(900)) * time.Millisecond)
		p.kill()
		p = startBroker(t, out, dir, addr, props...)
		check(fmt.Sprintf("after kill %d", round+1))
	}
	close(stop)
	wg.Wait()
	flushCtx, flushCancel := context.WithTimeout(ctx, 20*time.Second)
	cl.Flush(flushCtx)
	flushCancel()
	time.Sleep(300 * time.Millisecond) // a few more cleaner passes
	n := check("at the end")
	mu.Lock()
	top := maxValue(acked)
	t.Logf("%d keys, latest acknowledged sequence %d, %d records left after cleaning", len(acked), top, n)
	mu.Unlock()
	require.Less(t, n, top/10, "the cleaner compacted the topic while the broker was being killed")
	p.terminate(t, 10*time.Second)
}

// readLatest reads a single-partition topic from the start to its end and
// returns each key's value at its highest offset, failing on fetch errors or
// offsets that go backwards.
func readLatest(t *testing.T, addr, topic string) (map[string]int, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(100*time.Millisecond))
	require.NoError(t, err)
	defer cl.Close()
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	require.NoError(t, err)
	end, _ := ends.Lookup(topic, 0)
	latest := map[string]int{}
	last, n := int64(-1), 0
	for last+1 < end.Offset {
		fs := cl.PollFetches(ctx)
		require.NoError(t, ctx.Err(), "read up to %d of %d", last, end.Offset)
		for _, fe := range fs.Errors() {
			t.Fatalf("fetch %s-%d: %v", fe.Topic, fe.Partition, fe.Err)
		}
		for _, r := range fs.Records() {
			require.Greater(t, r.Offset, last, "offsets go backwards")
			last = r.Offset
			v, err := strconv.Atoi(strings.TrimSpace(string(r.Value)))
			require.NoError(t, err, "record %d value %q", r.Offset, r.Value)
			latest[string(r.Key)] = v
			n++
		}
	}
	return latest, n
}

func maxValue(m map[string]int) int {
	best := -1
	for _, v := range m {
		best = max(best, v)
	}
	return best
}
