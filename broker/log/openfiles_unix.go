//go:build unix

package log

import "syscall"

// defaultMaxOpenFiles is the descriptor budget of a store's segment files
// when Options.MaxOpenFiles is 0: half the process's limit (RLIMIT_NOFILE,
// which Go raises to the hard limit at start), leaving the other half to
// connections, checkpoints and everything else, within [64, 1<<20].
func defaultMaxOpenFiles() int {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil || rl.Cur == 0 {
		return 512
	}
	return int(min(max(rl.Cur/2, 64), 1<<20))
}
