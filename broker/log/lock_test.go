package log

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// dirListing is every name in dir with its size and modification time.
func dirListing(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	require.NoError(t, filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		out[path] = fmt.Sprint(info.ModTime(), info.Mode(), info.Size())
		return nil
	}))
	return out
}

// Two stores on one directory in one process conflict, as Kafka's
// "another process or thread": the second fails before it reads or writes
// anything, and the first keeps the directory as it was.
func TestOpenLocksDataDir(t *testing.T) {
	dir := t.TempDir()
	first := openStore(t, OSFS{}, dir, nil)
	require.NoError(t, first.CreateTopic("t", 1, nil, false))
	p, _ := first.Partition("t", 0)
	appendN(t, p, 0, 2)
	require.NoError(t, p.Flush(4))
	before := dirListing(t, dir)

	second, err := Open(Options{Dir: dir})
	require.ErrorIs(t, err, ErrDirLocked)
	assert.Nil(t, second)
	abs, _ := filepath.Abs(dir)
	assert.EqualError(t, err, "failed to acquire lock on file .lock in "+abs+
		": a Sluice instance in another process or thread is using this directory")
	assert.Equal(t, before, dirListing(t, dir), "the second store touched nothing")
	assert.NoFileExists(t, filepath.Join(dir, cleanShutdownFile), "no clean shutdown marker from a store that does not own the directory")

	// The first still works, and its Close hands the directory over.
	appendN(t, p, 2, 1)
	require.NoError(t, p.Flush(6))
	require.NoError(t, first.Close())
	again := openStore(t, OSFS{}, dir, nil)
	p, _ = again.Partition("t", 0)
	assert.Equal(t, wantValues(0, 1, 2), values(readAllRecords(t, p)))
	require.NoError(t, again.Close())
}

// An Open that fails after taking the lock releases it.
func TestOpenFailureReleasesLock(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, OSFS{}, dir, nil)
	require.NoError(t, s.CreateTopic("t", 1, nil, false))
	require.NoError(t, s.Close())
	meta := filepath.Join(dir, topicMetaDir, "t.json")
	good, err := os.ReadFile(meta)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(meta, []byte("{not json"), 0o644))

	_, err = Open(Options{Dir: dir})
	require.ErrorContains(t, err, "decode topic metadata t.json")
	require.NoError(t, os.WriteFile(meta, good, 0o644))
	s = openStore(t, OSFS{}, dir, nil)
	require.NoError(t, s.Close())
}

// The start-up line says whether the directory was new, closed cleanly, or
// recovered after an unclean stop; an empty directory is not an unclean
// stop.
func TestOpenLogsState(t *testing.T) {
	openLogged := func(t *testing.T, dir string) (*Store, string) {
		t.Helper()
		var buf bytes.Buffer
		s, err := Open(Options{Dir: dir, Logger: slog.New(slog.NewTextHandler(&buf, nil))})
		require.NoError(t, err)
		return s, buf.String()
	}
	parent := t.TempDir()
	dir := filepath.Join(parent, "data") // created by Open

	s, logs := openLogged(t, dir)
	assert.Contains(t, logs, `msg="log store opened"`)
	assert.Contains(t, logs, "state=new")
	require.NoError(t, s.CreateTopic("t", 1, nil, false))
	require.NoError(t, s.Close())

	s, logs = openLogged(t, dir)
	assert.Contains(t, logs, "topics=1 state=clean")
	p, _ := s.Partition("t", 0)
	appendN(t, p, 0, 2)
	abandon(t, s)

	s, logs = openLogged(t, dir)
	assert.Contains(t, logs, "topics=1 state=recovered")
	require.NoError(t, s.Close())

	// A directory made empty beforehand (mkdir) is new too.
	empty := t.TempDir()
	s, logs = openLogged(t, empty)
	assert.Contains(t, logs, "topics=0 state=new")
	abandon(t, s)
	// A first start that died before creating anything did write the
	// directory: it is recovered, with nothing in it.
	s, logs = openLogged(t, empty)
	assert.Contains(t, logs, "topics=0 state=recovered")
	require.NoError(t, s.Close())
}
