//go:build !unix

package log

// defaultMaxOpenFiles is the descriptor budget of a store's segment files
// when Options.MaxOpenFiles is 0, on systems without RLIMIT_NOFILE.
func defaultMaxOpenFiles() int { return 512 }
