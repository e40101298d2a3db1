package log

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
)

// FS is the filesystem seam of the storage engine. Every file the log touches
// goes through it, so tests can inject write errors or simulate a crash that
// loses whatever was not synced.
type FS interface {
	// OpenFile opens name like os.OpenFile.
	OpenFile(name string, flag int, perm os.FileMode) (File, error)
	// Remove removes one file or empty directory.
	Remove(name string) error
	// RemoveAll removes a tree.
	RemoveAll(name string) error
	// Rename renames a file atomically (POSIX rename).
	Rename(oldpath, newpath string) error
	// MkdirAll creates a directory and its parents.
	MkdirAll(name string, perm os.FileMode) error
	// ReadDir lists a directory sorted by name.
	ReadDir(name string) ([]os.DirEntry, error)
	// SyncDir makes the directory entries of name durable (fsync on the
	// directory), needed after creating, renaming or removing files in it.
	SyncDir(name string) error
}

// File is an open file. Writes are positional: the log always knows where its
// data ends, and positional writes make torn tails easy to reason about.
type File interface {
	io.ReaderAt
	io.WriterAt
	io.Closer
	// Sync makes the file's data durable.
	Sync() error
	// Truncate changes the size of the file.
	Truncate(size int64) error
	// Stat describes the file.
	Stat() (os.FileInfo, error)
}

// OSFS is the FS of the operating system.
type OSFS struct{}

// OpenFile implements FS.
func (OSFS) OpenFile(name string, flag int, perm os.FileMode) (File, error) {
	f, err := os.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return f, nil
}

// Remove implements FS.
func (OSFS) Remove(name string) error { return os.Remove(name) }

// RemoveAll implements FS.
func (OSFS) RemoveAll(name string) error { return os.RemoveAll(name) }

// Rename implements FS.
func (OSFS) Rename(oldpath, newpath string) error { return os.Rename(oldpath, newpath) }

// MkdirAll implements FS.
func (OSFS) MkdirAll(name string, perm os.FileMode) error { return os.MkdirAll(name, perm) }

// ReadDir implements FS.
func (OSFS) ReadDir(name string) ([]os.DirEntry, error) { return os.ReadDir(name) }

// SyncDir implements FS.
func (OSFS) SyncDir(name string) error {
	d, err := os.Open(name)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// writeFileAtomic writes data to path through a temporary file, fsyncs it,
// renames it into place and fsyncs the directory, so a crash leaves either the
// old or the new content, never a mix.
func writeFileAtomic(fs FS, dir, name string, data []byte) error {
	path := dir + string(os.PathSeparator) + name
	tmp := dir + string(os.PathSeparator) + tempName(name)
	f, err := fs.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.WriteAt(data, 0); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := fs.Rename(tmp, path); err != nil {
		return err
	}
	return fs.SyncDir(dir)
}

// maxNameLen is the longest file name most filesystems take (NAME_MAX).
const maxNameLen = 255

// tempName is the name a file is written under before it is renamed to
// name: name.tmp, or, when that is too long for the filesystem (a topic of
// 249 characters has a 254-character metadata file), a short name derived
// from a hash of name. Either ends in .tmp, which recovery removes.
func tempName(name string) string {
	if len(name)+len(".tmp") <= maxNameLen {
		return name + ".tmp"
	}
	sum := sha256.Sum256([]byte(name))
	return "." + hex.EncodeToString(sum[:16]) + ".tmp"
}

// readFile reads a whole file through fs.
func readFile(fs FS, path string) ([]byte, error) {
	f, err := fs.OpenFile(path, os.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	buf := make([]byte, st.Size())
	n, err := f.ReadAt(buf, 0)
	if err != nil && err != io.EOF {
		return nil, err
	}
	return buf[:n], nil
}
