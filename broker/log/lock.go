package log

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// lockFile is the file in the data directory a store locks while it owns
// the directory, named as Kafka names it.
const lockFile = ".lock"

// ErrDirLocked: another store, in this process or another, holds the data
// directory's lock.
var ErrDirLocked = errors.New("a Sluice instance in another process or thread is using this directory")

// DirLocker is an optional capability of an FS: taking an exclusive lock on
// a directory that keeps every other store out of it while it is held.
// OSFS has it; filesystems that live in one process's memory need not.
type DirLocker interface {
	// LockDir locks dir through the file named name in it, without waiting.
	// It returns an error wrapping ErrDirLocked when the lock is held
	// elsewhere, and otherwise the function that releases it. The lock must
	// also be released when the process dies, however it dies.
	LockDir(dir, name string) (unlock func() error, err error)
}

// lockDir takes the data directory's lock if the filesystem can lock; the
// error says which directory and why, in the words Kafka uses.
func lockDir(fs FS, dir string) (func() error, error) {
	l, ok := fs.(DirLocker)
	if !ok {
		return func() error { return nil }, nil
	}
	unlock, err := l.LockDir(dir, lockFile)
	if err == nil {
		return unlock, nil
	}
	abs, aerr := filepath.Abs(dir)
	if aerr != nil {
		abs = dir
	}
	if errors.Is(err, ErrDirLocked) {
		// Kafka: "Failed to acquire lock on file .lock in <dir>. A Kafka
		// instance in another process or thread is using this directory."
		return nil, fmt.Errorf("failed to acquire lock on file %s in %s: %w", lockFile, abs, ErrDirLocked)
	}
	return nil, fmt.Errorf("lock file %s in %s: %w", lockFile, abs, err)
}

// openLockFile opens (creating) the lock file, which is kept: like Kafka's
// .lock it is only a handle for the lock, and its presence means nothing.
func openLockFile(dir, name string) (*os.File, error) {
	return os.OpenFile(filepath.Join(dir, name), os.O_RDWR|os.O_CREATE, 0o644)
}
