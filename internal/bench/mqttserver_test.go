package bench

import (
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMQTTServerFlags(t *testing.T) {
	var stderr strings.Builder
	o, err := parseMQTTServerFlags([]string{"--brokers", "a:1", "--topic", "t"}, &stderr)
	require.NoError(t, err)
	assert.Equal(t, MQTTServerOptions{Brokers: []string{"a:1"}, Topic: "t", Partitions: 1, Messages: 1_000_000, Size: 200, Clients: 4, Inflight: 4096}, o)
	_, err = parseMQTTServerFlags([]string{"--messages", "0", "--size", "-1", "--clients", "0", "--inflight", "70000"}, &stderr)
	require.Error(t, err)
	for _, want := range []string{"--messages 0", "--size -1", "--clients 0", "--inflight 70000"} {
		assert.Contains(t, err.Error(), want)
	}
}

// A tiny run: every message acknowledged is in the topic.
func TestMQTTServerDeliversEveryMessage(t *testing.T) {
	addr := startKfake(t)
	ctx := testContext(t)
	r, err := MQTTServer(ctx, MQTTServerOptions{Brokers: []string{addr}, Topic: "mqtt-server", Partitions: 1,
		Messages: 5000, Size: 200, Clients: 3, Inflight: 100}, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, 5000, r.Messages)
	assert.GreaterOrEqual(t, endOffsetSum(t, ctx, addr, "mqtt-server"), int64(5000))
	assert.Contains(t, r.Summary(), "mqtt-server: 5000 QoS 1 messages of 200 B from 3 clients")
}
