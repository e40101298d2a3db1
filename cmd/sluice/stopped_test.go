package main

import (
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/testenv"
)

// Every server command logs "sluice stopped" as its last line when it
// stops cleanly (here: once it has logged tc.ready).
func TestServersLogStopped(t *testing.T) {
	b := testenv.StartBroker(t, nil)
	for _, tc := range []struct {
		name  string
		args  []string
		ready string
	}{
		{"broker", []string{"broker", "--set", "log.dirs=" + t.TempDir(), "--set", "listeners=PLAINTEXT://127.0.0.1:0"}, "sluice broker listening"},
		{"registry", []string{"registry", "--bootstrap-servers", b.Addr, "--listen", "127.0.0.1:0"}, "schema registry ready"},
		// Stopped while its broker does not answer: a clean stop too.
		{"registry while starting", []string{"registry", "--bootstrap-servers", silentBroker(t), "--listen", "127.0.0.1:0"}, "sluice schema registry listening"},
		{"worker", []string{"worker", "--set", "bootstrap.servers=" + b.Addr, "--set", "listeners=http://" + freeAddr(t), "--set", "group.id=stopped"}, "sluice worker REST listening"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs testenv.SyncBuffer
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- run(ctx, tc.args, io.Discard, &logs) }()
			deadline := time.After(30 * time.Second)
			for !strings.Contains(logs.String(), tc.ready) {
				select {
				case err := <-done:
					require.FailNow(t, "stopped before it was ready", "%v\n%s", err, logs.String())
				case <-deadline:
					require.FailNow(t, "not ready in 30s", logs.String())
				case <-time.After(10 * time.Millisecond):
				}
			}
			assert.NotContains(t, logs.String(), "sluice stopped")
			cancel()
			require.NoError(t, <-done)
			lines := strings.Split(strings.TrimRight(logs.String(), "\n"), "\n")
			assert.Contains(t, lines[len(lines)-1], `msg="sluice stopped"`, logs.String())
		})
	}
}

// silentBroker is an address that accepts connections and never answers.
func silentBroker(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().String()
}
