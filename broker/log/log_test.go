package log

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/sluicehq/sluice/broker/batch"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func openStore(t *testing.T, fs FS, dir string, defaults map[string]string) *Store {
	t.Helper()
	s, err := Open(Options{Dir: dir, FS: fs, Defaults: defaults})
	require.NoError(t, err)
	return s
}

// abandon is the unclean stop of a store's process, in-process: the
// kernel would drop the directory's lock, and nothing is flushed, closed or
// marked clean.
func abandon(t *testing.T, s *Store) {
	t.Helper()
	require.NoError(t, s.unlock())
}

// mkBatch builds a batch of n records whose values are "<tag>-<i>".
func mkBatch(t testing.TB, tag string, n int, ts int64) []byte {
	t.Helper()
	return mkProducerBatch(t, tag, n, ts, -1, -1, -1)
}

func mkProducerBatch(t testing.TB, tag string, n int, ts int64, pid int64, epoch int16, seq int32) []byte {
	t.Helper()
	recs := make([]batch.Record, n)
	for i := range recs {
		recs[i] = batch.Record{Key: []byte(tag), Value: fmt.Appendf(nil, "%s-%d", tag, i), Timestamp: ts + int64(i)}
	}
	b, err := batch.Encode(batch.EncodeOptions{ProducerID: pid, ProducerEpoch: epoch, BaseSequence: seq}, recs)
	require.NoError(t, err)
	return b
}

// readAllRecords reads a partition from its log start to its end.
func readAllRecords(t *testing.T, p *Partition) []batch.Record {
	t.Helper()
	start, end := p.Offsets()
	var out []batch.Record
	for off := start; off < end; {
		res, err := p.Read(off, 1<<20, true, nil)
		require.NoError(t, err)
		require.NotEmpty(t, res.Records, "no data at %d of [%d,%d)", off, start, end)
		bs, err := batch.Split(res.Records)
		require.NoError(t, err)
		for _, b := range bs {
			require.NoError(t, batch.CheckCRC(b), "served a corrupt batch")
			recs, err := batch.Records(b)
			require.NoError(t, err)
			for _, r := range recs {
				if r.Offset >= off {
					out = append(out, r)
				}
			}
			h, _ := batch.ParseHeader(b)
			off = h.LastOffset() + 1
		}
	}
	return out
}

func TestAppendReadAcrossSegments(t *testing.T) {
	fs := newMemFS()
	s := openStore(t, fs, "/data", nil)
	require.NoError(t, s.CreateTopic("t", 1, map[string]string{"internal.segment.bytes": "1000", "index.interval.bytes": "100"}, false))
	p, err := s.Partition("t", 0)
	require.NoError(t, err)
	for i := range 50 {
		res, err := p.Append(mkBatch(t, fmt.Sprint(i), 3, 1000))
		require.NoError(t, err)
		require.Equal(t, int64(i*3), res.BaseOffset)
	}
	p.mu.RLock()
	segs := len(p.segments)
	p.mu.RUnlock()
	require.GreaterOrEqual(t, segs, 5, "segment.bytes=1000 rolls segments")
	recs := readAllRecords(t, p)
	require.Len(t, recs, 150)
	for i, r := range recs {
		require.Equal(t, int64(i), r.Offset)
		require.Equal(t, fmt.Sprintf("%d-%d", i/3, i%3), string(r.Value))
	}
	// A read in the middle of a batch starts with that batch.
	res, err := p.Read(31, 1, true, nil)
	require.NoError(t, err)
	h, err := batch.ParseHeader(res.Records)
	require.NoError(t, err)
	assert.Equal(t, int64(30), h.BaseOffset)
	assert.Equal(t, h.Size(), len(res.Records), "maxBytes below one batch still returns exactly one whole batch")
	_, err = p.Read(151, 100, true, nil)
	require.ErrorIs(t, err, ErrOffsetOutOfRange)

	require.NoError(t, s.Close())
	s = openStore(t, fs, "/data", nil)
	p, err = s.Partition("t", 0)
	require.NoError(t, err)
	require.Len(t, readAllRecords(t, p), 150)
	require.NoError(t, s.Close())
}

// TestCrashKeepsFlushedRecords simulates power loss at random points: what
// was flushed survives, the log never serves a torn batch, and offsets go on
// from where the recovered log ends.
func TestCrashKeepsFlushedRecords(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	fs := newMemFS()
	s := openStore(t, fs, "/data", nil)
	require.NoError(t, s.CreateTopic("t", 1, map[string]string{"internal.segment.bytes": "4000"}, false))
	var durable []string // values known flushed, in order
	for round := range 30 {
		p, err := s.Partition("t", 0)
		require.NoError(t, err)
		var pendingVals []string
		for i := range 1 + rng.IntN(20) {
			tag := fmt.Sprintf("r%d.%d", round, i)
			res, err := p.Append(mkBatch(t, tag, 2, 1))
			require.NoError(t, err)
			pendingVals = append(pendingVals, tag+"-0", tag+"-1")
			if rng.IntN(3) == 0 {
				require.NoError(t, p.Flush(res.LastOffset+1))
				durable = append(durable, pendingVals...)
				pendingVals = nil
				if rng.IntN(2) == 0 {
					// Recovery then checks CRCs only past this point.
					require.NoError(t, s.Checkpoint())
				}
			}
		}
		fs.Crash(rng, true)
		s = openStore(t, fs, "/data", nil)
		p, err = s.Partition("t", 0)
		require.NoError(t, err)
		recs := readAllRecords(t, p)
		require.GreaterOrEqual(t, len(recs), len(durable), "round %d lost flushed records", round)
		for i, v := range durable {
			require.Equal(t, v, string(recs[i].Value), "round %d record %d", round, i)
		}
		// Whatever survived beyond the flushed part is now the history.
		durable = durable[:0]
		for _, r := range recs {
			durable = append(durable, string(r.Value))
		}
		require.NoError(t, p.Flush(1<<62))
	}
	require.NoError(t, s.Close())
}

func TestTornTailIsTruncated(t *testing.T) {
	fs := newMemFS()
	s := openStore(t, fs, "/data", nil)
	require.NoError(t, s.CreateTopic("t", 1, nil, false))
	p, _ := s.Partition("t", 0)
	for i := range 5 {
		_, err := p.Append(mkBatch(t, fmt.Sprint(i), 4, 1))
		require.NoError(t, err)
	}
	require.NoError(t, p.Flush(20))
	// Garbage after the last batch, as a crash can leave: a half batch header.
	f, err := fs.OpenFile("/data/t-0/00000000000000000000.log", 2, 0)
	require.NoError(t, err)
	st, _ := f.Stat()
	half := mkBatch(t, "x", 4, 1)[:40]
	_, err = f.WriteAt(half, st.Size())
	require.NoError(t, err)
	require.NoError(t, f.Sync())
	fs.Crash(rand.New(rand.NewPCG(1, 2)), false) // unclean: no shutdown marker

	s = openStore(t, fs, "/data", nil)
	p, _ = s.Partition("t", 0)
	_, end := p.Offsets()
	assert.Equal(t, int64(20), end)
	assert.Len(t, readAllRecords(t, p), 20)
	res, err := p.Append(mkBatch(t, "next", 1, 1))
	require.NoError(t, err)
	assert.Equal(t, int64(20), res.BaseOffset)
	require.NoError(t, s.Close())
}

func TestCorruptIndexIsRebuilt(t *testing.T) {
	fs := newMemFS()
	s := openStore(t, fs, "/data", nil)
	require.NoError(t, s.CreateTopic("t", 1, map[string]string{"internal.segment.bytes": "2000", "index.interval.bytes": "200"}, false))
	p, _ := s.Partition("t", 0)
	for i := range 40 {
		_, err := p.Append(mkBatch(t, fmt.Sprint(i), 2, int64(i*10)))
		require.NoError(t, err)
	}
	require.NoError(t, s.Close())
	// Scribble over the first segment's index and truncate its time index.
	f, err := fs.OpenFile("/data/t-0/00000000000000000000.index", 2, 0)
	require.NoError(t, err)
	_, err = f.WriteAt([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 0)
	require.NoError(t, err)
	require.NoError(t, f.Sync())
	tf, err := fs.OpenFile("/data/t-0/00000000000000000000.timeindex", 2, 0)
	require.NoError(t, err)
	require.NoError(t, tf.Truncate(5))

	s = openStore(t, fs, "/data", nil)
	p, _ = s.Partition("t", 0)
	recs := readAllRecords(t, p)
	require.Len(t, recs, 80)
	off, ts, err := p.OffsetForTimestamp(105)
	require.NoError(t, err)
	// Batch i holds offsets 2i, 2i+1 at timestamps 10i, 10i+1: 105 is first reached by offset 22.
	assert.Equal(t, int64(22), off)
	assert.Equal(t, int64(110), ts)
	require.NoError(t, s.Close())
}

func TestRetentionBySizeTimeAndLogStart(t *testing.T) {
	fs := newMemFS()
	now := time.UnixMilli(10_000_000)
	s, err := Open(Options{Dir: "/data", FS: fs, Now: func() time.Time { return now }})
	require.NoError(t, err)
	require.NoError(t, s.CreateTopic("size", 1, map[string]string{"internal.segment.bytes": "1000", "retention.bytes": "3000"}, false))
	require.NoError(t, s.CreateTopic("time", 1, map[string]string{"internal.segment.bytes": "1000", "retention.ms": "60000"}, false))
	require.NoError(t, s.CreateTopic("keep", 1, map[string]string{"internal.segment.bytes": "1000", "retention.ms": "-1"}, false))
	for _, name := range []string{"size", "time", "keep"} {
		p, _ := s.Partition(name, 0)
		for i := range 60 {
			_, err := p.Append(mkBatch(t, fmt.Sprint(i), 2, now.UnixMilli()-int64(120_000)+int64(i*1000)))
			require.NoError(t, err)
		}
	}
	s.EnforceRetention()

	size, _ := s.Partition("size", 0)
	var total int64
	size.mu.RLock()
	for _, seg := range size.segments {
		total += seg.size.Load()
	}
	size.mu.RUnlock()
	assert.LessOrEqual(t, total, int64(3000+1000), "retention.bytes keeps about 3000 bytes plus the active segment")
	start, end := size.Offsets()
	assert.Greater(t, start, int64(0))
	assert.Equal(t, int64(120), end)

	tp, _ := s.Partition("time", 0)
	start, _ = tp.Offsets()
	// Records older than 60 s are the first ~60 of 120 (timestamps step 1 s per batch of 2).
	assert.Greater(t, start, int64(40))
	recs := readAllRecords(t, tp)
	// Whole segments go: the first kept one (about ten batches, 1 s apart) reaches past the cutoff.
	assert.GreaterOrEqual(t, recs[0].Timestamp, now.UnixMilli()-60_000-20_000)

	kp, _ := s.Partition("keep", 0)
	start, _ = kp.Offsets()
	assert.Equal(t, int64(0), start)
	// DeleteRecords moves the start; retention then drops the covered segments.
	_, err = kp.DeleteRecords(70)
	require.NoError(t, err)
	s.EnforceRetention()
	start, _ = kp.Offsets()
	assert.Equal(t, int64(70), start)
	kp.mu.RLock()
	first := kp.segments[0].base
	kp.mu.RUnlock()
	assert.LessOrEqual(t, first, int64(70))
	assert.Greater(t, first, int64(0))
	require.NoError(t, s.Close())

	// Removed segments stay removed after a restart; log start is kept.
	s, err = Open(Options{Dir: "/data", FS: fs, Now: func() time.Time { return now }})
	require.NoError(t, err)
	kp, _ = s.Partition("keep", 0)
	start, _ = kp.Offsets()
	assert.Equal(t, int64(70), start)
	ents, err := fs.ReadDir("/data/keep-0")
	require.NoError(t, err)
	for _, e := range ents {
		assert.NotContains(t, e.Name(), ".deleted")
	}
	require.NoError(t, s.Close())
}

func TestWriteErrorIsSticky(t *testing.T) {
	fs := newMemFS()
	s := openStore(t, fs, "/data", nil)
	require.NoError(t, s.CreateTopic("t", 1, nil, false))
	p, _ := s.Partition("t", 0)
	_, err := p.Append(mkBatch(t, "a", 1, 1))
	require.NoError(t, err)
	fs.SetFailWrites(true)
	_, err = p.Append(mkBatch(t, "b", 1, 1))
	require.ErrorIs(t, err, ErrStorage)
	fs.SetFailWrites(false)
	_, err = p.Append(mkBatch(t, "c", 1, 1))
	require.ErrorIs(t, err, ErrStorage, "after a write error the partition refuses writes")
	require.ErrorIs(t, p.Flush(10), ErrStorage)
	// Reads of what was written before still work.
	recs := readAllRecords(t, p)
	require.Len(t, recs, 1)

	require.NoError(t, s.CreateTopic("u", 1, nil, false))
	u, _ := s.Partition("u", 0)
	fs.SetFailSyncs(true)
	res, err := u.Append(mkBatch(t, "x", 1, 1))
	require.NoError(t, err)
	require.ErrorIs(t, u.Flush(res.LastOffset+1), ErrStorage)
	fs.SetFailSyncs(false)
	_, err = u.Append(mkBatch(t, "y", 1, 1))
	require.ErrorIs(t, err, ErrStorage, "after an fsync error the partition refuses writes")
}

func TestIdempotentProducerDedupAcrossRestarts(t *testing.T) {
	for _, clean := range []bool{true, false} {
		t.Run(fmt.Sprintf("clean=%v", clean), func(t *testing.T) {
			fs := newMemFS()
			s := openStore(t, fs, "/data", nil)
			require.NoError(t, s.CreateTopic("t", 1, nil, false))
			p, _ := s.Partition("t", 0)
			b0 := mkProducerBatch(t, "a", 3, 1, 7, 0, 0)
			b1 := mkProducerBatch(t, "b", 2, 1, 7, 0, 3)
			r0, err := p.Append(append([]byte(nil), b0...))
			require.NoError(t, err)
			r1, err := p.Append(append([]byte(nil), b1...))
			require.NoError(t, err)
			dup, err := p.Append(append([]byte(nil), b0...))
			require.NoError(t, err)
			assert.True(t, dup.Duplicate)
			assert.Equal(t, r0.BaseOffset, dup.BaseOffset)
			_, err = p.Append(mkProducerBatch(t, "gap", 1, 1, 7, 0, 9))
			require.ErrorIs(t, err, ErrOutOfOrderSequence)

			if clean {
				require.NoError(t, s.Close())
			} else {
				require.NoError(t, p.Flush(1<<62))
				fs.Crash(rand.New(rand.NewPCG(3, 4)), false)
			}
			s = openStore(t, fs, "/data", nil)
			p, _ = s.Partition("t", 0)
			dup, err = p.Append(append([]byte(nil), b1...))
			require.NoError(t, err)
			assert.True(t, dup.Duplicate, "a retry after a restart is still recognised")
			assert.Equal(t, r1.BaseOffset, dup.BaseOffset)
			_, err = p.Append(mkProducerBatch(t, "gap", 1, 1, 7, 0, 9))
			require.ErrorIs(t, err, ErrOutOfOrderSequence)
			next, err := p.Append(mkProducerBatch(t, "c", 1, 1, 7, 0, 5))
			require.NoError(t, err)
			assert.Equal(t, int64(5), next.BaseOffset)
			_, err = p.Append(mkProducerBatch(t, "bump", 1, 1, 7, 1, 0))
			require.NoError(t, err, "a new epoch starts at sequence 0")
			_, err = p.Append(mkProducerBatch(t, "old", 1, 1, 7, 0, 6))
			require.ErrorIs(t, err, ErrInvalidProducerEpoch)
			assert.Len(t, readAllRecords(t, p), 7)
			require.NoError(t, s.Close())
		})
	}
}

func TestProducerIDsNeverRepeat(t *testing.T) {
	fs := newMemFS()
	s := openStore(t, fs, "/data", nil)
	seen := map[int64]bool{}
	for range 10 {
		id, err := s.NextProducerID()
		require.NoError(t, err)
		seen[id] = true
	}
	fs.Crash(rand.New(rand.NewPCG(5, 6)), false)
	s = openStore(t, fs, "/data", nil)
	for range 10 {
		id, err := s.NextProducerID()
		require.NoError(t, err)
		require.False(t, seen[id], "producer id %d handed out twice", id)
	}
}

func TestTopicLifecycle(t *testing.T) {
	fs := newMemFS()
	s := openStore(t, fs, "/data", map[string]string{"retention.ms": "1000"})
	require.ErrorIs(t, s.CreateTopic("bad name", 1, nil, false), ErrInvalidTopic)
	require.ErrorIs(t, s.CreateTopic("t", 0, nil, false), ErrInvalidPartitions)
	require.ErrorIs(t, s.CreateTopic("t", 1, map[string]string{"nope": "1"}, false), ErrInvalidConfig)
	require.ErrorIs(t, s.CreateTopic("t", 1, map[string]string{"retention.ms": "soon"}, false), ErrInvalidConfig)
	require.NoError(t, s.CreateTopic("t", 1, nil, true))
	_, ok := s.Topic("t")
	require.False(t, ok, "validate only creates nothing")
	require.NoError(t, s.CreateTopic("t", 2, map[string]string{"cleanup.policy": "compact"}, false))
	require.ErrorIs(t, s.CreateTopic("t", 2, nil, false), ErrTopicExists)
	p, _ := s.Partition("t", 1)
	assert.Equal(t, int64(1000), p.Config().RetentionMs, "broker default applies")
	assert.True(t, p.Config().CleanupCompact)
	require.NoError(t, s.CreatePartitions("t", 4, false))
	require.ErrorIs(t, s.CreatePartitions("t", 3, false), ErrInvalidPartitions)
	require.NoError(t, s.SetTopicConfig("t", map[string]string{"retention.ms": "5"}, false))
	assert.Equal(t, int64(5), p.Config().RetentionMs)
	t1, _ := s.Topic("t")
	require.NoError(t, s.Close())

	s = openStore(t, fs, "/data", nil)
	t2, ok := s.Topic("t")
	require.True(t, ok)
	assert.Equal(t, t1.ID, t2.ID)
	assert.Len(t, t2.Partitions, 4)
	assert.Equal(t, map[string]string{"retention.ms": "5"}, t2.Overrides)
	require.NoError(t, s.DeleteTopic("t"))
	_, err := fs.ReadDir(filepath.Join("/data", "t-0"))
	require.Error(t, err, "partition directories are removed")
	require.NoError(t, s.Close())
	s = openStore(t, fs, "/data", nil)
	_, ok = s.Topic("t")
	require.False(t, ok)
	require.NoError(t, s.Close())
}
