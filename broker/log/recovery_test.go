package log

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// The CRC does not cover a batch's base offset: recovery must not take a
// garbled one past the recovery point for a jump in offsets.
func TestRecoveryRejectsGarbledBaseOffset(t *testing.T) {
	fs := newMemFS()
	s := openStore(t, fs, "/data", nil)
	require.NoError(t, s.CreateTopic("t", 1, nil, false))
	p, _ := s.Partition("t", 0)
	for range 3 {
		_, err := p.Append(mkBatch(t, "k", 2, 1))
		require.NoError(t, err)
	}
	f, err := fs.OpenFile("/data/t-0/00000000000000000000.log", 2, 0)
	require.NoError(t, err)
	b := make([]byte, 1)
	_, err = f.ReadAt(b, 3)
	require.NoError(t, err)
	b[0] ^= 0x5a
	_, err = f.WriteAt(b, 3)
	require.NoError(t, err)
	require.NoError(t, f.Sync())
	fs.Crash(nil, false)

	s = openStore(t, fs, "/data", nil)
	p, _ = s.Partition("t", 0)
	start, end := p.Offsets()
	require.Equal(t, int64(0), start)
	require.Equal(t, int64(0), end, "the log is cut at the garbled batch")
	res, err := p.Append(mkBatch(t, "next", 1, 1))
	require.NoError(t, err)
	require.Equal(t, int64(0), res.BaseOffset)
	require.NoError(t, s.Close())
}
