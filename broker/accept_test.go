package broker_test

import (
	"context"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/testenv"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"
)

// buildSluice builds the sluice binary for tests that run it as a process.
func buildSluice(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go toolchain on PATH to build sluice: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "sluice")
	out, err := exec.Command(goBin, "build", "-o", bin, "github.com/sluicehq/sluice/cmd/sluice").CombinedOutput()
	require.NoError(t, err, "build sluice: %s", out)
	return bin
}

// TestListenerSurvivesRunningOutOfFileDescriptors runs `sluice broker` under
// a low fd limit, opens more idle connections than the limit allows, closes
// them, and checks that clients are served again: accept errors are logged
// and retried, never the end of the listener.
func TestListenerSurvivesRunningOutOfFileDescriptors(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the sluice binary")
	}
	bin := buildSluice(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close()
	logs := &testenv.SyncBuffer{}
	// Go raises the soft fd limit to the hard one at start, so the hard
	// limit is the one set here (ulimit -n sets both).
	cmd := exec.Command("sh", "-c", `ulimit -n 256 && exec "$0" "$@"`, bin, "broker",
		"--set", "listeners=PLAINTEXT://"+addr, "--set", "log.dirs="+t.TempDir())
	cmd.Stdout, cmd.Stderr = logs, logs
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	require.Eventually(t, func() bool { return strings.Contains(logs.String(), "sluice broker listening") },
		30*time.Second, 20*time.Millisecond, "broker did not start: %s", logs.String())

	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range 400 {
		c, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err != nil {
			break // the backlog is full too
		}
		conns = append(conns, c)
	}
	require.Eventually(t, func() bool { return strings.Contains(logs.String(), "cannot accept connections") },
		10*time.Second, 20*time.Millisecond, "no accept warning in the broker's log: %s", logs.String())
	require.Contains(t, logs.String(), "too many open files")
	for _, c := range conns {
		c.Close()
	}
	conns = nil

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DefaultProduceTopic("after-emfile"), kgo.AllowAutoTopicCreation(),
		kgo.ConsumeTopics("after-emfile"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	require.NoError(t, err)
	defer cl.Close()
	require.NoError(t, cl.ProduceSync(ctx, &kgo.Record{Value: []byte("still here")}).FirstErr(), "broker log: %s", logs.String())
	fs := cl.PollFetches(ctx)
	require.NoError(t, fs.Err())
	recs := fs.Records()
	require.Len(t, recs, 1)
	require.Equal(t, "still here", string(recs[0].Value))
}
