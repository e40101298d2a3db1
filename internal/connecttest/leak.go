package connecttest

import (
	"bytes"
	"runtime"
	"strings"
	"testing"
	"time"
)

// goroutines returns the stacks of the live goroutines by id.
func goroutines() map[string]string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	out := map[string]string{}
	for _, g := range bytes.Split(buf, []byte("\n\n")) {
		head, _, _ := strings.Cut(string(g), " [")
		out[head] = string(g)
	}
	return out
}

// CheckNoLeak fails t when goroutines started after before (a snapshot
// from Goroutines) are still running after settle, listing their stacks.
func CheckNoLeak(t testing.TB, before map[string]string, settle time.Duration) {
	t.Helper()
	var leaked []string
	deadline := time.Now().Add(settle)
	for {
		leaked = leaked[:0]
		for id, stack := range goroutines() {
			if _, ok := before[id]; !ok {
				leaked = append(leaked, stack)
			}
		}
		if len(leaked) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(leaked) > 0 {
		t.Errorf("%d goroutines still running %s after Stop:\n\n%s", len(leaked), settle, strings.Join(leaked, "\n\n"))
	}
}

// Goroutines snapshots the running goroutines for CheckNoLeak.
func Goroutines() map[string]string { return goroutines() }
