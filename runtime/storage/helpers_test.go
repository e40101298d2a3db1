package storage

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/bench/kfakeserver"
	"github.com/sluicehq/sluice/internal/testenv"
)

// testBrokers are the brokers every Kafka-backed test runs against: the
// Sluice broker, and franz-go's kfake to show only the Kafka protocol is
// relied on.
var testBrokers = []struct {
	name  string
	start func(testing.TB) string
}{
	{"sluice", func(t testing.TB) string { return testenv.StartBroker(t, nil).Addr }},
	{"kfake", func(t testing.TB) string {
		addr, stop, err := kfakeserver.StartKfake(1)
		require.NoError(t, err)
		t.Cleanup(stop)
		return addr
	}},
}

// forEachBroker runs fn once per broker, each with a broker of its own.
func forEachBroker(t *testing.T, fn func(t *testing.T, addr string)) {
	for _, b := range testBrokers {
		t.Run(b.name, func(t *testing.T) { fn(t, b.start(t)) })
	}
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func topicOpts(addr, topic string) TopicOptions {
	return TopicOptions{Topic: topic, ClientOpts: []kgo.Opt{kgo.SeedBrokers(addr)}}
}

// runner is what every store has for its life cycle.
type runner interface {
	Start(ctx context.Context) error
	Run(ctx context.Context) error
	Close() error
}

// startStore starts s, runs it in the background when run is set, and
// stops it when the test ends.
func startStore(t testing.TB, s runner, run bool) {
	t.Helper()
	require.NoError(t, s.Start(testCtx(t)))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	if run {
		go func() { done <- s.Run(ctx) }()
	} else {
		done <- nil
	}
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
		require.NoError(t, s.Close())
	})
}

func newClient(t testing.TB, addr string, opts ...kgo.Opt) *kgo.Client {
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr)}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(cl.Close)
	return cl
}

// rawRecord is a record as it sits in a topic; Value "<nil>" marks a
// tombstone.
type rawRecord struct {
	Partition int32
	Key       string
	Value     string
}

// readRaw returns every record of topic, partition by partition in offset
// order.
func readRaw(t testing.TB, addr, topic string) []rawRecord {
	t.Helper()
	ctx := testCtx(t)
	adm := kadm.NewClient(newClient(t, addr))
	ends, err := adm.ListEndOffsets(ctx, topic)
	require.NoError(t, err)
	want := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset > 0 {
			want[o.Partition] = o.Offset
		}
	})
	cl := newClient(t, addr, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	byPart := map[int32][]rawRecord{}
	for len(want) > 0 {
		fetches := cl.PollFetches(ctx)
		require.NoError(t, ctx.Err())
		fetches.EachRecord(func(r *kgo.Record) {
			v := "<nil>"
			if r.Value != nil {
				v = string(r.Value)
			}
			byPart[r.Partition] = append(byPart[r.Partition], rawRecord{r.Partition, string(r.Key), v})
			if r.Offset+1 >= want[r.Partition] {
				delete(want, r.Partition)
			}
		})
	}
	var out []rawRecord
	for p := range int32(1000) {
		out = append(out, byPart[p]...)
	}
	return out
}

// keyValues drops the partitions of records.
func keyValues(recs []rawRecord) [][2]string {
	out := make([][2]string, len(recs))
	for i, r := range recs {
		out[i] = [2]string{r.Key, r.Value}
	}
	return out
}

// produceRaw writes records as another worker would; a "<nil>" value is a
// tombstone.
func produceRaw(t testing.TB, addr, topic string, partitioner kgo.Partitioner, kvs ...[2]string) {
	t.Helper()
	opts := []kgo.Opt{kgo.DefaultProduceTopic(topic)}
	if partitioner != nil {
		opts = append(opts, kgo.RecordPartitioner(partitioner))
	}
	cl := newClient(t, addr, opts...)
	recs := make([]*kgo.Record, len(kvs))
	for i, kv := range kvs {
		recs[i] = &kgo.Record{Key: []byte(kv[0])}
		if kv[1] != "<nil>" {
			recs[i].Value = []byte(kv[1])
		}
	}
	require.NoError(t, cl.ProduceSync(testCtx(t), recs...).FirstErr())
}

// createTopic makes a topic as an operator would.
func createTopic(t testing.TB, addr, topic string, partitions int32, configs map[string]string) {
	t.Helper()
	cfg := map[string]*string{}
	for k, v := range configs {
		cfg[k] = &v
	}
	_, err := kadm.NewClient(newClient(t, addr)).CreateTopic(testCtx(t), partitions, -1, cfg, topic)
	require.NoError(t, err)
}

// murmur2 is Java's Utils.murmur2, written here from the algorithm so the
// test does not trust the client's copy.
func murmur2(data []byte) int32 {
	const m, r = uint32(0x5bd1e995), 24
	h := uint32(0x9747b28c) ^ uint32(len(data))
	n := len(data) / 4
	for i := range n {
		k := uint32(data[4*i]) | uint32(data[4*i+1])<<8 | uint32(data[4*i+2])<<16 | uint32(data[4*i+3])<<24
		k *= m
		k ^= k >> r
		k *= m
		h *= m
		h ^= k
	}
	tail := data[4*n:]
	switch len(tail) {
	case 3:
		h ^= uint32(tail[2]) << 16
		fallthrough
	case 2:
		h ^= uint32(tail[1]) << 8
		fallthrough
	case 1:
		h ^= uint32(tail[0])
		h *= m
	}
	h ^= h >> 13
	h *= m
	h ^= h >> 15
	return int32(h)
}

// javaPartition is Kafka's default partition for a keyed record.
func javaPartition(key []byte, partitions int32) int32 {
	return (murmur2(key) & 0x7fffffff) % partitions
}

// waitFor polls cond until it holds or the test times out.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
