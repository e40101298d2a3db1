//go:build unix

package log

import (
	"errors"
	"fmt"
	"syscall"
)

// LockDir implements DirLocker with flock(2). A flock belongs to the open
// file description, so a second open of the lock file conflicts even in
// the same process (Kafka's "another process or thread"), and the kernel
// drops it when the last descriptor closes: a process killed with SIGKILL
// leaves no stale lock. The descriptor is close-on-exec, so a child process
// never inherits the lock.
func (OSFS) LockDir(dir, name string) (func() error, error) {
	f, err := openLockFile(dir, name)
	if err != nil {
		return nil, err
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, ErrDirLocked
		}
		return nil, fmt.Errorf("flock: %w", err)
	}
	// Closing the descriptor releases the lock.
	return f.Close, nil
}
