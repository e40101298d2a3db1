package log

import (
	"container/list"
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// fileCache bounds the file descriptors a store holds. Every segment file is
// a cachedFile: a path that is opened on first use, kept open while it is
// used often, and closed when the cache is full and another file needs a
// descriptor (least recently used first). A store with 10,000 partitions of
// many segments each thus needs at most limit descriptors for its segments,
// where holding every segment's files open would need three per segment.
//
// Safety against eviction: a file is used through acquire/release (ReadAt,
// WriteAt, Sync… below do it per call), and a file with users is never
// closed. Durability: a file written since its last successful fsync is
// fsynced before its descriptor is closed (outside the cache lock; users
// of that file wait meanwhile), so no fsync error is lost with a closed
// descriptor: a failed one is kept on the file (sticky) and returned to its
// next user, which makes the partition refuse writes.
//
// No caller holds one file while acquiring another, so waiting for a free
// descriptor cannot deadlock.
type fileCache struct {
	fs    FS
	limit int

	mu      sync.Mutex
	cond    sync.Cond
	open    int       // descriptors open, including ones being fsynced for eviction
	lru     list.List // open, evictable-when-idle files; front is the most recent
	waiting int       // goroutines waiting for a descriptor or an eviction
}

func newFileCache(fs FS, limit int) *fileCache {
	c := &fileCache{fs: fs, limit: max(limit, 1)}
	c.cond.L = &c.mu
	return c
}

// cachedFile is one file of the cache. Its fields are guarded by the
// cache's lock.
type cachedFile struct {
	c    *fileCache
	path string
	f    File // nil while closed
	elem *list.Element
	refs int
	// evicting is set while an evictor fsyncs and closes this file's old
	// descriptor; users wait for it so they see its outcome.
	evicting bool
	// closeIdle: close once the last user releases it.
	closeIdle bool
	// writes counts writes and truncations; synced is the count the last
	// successful fsync covered. They differ while the file is dirty.
	writes, synced uint64
	err            error // sticky: an fsync at eviction failed
}

// file returns the cache's handle on an existing file, not opened yet.
func (c *fileCache) file(path string) *cachedFile {
	return &cachedFile{c: c, path: path}
}

// create opens path with flag (which may create or truncate it) and returns
// it open in the cache.
func (c *fileCache) create(path string, flag int) (*cachedFile, error) {
	cf := &cachedFile{c: c, path: path}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.reserveLocked(); err != nil {
		return nil, err
	}
	f, err := c.fs.OpenFile(path, flag, 0o644)
	if err != nil {
		c.open--
		c.wakeLocked()
		return nil, err
	}
	cf.f = f
	cf.elem = c.lru.PushFront(cf)
	cf.writes = 1 // a new or truncated file is durable after an fsync only
	return cf, nil
}

// reserveLocked makes room for one more descriptor, evicting or waiting,
// and counts it as open.
func (c *fileCache) reserveLocked() error {
	for c.open >= c.limit {
		if !c.evictLocked() {
			c.waiting++
			c.cond.Wait()
			c.waiting--
		}
	}
	c.open++
	return nil
}

// evictLocked closes the least recently used idle file. It reports false
// when every open file is in use. The lock is released while a dirty
// victim is fsynced.
func (c *fileCache) evictLocked() bool {
	for e := c.lru.Back(); e != nil; e = e.Prev() {
		cf := e.Value.(*cachedFile)
		if cf.refs > 0 {
			continue
		}
		c.lru.Remove(e)
		cf.elem = nil
		f, writes := cf.f, cf.writes
		cf.f = nil
		if writes == cf.synced {
			f.Close()
			c.open--
			return true
		}
		cf.evicting = true
		c.mu.Unlock()
		err := f.Sync()
		f.Close()
		c.mu.Lock()
		cf.evicting = false
		c.open--
		if err != nil {
			cf.err = syncError{fmt.Errorf("sync %s before closing it: %w", filepath.Base(cf.path), err)}
		} else {
			cf.synced = max(cf.synced, writes)
		}
		c.cond.Broadcast()
		return true
	}
	return false
}

func (c *fileCache) wakeLocked() {
	if c.waiting > 0 {
		c.cond.Broadcast()
	}
}

// acquire returns the open file, opening it if needed, and counts a user;
// release must follow.
func (cf *cachedFile) acquire() (File, error) {
	c := cf.c
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		switch {
		case cf.err != nil:
			return nil, cf.err
		case cf.f != nil:
			cf.refs++
			c.lru.MoveToFront(cf.elem)
			return cf.f, nil
		case cf.evicting:
			c.waiting++
			c.cond.Wait()
			c.waiting--
			continue
		}
		if err := c.reserveLocked(); err != nil {
			return nil, err
		}
		if cf.f != nil || cf.evicting || cf.err != nil {
			// Another user opened it, or it changed, while we waited.
			c.open--
			c.wakeLocked()
			continue
		}
		f, err := c.fs.OpenFile(cf.path, os.O_RDWR, 0)
		if err != nil {
			c.open--
			c.wakeLocked()
			return nil, err
		}
		cf.f = f
		cf.elem = c.lru.PushFront(cf)
		cf.refs = 1
		return f, nil
	}
}

func (cf *cachedFile) release() {
	c := cf.c
	c.mu.Lock()
	defer c.mu.Unlock()
	cf.refs--
	if cf.refs == 0 && cf.closeIdle {
		cf.closeLocked()
	}
	if cf.refs == 0 {
		c.wakeLocked()
	}
}

// closeLocked closes an idle file's descriptor without fsyncing it.
func (cf *cachedFile) closeLocked() {
	c := cf.c
	cf.closeIdle = false
	if cf.f == nil {
		return
	}
	if cf.elem != nil {
		c.lru.Remove(cf.elem)
		cf.elem = nil
	}
	cf.f.Close()
	cf.f = nil
	c.open--
	c.wakeLocked()
}

// close gives up the file's descriptor: now when idle, else when its last
// user releases it. A later use opens it again. It does not fsync: callers
// fsync first what must be durable.
func (cf *cachedFile) close() {
	c := cf.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if cf.refs > 0 {
		cf.closeIdle = true
		return
	}
	cf.closeLocked()
}

// rename renames the file and makes later opens use the new name.
func (cf *cachedFile) rename(newpath string) error {
	c := cf.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.fs.Rename(cf.path, newpath); err != nil {
		return err
	}
	cf.path = newpath
	return nil
}

// name is the file's current path, for messages.
func (cf *cachedFile) name() string {
	cf.c.mu.Lock()
	defer cf.c.mu.Unlock()
	return cf.path
}

// ReadAt reads like File.ReadAt.
func (cf *cachedFile) ReadAt(p []byte, off int64) (int, error) {
	f, err := cf.acquire()
	if err != nil {
		return 0, err
	}
	defer cf.release()
	return f.ReadAt(p, off)
}

// WriteAt writes like File.WriteAt; the file is dirty until the next Sync.
func (cf *cachedFile) WriteAt(p []byte, off int64) (int, error) {
	f, err := cf.acquire()
	if err != nil {
		return 0, err
	}
	defer cf.release()
	cf.markWritten()
	return f.WriteAt(p, off)
}

// Truncate truncates like File.Truncate; the file is dirty until the next Sync.
func (cf *cachedFile) Truncate(size int64) error {
	f, err := cf.acquire()
	if err != nil {
		return err
	}
	defer cf.release()
	cf.markWritten()
	return f.Truncate(size)
}

func (cf *cachedFile) markWritten() {
	cf.c.mu.Lock()
	cf.writes++
	cf.c.mu.Unlock()
}

// Sync fsyncs the file. A file closed by eviction after every write was
// fsynced is durable already and is not opened again.
func (cf *cachedFile) Sync() error {
	c := cf.c
	c.mu.Lock()
	for cf.evicting {
		c.waiting++
		c.cond.Wait()
		c.waiting--
	}
	if cf.err != nil {
		err := cf.err
		c.mu.Unlock()
		return err
	}
	if cf.f == nil && cf.writes == cf.synced {
		c.mu.Unlock()
		return nil
	}
	writes := cf.writes
	c.mu.Unlock()
	f, err := cf.acquire()
	if err != nil {
		return err
	}
	defer cf.release()
	if err := f.Sync(); err != nil {
		return err
	}
	c.mu.Lock()
	cf.synced = max(cf.synced, writes)
	c.mu.Unlock()
	return nil
}

// readFile reads a whole file with a descriptor counted by the cache.
func (c *fileCache) readFile(path string) ([]byte, error) {
	c.mu.Lock()
	err := c.reserveLocked()
	c.mu.Unlock()
	if err != nil {
		return nil, err
	}
	defer c.unreserve()
	return readFile(c.fs, path)
}

// writeFile replaces a file's contents and fsyncs it, with a descriptor
// counted by the cache. It does not sync the directory.
func (c *fileCache) writeFile(path string, data []byte) error {
	c.mu.Lock()
	err := c.reserveLocked()
	c.mu.Unlock()
	if err != nil {
		return err
	}
	defer c.unreserve()
	f, err := c.fs.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if len(data) > 0 {
		if _, err := f.WriteAt(data, 0); err != nil {
			f.Close()
			return err
		}
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func (c *fileCache) unreserve() {
	c.mu.Lock()
	c.open--
	c.wakeLocked()
	c.mu.Unlock()
}

// openFiles reports how many descriptors the cache holds (tests).
func (c *fileCache) openFiles() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.open
}
