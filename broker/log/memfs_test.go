package log

import (
	"errors"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"
)

// memFS is an in-memory FS that remembers what was made durable, so a test
// can simulate a power loss: Crash reverts every directory to its entries as
// of the last SyncDir and every file to its last Sync plus, optionally, a
// random part of what was written after it (a torn write), possibly garbled.
type memFS struct {
	mu   sync.Mutex
	dirs map[string]*memDir
	// failWrites makes every WriteAt fail while set.
	failWrites bool
	// failSyncs makes every Sync fail while set.
	failSyncs bool
}

type memDir struct {
	entries map[string]*inode
	durable map[string]*inode
}

type inode struct {
	data, synced []byte
	mod          time.Time
}

func newMemFS() *memFS { return &memFS{dirs: map[string]*memDir{}} }

func (m *memFS) dir(path string) *memDir {
	d := m.dirs[filepath.Clean(path)]
	return d
}

func (m *memFS) OpenFile(name string, flag int, _ os.FileMode) (File, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d := m.dir(filepath.Dir(name))
	if d == nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	base := filepath.Base(name)
	ino := d.entries[base]
	if ino == nil {
		if flag&os.O_CREATE == 0 {
			return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
		}
		ino = &inode{mod: time.Now()}
		d.entries[base] = ino
	}
	if flag&os.O_TRUNC != 0 {
		ino.data = nil
	}
	return &memFile{fs: m, ino: ino, name: name}, nil
}

func (m *memFS) Remove(name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	d := m.dir(filepath.Dir(name))
	if d == nil || d.entries[filepath.Base(name)] == nil {
		return &fs.PathError{Op: "remove", Path: name, Err: fs.ErrNotExist}
	}
	delete(d.entries, filepath.Base(name))
	return nil
}

func (m *memFS) RemoveAll(name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	name = filepath.Clean(name)
	for p := range m.dirs {
		if p == name || len(p) > len(name) && p[:len(name)+1] == name+"/" {
			delete(m.dirs, p)
		}
	}
	if d := m.dir(filepath.Dir(name)); d != nil {
		delete(d.entries, filepath.Base(name))
		delete(d.durable, filepath.Base(name))
	}
	return nil
}

func (m *memFS) Rename(oldpath, newpath string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	od, nd := m.dir(filepath.Dir(oldpath)), m.dir(filepath.Dir(newpath))
	if od == nil || nd == nil || od.entries[filepath.Base(oldpath)] == nil {
		return &fs.PathError{Op: "rename", Path: oldpath, Err: fs.ErrNotExist}
	}
	nd.entries[filepath.Base(newpath)] = od.entries[filepath.Base(oldpath)]
	delete(od.entries, filepath.Base(oldpath))
	return nil
}

// MkdirAll creates directories durably (their parents' fsync is not modelled).
func (m *memFS) MkdirAll(name string, _ os.FileMode) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for p := filepath.Clean(name); ; p = filepath.Dir(p) {
		if m.dirs[p] == nil {
			m.dirs[p] = &memDir{entries: map[string]*inode{}, durable: map[string]*inode{}}
		}
		if p == filepath.Dir(p) {
			return nil
		}
	}
}

func (m *memFS) ReadDir(name string) ([]os.DirEntry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d := m.dir(name)
	if d == nil {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrNotExist}
	}
	var out []os.DirEntry
	for n, ino := range d.entries {
		out = append(out, fs.FileInfoToDirEntry(memInfo{name: n, size: int64(len(ino.data)), mod: ino.mod}))
	}
	prefix := filepath.Clean(name) + "/"
	for p := range m.dirs {
		if len(p) > len(prefix) && p[:len(prefix)] == prefix && filepath.Dir(p) == filepath.Clean(name) {
			out = append(out, fs.FileInfoToDirEntry(memInfo{name: filepath.Base(p), dir: true}))
		}
	}
	slices.SortFunc(out, func(a, b os.DirEntry) int {
		if a.Name() < b.Name() {
			return -1
		}
		return 1
	})
	return out, nil
}

func (m *memFS) SyncDir(name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	d := m.dir(name)
	if d == nil {
		return &fs.PathError{Op: "sync", Path: name, Err: fs.ErrNotExist}
	}
	d.durable = map[string]*inode{}
	for n, ino := range d.entries {
		d.durable[n] = ino
	}
	return nil
}

// Crash simulates a power loss. With torn set, each file keeps a random
// prefix of its unsynced tail, sometimes with a garbled byte.
func (m *memFS) Crash(rng *rand.Rand, torn bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, d := range m.dirs {
		d.entries = map[string]*inode{}
		for n, ino := range d.durable {
			d.entries[n] = ino
		}
		for _, ino := range d.entries {
			data := slices.Clone(ino.synced)
			if torn && len(ino.data) > len(ino.synced) && slices.Equal(ino.data[:len(ino.synced)], ino.synced) {
				extra := ino.data[len(ino.synced):]
				keep := slices.Clone(extra[:rng.IntN(len(extra)+1)])
				if len(keep) > 0 && rng.IntN(2) == 0 {
					keep[rng.IntN(len(keep))] ^= 0x5a
				}
				data = append(data, keep...)
			}
			ino.data = data
			ino.synced = slices.Clone(data)
		}
	}
}

type memFile struct {
	fs     *memFS
	ino    *inode
	name   string
	closed bool
}

func (f *memFile) ReadAt(p []byte, off int64) (int, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if f.closed {
		return 0, os.ErrClosed
	}
	if off >= int64(len(f.ino.data)) {
		return 0, io.EOF
	}
	n := copy(p, f.ino.data[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (f *memFile) WriteAt(p []byte, off int64) (int, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if f.closed {
		return 0, os.ErrClosed
	}
	if f.fs.failWrites {
		return 0, errors.New("injected write error")
	}
	if end := off + int64(len(p)); end > int64(len(f.ino.data)) {
		f.ino.data = append(f.ino.data, make([]byte, end-int64(len(f.ino.data)))...)
	}
	copy(f.ino.data[off:], p)
	f.ino.mod = time.Now()
	return len(p), nil
}

func (f *memFile) Sync() error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if f.fs.failSyncs {
		return errors.New("injected sync error")
	}
	f.ino.synced = slices.Clone(f.ino.data)
	return nil
}

func (f *memFile) Truncate(size int64) error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if size < int64(len(f.ino.data)) {
		f.ino.data = f.ino.data[:size]
	} else {
		f.ino.data = append(f.ino.data, make([]byte, size-int64(len(f.ino.data)))...)
	}
	return nil
}

func (f *memFile) Stat() (os.FileInfo, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	return memInfo{name: filepath.Base(f.name), size: int64(len(f.ino.data)), mod: f.ino.mod}, nil
}

func (f *memFile) Close() error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	f.closed = true
	return nil
}

type memInfo struct {
	name string
	size int64
	mod  time.Time
	dir  bool
}

func (i memInfo) Name() string { return i.name }
func (i memInfo) Size() int64  { return i.size }
func (i memInfo) Mode() os.FileMode {
	if i.dir {
		return os.ModeDir | 0o755
	}
	return 0o644
}
func (i memInfo) ModTime() time.Time { return i.mod }
func (i memInfo) IsDir() bool        { return i.dir }
func (i memInfo) Sys() any           { return nil }
