package broker_test

// Power-loss tests. Killing the broker process cannot show that acks=all
// waits for fsync, since the page cache outlives the process; so these tests
// run a real broker over the crash-simulating filesystem of package faultfs
// and cut the power under it: stop serving without closing the store, then
// let faultfs.Crash keep only what was synced (plus a torn, maybe garbled,
// piece of the unsynced tail).

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/broker"
	"github.com/sluicehq/sluice/broker/batch"
	"github.com/sluicehq/sluice/broker/log"
	"github.com/sluicehq/sluice/broker/log/faultfs"
	"github.com/sluicehq/sluice/internal/testenv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// powerBroker is a broker whose log lives on a faultfs.FS. The broker's own
// meta.properties goes to the real dir; only the log is simulated.
type powerBroker struct {
	Addr  string
	fs    *faultfs.FS
	dir   string
	store *log.Store
	stop  context.CancelFunc // nil once killed
	wg    sync.WaitGroup
}

// startPowerBroker opens the log in dir on fs, recovering whatever is there,
// and serves it on a free port until the test ends.
func startPowerBroker(t *testing.T, fs *faultfs.FS, dir string) *powerBroker {
	t.Helper()
	cfg, err := broker.NewConfig(map[string]string{"listeners": "PLAINTEXT://127.0.0.1:0", "log.dirs": dir})
	require.NoError(t, err)
	store, err := log.Open(log.Options{Dir: dir, FS: testenv.LogFS(fs), Defaults: cfg.TopicDefaults})
	require.NoError(t, err)
	srv, err := broker.New(cfg, store, nil)
	require.NoError(t, err)
	addr, err := srv.Listen()
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	b := &powerBroker{Addr: addr.String(), fs: fs, dir: dir, store: store, stop: cancel}
	b.wg.Go(func() { srv.Run(ctx) })
	b.wg.Go(func() { store.Run(ctx) })
	t.Cleanup(func() {
		if b.stop != nil {
			b.kill()
			assert.NoError(t, store.Close())
		}
	})
	return b
}

// kill stops the broker without closing the store: nothing more is flushed
// and no clean-shutdown marker is written, as when the power goes.
func (b *powerBroker) kill() {
	b.stop()
	b.stop = nil
	b.wg.Wait()
}

// powerCut kills the broker, crashes the filesystem with torn writes, and
// starts a new broker on what the disk kept.
func (b *powerBroker) powerCut(t *testing.T, rng *rand.Rand) *powerBroker {
	t.Helper()
	b.kill()
	b.fs.Crash(rng, true)
	return startPowerBroker(t, b.fs, b.dir)
}

// seededRand returns a random source whose seed the test logs.
func seededRand(t *testing.T) *rand.Rand {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	return rand.New(rand.NewPCG(seed, 0))
}

// readAll consumes every partition of topic from its start to the end
// offset it has now, failing on any fetch error.
func readAll(t *testing.T, addr, topic string) map[int32][]*kgo.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ends, err := kadm.NewClient(newClient(t, addr)).ListEndOffsets(ctx, topic)
	require.NoError(t, err)
	require.NoError(t, ends.Error())
	left := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset > 0 {
			left[o.Partition] = o.Offset
		}
	})
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(200*time.Millisecond))
	require.NoError(t, err)
	defer cl.Close()
	out := map[int32][]*kgo.Record{}
	for len(left) > 0 {
		fs := cl.PollFetches(ctx)
		require.NoError(t, ctx.Err(), "still to read up to: %v", left)
		fs.EachError(func(topic string, p int32, err error) {
			t.Fatalf("fetch %s-%d: %v", topic, p, err)
		})
		fs.EachRecord(func(r *kgo.Record) {
			out[r.Partition] = append(out[r.Partition], r)
			if r.Offset+1 >= left[r.Partition] {
				delete(left, r.Partition)
			}
		})
	}
	return out
}

// ackSet records the values the broker acknowledged.
type ackSet struct {
	mu  sync.Mutex
	set map[string]bool
}

func (a *ackSet) len() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.set)
}

func (a *ackSet) add(v string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.set[v] = true
}

// produceUntilPowerCut runs producers concurrently, each with its own client
// (made with opts), sending records round-robin over the partitions, and
// cuts the power while they are busy, after a random number of
// acknowledgements. It returns the broker started after the cut; acked gets
// every value acknowledged before it.
func produceUntilPowerCut(t *testing.T, rng *rand.Rand, b *powerBroker, topic string, partitions, producers, round int, acked *ackSet, opts ...kgo.Opt) *powerBroker {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { // on failure; a no-op after the cut
		cancel()
		wg.Wait()
	}()
	for pr := range producers {
		cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(b.Addr), kgo.DefaultProduceTopic(topic),
			kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.MaxBufferedRecords(500)}, opts...)...)
		require.NoError(t, err)
		wg.Go(func() {
			defer cl.Close() // fails what is still buffered
			for seq := 0; ctx.Err() == nil; seq++ {
				r := &kgo.Record{Partition: int32(seq % partitions), Value: fmt.Appendf(nil, "%d.%d.%d", round, pr, seq)}
				cl.Produce(ctx, r, func(r *kgo.Record, err error) {
					if err == nil {
						acked.add(string(r.Value))
					}
				})
			}
		})
	}
	// Cut at a random point, once this round has some acknowledged records:
	// a test that acknowledged nothing would prove nothing.
	target := acked.len() + 500 + rng.IntN(10_000)
	deadline := time.Now().Add(30 * time.Second)
	for acked.len() < target {
		require.True(t, time.Now().Before(deadline), "round %d: only %d of %d records acknowledged", round, acked.len(), target)
		time.Sleep(time.Millisecond)
	}
	t.Logf("round %d: power cut after %d records acknowledged in all", round, acked.len())
	b.kill() // producers are still sending
	cancel()
	wg.Wait()
	b.fs.Crash(rng, true)
	return startPowerBroker(t, b.fs, b.dir)
}

// requireAckedOnceInOrder checks that every acknowledged value is in recs,
// and that each producer's records in a partition, acknowledged or not, are
// there at most once and in the order produced.
func requireAckedOnceInOrder(t *testing.T, recs map[int32][]*kgo.Record, acked *ackSet) {
	t.Helper()
	type stream struct {
		p               int32
		round, producer int
	}
	last := map[stream]int{}
	seen := map[string]bool{}
	for p, rs := range recs {
		for i, r := range rs {
			require.Equal(t, int64(i), r.Offset, "partition %d: offsets are dense from 0", p)
			var s stream
			var seq int
			_, err := fmt.Sscanf(string(r.Value), "%d.%d.%d", &s.round, &s.producer, &seq)
			require.NoError(t, err, "partition %d offset %d: value %q", p, r.Offset, r.Value)
			s.p = p
			if prev, ok := last[s]; ok {
				require.Greater(t, seq, prev, "partition %d offset %d: %q after sequence %d: duplicate or reordered", p, r.Offset, r.Value, prev)
			}
			last[s] = seq
			seen[string(r.Value)] = true
		}
	}
	acked.mu.Lock()
	defer acked.mu.Unlock()
	var missing []string
	for v := range acked.set {
		if !seen[v] {
			missing = append(missing, v)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		t.Fatalf("%d of %d acknowledged records lost, such as %v", len(missing), len(acked.set), missing[:min(len(missing), 10)])
	}
}

func TestAcksAllSurvivesPowerLoss(t *testing.T) {
	rng := seededRand(t)
	dir := t.TempDir()
	b := startPowerBroker(t, faultfs.New(), dir)
	const topic, partitions = "durable", 4
	createTopic(t, b.Addr, topic, partitions, nil)
	acked := &ackSet{set: map[string]bool{}}
	for round := range 5 {
		b = produceUntilPowerCut(t, rng, b, topic, partitions, 3, round, acked) // acks=all, idempotent: kgo's defaults
		requireAckedOnceInOrder(t, readAll(t, b.Addr, topic), acked)
	}
}

func TestAcksOneWithFlushMessagesSurvivesPowerLoss(t *testing.T) {
	rng := seededRand(t)
	dir := t.TempDir()
	b := startPowerBroker(t, faultfs.New(), dir)
	const topic, partitions = "flushed", 4
	createTopic(t, b.Addr, topic, partitions, map[string]*string{"flush.messages": ptr("1")})
	acked := &ackSet{set: map[string]bool{}}
	for round := range 5 {
		b = produceUntilPowerCut(t, rng, b, topic, partitions, 3, round, acked,
			kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite())
		requireAckedOnceInOrder(t, readAll(t, b.Addr, topic), acked)
	}
}

// TestAcksOneDefaultMayLoseButNeverTears: without flush.messages, acks=1 is
// answered from the page cache, so a power cut may lose the tail; what comes
// back must still be a prefix of the log as it was, batch for batch, and the
// log must go on from where it was cut.
func TestAcksOneDefaultMayLoseButNeverTears(t *testing.T) {
	rng := seededRand(t)
	dir := t.TempDir()
	b := startPowerBroker(t, faultfs.New(), dir)
	const topic, partitions = "volatile", 4
	createTopic(t, b.Addr, topic, partitions, nil)
	lost := 0
	for round := range 3 {
		cl := newClient(t, b.Addr, kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.ManualPartitioner()),
			kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite())
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		for i := range 2000 + rng.IntN(3000) {
			cl.Produce(ctx, &kgo.Record{Partition: int32(i % partitions), Value: fmt.Appendf(nil, "%d.%d", round, i)},
				func(_ *kgo.Record, err error) { assert.NoError(t, err) })
		}
		require.NoError(t, cl.Flush(ctx))
		cancel()
		before := readAll(t, b.Addr, topic)

		b = b.powerCut(t, rng)
		after := readAll(t, b.Addr, topic)
		for p := range int32(partitions) {
			require.LessOrEqual(t, len(after[p]), len(before[p]), "round %d partition %d grew", round, p)
			for i, r := range after[p] {
				require.Equal(t, before[p][i].Offset, r.Offset, "round %d partition %d", round, p)
				require.Equal(t, string(before[p][i].Value), string(r.Value), "round %d partition %d offset %d", round, p, r.Offset)
			}
			lost += len(before[p]) - len(after[p])
		}

		// New writes go on from the recovered end of each partition.
		cl = newClient(t, b.Addr, kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.ManualPartitioner()),
			kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite())
		for p := range int32(partitions) {
			r, err := cl.ProduceSync(context.Background(), &kgo.Record{Partition: p, Value: []byte("after the cut")}).First()
			require.NoError(t, err)
			require.Equal(t, int64(len(after[p])), r.Offset, "round %d partition %d", round, p)
		}
	}
	t.Logf("records lost to power cuts: %d", lost)
	assert.Positive(t, lost, "unsynced acks=1 data should sometimes be lost; if never, the cut did not bite")
}

// TestWriteErrorRefusesPartition: a disk write error fails the produce with
// KAFKA_STORAGE_ERROR and the partition keeps refusing after the disk
// recovers (its file is in an unknown state), while other partitions, whose
// files saw no error, go on.
func TestWriteErrorRefusesPartition(t *testing.T) {
	fs := faultfs.New()
	b := startPowerBroker(t, fs, t.TempDir())
	createTopic(t, b.Addr, "broken", 1, nil)
	createTopic(t, b.Addr, "healthy", 1, nil)
	cl := newClient(t, b.Addr)
	produce := func(topic string) int16 {
		t.Helper()
		rec, err := batch.Encode(batch.EncodeOptions{ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1},
			[]batch.Record{{Value: []byte(topic), Timestamp: time.Now().UnixMilli()}})
		require.NoError(t, err)
		req := kmsg.NewPtrProduceRequest()
		req.Acks = -1
		req.TimeoutMillis = 5000
		rt := kmsg.NewProduceRequestTopic()
		rt.Topic = topic
		rp := kmsg.NewProduceRequestTopicPartition()
		rp.Records = rec
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		resp, err := req.RequestWith(context.Background(), cl)
		require.NoError(t, err)
		return resp.Topics[0].Partitions[0].ErrorCode
	}
	require.Zero(t, produce("broken"))
	require.Zero(t, produce("healthy"))

	fs.SetFailWrites(true)
	assert.Equal(t, kerr.KafkaStorageError.Code, produce("broken"))
	fs.SetFailWrites(false)
	assert.Equal(t, kerr.KafkaStorageError.Code, produce("broken"), "a write error is sticky")
	assert.Zero(t, produce("healthy"), "other partitions still take writes")

	recs := readAll(t, b.Addr, "broken")
	require.Len(t, recs[0], 1, "what was written before the error is still served")
}
