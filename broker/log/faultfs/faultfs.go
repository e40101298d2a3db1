// Package faultfs is an in-memory filesystem for storage tests that can lose
// power and fail on demand. It has the methods of broker/log's FS interface
// (its OpenFile returns the concrete *File, since this package must not
// import broker/log, whose own tests use it; a one-method adapter turns it
// into a log.FS).
//
// # Crash model
//
// The filesystem keeps two views: what the running program sees, and what
// would be found on the disk after a power loss. Crash replaces the first
// with the second:
//
//   - A file's data is durable as of its last successful File.Sync. With
//     torn set, Crash also keeps a random prefix of what was appended after
//     that point (the start of a write that was on its way to the disk),
//     with one byte garbled half of the time. Bytes overwritten or truncated
//     below the synced length are rolled back to the synced content.
//   - A directory's entries (which names exist, and which file each name
//     points to) are durable as of the last SyncDir of that directory.
//     A file created, renamed or removed since then reverts: a new name
//     disappears, a removed or renamed-away name comes back.
//   - Directories themselves are durable as soon as MkdirAll creates them,
//     and gone for good as soon as Remove or RemoveAll removes them. This is
//     a simplification: a real filesystem needs an fsync of the parent
//     directory for that, and may lose a just-created directory.
//
// Files opened before a Crash belong to the process that "died": every
// operation on them except Close fails with ErrCrashed, so a store that was
// abandoned without closing cannot write into the recovered state.
//
// SetFailWrites and SetFailSyncs inject errors (wrapping ErrInjected) until
// cleared, SetSyncError any error, and SetCapacity makes the disk fill up
// (ENOSPC), to test how the storage engine handles a failing disk.
package faultfs

import (
	"errors"
	"io"
	"io/fs"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

var (
	// ErrInjected is the cause of every error made by SetFailWrites and
	// SetFailSyncs.
	ErrInjected = errors.New("injected fault")
	// ErrCrashed is returned by a File opened before the last Crash.
	ErrCrashed = errors.New("file handle from before a crash")
)

// FS is an in-memory, crash-simulating filesystem. It is safe for concurrent
// use; one lock serialises every operation. The zero value is not usable;
// call New.
type FS struct {
	mu   sync.Mutex
	dirs map[string]*dir // by cleaned path
	// gen counts crashes; a File remembers the gen it was opened in.
	gen        uint64
	failWrites bool
	syncErr    error
	// capacity bounds the bytes of all live file data; 0 is unlimited.
	capacity int64
}

// dir is one directory's entries: live ones and those as of the last SyncDir.
type dir struct {
	entries map[string]*inode
	durable map[string]*inode
}

// inode is a file's contents, live and as of the last Sync.
type inode struct {
	data   []byte
	synced []byte
	// dirty is where data may first differ from synced: data[:dirty] ==
	// synced[:dirty], and dirty <= len(data), len(synced). It lets Sync copy
	// only what changed and Crash tell an appended tail from an overwrite.
	dirty int
	mod   time.Time
}

// New returns an empty filesystem holding only the root directory.
func New() *FS {
	return &FS{dirs: map[string]*dir{string(filepath.Separator): newDir()}}
}

func newDir() *dir { return &dir{entries: map[string]*inode{}, durable: map[string]*inode{}} }

// SetFailWrites makes every File.WriteAt fail with ErrInjected while on.
func (m *FS) SetFailWrites(on bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.failWrites = on
}

// SetFailSyncs makes every File.Sync and SyncDir fail with ErrInjected while
// on. A failed Sync makes nothing durable.
func (m *FS) SetFailSyncs(on bool) {
	var err error
	if on {
		err = ErrInjected
	}
	m.SetSyncError(err)
}

// SetSyncError makes every File.Sync and SyncDir fail with err while it is
// not nil. A failed Sync makes nothing durable.
func (m *FS) SetSyncError(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.syncErr = err
}

// SetCapacity makes a write that would take the live data of all files past
// n bytes fail with ENOSPC, writing nothing, as a full disk does; 0 removes
// the limit. Shrinking files always works.
func (m *FS) SetCapacity(n int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.capacity = n
}

// Used returns the bytes of live data of all files.
func (m *FS) Used() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.usedLocked()
}

func (m *FS) usedLocked() int64 {
	seen := map[*inode]bool{}
	var n int64
	for _, d := range m.dirs {
		for _, ino := range d.entries {
			if !seen[ino] {
				seen[ino] = true
				n += int64(len(ino.data))
			}
		}
	}
	return n
}

// Crash simulates a power loss and reboot, as described in the package
// comment. With torn set, rng chooses how much of each file's unsynced tail
// survives; without it rng is not used and may be nil. The same rng state
// and the same history give the same result.
func (m *FS) Crash(rng *rand.Rand, torn bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.gen++
	seen := map[*inode]bool{}
	for _, path := range slices.Sorted(maps.Keys(m.dirs)) {
		d := m.dirs[path]
		d.entries = maps.Clone(d.durable)
		for _, name := range slices.Sorted(maps.Keys(d.entries)) {
			if ino := d.entries[name]; !seen[ino] {
				seen[ino] = true
				ino.crash(rng, torn)
			}
		}
	}
}

func (ino *inode) crash(rng *rand.Rand, torn bool) {
	data := slices.Clone(ino.synced)
	if torn && ino.dirty == len(ino.synced) && len(ino.data) > len(ino.synced) {
		tail := ino.data[len(ino.synced):]
		keep := slices.Clone(tail[:rng.IntN(len(tail)+1)])
		if len(keep) > 0 && rng.IntN(2) == 0 {
			keep[rng.IntN(len(keep))] ^= 0x5a
		}
		data = append(data, keep...)
	}
	ino.data = data
	ino.synced = slices.Clone(data)
	ino.dirty = len(data)
}

// lookup returns the directory holding path and the base name; d is nil when
// the directory does not exist.
func (m *FS) lookup(path string) (d *dir, base string) {
	path = filepath.Clean(path)
	return m.dirs[filepath.Dir(path)], filepath.Base(path)
}

// OpenFile opens a file like os.OpenFile. O_CREATE, O_EXCL and O_TRUNC are
// honoured and the access mode is enforced; other flags are ignored. A new
// name is durable only after SyncDir of its directory.
func (m *FS) OpenFile(name string, flag int, _ os.FileMode) (*File, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.dirs[filepath.Clean(name)] != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: syscall.EISDIR}
	}
	d, base := m.lookup(name)
	if d == nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	ino := d.entries[base]
	switch {
	case ino == nil && flag&os.O_CREATE == 0:
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	case ino == nil:
		ino = &inode{mod: time.Now()}
		d.entries[base] = ino
	case flag&(os.O_CREATE|os.O_EXCL) == os.O_CREATE|os.O_EXCL:
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrExist}
	}
	if flag&os.O_TRUNC != 0 {
		ino.truncate(0)
	}
	mode := flag & (os.O_RDONLY | os.O_WRONLY | os.O_RDWR)
	return &File{fs: m, ino: ino, name: name, gen: m.gen,
		read: mode != os.O_WRONLY, write: mode != os.O_RDONLY}, nil
}

// Remove removes a file, or an empty directory. Removing a file is durable
// only after SyncDir of its directory; removing a directory is durable at
// once.
func (m *FS) Remove(name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if sub := m.dirs[filepath.Clean(name)]; sub != nil {
		if len(sub.entries) > 0 || len(m.subdirs(name)) > 0 {
			return &fs.PathError{Op: "remove", Path: name, Err: syscall.ENOTEMPTY}
		}
		delete(m.dirs, filepath.Clean(name))
		return nil
	}
	d, base := m.lookup(name)
	if d == nil || d.entries[base] == nil {
		return &fs.PathError{Op: "remove", Path: name, Err: fs.ErrNotExist}
	}
	delete(d.entries, base)
	return nil
}

// RemoveAll removes a file like Remove, or a directory tree at once and
// durably. A missing name is not an error.
func (m *FS) RemoveAll(name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	root := filepath.Clean(name)
	if m.dirs[root] == nil {
		if d, base := m.lookup(root); d != nil {
			delete(d.entries, base)
		}
		return nil
	}
	prefix := root + string(filepath.Separator)
	for p := range m.dirs {
		if p == root || strings.HasPrefix(p, prefix) {
			delete(m.dirs, p)
		}
	}
	return nil
}

// Rename moves a file to a new name, replacing any file there, atomically.
// Both directory entries change durably only after SyncDir of their
// directories. Directories cannot be renamed.
func (m *FS) Rename(oldpath, newpath string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	od, obase := m.lookup(oldpath)
	nd, nbase := m.lookup(newpath)
	if od == nil || nd == nil || od.entries[obase] == nil {
		return &os.LinkError{Op: "rename", Old: oldpath, New: newpath, Err: fs.ErrNotExist}
	}
	if m.dirs[filepath.Clean(newpath)] != nil {
		return &os.LinkError{Op: "rename", Old: oldpath, New: newpath, Err: syscall.EISDIR}
	}
	ino := od.entries[obase]
	delete(od.entries, obase)
	nd.entries[nbase] = ino
	return nil
}

// MkdirAll creates a directory and its missing parents, durably at once.
func (m *FS) MkdirAll(name string, _ os.FileMode) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for p := filepath.Clean(name); m.dirs[p] == nil; p = filepath.Dir(p) {
		if d, base := m.lookup(p); d != nil && d.entries[base] != nil {
			return &fs.PathError{Op: "mkdir", Path: p, Err: syscall.ENOTDIR}
		}
		m.dirs[p] = newDir()
	}
	return nil
}

// subdirs returns the names of the directories directly inside name.
func (m *FS) subdirs(name string) []string {
	name = filepath.Clean(name)
	var out []string
	for p := range m.dirs {
		if p != name && filepath.Dir(p) == name {
			out = append(out, filepath.Base(p))
		}
	}
	return out
}

// ReadDir lists a directory's files and subdirectories sorted by name.
func (m *FS) ReadDir(name string) ([]os.DirEntry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d := m.dirs[filepath.Clean(name)]
	if d == nil {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrNotExist}
	}
	var out []os.DirEntry
	for n, ino := range d.entries {
		out = append(out, fs.FileInfoToDirEntry(fileInfo{name: n, size: int64(len(ino.data)), mod: ino.mod}))
	}
	for _, n := range m.subdirs(name) {
		out = append(out, fs.FileInfoToDirEntry(fileInfo{name: n, dir: true}))
	}
	slices.SortFunc(out, func(a, b os.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return out, nil
}

// SyncDir makes the directory's current entries the ones a Crash keeps.
func (m *FS) SyncDir(name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	d := m.dirs[filepath.Clean(name)]
	if d == nil {
		return &fs.PathError{Op: "sync", Path: name, Err: fs.ErrNotExist}
	}
	if m.syncErr != nil {
		return &fs.PathError{Op: "sync", Path: name, Err: m.syncErr}
	}
	d.durable = maps.Clone(d.entries)
	return nil
}

// File is an open file of an FS. It has the methods of broker/log's File
// interface.
type File struct {
	fs          *FS
	ino         *inode
	name        string
	gen         uint64
	read, write bool
	closed      bool
}

// access is what an operation needs of a handle's open mode.
type access int

const (
	anyMode access = iota
	readMode
	writeMode
)

// checkLocked reports why the handle cannot be used for op, if it cannot.
func (f *File) checkLocked(op string, need access) error {
	var err error
	switch {
	case f.closed:
		err = os.ErrClosed
	case f.gen != f.fs.gen:
		err = ErrCrashed
	case need == readMode && !f.read, need == writeMode && !f.write:
		err = syscall.EBADF
	default:
		return nil
	}
	return &fs.PathError{Op: op, Path: f.name, Err: err}
}

// ReadAt reads like os.File.ReadAt: io.EOF when fewer than len(p) bytes
// are there.
func (f *File) ReadAt(p []byte, off int64) (int, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.checkLocked("read", readMode); err != nil {
		return 0, err
	}
	if off < 0 {
		return 0, &fs.PathError{Op: "read", Path: f.name, Err: syscall.EINVAL}
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

// WriteAt writes p at off, zero-filling any gap past the end. The data is
// durable only after Sync.
func (f *File) WriteAt(p []byte, off int64) (int, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.checkLocked("write", writeMode); err != nil {
		return 0, err
	}
	if off < 0 {
		return 0, &fs.PathError{Op: "write", Path: f.name, Err: syscall.EINVAL}
	}
	if f.fs.failWrites {
		return 0, &fs.PathError{Op: "write", Path: f.name, Err: ErrInjected}
	}
	ino := f.ino
	if grow := off + int64(len(p)) - int64(len(ino.data)); grow > 0 && f.fs.capacity > 0 && f.fs.usedLocked()+grow > f.fs.capacity {
		return 0, &fs.PathError{Op: "write", Path: f.name, Err: syscall.ENOSPC}
	}
	if end := off + int64(len(p)); end > int64(len(ino.data)) {
		ino.data = append(ino.data, make([]byte, end-int64(len(ino.data)))...)
	}
	copy(ino.data[off:], p)
	ino.dirty = min(ino.dirty, int(off))
	ino.mod = time.Now()
	return len(p), nil
}

// Sync makes the file's current data the data a Crash keeps.
func (f *File) Sync() error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.checkLocked("sync", anyMode); err != nil {
		return err
	}
	if f.fs.syncErr != nil {
		return &fs.PathError{Op: "sync", Path: f.name, Err: f.fs.syncErr}
	}
	ino := f.ino
	ino.synced = append(ino.synced[:ino.dirty], ino.data[ino.dirty:]...)
	ino.dirty = len(ino.data)
	return nil
}

// Truncate changes the file's size, zero-filling when it grows. The new
// size is durable only after Sync.
func (f *File) Truncate(size int64) error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.checkLocked("truncate", writeMode); err != nil {
		return err
	}
	if size < 0 {
		return &fs.PathError{Op: "truncate", Path: f.name, Err: syscall.EINVAL}
	}
	f.ino.truncate(int(size))
	return nil
}

func (ino *inode) truncate(size int) {
	if size < len(ino.data) {
		ino.data = ino.data[:size]
		ino.dirty = min(ino.dirty, size)
	} else {
		ino.data = append(ino.data, make([]byte, size-len(ino.data))...)
	}
	ino.mod = time.Now()
}

// Stat describes the file; its name is the base name it was opened by.
func (f *File) Stat() (os.FileInfo, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.checkLocked("stat", anyMode); err != nil {
		return nil, err
	}
	return fileInfo{name: filepath.Base(f.name), size: int64(len(f.ino.data)), mod: f.ino.mod}, nil
}

// Close closes the handle. Closing twice, or closing a handle from before a
// Crash, is not an error.
func (f *File) Close() error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	f.closed = true
	return nil
}

type fileInfo struct {
	name string
	size int64
	mod  time.Time
	dir  bool
}

func (i fileInfo) Name() string { return i.name }
func (i fileInfo) Size() int64  { return i.size }
func (i fileInfo) Mode() os.FileMode {
	if i.dir {
		return os.ModeDir | 0o755
	}
	return 0o644
}
func (i fileInfo) ModTime() time.Time { return i.mod }
func (i fileInfo) IsDir() bool        { return i.dir }
func (i fileInfo) Sys() any           { return nil }
