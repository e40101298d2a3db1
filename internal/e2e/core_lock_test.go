package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"
)

// lockedMessage is how a second instance on a data directory is refused:
// Kafka's words, with Sluice's name.
const lockedMessage = "a Sluice instance in another process or thread is using this directory"

// TestDataDirLock runs `sluice up` on a data directory and then, on the
// same directory, a second `sluice up` (other ports, then the same ports)
// and a second `sluice broker`: each exits non-zero at once with the lock
// error, before it opens the store or binds a port, and leaves the first's
// directory alone, so the first keeps serving and a kill -9 of it is still
// recovered as an unclean stop.
func TestDataDirLock(t *testing.T) {
	dir, addr, restAddr, regAddr := t.TempDir(), freeAddr(t), freeAddr(t), freeAddr(t)
	out := &procLog{}
	dumpOnFailure(t, "first sluice up", out)
	first := startProcUntil(t, out, workerReady, "up", "--data-dir", dir, "--broker-addr", addr, "--rest-addr", restAddr, "--registry-addr", regAddr)
	produceOne(t, addr, "before")
	meta, err := os.ReadFile(filepath.Join(dir, "meta.properties"))
	require.NoError(t, err)

	abs, err := filepath.Abs(dir)
	require.NoError(t, err)
	want := "sluice: failed to acquire lock on file .lock in " + abs + ": " + lockedMessage + "\n"
	second := []struct {
		name string
		args []string
	}{
		{"up on other ports", []string{"up", "--data-dir", dir, "--broker-addr", freeAddr(t), "--rest-addr", freeAddr(t), "--registry-addr", freeAddr(t)}},
		{"up on the same ports", []string{"up", "--data-dir", dir, "--broker-addr", addr, "--rest-addr", restAddr, "--registry-addr", regAddr}},
		{"broker", []string{"broker", "--set", "log.dirs=" + dir, "--set", "listeners=PLAINTEXT://" + freeAddr(t)}},
	}
	for _, tc := range second {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			start := time.Now()
			got, err := exec.CommandContext(ctx, sluiceBin, tc.args...).CombinedOutput()
			took := time.Since(start)
			require.NoError(t, ctx.Err(), "the second instance kept running:\n%s", got)
			var exit *exec.ExitError
			require.ErrorAs(t, err, &exit, "the second instance must fail:\n%s", got)
			assert.Equal(t, 1, exit.ExitCode())
			assert.Equal(t, want, string(got), "one line: refused before opening the store or binding a port")
			assert.Less(t, took, 5*time.Second, "refused at once")
			assert.NoFileExists(t, filepath.Join(dir, ".sluice_cleanshutdown"), "the clean shutdown marker is written only by the owner")
		})
	}
	after, err := os.ReadFile(filepath.Join(dir, "meta.properties"))
	require.NoError(t, err)
	assert.Equal(t, string(meta), string(after))

	// The first keeps serving.
	produceOne(t, addr, "after")
	assert.Equal(t, []string{"before", "after"}, readValues(t, addr))

	// kill -9 releases the lock; the restart owns the directory and knows
	// the stop was unclean.
	first.kill()
	restarted := &procLog{}
	dumpOnFailure(t, "restarted broker", restarted)
	b := startBroker(t, restarted, dir, addr)
	assert.Contains(t, restarted.String(), "state=recovered")
	assert.Equal(t, []string{"before", "after"}, readValues(t, addr))
	b.terminate(t, 10*time.Second)
	assert.Contains(t, restarted.tail(1), `msg="sluice stopped"`, "sluice broker says it stopped")
	assert.FileExists(t, filepath.Join(dir, ".sluice_cleanshutdown"), "the owner's clean stop is marked")
}

// lockTopic is the topic TestDataDirLock writes.
const lockTopic = "locked"

func produceOne(t *testing.T, addr, value string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DefaultProduceTopic(lockTopic), kgo.AllowAutoTopicCreation())
	require.NoError(t, err)
	defer cl.Close()
	require.NoError(t, cl.ProduceSync(ctx, &kgo.Record{Value: []byte(value)}).FirstErr())
}

func readValues(t *testing.T, addr string) []string {
	t.Helper()
	var got []string
	consumeAll(t, addr, lockTopic, func(r *kgo.Record) { got = append(got, string(r.Value)) })
	return got
}
