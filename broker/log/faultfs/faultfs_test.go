package faultfs_test

import (
	"bytes"
	"io"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/sluicehq/sluice/broker/log/faultfs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// newDir returns a filesystem with the directory /d.
func newDir(t *testing.T) *faultfs.FS {
	t.Helper()
	fs := faultfs.New()
	require.NoError(t, fs.MkdirAll("/d", 0o755))
	return fs
}

func create(t *testing.T, fs *faultfs.FS, name string) *faultfs.File {
	t.Helper()
	f, err := fs.OpenFile(name, os.O_CREATE|os.O_RDWR, 0o644)
	require.NoError(t, err)
	return f
}

func write(t *testing.T, f *faultfs.File, off int64, s string) {
	t.Helper()
	_, err := f.WriteAt([]byte(s), off)
	require.NoError(t, err)
}

// content reads a whole file, or reports it missing with ok false.
func content(t *testing.T, fs *faultfs.FS, name string) (string, bool) {
	t.Helper()
	f, err := fs.OpenFile(name, os.O_RDONLY, 0)
	if os.IsNotExist(err) {
		return "", false
	}
	require.NoError(t, err)
	defer f.Close()
	st, err := f.Stat()
	require.NoError(t, err)
	b := make([]byte, st.Size())
	n, err := f.ReadAt(b, 0)
	if err != io.EOF {
		require.NoError(t, err)
	}
	return string(b[:n]), true
}

func TestCrashKeepsOnlyWhatWasSynced(t *testing.T) {
	fs := newDir(t)
	f := create(t, fs, "/d/a")
	write(t, f, 0, "synced")
	require.NoError(t, f.Sync())
	require.NoError(t, fs.SyncDir("/d"))
	write(t, f, 6, "+lost")
	require.NoError(t, fs.MkdirAll("/d/sub", 0o755))
	require.NoError(t, create(t, fs, "/d/unsynced-entry").Sync()) // data synced, name not
	got, _ := content(t, fs, "/d/a")
	require.Equal(t, "synced+lost", got, "before the crash the program sees everything")

	fs.Crash(nil, false)
	got, ok := content(t, fs, "/d/a")
	require.True(t, ok)
	assert.Equal(t, "synced", got)
	_, ok = content(t, fs, "/d/unsynced-entry")
	assert.False(t, ok, "a name is durable only after SyncDir")
	ents, err := fs.ReadDir("/d")
	require.NoError(t, err)
	require.Len(t, ents, 2)
	assert.Equal(t, "a", ents[0].Name())
	assert.True(t, ents[1].IsDir() && ents[1].Name() == "sub", "directories are durable on creation")

	_, err = f.WriteAt([]byte("x"), 0)
	require.ErrorIs(t, err, faultfs.ErrCrashed, "handles from before the crash are dead")
	require.ErrorIs(t, f.Sync(), faultfs.ErrCrashed)
	require.NoError(t, f.Close())
}

func TestDirectoryEntriesRevertWithoutSyncDir(t *testing.T) {
	for _, syncDir := range []bool{false, true} {
		fs := newDir(t)
		old := create(t, fs, "/d/file")
		write(t, old, 0, "old")
		require.NoError(t, old.Sync())
		gone := create(t, fs, "/d/removed")
		require.NoError(t, gone.Sync())
		require.NoError(t, fs.SyncDir("/d"))

		// Replace file the atomic way, and remove another.
		tmp := create(t, fs, "/d/file.tmp")
		write(t, tmp, 0, "new")
		require.NoError(t, tmp.Sync())
		require.NoError(t, fs.Rename("/d/file.tmp", "/d/file"))
		require.NoError(t, fs.Remove("/d/removed"))
		if syncDir {
			require.NoError(t, fs.SyncDir("/d"))
		}
		fs.Crash(nil, false)

		got, _ := content(t, fs, "/d/file")
		_, tmpExists := content(t, fs, "/d/file.tmp")
		_, removedExists := content(t, fs, "/d/removed")
		if syncDir {
			assert.Equal(t, "new", got)
			assert.False(t, removedExists)
		} else {
			assert.Equal(t, "old", got, "an unsynced rename is undone")
			assert.True(t, removedExists, "an unsynced remove is undone")
		}
		assert.False(t, tmpExists)
	}
}

func TestTornCrashKeepsAPrefixOfTheUnsyncedTail(t *testing.T) {
	const synced, tail = "0123456789", "abcdefghijklmnopqrstuvwxyz"
	var partial, garbled int
	for seed := range uint64(200) {
		fs := newDir(t)
		f := create(t, fs, "/d/log")
		write(t, f, 0, synced)
		require.NoError(t, f.Sync())
		require.NoError(t, fs.SyncDir("/d"))
		write(t, f, int64(len(synced)), tail)
		fs.Crash(rand.New(rand.NewPCG(seed, 0)), true)

		got, _ := content(t, fs, "/d/log")
		require.True(t, len(got) >= len(synced) && len(got) <= len(synced)+len(tail), "seed %d: %q", seed, got)
		require.Equal(t, synced, got[:len(synced)], "seed %d: synced data is never torn", seed)
		kept := got[len(synced):]
		diff := 0
		for i := range kept {
			if kept[i] != tail[i] {
				diff++
			}
		}
		require.LessOrEqual(t, diff, 1, "seed %d: at most one garbled byte: %q", seed, kept)
		if len(kept) > 0 && len(kept) < len(tail) {
			partial++
		}
		if diff > 0 {
			garbled++
		}
	}
	assert.Positive(t, partial, "some crashes tear the tail")
	assert.Positive(t, garbled, "some crashes garble it")
}

func TestTornCrashRollsBackOverwrites(t *testing.T) {
	fs := newDir(t)
	f := create(t, fs, "/d/index")
	write(t, f, 0, "synced")
	require.NoError(t, f.Sync())
	require.NoError(t, fs.SyncDir("/d"))
	require.NoError(t, f.Truncate(2))
	write(t, f, 2, "rewritten and longer")
	fs.Crash(rand.New(rand.NewPCG(1, 1)), true)
	got, _ := content(t, fs, "/d/index")
	assert.Equal(t, "synced", got, "only an appended tail can survive torn; overwritten bytes roll back")
}

func TestInjectedFaults(t *testing.T) {
	fs := newDir(t)
	f := create(t, fs, "/d/a")
	write(t, f, 0, "one")
	require.NoError(t, fs.SyncDir("/d"))

	fs.SetFailWrites(true)
	_, err := f.WriteAt([]byte("two"), 3)
	require.ErrorIs(t, err, faultfs.ErrInjected)
	fs.SetFailWrites(false)
	got, _ := content(t, fs, "/d/a")
	require.Equal(t, "one", got, "a failed write changes nothing")

	fs.SetFailSyncs(true)
	require.ErrorIs(t, f.Sync(), faultfs.ErrInjected)
	require.ErrorIs(t, fs.SyncDir("/d"), faultfs.ErrInjected)
	write(t, f, 3, "two")
	fs.SetFailSyncs(false)
	fs.Crash(nil, false)
	got, _ = content(t, fs, "/d/a")
	assert.Empty(t, got, "a failed sync makes nothing durable")
}

func TestOpenModesAndDirectories(t *testing.T) {
	fs := newDir(t)
	f := create(t, fs, "/d/a")
	write(t, f, 0, "data")
	_, err := fs.OpenFile("/d/a", os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o644)
	require.ErrorIs(t, err, os.ErrExist)
	ro, err := fs.OpenFile("/d/a", os.O_RDONLY, 0)
	require.NoError(t, err)
	_, err = ro.WriteAt([]byte("x"), 0)
	require.Error(t, err, "read-only handles cannot write")
	_, err = fs.OpenFile("/missing/a", os.O_CREATE|os.O_RDWR, 0o644)
	require.ErrorIs(t, err, os.ErrNotExist)

	require.NoError(t, fs.MkdirAll("/d/sub/deeper", 0o755))
	require.Error(t, fs.Remove("/d/sub"), "a directory must be empty to be removed")
	require.NoError(t, fs.RemoveAll("/d/sub"))
	_, err = fs.ReadDir("/d/sub/deeper")
	require.ErrorIs(t, err, os.ErrNotExist)

	require.NoError(t, f.Truncate(6))
	b := make([]byte, 6)
	_, err = f.ReadAt(b, 0)
	require.NoError(t, err)
	assert.True(t, bytes.Equal([]byte("data\x00\x00"), b), "growing zero-fills")
}
