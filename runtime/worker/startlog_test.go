package worker_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/testenv"
	"github.com/sluicehq/sluice/runtime/worker"
)

// TestDistributedStartLogsEachEventOnce: a distributed worker's start-up
// says each thing once at Info — the worker group join (not again from the
// group member), the internal topics (the broker logs their creation) —
// and no line repeats an attribute.
func TestDistributedStartLogsEachEventOnce(t *testing.T) {
	b := testenv.StartBroker(t, nil)
	var buf testenv.SyncBuffer
	logger := slog.New(slog.NewTextHandler(&buf, nil)) // Info, as a worker runs by default
	cfg, err := worker.NewConfig(map[string]string{"bootstrap.servers": b.Addr, "listeners": "http://127.0.0.1:0", "group.id": "g"})
	require.NoError(t, err)
	clientOpts := []kgo.Opt{kgo.SeedBrokers(b.Addr)}
	ks, err := worker.NewKafkaStores(cfg, clientOpts, logger.With("logger", "sluice.storage"))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	require.NoError(t, ks.Start(ctx))
	opts := worker.Options{Config: cfg, Plugins: builtinPlugins(), ClientOpts: clientOpts, Logger: logger, Distributed: true}
	ks.Bind(&opts)
	h, err := worker.New(opts)
	require.NoError(t, err)
	ks.Watch(h)
	storesDone := make(chan error, 1)
	storeCtx, stopStores := context.WithCancel(context.Background())
	go func() { storesDone <- ks.Run(storeCtx) }()
	herderDone := make(chan error, 1)
	go func() { herderDone <- h.Run(ctx) }()
	require.Eventually(t, func() bool { return strings.Contains(buf.String(), "joined worker group") }, 20*time.Second, 10*time.Millisecond)
	cancel()
	require.NoError(t, <-herderDone)
	stopStores()
	require.NoError(t, <-storesDone)

	out := buf.String()
	assert.Equal(t, 1, strings.Count(out, `msg="joined worker group"`), out)
	assert.NotContains(t, out, `msg="created topic"`, "the broker logs topic creation")
	assert.Contains(t, out, `msg="worker stores read" logger=sluice.storage config_topic=connect-configs offset_topic=connect-offsets status_topic=connect-status`)
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		assert.LessOrEqual(t, strings.Count(line, " logger="), 1, "one logger name per line: %s", line)
	}
}
