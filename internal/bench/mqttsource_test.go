package bench

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/testenv"
)

func TestMQTTSourceFlags(t *testing.T) {
	var stderr strings.Builder
	_, err := parseMQTTSourceFlags([]string{"--mqtt-url", "http://x", "--messages", "0", "--message-size", "10"}, &stderr)
	assert.ErrorContains(t, err, `--mqtt-url "http://x": want tcp://host:port`)
	assert.ErrorContains(t, err, "--messages 0")
	assert.ErrorContains(t, err, "--message-size 10: want 64 or more")
}

func TestReadingSize(t *testing.T) {
	for _, size := range []int{64, 200, 1000} {
		assert.Len(t, reading(nil, 123456, size), size)
	}
}

// TestMQTTSourceRuns runs `sluice bench mqtt-source` small against a
// broker and Mosquitto: both phases move every message, and the topic
// holds them.
func TestMQTTSourceRuns(t *testing.T) {
	m := testenv.StartMosquitto(t)
	b := testenv.StartBroker(t, nil)
	var stdout, stderr strings.Builder
	require.NoError(t, Main(context.Background(), []string{"mqtt-source", "--brokers", b.Addr, "--mqtt-url", m.URL(),
		"--messages", "5000", "--topic", "mqtt-bench"}, &stdout, &stderr), stderr.String())
	assert.Contains(t, stdout.String(), "mqtt-source: 5000 QoS 1 messages of 200 B")
	assert.Contains(t, stdout.String(), "source/subscriber ratio")
	w, err := startWorker(context.Background(), []string{b.Addr})
	require.NoError(t, err)
	defer w.close()
	assert.Equal(t, int64(5000), endSum(context.Background(), w.adm, "mqtt-bench"))
}
