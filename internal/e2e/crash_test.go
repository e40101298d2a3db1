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

	f := startFleet(t, addr, clientLog)
	defer f.close()

	start := time.Now()
	for round := 1; round <= rounds; round++ {
		up := time.Duration(200+rng.IntN(1301)) * time.Millisecond
		select {
		case <-time.After(up):
		case <-b.done:
			t.Fatalf("round %d: broker exited on its own: %v", round, b.err)
		}
		b.kill()
		t.Logf("round %2d: killed after %4d ms up; %d records acknowledged so far", round, up.Milliseconds(), f.acked())
		b = startBroker(t, brokerLog, dir, addr, props...)
	}
	t.Logf("%d kills in %s", rounds, time.Since(start).Round(time.Millisecond))
	f.finish(t)

	b.terminate(t, 10*time.Second)
	b = startBroker(t, brokerLog, dir, addr, props...)
	check := newCrashCheck(t, f.ledgers)
	consumeAll(t, addr, crashTopic, check.record)
	b.terminate(t, 10*time.Second)
	check.finish()
}

// fleet is the crash test's producers: one kgo client and ledger each,
// living across every broker restart.
type fleet struct {
	clients  []*kgo.Client
	ledgers  []*ledger
	dataLoss atomic.Int64
	cut      cutProduces
	stop     chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup
}

// startFleet starts crashProducers idempotent acks=all producers writing
// continuously to crashTopic; the caller must call close.
func startFleet(t *testing.T, addr string, clientLog *procLog) *fleet {
	f := &fleet{stop: make(chan struct{})}
	for i := range crashProducers {
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
				f.dataLoss.Add(1)
				fmt.Fprintf(clientLog, "producer %d: data loss detected on %s/%d\n", i, topic, p)
			}),
			kgo.WithHooks(&f.cut),
			kgo.WithLogger(kgo.BasicLogger(clientLog, crashClientLogLevel(), func() string {
				return fmt.Sprintf("producer %d: ", i)
			})),
		)
		if err != nil {
			f.close()
			t.Fatalf("producer %d: %v", i, err)
		}
		f.clients = append(f.clients, cl)
		f.ledgers = append(f.ledgers, &ledger{})
	}
	for i, cl := range f.clients {
		f.wg.Go(func() { produceLoop(cl, i, f.ledgers[i], f.stop) })
	}
	return f
}

// finish stops producing, flushes what is buffered (aborting what still
// fails after a while: those records are simply not acknowledged), closes
// the clients and checks they saw no data loss.
func (f *fleet) finish(t *testing.T) {
	f.stopOnce.Do(func() { close(f.stop) })
	f.wg.Wait()
	for i, cl := range f.clients {
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
	for i, l := range f.ledgers {
		t.Logf("producer %d: %d produced, %d acknowledged, %d failed (first error: %v)", i, l.produced, l.acked, l.failed, l.firstErr)
	}
	// Each cut request had its batches resent to the restarted broker; those
	// it had already written must have been recognised as duplicates.
	t.Logf("%d produce requests lost their response to a kill and were retried", f.cut.n.Load())
	require.Zero(t, f.dataLoss.Load(), "kgo detected data loss (OUT_OF_ORDER_SEQUENCE_NUMBER or UNKNOWN_PRODUCER_ID)")
	require.NotZero(t, f.acked(), "no record was acknowledged")
}

// close stops producing and closes the clients, failing what is buffered;
// it is safe after finish.
func (f *fleet) close() {
	f.stopOnce.Do(func() { close(f.stop) })
	for _, cl := range f.clients {
		cl.Close()
	}
}

// acked is the number of records acknowledged so far.
func (f *fleet) acked() int {
	n := 0
	for _, l := range f.ledgers {
		l.mu.Lock()
		n += l.acked
		l.mu.Unlock()
	}
	return n
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
			n := seq
			// Background: a cancelled context would fail buffered records.
			cl.Produce(context.Background(), rec, func(_ *kgo.Record, err error) { l.finish(n, err) })
			seq++
		}
	}
}

// cutProduces counts produce requests whose response never arrived.
type cutProduces struct{ n atomic.Int64 }

var _ kgo.HookBrokerRead = (*cutProduces)(nil)

func (c *cutProduces) OnBrokerRead(_ kgo.BrokerMetadata, key int16, _ int, _, _ time.Duration, err error) {
	if key == 0 && err != nil {
		c.n.Add(1)
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

// consumeAll reads every partition of topic from the start to its end
// offset as of the call, handing each record to fn. It fails on any fetch
// error (a CRC mismatch or a malformed batch shows up there) and on any hole
// in the offsets.
func consumeAll(t testing.TB, addr, topic string, fn func(*kgo.Record)) {
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
	start, n := time.Now(), 0
	for remaining > 0 {
		fs := cl.PollFetches(ctx)
		for _, fe := range fs.Errors() {
			t.Fatalf("fetch %s/%d: %v", fe.Topic, fe.Partition, fe.Err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			end, _ := ends.Lookup(topic, r.Partition)
			if r.Offset >= end.Offset {
				return // written after ListEndOffsets
			}
			if r.Offset != next[r.Partition] {
				t.Fatalf("partition %d: read offset %d, want %d", r.Partition, r.Offset, next[r.Partition])
			}
			next[r.Partition]++
			if next[r.Partition] == end.Offset {
				remaining--
			}
			n++
			fn(r)
		})
	}
	t.Logf("consumed %d records in %s (end offsets %v)", n, time.Since(start).Round(time.Millisecond), next)
}

// crashCheck checks records read back against the producers' ledgers.
type crashCheck struct {
	t       *testing.T
	ledgers []*ledger
	seen    [][]bool // by producer, seq
	last    []int    // highest seq read, by producer
	part    []int32  // partition, by producer

	dups, disorder, alien []string
}

func newCrashCheck(t *testing.T, ledgers []*ledger) *crashCheck {
	c := &crashCheck{t: t, ledgers: ledgers}
	for _, l := range ledgers {
		c.seen = append(c.seen, make([]bool, len(l.ok)))
		c.last = append(c.last, -1)
		c.part = append(c.part, -1)
	}
	return c
}

// record checks one record as it is read.
func (c *crashCheck) record(r *kgo.Record) {
	at := fmt.Sprintf("at %d/%d", r.Partition, r.Offset)
	p, seq, err := parseCrashValue(r.Value)
	if err != nil {
		c.t.Fatalf("%s: %v", at, err)
	}
	if string(r.Key) != strconv.Itoa(p) {
		c.t.Fatalf("%s: key %q, value of producer %d", at, r.Key, p)
	}
	if p < 0 || p >= len(c.seen) || seq < 0 || seq >= len(c.seen[p]) {
		c.alien = append(c.alien, fmt.Sprintf("%d:%d %s", p, seq, at))
		return
	}
	if c.part[p] == -1 {
		c.part[p] = r.Partition
	} else if c.part[p] != r.Partition {
		c.t.Errorf("producer %d: records in partitions %d and %d (%s)", p, c.part[p], r.Partition, at)
	}
	switch {
	case c.seen[p][seq]:
		c.dups = append(c.dups, fmt.Sprintf("%d:%d %s", p, seq, at))
	case seq < c.last[p]:
		c.disorder = append(c.disorder, fmt.Sprintf("%d:%d after seq %d %s", p, seq, c.last[p], at))
	}
	c.seen[p][seq] = true
	c.last[p] = max(c.last[p], seq)
}

// finish checks, per producer, that every acknowledged record was read and
// that nothing is missing below the highest acknowledged one.
func (c *crashCheck) finish() {
	t := c.t
	for i, l := range c.ledgers {
		maxAcked := -1
		var lost, gaps []int
		for seq, ok := range l.ok {
			if ok {
				maxAcked = seq
				if !c.seen[i][seq] {
					lost = append(lost, seq)
				}
			}
		}
		for seq := range maxAcked {
			if !c.seen[i][seq] && !l.ok[seq] {
				gaps = append(gaps, seq)
			}
		}
		unackedPresent := 0
		for seq := maxAcked + 1; seq < len(c.seen[i]); seq++ {
			if c.seen[i][seq] {
				unackedPresent++
			}
		}
		t.Logf("producer %d: partition %d, highest acknowledged seq %d, highest read seq %d, %d unacknowledged records above it present",
			i, c.part[i], maxAcked, c.last[i], unackedPresent)
		if len(lost) > 0 {
			t.Errorf("producer %d: %d acknowledged records missing, first seqs %v", i, len(lost), head(lost))
		}
		if len(gaps) > 0 {
			t.Errorf("producer %d: %d unacknowledged records missing below highest acknowledged seq %d, first seqs %v", i, len(gaps), maxAcked, head(gaps))
		}
	}
	if len(c.dups) > 0 {
		t.Errorf("%d duplicate records, first: %v", len(c.dups), head(c.dups))
	}
	if len(c.disorder) > 0 {
		t.Errorf("%d records out of order, first: %v", len(c.disorder), head(c.disorder))
	}
	if len(c.alien) > 0 {
		t.Errorf("%d records never produced, first: %v", len(c.alien), head(c.alien))
	}
}

func head[T any](s []T) []T { return s[:min(len(s), 10)] }

// crashClientLogLevel is warn, or debug with SLUICE_E2E_LOGS set.
func crashClientLogLevel() kgo.LogLevel {
	if os.Getenv("SLUICE_E2E_LOGS") != "" {
		return kgo.LogLevelDebug
	}
	return kgo.LogLevelWarn
}
