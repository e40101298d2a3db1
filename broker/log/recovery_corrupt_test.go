package log

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/sluicehq/sluice/broker/batch"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Recovery against real files with a corrupt batch header: where the
// corruption is (unflushed tail, flushed active segment, sealed segment) and
// how the process stopped decide what is cut, and nothing stops the start.

// corruptLength overwrites the length field of the n-th batch of a segment
// file so that it runs past the end, the corruption the attack found fatal.
func corruptLength(t *testing.T, path string, n int) {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	pos := 0
	for range n {
		h, err := batch.ParseHeader(b[pos:])
		require.NoError(t, err)
		pos += h.Size()
	}
	binary.BigEndian.PutUint32(b[pos+8:], 0x7fff0000)
	require.NoError(t, os.WriteFile(path, b, 0o644))
}

// appendN appends n batches of 2 records tagged b<i> and returns the store's partition.
func appendN(t *testing.T, p *Partition, from, n int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		_, err := p.Append(mkBatch(t, fmt.Sprintf("b%d", i), 2, 1000))
		require.NoError(t, err)
	}
}

func values(recs []batch.Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = string(r.Value)
	}
	return out
}

func wantValues(batches ...int) []string {
	var out []string
	for _, b := range batches {
		out = append(out, fmt.Sprintf("b%d-0", b), fmt.Sprintf("b%d-1", b))
	}
	return out
}

func segPath(dir string, base int64) string {
	return filepath.Join(dir, "t-0", segmentName(base)+".log")
}

// Unflushed tail, unclean stop: cut at the corrupt batch, start, append on.
func TestRecoveryCutsCorruptUnflushedTail(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, OSFS{}, dir, nil)
	require.NoError(t, s.CreateTopic("t", 1, nil, false))
	p, _ := s.Partition("t", 0)
	appendN(t, p, 0, 3)
	require.NoError(t, p.Flush(6))
	require.NoError(t, s.Checkpoint())
	appendN(t, p, 3, 3) // offsets 6..11, not flushed
	corruptLength(t, segPath(dir, 0), 4)
	abandon(t, s) // unclean stop: no Close

	s = openStore(t, OSFS{}, dir, nil)
	p, _ = s.Partition("t", 0)
	assert.Equal(t, wantValues(0, 1, 2, 3), values(readAllRecords(t, p)), "cut at the first bad batch of the tail")
	res, err := p.Append(mkBatch(t, "next", 1, 1000))
	require.NoError(t, err)
	assert.Equal(t, int64(8), res.BaseOffset)
	require.NoError(t, s.Close())
}

// A sealed segment with a corrupt header, unclean stop: the process starts
// (producer state replay used to fail), nothing is cut, the batches before
// the corrupt one and every other segment stay readable, and a read that
// reaches it fails with ErrCorrupt.
func TestRecoveryKeepsCorruptSealedSegment(t *testing.T) {
	for _, tc := range []struct {
		clean    bool
		interval string // index.interval.bytes: "1" indexes every batch, so the index loads and replay meets the corruption
	}{{false, "4096"}, {true, "4096"}, {false, "1"}, {true, "1"}} {
		t.Run(fmt.Sprintf("clean=%v/interval=%s", tc.clean, tc.interval), func(t *testing.T) {
			clean := tc.clean
			dir := t.TempDir()
			s := openStore(t, OSFS{}, dir, nil)
			size := len(mkBatch(t, "b0", 2, 1000))
			require.NoError(t, s.CreateTopic("t", 1, map[string]string{"internal.segment.bytes": fmt.Sprint(3 * size), "index.interval.bytes": tc.interval}, false))
			p, _ := s.Partition("t", 0)
			appendN(t, p, 0, 8) // segments [0,6) [6,12) [12,16)
			require.NoError(t, p.Flush(16))
			if clean {
				require.NoError(t, s.Close())
			} else {
				abandon(t, s)
			}
			corruptLength(t, segPath(dir, 6), 1) // offsets 8, 9

			s = openStore(t, OSFS{}, dir, nil)
			p, _ = s.Partition("t", 0)
			start, end := p.Offsets()
			assert.Equal(t, [2]int64{0, 16}, [2]int64{start, end}, "nothing cut")
			for _, off := range []int64{0, 5, 6, 7, 12, 15} {
				_, err := p.Read(off, 1<<20, true, nil)
				require.NoError(t, err, "offset %d", off)
			}
			_, err := p.Read(8, 1<<20, true, nil)
			require.ErrorIs(t, err, batch.ErrCorrupt)
			want := wantValues(0, 1, 2, 3, 6, 7)
			if tc.interval == "1" {
				// The index points past the corrupt batch: what follows it
				// is served.
				_, err := p.Read(10, 1<<20, true, nil)
				require.NoError(t, err)
				want = wantValues(0, 1, 2, 3, 5, 6, 7)
			} else {
				_, err := p.Read(10, 1<<20, true, nil)
				require.ErrorIs(t, err, batch.ErrCorrupt)
			}
			var got []string
			require.NoError(t, p.EachRecord(func(r batch.Record) { got = append(got, string(r.Value)) }))
			assert.Equal(t, want, got, "EachRecord skips only what cannot be read")
			res, err := p.Append(mkBatch(t, "next", 1, 1000))
			require.NoError(t, err)
			assert.Equal(t, int64(16), res.BaseOffset)
			require.NoError(t, s.Close())
		})
	}
}

// The active segment with a corrupt header in flushed data, clean stop:
// nothing is cut (the old rebuild cut it and lost the batches after); the
// segment is sealed as it is and appends go to a new one, at the old end.
func TestCleanRestartKeepsCorruptActiveSegment(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, OSFS{}, dir, nil)
	require.NoError(t, s.CreateTopic("t", 1, nil, false))
	p, _ := s.Partition("t", 0)
	appendN(t, p, 0, 5)
	require.NoError(t, s.Close())
	corruptLength(t, segPath(dir, 0), 2) // offsets 4, 5

	for restart := range 2 {
		s = openStore(t, OSFS{}, dir, nil)
		p, _ = s.Partition("t", 0)
		_, end := p.Offsets()
		require.Equal(t, int64(10+restart), end, "restart %d: the log end stays", restart)
		_, err := p.Read(2, 1<<20, true, nil)
		require.NoError(t, err)
		_, err = p.Read(4, 1<<20, true, nil)
		require.ErrorIs(t, err, batch.ErrCorrupt)
		res, err := p.Append(mkBatch(t, fmt.Sprint("next", restart), 1, 1000))
		require.NoError(t, err)
		require.Equal(t, int64(10+restart), res.BaseOffset)
		rr, err := p.Read(10, 1<<20, true, nil)
		require.NoError(t, err)
		require.NotEmpty(t, rr.Records)
		require.NoError(t, s.Close())
	}
}

// A sealed segment whose indexes are lost and that has a corrupt header:
// rebuilding its indexes does not cut it.
func TestIndexRebuildDoesNotCutSealedSegment(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, OSFS{}, dir, nil)
	size := len(mkBatch(t, "b0", 2, 1000))
	require.NoError(t, s.CreateTopic("t", 1, map[string]string{"internal.segment.bytes": fmt.Sprint(3 * size), "index.interval.bytes": "1"}, false))
	p, _ := s.Partition("t", 0)
	appendN(t, p, 0, 5) // segments [0,6) [6,10)
	require.NoError(t, s.Close())
	corruptLength(t, segPath(dir, 0), 1)
	for _, ext := range []string{".index", ".timeindex"} {
		require.NoError(t, os.Remove(filepath.Join(dir, "t-0", segmentName(0)+ext)))
	}
	info, err := os.Stat(segPath(dir, 0))
	require.NoError(t, err)

	s = openStore(t, OSFS{}, dir, nil)
	p, _ = s.Partition("t", 0)
	_, end := p.Offsets()
	assert.Equal(t, int64(10), end)
	after, err := os.Stat(segPath(dir, 0))
	require.NoError(t, err)
	assert.Equal(t, info.Size(), after.Size(), "the sealed segment keeps every byte")
	_, err = p.Read(2, 1<<20, true, nil)
	require.ErrorIs(t, err, batch.ErrCorrupt)
	_, err = p.Read(6, 1<<20, true, nil)
	require.NoError(t, err)
	require.NoError(t, s.Close())
}
