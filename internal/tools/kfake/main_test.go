package main

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/testenv"
)

func TestRunListensUntilCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stdout := &testenv.SyncBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"--addr", "127.0.0.1:0", "--partitions", "2"}, stdout, io.Discard) }()

	var addr string
	require.Eventually(t, func() bool {
		line, ok := strings.CutPrefix(stdout.String(), "kfake listening on ")
		addr = strings.TrimSpace(line)
		return ok && strings.HasSuffix(line, "\n")
	}, 10*time.Second, 5*time.Millisecond)

	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	require.NoError(t, err)
	require.NoError(t, cl.Ping(ctx))
	cl.Close()

	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return after cancel")
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	err := run(context.Background(), []string{"--log-level", "loud"}, io.Discard, io.Discard)
	assert.EqualError(t, err, `--log-level "loud": want none, error, warn, info or debug`)
	err = run(context.Background(), []string{"--partitions", "0", "--addr", "127.0.0.1:0"}, io.Discard, io.Discard)
	assert.ErrorContains(t, err, "partitions 0: want more than 0")
}
