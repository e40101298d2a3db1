package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestUpSmoke runs `sluice up`, round-trips one record, and stops it with
// SIGTERM.
func TestUpSmoke(t *testing.T) {
	dir, addr, restAddr, regAddr := t.TempDir(), freeAddr(t), freeAddr(t), freeAddr(t)
	out := &procLog{}
	dumpOnFailure(t, "sluice up", out)
	p := startProcUntil(t, out, workerReady, "up", "--data-dir", dir, "--broker-addr", addr, "--rest-addr", restAddr, "--registry-addr", regAddr)
	assert.Contains(t, out.String(), "addr="+addr)
	code, body := srCall(t, "GET", "http://"+regAddr+"/subjects", "")
	assert.Equal(t, 200, code)
	assert.Equal(t, "[]", body, "the schema registry is served")
	var plugins []map[string]any
	assert.Equal(t, 200, rest(t, "GET", "http://"+restAddr+"/connector-plugins", nil, &plugins), "the Connect REST API is served")

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(addr),
		kgo.DefaultProduceTopic("smoke"),
		kgo.ConsumeTopics("smoke"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.AllowAutoTopicCreation(),
	)
	require.NoError(t, err)
	defer cl.Close()
	require.NoError(t, cl.ProduceSync(ctx, &kgo.Record{Key: []byte("k"), Value: []byte("hello sluice")}).FirstErr())

	var got []*kgo.Record
	for len(got) == 0 {
		fs := cl.PollFetches(ctx)
		require.NoError(t, ctx.Err(), "no record consumed")
		for _, fe := range fs.Errors() {
			t.Fatalf("fetch %s/%d: %v", fe.Topic, fe.Partition, fe.Err)
		}
		got = append(got, fs.Records()...)
	}
	require.Len(t, got, 1)
	assert.Equal(t, "k", string(got[0].Key))
	assert.Equal(t, "hello sluice", string(got[0].Value))
	assert.Equal(t, int64(0), got[0].Offset)

	// The registry's and the worker's topics are protected.
	deleted, err := kadm.NewClient(cl).DeleteTopics(ctx, "_schemas", "connect-configs", "connect-offsets", "connect-status", "smoke")
	require.NoError(t, err)
	for _, topic := range []string{"_schemas", "connect-configs", "connect-offsets", "connect-status"} {
		assert.ErrorIs(t, deleted[topic].Err, kerr.InvalidTopicException, topic)
	}
	assert.NoError(t, deleted["smoke"].Err)
	cl.Close()

	start := time.Now()
	p.terminate(t, 10*time.Second)
	t.Logf("sluice up exited 0 %s after SIGTERM", time.Since(start).Round(time.Millisecond))
	assert.Contains(t, out.String(), "sluice stopped")
}
