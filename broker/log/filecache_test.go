package log

import (
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/sluicehq/sluice/broker/log/faultfs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// noSyncFS is the operating system's filesystem with fsync made a no-op:
// real files and real descriptors, for tests that count descriptors across
// tens of thousands of segments and need not wait for the disk.
type noSyncFS struct{ OSFS }

type noSyncFile struct{ *os.File }

func (noSyncFile) Sync() error { return nil }

func (noSyncFS) OpenFile(name string, flag int, perm os.FileMode) (File, error) {
	f, err := os.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return noSyncFile{f}, nil
}

func (noSyncFS) SyncDir(string) error { return nil }

func countFDs(t testing.TB) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("cannot count descriptors: %v", err)
	}
	return len(entries)
}

// 10,000 partitions of three segments each (30,000 segments, 90,000 files)
// are written, read, closed and reopened under a 1,000-descriptor cache:
// the process never holds more than the cache's budget for them. Before
// the cache every segment held 3 descriptors for its whole life.
func TestManyPartitionsBoundedFDs(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 90,000 files")
	}
	const partitions, limit, slack = 10_000, 1_000, 64
	dir := t.TempDir()
	base := countFDs(t)
	peak := 0
	sample := func() { peak = max(peak, countFDs(t)-base) }

	s, err := Open(Options{Dir: dir, FS: noSyncFS{}, MaxOpenFiles: limit})
	require.NoError(t, err)
	require.NoError(t, s.CreateTopic("many", partitions, map[string]string{"internal.segment.bytes": "100"}, false))
	sample()
	for i := range partitions {
		p, err := s.Partition("many", int32(i))
		require.NoError(t, err)
		for b := range 3 {
			_, err := p.Append(mkBatch(t, fmt.Sprintf("p%d-%d", i, b), 1, 1000))
			require.NoError(t, err)
		}
		if i%500 == 0 {
			sample()
		}
	}
	p, _ := s.Partition("many", partitions-1)
	p.mu.RLock()
	require.Len(t, p.segments, 3, "every batch rolls a segment")
	p.mu.RUnlock()
	readEvery := func(s *Store) {
		for i := range partitions {
			p, err := s.Partition("many", int32(i))
			require.NoError(t, err)
			recs := readAllRecords(t, p)
			require.Len(t, recs, 3)
			require.Equal(t, fmt.Sprintf("p%d-2-0", i), string(recs[2].Value))
			if i%500 == 0 {
				sample()
			}
		}
	}
	readEvery(s)
	require.NoError(t, s.Close())
	assert.LessOrEqual(t, countFDs(t)-base, 2, "a closed store holds no descriptors")

	s, err = Open(Options{Dir: dir, FS: noSyncFS{}, MaxOpenFiles: limit})
	require.NoError(t, err)
	sample()
	readEvery(s)
	p, _ = s.Partition("many", 7)
	_, err = p.Append(mkBatch(t, "after-reopen", 1, 1000))
	require.NoError(t, err)
	require.NoError(t, s.Close())
	assert.LessOrEqual(t, peak, limit+slack, "descriptors stay within the cache's budget")
	t.Logf("%d partitions × 3 segments: at most %d descriptors (%.3f per partition, %.4f per segment); cache limit %d",
		partitions, peak, float64(peak)/partitions, float64(peak)/(3*partitions), limit)
}

// A file evicted while it holds unsynced writes is fsynced first: what was
// written survives a power loss even though no Flush ran.
func TestEvictionSyncsDirtyFile(t *testing.T) {
	fs := newMemFS()
	c := newFileCache(fs, 1)
	a, err := c.create("/a", os.O_CREATE|os.O_RDWR)
	require.NoError(t, err)
	_, err = a.WriteAt([]byte("hello"), 0)
	require.NoError(t, err)
	b, err := c.create("/b", os.O_CREATE|os.O_RDWR) // evicts a
	require.NoError(t, err)
	require.Equal(t, 1, c.openFiles())
	require.NoError(t, fs.SyncDir("/"))
	fs.Crash(nil, false)
	got, err := readFile(fs, "/a")
	require.NoError(t, err)
	assert.Equal(t, "hello", string(got))
	_ = b
}

// An fsync that fails at eviction is not lost with the descriptor: the
// file's next user gets the error.
func TestEvictionSyncErrorIsSticky(t *testing.T) {
	fs := newMemFS()
	c := newFileCache(fs, 1)
	a, err := c.create("/a", os.O_CREATE|os.O_RDWR)
	require.NoError(t, err)
	_, err = a.WriteAt([]byte("hello"), 0)
	require.NoError(t, err)
	fs.SetFailSyncs(true)
	_, err = c.create("/b", os.O_CREATE|os.O_RDWR)
	require.NoError(t, err)
	fs.SetFailSyncs(false)
	require.ErrorIs(t, a.Sync(), faultfs.ErrInjected)
	_, err = a.WriteAt([]byte("x"), 5)
	require.ErrorIs(t, err, faultfs.ErrInjected)
}

// A partition whose active segment was evicted with unsynced data and
// failed to fsync refuses writes, as after a failed Flush.
func TestPartitionSeesEvictionSyncError(t *testing.T) {
	fs := newMemFS()
	s, err := Open(Options{Dir: "/data", FS: fs, MaxOpenFiles: 1})
	require.NoError(t, err)
	require.NoError(t, s.CreateTopic("a", 1, nil, false))
	require.NoError(t, s.CreateTopic("b", 1, nil, false))
	pa, _ := s.Partition("a", 0)
	pb, _ := s.Partition("b", 0)
	_, err = pa.Append(mkBatch(t, "a", 1, 1))
	require.NoError(t, err)
	fs.SetFailSyncs(true)
	_, err = pb.Append(mkBatch(t, "b", 1, 1)) // evicts a's dirty segment
	require.NoError(t, err)
	fs.SetFailSyncs(false)
	require.ErrorIs(t, pa.Flush(1), ErrStorage)
	_, err = pa.Append(mkBatch(t, "a2", 1, 1))
	require.ErrorIs(t, err, ErrStorage)
}

// Readers and writers of many files through a two-descriptor cache:
// eviction never closes a file under a reader (run with -race).
func TestFileCacheConcurrentUse(t *testing.T) {
	dir := t.TempDir()
	c := newFileCache(OSFS{}, 2)
	files := make([]*cachedFile, 8)
	for i := range files {
		f, err := c.create(fmt.Sprintf("%s/f%d", dir, i), os.O_CREATE|os.O_RDWR)
		require.NoError(t, err)
		_, err = f.WriteAt([]byte(fmt.Sprintf("file-%d", i)), 0)
		require.NoError(t, err)
		files[i] = f
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 6)
			for n := range 500 {
				i := (g + n) % len(files)
				if _, err := files[i].ReadAt(buf, 0); err != nil {
					errs <- err
					return
				}
				if string(buf) != fmt.Sprintf("file-%d", i)[:6] {
					errs <- fmt.Errorf("file %d read %q", i, buf)
					return
				}
				if n%50 == 0 {
					if err := files[i].Sync(); err != nil {
						errs <- err
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	assert.LessOrEqual(t, c.openFiles(), 2)
}
