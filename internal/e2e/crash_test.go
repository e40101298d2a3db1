package e2e

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

const (
	crashProducers  = 4
	crashPartitions = 4
	crashTopic      = "crash"
	// crashRate is records per millisecond per producer. Unpaced, the
	// producers write millions of records a second and reading them back
	// would dominate the test; this keeps many small batches in flight.
	crashRate = 25
)

// TestCrashRecovery SIGKILLs the broker at random moments while four
// idempotent acks=all producers write to it, restarting it each time on the
// same port and data directory, and then checks the topic: every
// acknowledged record is there, none twice, each producer's records in
// order and without a gap below its highest acknowledged one.
//
// The producers' clients live across all rounds, so batches in flight at a
// kill are retried against the restarted broker with their original
// sequence numbers; de-duplicating them needs the producer state the broker
// recovered from disk.
//
// SLUICE_E2E_SEED=n replays the kill schedule of a logged seed.
func TestCrashRecovery(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("SLUICE_E2E_SEED"); s != "" {
		var err error
		seed, err = strconv.ParseUint(s, 10, 64)
		require.NoError(t, err, "SLUICE_E2E_SEED")
	}
	t.Logf("seed %d (SLUICE_E2E_SEED=%d reproduces the kill schedule)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, seed>>1|1))
	rounds := 20
	if testing.Short() {
		rounds = 5
	}

	dir, addr := t.TempDir(), freeAddr(t)
	brokerLog, clientLog := &procLog{}, &procLog{}
	dumpOnFailure(t, "broker", brokerLog)
	dumpOnFailure(t, "producer client", clientLog)
	props := []string{"num.partitions=" + strconv.Itoa(crashPartitions)}
	b := startBroker(t, brokerLog, dir, addr, props...)
	createTopic(t, addr, crashTopic, crashPartitions)

	var dataLoss atomic.Int64
	ledgers := make([]*ledger, crashProducers)
	clients := make([]*kgo.Client, crashProducers)
	for i := range clients {
		cl, err := kgo.NewClient(
			kgo.SeedBrokers(addr),
			kgo.DefaultProduceTopic(crashTopic),
			// Producer i writes partition i: each producer's records stay in
			// one partition in order, and all four partitions see traffic.
			kgo.RecordPartitioner(kgo.ManualPartitioner()),
			kgo.RequiredAcks(kgo.AllISRAcks()),
			kgo.RecordRetries(math.MaxInt),
			kgo.UnknownTopicRetries(-1),
			// The broker is down only for a moment; kgo's default backoff
			// (up to 2.5 s) would sleep through most rounds.
			kgo.RetryBackoffFn(func(int) time.Duration { return 50 * time.Millisecond }),
			kgo.ProducerOnDataLossDetected(func(topic string, p int32) {
				dataLoss.Add(1)
				fmt.Fprintf(clientLog, "producer %d: data loss detected on %s/%d\n", i, topic, p)
			}),
			kgo.WithLogger(kgo.BasicLogger(clientLog, kgo.LogLevelWarn, func() string {
				return fmt.Sprintf("producer %d: ", i)
			})),
		)
		require.NoError(t, err)
		clients[i] = cl
		ledgers[i] = &ledger{}
	}
	defer func() {
		for _, cl := range clients {
			cl.Close()
		}
	}()

	stop := make(chan struct{})
	stopProducing := sync.OnceFunc(func() { close(stop) })
	defer stopProducing()
	var wg sync.WaitGroup
	for i, cl := range clients {
		wg.Go(func() { produceLoop(cl, i, ledgers[i], stop) })
	}

	start := time.Now()
	for round := 1; round <= rounds; round++ {
		up := time.Duration(200+rng.IntN(1301)) * time.Millisecond
		select {
		case <-time.After(up):
		case <-b.done:
			t.Fatalf("round %d: broker exited on its own: %v", round, b.err)
		}
		b.kill()
		t.Logf("round %2d: killed after %4d ms up; %d records acknowledged so far", round, up.Milliseconds(), ackedTotal(ledgers))
		b = startBroker(t, brokerLog, dir, addr, props...)
	}
	t.Logf("%d kills in %s", rounds, time.Since(start).Round(time.Millisecond))

	stopProducing()
	wg.Wait()
	for i, cl := range clients {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := cl.Flush(ctx); err != nil {
			t.Logf("producer %d: flush: %v; aborting what is left", i, err)
			actx, acancel := context.WithTimeout(context.Background(), 10*time.Second)
			if err := cl.AbortBufferedRecords(actx); err != nil {
				t.Errorf("producer %d: abort buffered records: %v", i, err)
			}
			acancel()
		}
		cancel()
		cl.Close()
	}
	for i, l := range ledgers {
		t.Logf("producer %d: %d produced, %d acknowledged, %d failed (first error: %v)", i, l.produced, l.acked, l.failed, l.firstErr)
	}
	require.Zero(t, dataLoss.Load(), "kgo detected data loss (OUT_OF_ORDER_SEQUENCE_NUMBER or UNKNOWN_PRODUCER_ID)")
	require.NotZero(t, ackedTotal(ledgers), "no record was acknowledged")

	b.terminate(t, 10*time.Second)
	b = startBroker(t, brokerLog, dir, addr, props...)
	got := consumeAll(t, addr, crashTopic)
	b.terminate(t, 10*time.Second)
	checkCrashResult(t, ledgers, got)
}

// produceLoop produces crashRate records a millisecond for producer p to
// partition p, with increasing sequence numbers, until stop is closed.
// While the broker is down Produce blocks once the client's buffer is full
// and ticks are dropped.
func produceLoop(cl *kgo.Client, p int, l *ledger, stop <-chan struct{}) {
	key := []byte(strconv.Itoa(p))
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	seq := 0
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		for range crashRate {
			l.start()
			rec := &kgo.Record{Key: key, Value: crashValue(p, seq), Partition: int32(p)}
			// Background: a cancelled context would fail buffered records.
			cl.Produce(context.Background(), rec, func(_ *kgo.Record, err error) { l.finish(seq, err) })
			seq++
		}
	}
}

// crashValue encodes (producer, seq), padded so batches compress.
func crashValue(p, seq int) []byte {
	return fmt.Appendf(nil, "%d:%d:%s", p, seq, strings.Repeat("x", 40))
}

func parseCrashValue(v []byte) (p, seq int, err error) {
	ps, rest, ok1 := strings.Cut(string(v), ":")
	ss, _, ok2 := strings.Cut(rest, ":")
	if !ok1 || !ok2 {
		return 0, 0, fmt.Errorf("value %q is not producer:seq:padding", v)
	}
	if p, err = strconv.Atoi(ps); err != nil {
		return 0, 0, fmt.Errorf("value %q: producer: %w", v, err)
	}
	if seq, err = strconv.Atoi(ss); err != nil {
		return 0, 0, fmt.Errorf("value %q: seq: %w", v, err)
	}
	return p, seq, nil
}

// ledger is one producer's record of which sequence numbers were
// acknowledged. Promises run on kgo's goroutines.
type ledger struct {
	mu       sync.Mutex
	ok       []bool // by seq
	produced int
	acked    int
	failed   int
	firstErr error
}

func (l *ledger) start() {
	l.mu.Lock()
	l.produced++
	l.ok = append(l.ok, false)
	l.mu.Unlock()
}

func (l *ledger) finish(seq int, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		l.failed++
		if l.firstErr == nil {
			l.firstErr = fmt.Errorf("seq %d: %w", seq, err)
		}
		return
	}
	l.ok[seq] = true
	l.acked++
}

func ackedTotal(ls []*ledger) int {
	n := 0
	for _, l := range ls {
		l.mu.Lock()
		n += l.acked
		l.mu.Unlock()
	}
	return n
}

// consumed is one record read back: partition and offset, and what it
// decoded to.
type consumed struct {
	partition int32
	offset    int64
	producer  int
	seq       int
}

// consumeAll reads every partition of topic from the start to its end
// offset as of the call, failing on any fetch error (a CRC mismatch or a
// malformed batch shows up there) and on any hole in the offsets.
func consumeAll(t testing.TB, addr, topic string) []consumed {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(addr),
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxWait(200*time.Millisecond),
	)
	require.NoError(t, err)
	defer cl.Close()
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	require.NoError(t, err)
	require.NoError(t, ends.Error())
	next := map[int32]int64{}
	remaining := 0
	ends.Each(func(o kadm.ListedOffset) {
		next[o.Partition] = 0
		if o.Offset > 0 {
			remaining++
		}
	})
	start := time.Now()
	var out []consumed
	for remaining > 0 {
		fs := cl.PollFetches(ctx)
		for _, fe := range fs.Errors() {
			t.Fatalf("fetch %s/%d: %v", fe.Topic, fe.Partition, fe.Err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			end, _ := ends.Lookup(topic, r.Partition)
			if r.Offset >= end.Offset {
				return // produced after ListEndOffsets; nobody does, but be exact
			}
			if r.Offset != next[r.Partition] {
				t.Fatalf("partition %d: read offset %d, want %d", r.Partition, r.Offset, next[r.Partition])
			}
			next[r.Partition]++
			if next[r.Partition] == end.Offset {
				remaining--
			}
			p, seq, err := parseCrashValue(r.Value)
			if err != nil {
				t.Fatalf("partition %d offset %d: %v", r.Partition, r.Offset, err)
			}
			if string(r.Key) != strconv.Itoa(p) {
				t.Fatalf("partition %d offset %d: key %q, value of producer %d", r.Partition, r.Offset, r.Key, p)
			}
			out = append(out, consumed{r.Partition, r.Offset, p, seq})
		})
	}
	t.Logf("consumed %d records in %s (end offsets %v)", len(out), time.Since(start).Round(time.Millisecond), next)
	return out
}

// checkCrashResult compares what was read with what was acknowledged.
func checkCrashResult(t *testing.T, ledgers []*ledger, got []consumed) {
	t.Helper()
	seen := make([][]bool, len(ledgers))
	last := make([]int, len(ledgers))
	part := make([]int32, len(ledgers))
	for i, l := range ledgers {
		seen[i] = make([]bool, len(l.ok))
		last[i], part[i] = -1, -1
	}
	var dups, disorder, alien []string
	for _, c := range got {
		if c.producer < 0 || c.producer >= len(ledgers) || c.seq < 0 || c.seq >= len(seen[c.producer]) {
			alien = append(alien, fmt.Sprintf("%d:%d at %d/%d", c.producer, c.seq, c.partition, c.offset))
			continue
		}
		if part[c.producer] == -1 {
			part[c.producer] = c.partition
		} else if part[c.producer] != c.partition {
			t.Errorf("producer %d: records in partitions %d and %d (offset %d)", c.producer, part[c.producer], c.partition, c.offset)
		}
		switch {
		case seen[c.producer][c.seq]:
			dups = append(dups, fmt.Sprintf("%d:%d at %d/%d", c.producer, c.seq, c.partition, c.offset))
		case c.seq < last[c.producer]:
			disorder = append(disorder, fmt.Sprintf("%d:%d after seq %d at %d/%d", c.producer, c.seq, last[c.producer], c.partition, c.offset))
		}
		seen[c.producer][c.seq] = true
		last[c.producer] = max(last[c.producer], c.seq)
	}
	for i, l := range ledgers {
		maxAcked := -1
		var lost, gaps []int
		for seq, ok := range l.ok {
			if ok {
				maxAcked = seq
				if !seen[i][seq] {
					lost = append(lost, seq)
				}
			}
		}
		for seq := 0; seq < maxAcked; seq++ {
			if !seen[i][seq] && !l.ok[seq] {
				gaps = append(gaps, seq)
			}
		}
		unackedPresent := 0
		for seq := maxAcked + 1; seq < len(seen[i]); seq++ {
			if seen[i][seq] {
				unackedPresent++
			}
		}
		t.Logf("producer %d: partition %d, highest acknowledged seq %d, highest read seq %d, %d unacknowledged records above it present",
			i, part[i], maxAcked, last[i], unackedPresent)
		if len(lost) > 0 {
			t.Errorf("producer %d: %d acknowledged records missing, first seqs %v", i, len(lost), head(lost))
		}
		if len(gaps) > 0 {
			t.Errorf("producer %d: %d unacknowledged records missing below highest acknowledged seq %d, first seqs %v", i, len(gaps), maxAcked, head(gaps))
		}
	}
	if len(dups) > 0 {
		t.Errorf("%d duplicate records, first: %v", len(dups), head(dups))
	}
	if len(disorder) > 0 {
		t.Errorf("%d records out of order, first: %v", len(disorder), head(disorder))
	}
	if len(alien) > 0 {
		t.Errorf("%d records never produced, first: %v", len(alien), head(alien))
	}
}

func head[T any](s []T) []T { return s[:min(len(s), 10)] }
