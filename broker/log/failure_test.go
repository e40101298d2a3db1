package log

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A full disk fences a partition only while writes cannot succeed: appends
// fail at once naming the cause, Healthy says which partition and why, and
// once space is back the partition recovers without a restart, keeping every
// offset (a failed write leaves the earlier ones intact).
func TestFullDiskWriteRecovers(t *testing.T) {
	fs := newMemFS()
	now := time.UnixMilli(1_700_000_000_000)
	s, err := Open(Options{Dir: "/data", FS: fs, Now: func() time.Time { return now }})
	require.NoError(t, err)
	require.NoError(t, s.CreateTopic("t", 1, nil, false))
	p, _ := s.Partition("t", 0)
	appendN(t, p, 0, 3)
	require.NoError(t, p.Flush(6))
	appendN(t, p, 3, 2) // acks=1: in the page cache only

	fs.SetCapacity(fs.Used())
	_, err = p.Append(mkBatch(t, "b5", 2, 1000))
	require.ErrorIs(t, err, ErrStorage)
	require.ErrorIs(t, err, syscall.ENOSPC)
	msg := ClientMessage(err)
	assert.Contains(t, msg, "no space left on device")
	assert.NotContains(t, msg, "/data", "no server path reaches a client")
	_, err = p.Append(mkBatch(t, "b5", 2, 1000))
	require.ErrorIs(t, err, ErrStorage, "refused at once while fenced")
	h := s.Healthy()
	require.Error(t, h)
	assert.Contains(t, h.Error(), "partition t-0 refuses writes")
	assert.Contains(t, h.Error(), "no space left on device")
	assert.NotContains(t, h.Error(), "/data")

	now = now.Add(minRecoveryBackoff)
	require.Error(t, p.recoverWrites(now), "still full: no recovery")
	_, err = p.Append(mkBatch(t, "b5", 2, 1000))
	require.ErrorIs(t, err, ErrStorage)

	fs.SetCapacity(0) // space freed
	require.NoError(t, p.recoverWrites(now), "the backoff doubled: too early, nothing done")
	require.Error(t, s.Healthy())
	now = now.Add(2 * minRecoveryBackoff)
	require.NoError(t, p.recoverWrites(now))
	require.NoError(t, s.Healthy())
	res, err := p.Append(mkBatch(t, "b5", 2, 1000))
	require.NoError(t, err)
	assert.Equal(t, int64(10), res.BaseOffset, "no offset lost")
	require.NoError(t, p.FlushAppended(res))

	fs.Crash(nil, false) // power loss: what recovery fsynced is there
	s, err = Open(Options{Dir: "/data", FS: fs})
	require.NoError(t, err)
	p, _ = s.Partition("t", 0)
	assert.Equal(t, wantValues(0, 1, 2, 3, 4, 5), values(readAllRecords(t, p)))
	require.NoError(t, s.Close())
}

// After a failed fsync the page cache cannot be trusted: recovery goes back
// to the durable offset, and a flush for an append made before that fails
// rather than acknowledge records that are gone.
func TestFailedSyncRecoversFromDurableState(t *testing.T) {
	fs := newMemFS()
	now := time.UnixMilli(1_700_000_000_000)
	s, err := Open(Options{Dir: "/data", FS: fs, Now: func() time.Time { return now }})
	require.NoError(t, err)
	require.NoError(t, s.CreateTopic("t", 1, nil, false))
	p, _ := s.Partition("t", 0)
	appendN(t, p, 0, 3)
	require.NoError(t, p.Flush(6))
	lost, err := p.Append(mkBatch(t, "b3", 2, 1000))
	require.NoError(t, err)

	fs.SetSyncError(syscall.EIO)
	require.ErrorIs(t, p.Flush(8), ErrStorage)
	_, err = p.Append(mkBatch(t, "b4", 2, 1000))
	require.ErrorIs(t, err, ErrStorage)
	now = now.Add(minRecoveryBackoff)
	require.Error(t, p.recoverWrites(now), "fsync still fails")
	fs.SetSyncError(nil)
	now = now.Add(2 * minRecoveryBackoff)
	require.NoError(t, p.recoverWrites(now))

	_, end := p.Offsets()
	assert.Equal(t, int64(6), end, "back to the durable offset")
	res, err := p.Append(mkBatch(t, "b4", 2, 1000))
	require.NoError(t, err)
	assert.Equal(t, int64(6), res.BaseOffset)
	require.NoError(t, p.FlushAppended(res))
	require.ErrorIs(t, p.FlushAppended(lost), ErrStorage, "offsets 6-7 of the first append are gone")

	fs.Crash(nil, false)
	s, err = Open(Options{Dir: "/data", FS: fs})
	require.NoError(t, err)
	p, _ = s.Partition("t", 0)
	assert.Equal(t, wantValues(0, 1, 2, 4), values(readAllRecords(t, p)))
	require.NoError(t, s.Close())
}

// A full disk while rolling a segment (its index files cannot be written)
// recovers too, and the segment rolls on the next append.
func TestFullDiskDuringRollRecovers(t *testing.T) {
	fs := newMemFS()
	now := time.UnixMilli(1_700_000_000_000)
	s, err := Open(Options{Dir: "/data", FS: fs, Now: func() time.Time { return now }})
	require.NoError(t, err)
	size := len(mkBatch(t, "b0", 2, 1000))
	require.NoError(t, s.CreateTopic("t", 1, map[string]string{"internal.segment.bytes": fmt.Sprint(2 * size), "index.interval.bytes": "1"}, false))
	p, _ := s.Partition("t", 0)
	appendN(t, p, 0, 2)
	fs.SetCapacity(fs.Used() + int64(size)) // room for a batch, not for the roll's files
	_, err = p.Append(mkBatch(t, "b2", 2, 1000))
	require.ErrorIs(t, err, ErrStorage)
	fs.SetCapacity(0)
	now = now.Add(minRecoveryBackoff)
	require.NoError(t, p.recoverWrites(now))
	appendN(t, p, 2, 2)
	p.mu.RLock()
	assert.Len(t, p.segments, 2)
	p.mu.RUnlock()
	require.NoError(t, p.Flush(8))
	fs.Crash(nil, false)
	s, err = Open(Options{Dir: "/data", FS: fs})
	require.NoError(t, err)
	p, _ = s.Partition("t", 0)
	assert.Equal(t, wantValues(0, 1, 2, 3), values(readAllRecords(t, p)))
	require.NoError(t, s.Close())
}
