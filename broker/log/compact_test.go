package log

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/broker/batch"
	"github.com/sluicehq/sluice/internal/testclock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func newTestClock() *testclock.Clock { return testclock.New(time.UnixMilli(1_700_000_000_000)) }

// compactLog is a compacted test partition and everything appended to it.
type compactLog struct {
	t     testing.TB
	fs    memFS
	clock *testclock.Clock
	s     *Store
	p     *Partition
	all   map[int64]batch.Record // every record appended, by offset
	seq   int32
}

func newCompactLog(t testing.TB, overrides map[string]string) *compactLog {
	t.Helper()
	l := &compactLog{t: t, fs: newMemFS(), clock: newTestClock(), all: map[int64]batch.Record{}}
	l.open()
	cfg := map[string]string{"cleanup.policy": "compact", "internal.segment.bytes": "16384", "index.interval.bytes": "512"}
	for k, v := range overrides {
		cfg[k] = v
	}
	require.NoError(t, l.s.CreateTopic("c", 1, cfg, false))
	l.p = l.partition()
	return l
}

func (l *compactLog) open() {
	s, err := Open(Options{Dir: "/data", FS: l.fs, Now: l.clock.Now})
	require.NoError(l.t, err)
	l.s = s
	if _, ok := s.Topic("c"); ok {
		l.p = l.partition()
	}
}

func (l *compactLog) partition() *Partition {
	p, err := l.s.Partition("c", 0)
	require.NoError(l.t, err)
	return p
}

var testCodecs = []batch.Codec{batch.CodecNone, batch.CodecGzip, batch.CodecSnappy, batch.CodecLZ4, batch.CodecZstd}

// put appends one batch setting each key to a value; a nil value in vals
// is a tombstone. Batches come from one idempotent producer and cycle
// through the codecs.
func (l *compactLog) put(keys []string, vals [][]byte) {
	l.t.Helper()
	ts := l.clock.Now().UnixMilli() + int64(l.seq) // increasing
	recs := make([]batch.Record, len(keys))
	for i, k := range keys {
		recs[i] = batch.Record{Key: []byte(k), Value: vals[i], Timestamp: ts + int64(i),
			Headers: []batch.RecordHeader{{Key: "k", Value: []byte(k)}, {Key: "seq", Value: fmt.Append(nil, l.seq, i)}}}
	}
	b, err := batch.Encode(batch.EncodeOptions{Codec: testCodecs[int(l.seq)%len(testCodecs)], ProducerID: 7, ProducerEpoch: 0, BaseSequence: l.seq}, recs)
	require.NoError(l.t, err)
	res, err := l.p.Append(b)
	require.NoError(l.t, err)
	l.seq += int32(len(keys))
	for i := range recs {
		recs[i].Offset = res.BaseOffset + int64(i)
		if res.LogAppendTime >= 0 {
			recs[i].Timestamp = res.LogAppendTime
		}
		l.all[recs[i].Offset] = recs[i]
	}
}

// updates appends n updates over nkeys keys, batches of 10.
func (l *compactLog) updates(n, nkeys int, rng *rand.Rand) {
	for i := 0; i < n; i += 10 {
		keys := make([]string, min(10, n-i))
		vals := make([][]byte, len(keys))
		for j := range keys {
			keys[j] = fmt.Sprintf("key-%04d", rng.IntN(nkeys))
			vals[j] = fmt.Appendf(nil, "v%d", i+j)
		}
		l.put(keys, vals)
	}
}

// activeBase returns the base offset of the active segment.
func (l *compactLog) activeBase() int64 {
	l.p.mu.RLock()
	defer l.p.mu.RUnlock()
	return l.p.segments[len(l.p.segments)-1].base
}

// expected returns what a full compaction below cleanEnd leaves: the latest
// record per key below it, then everything from it on.
func (l *compactLog) expected(cleanEnd int64, dropTombstones bool) []batch.Record {
	latest := map[string]int64{}
	for off, r := range l.all {
		if cur, ok := latest[string(r.Key)]; off < cleanEnd && (!ok || off > cur) {
			latest[string(r.Key)] = off
		}
	}
	var out []batch.Record
	_, end := l.p.Offsets()
	for off := int64(0); off < end; off++ {
		r, ok := l.all[off]
		if !ok {
			continue
		}
		if off < cleanEnd && (latest[string(r.Key)] != off || dropTombstones && r.Value == nil) {
			continue
		}
		out = append(out, r)
	}
	return out
}

// check asserts the partition holds exactly want, record for record.
func (l *compactLog) check(want []batch.Record) {
	l.t.Helper()
	got := readAllRecords(l.t.(*testing.T), l.p)
	require.Equal(l.t, len(want), len(got))
	for i := range want {
		require.Equal(l.t, want[i], got[i], "record %d", i)
	}
}

func (l *compactLog) size() int64 {
	l.p.mu.RLock()
	defer l.p.mu.RUnlock()
	var n int64
	for _, s := range l.p.segments {
		n += s.size.Load()
	}
	return n
}

func TestCompactKeepsLatestPerKey(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	l := newCompactLog(t, nil)
	l.updates(100_000, 1000, rng)
	before := l.size()
	active := l.activeBase()
	l.p.mu.RLock()
	activeSeg, activeSize := l.p.segments[len(l.p.segments)-1], l.p.segments[len(l.p.segments)-1].size.Load()
	l.p.mu.RUnlock()
	activeBytes := make([]byte, activeSize)
	_, err := activeSeg.log.ReadAt(activeBytes, 0)
	require.NoError(t, err)

	require.NoError(t, l.s.Compact())
	want := l.expected(active, false)
	l.check(want)
	after := l.size()
	t.Logf("compacted %d bytes to %d", before, after)
	assert.Less(t, after, before/10)

	// The active segment is untouched.
	l.p.mu.RLock()
	require.Same(t, activeSeg, l.p.segments[len(l.p.segments)-1])
	l.p.mu.RUnlock()
	got := make([]byte, activeSize)
	_, err = activeSeg.log.ReadAt(got, 0)
	require.NoError(t, err)
	require.Equal(t, activeBytes, got)

	// Reads anywhere, timestamp lookups and the producer state still work.
	for _, off := range []int64{0, 1, active / 2, active - 1, active} {
		res, err := l.p.Read(off, 1, true, nil)
		require.NoError(t, err)
		require.NotEmpty(t, res.Records, "read at %d", off)
		h, err := batch.ParseHeader(res.Records)
		require.NoError(t, err)
		require.GreaterOrEqual(t, h.LastOffset(), off)
	}
	for _, r := range []batch.Record{want[0], want[len(want)/3], want[len(want)/2]} {
		off, ts, err := l.p.OffsetForTimestamp(r.Timestamp)
		require.NoError(t, err)
		require.Equal(t, r.Offset, off)
		require.Equal(t, r.Timestamp, ts)
	}
	l.updates(10, 1000, rng) // sequences still follow on

	// A second pass with nothing dirty enough does nothing; after a restart
	// the log is the same.
	require.NoError(t, l.s.Compact())
	l.check(l.expected(active, false))
	require.NoError(t, l.s.Close())
	l.open()
	l.check(l.expected(active, false))
	l.updates(10, 1000, rng)
	require.NoError(t, l.s.Close())
}

func TestCompactTombstonesAfterDeleteRetention(t *testing.T) {
	l := newCompactLog(t, map[string]string{"delete.retention.ms": "60000", "internal.segment.bytes": "1024"})
	for i := range 20 {
		l.put([]string{fmt.Sprint("k", i%5)}, [][]byte{fmt.Appendf(nil, "v%d", i)})
	}
	l.put([]string{"k0", "k1"}, [][]byte{nil, nil})
	for i := range 20 {
		l.put([]string{"filler"}, [][]byte{fmt.Appendf(nil, "f%d", i)})
	}
	active := l.activeBase()
	require.NoError(t, l.s.Compact())
	l.check(l.expected(active, false))
	keys := liveKeys(t, l.p)
	require.Contains(t, keys, "k0", "a tombstone stays until delete.retention.ms")
	require.Nil(t, keys["k0"])

	l.clock.Add(59 * time.Second)
	require.NoError(t, l.s.Compact())
	require.Contains(t, liveKeys(t, l.p), "k1")

	l.clock.Add(2 * time.Second)
	require.NoError(t, l.s.Compact())
	keys = liveKeys(t, l.p)
	require.NotContains(t, keys, "k0")
	require.NotContains(t, keys, "k1")
	require.Equal(t, "v17", string(keys["k2"]))
	l.check(l.expected(active, true))
	require.NoError(t, l.s.Close())
}

// liveKeys is what a consumer reading from the start ends up with.
func liveKeys(t *testing.T, p *Partition) map[string][]byte {
	m := map[string][]byte{}
	for _, r := range readAllRecords(t, p) {
		m[string(r.Key)] = r.Value
	}
	return m
}

func TestCompactHonoursMinCompactionLag(t *testing.T) {
	l := newCompactLog(t, map[string]string{"min.compaction.lag.ms": "10000", "internal.segment.bytes": "2048"})
	rng := rand.New(rand.NewPCG(3, 4))
	l.updates(300, 10, rng)
	require.NoError(t, l.s.Compact())
	require.Len(t, readAllRecords(t, l.p), len(l.all), "records within min.compaction.lag.ms stay")
	l.clock.Add(20 * time.Second)
	l.updates(300, 10, rng) // these are new again
	v := l.p.cleanView(l.clock.Now(), l.p.cfg.Load())
	require.NotEmpty(t, v.segs)
	cleanEnd := v.bounds[len(v.bounds)-1]
	require.Positive(t, cleanEnd)
	cutoff := l.clock.Now().UnixMilli() - 10000
	for off, r := range l.all {
		if r.Timestamp > cutoff {
			require.GreaterOrEqual(t, off, cleanEnd, "a record within the lag would be cleaned")
		}
	}
	require.NoError(t, l.s.Compact())
	got := readAllRecords(t, l.p)
	require.Less(t, len(got), len(l.all))
	l.check(l.expected(cleanEnd, false))
	require.NoError(t, l.s.Close())
}

func TestCompactHonoursDirtyRatio(t *testing.T) {
	l := newCompactLog(t, map[string]string{"min.cleanable.dirty.ratio": "0.5", "internal.segment.bytes": "2048"})
	rng := rand.New(rand.NewPCG(5, 6))
	for i := range 500 {
		l.put([]string{fmt.Sprint("unique-", i)}, [][]byte{[]byte("v")})
	}
	require.NoError(t, l.s.Compact())
	cp, err := l.p.readCleanerCheckpoint()
	require.NoError(t, err)
	first := cp.CleanedTo
	require.Positive(t, first)

	l.updates(100, 10, rng) // small against 500 unique keys
	ratio, due, err := l.p.cleanable(l.clock.Now())
	require.NoError(t, err)
	require.False(t, due, "ratio %.2f", ratio)
	require.NoError(t, l.s.Compact())
	cp, err = l.p.readCleanerCheckpoint()
	require.NoError(t, err)
	require.Equal(t, first, cp.CleanedTo, "below the ratio nothing is cleaned")

	l.updates(3000, 10, rng)
	ratio, due, err = l.p.cleanable(l.clock.Now())
	require.NoError(t, err)
	require.True(t, due, "ratio %.2f", ratio)
	require.NoError(t, l.s.Compact())
	cp, err = l.p.readCleanerCheckpoint()
	require.NoError(t, err)
	require.Greater(t, cp.CleanedTo, first)
	require.NoError(t, l.s.Close())
}

func TestCompactStaysBounded(t *testing.T) {
	l := newCompactLog(t, map[string]string{"internal.segment.bytes": "4096"})
	rng := rand.New(rand.NewPCG(7, 8))
	var peak int64
	for range 50 {
		l.updates(2000, 100, rng)
		require.NoError(t, l.s.Compact())
		peak = max(peak, l.size())
	}
	t.Logf("peak %d bytes for 100 keys after 100k updates", peak)
	// 100 live keys are a few KB; each cycle appends ~50 KB of which the
	// active segment keeps at most segment.bytes.
	require.Less(t, peak, int64(80_000))
	require.NoError(t, l.s.Close())
}

var errTestCrash = errors.New("test crash")

// TestCompactCrashAtEveryStep loses power at each step of the swap, with and
// without torn writes: after recovery the log holds, at every offset, either
// nothing or the original record, the latest record of every key, and a
// further pass reaches the fully compacted log.
func TestCompactCrashAtEveryStep(t *testing.T) {
	for _, step := range []string{"cleaned", "swap", "deleted", "done"} {
		for _, torn := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/torn=%v", step, torn), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(9, 10))
				l := newCompactLog(t, map[string]string{"internal.segment.bytes": "4096"})
				l.updates(3000, 50, rng)
				_, end := l.p.Offsets()
				require.NoError(t, l.p.Flush(end))
				active := l.activeBase()
				l.s.cleanerHook = func(s string) error {
					if s == step {
						l.fs.Crash(rng, torn)
						return errTestCrash
					}
					return nil
				}
				require.Error(t, l.s.Compact())
				l.open() // the crashed store is abandoned
				got := readAllRecords(t, l.p)
				last := int64(-1)
				latest := map[string]int64{}
				for _, r := range got {
					require.Greater(t, r.Offset, last, "offsets strictly increase")
					last = r.Offset
					require.Equal(t, l.all[r.Offset], r)
					latest[string(r.Key)] = r.Offset
				}
				for _, r := range l.expected(end, false) {
					require.Equal(t, r.Offset, latest[string(r.Key)], "latest record of %s kept", r.Key)
				}
				want := l.expected(active, false)
				require.NoError(t, l.s.Compact())
				l.check(want)
				l.updates(10, 50, rng)
				require.NoError(t, l.s.Close())
			})
		}
	}
}

func TestCompactKeepsControlAndLogAppendTime(t *testing.T) {
	l := newCompactLog(t, map[string]string{"internal.segment.bytes": "1024", "message.timestamp.type": "LogAppendTime"})
	for i := range 30 {
		l.clock.Add(time.Millisecond)
		l.put([]string{"a", "b"}, [][]byte{fmt.Appendf(nil, "a%d", i), fmt.Appendf(nil, "b%d", i)})
	}
	ctrl, err := batch.Encode(batch.EncodeOptions{ProducerID: 9, ProducerEpoch: 0, BaseSequence: -1, Transactional: true, Control: true},
		[]batch.Record{{Key: []byte{0, 0, 0, 1}, Value: []byte{0, 0, 0, 0, 0, 0}}})
	require.NoError(t, err)
	res, err := l.p.Append(ctrl)
	require.NoError(t, err)
	for i := range 30 {
		l.put([]string{"c"}, [][]byte{fmt.Appendf(nil, "c%d", i)})
	}
	require.NoError(t, l.s.Compact())
	r, err := l.p.Read(res.BaseOffset, 1, true, nil)
	require.NoError(t, err)
	h, err := batch.ParseHeader(r.Records)
	require.NoError(t, err)
	require.True(t, h.Control(), "control batches stay")
	require.Equal(t, res.BaseOffset, h.BaseOffset)
	keys := liveKeys(t, l.p)
	require.Equal(t, "a29", string(keys["a"]))
	require.Equal(t, "c29", string(keys["c"]))
	n := 0
	for _, rec := range readAllRecords(t, l.p) {
		if rec.Offset != res.BaseOffset {
			// Under LogAppendTime records keep the original append time.
			require.Equal(t, l.all[rec.Offset], rec)
			n++
		}
	}
	require.Less(t, n, len(l.all))
	require.NoError(t, l.s.Close())
}

// TestCompactWhileReading reads the partition from the start over and over
// while passes swap segments under it.
func TestCompactWhileReading(t *testing.T) {
	l := newCompactLog(t, map[string]string{"internal.segment.bytes": "4096", "min.cleanable.dirty.ratio": "0.01"})
	rng := rand.New(rand.NewPCG(11, 12))
	l.updates(2000, 100, rng)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-done:
				return
			default:
			}
			latest := map[string]string{}
			for _, r := range readAllRecords(t, l.p) {
				latest[string(r.Key)] = string(r.Value)
			}
			assert.NotEmpty(t, latest)
		}
	})
	for range 10 {
		l.updates(500, 100, rng)
		require.NoError(t, l.s.Compact())
	}
	close(done)
	wg.Wait()
	want := map[string]string{}
	for _, r := range l.expected(0, false) {
		want[string(r.Key)] = string(r.Value)
	}
	got := map[string]string{}
	for _, r := range readAllRecords(t, l.p) {
		got[string(r.Key)] = string(r.Value)
	}
	require.Equal(t, want, got)
	require.NoError(t, l.s.Close())
}

// BenchmarkCompact measures cleaning throughput: bytes of log read per
// second by a pass over 50k updates of 1k keys (mixed codecs).
func BenchmarkCompact(b *testing.B) {
	for range b.N {
		b.StopTimer()
		l := newCompactLog(b, map[string]string{"segment.bytes": "1048576"})
		l.updates(50_000, 1000, rand.New(rand.NewPCG(1, 1)))
		b.SetBytes(l.size())
		b.StartTimer()
		if err := l.s.Compact(); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		l.s.Close()
	}
}

// TestCompactEmptiesWholeSegments overwrites one key: whole groups clean
// to empty segments, which reads skip, and which survive a restart and a
// crash.
func TestCompactEmptiesWholeSegments(t *testing.T) {
	l := newCompactLog(t, map[string]string{"internal.segment.bytes": "600"})
	for i := range 200 {
		l.put([]string{"only"}, [][]byte{fmt.Appendf(nil, "v%d", i)})
	}
	active := l.activeBase()
	require.NoError(t, l.s.Compact())
	want := l.expected(active, false)
	l.check(want)
	require.NoError(t, l.s.Close())
	l.open()
	l.check(want)
	_, end := l.p.Offsets()
	require.NoError(t, l.p.Flush(end))
	l.fs.Crash(nil, false)
	l.open()
	l.check(want)
	l.put([]string{"only"}, [][]byte{[]byte("last")})
	require.Equal(t, "last", string(liveKeys(t, l.p)["only"]))
	require.NoError(t, l.s.Close())
}

func TestCompactMaxCompactionLagForcesPass(t *testing.T) {
	l := newCompactLog(t, map[string]string{"min.cleanable.dirty.ratio": "0.9", "max.compaction.lag.ms": "60000", "internal.segment.bytes": "2048"})
	for i := range 300 {
		l.put([]string{fmt.Sprint("unique-", i)}, [][]byte{[]byte("v")})
	}
	require.NoError(t, l.s.Compact())
	l.updates(200, 5, rand.New(rand.NewPCG(13, 14)))
	_, due, err := l.p.cleanable(l.clock.Now())
	require.NoError(t, err)
	require.False(t, due, "below min.cleanable.dirty.ratio")
	l.clock.Add(61 * time.Second)
	_, due, err = l.p.cleanable(l.clock.Now())
	require.NoError(t, err)
	require.True(t, due, "past max.compaction.lag.ms")
	active := l.activeBase()
	require.NoError(t, l.s.Compact())
	l.check(l.expected(active, false))
	require.NoError(t, l.s.Close())
}
