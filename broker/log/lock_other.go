//go:build !unix

package log

// LockDir implements DirLocker where flock(2) does not exist: the lock file
// is created but nothing is locked, so on these systems nothing keeps a
// second instance out of a data directory.
func (OSFS) LockDir(dir, name string) (func() error, error) {
	f, err := openLockFile(dir, name)
	if err != nil {
		return nil, err
	}
	return f.Close, nil
}
