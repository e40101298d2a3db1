package mqtt

import (
	"context"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/connecttest"
	"github.com/sluicehq/sluice/internal/testenv"
)

// TestMQTTJSClient: MQTT.js (npm mqtt 5.16.0), over 3.1.1 and 5, publishes
// QoS 1 messages with many in flight; each is acknowledged and in the
// topic once.
func TestMQTTJSClient(t *testing.T) {
	inst := testenv.NPMProject(t, "testdata/mqttjs", "testdata/mqttjs/publish.mjs")
	node := testenv.RequireBinary(t, "node")
	const n = 3000
	for _, version := range []string{"4", "5"} {
		t.Run("v"+version, func(t *testing.T) {
			w, url, _, topic := startServer(t, nil)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, node, "publish.mjs", url, strconv.Itoa(n), "200", version)
			cmd.Dir = inst
			out, err := cmd.Output()
			require.NoError(t, err, "%s", out)
			lines := strings.Split(strings.TrimSpace(string(out)), "\n")
			require.Equal(t, "done", lines[len(lines)-1])
			assert.Len(t, lines, n+1, "an ack for each message")

			recs := connecttest.Consume(t, w.Broker, topic, n, 20*time.Second)
			seen := map[string]int{}
			for _, r := range recs {
				seen[string(r.Value)]++
			}
			assert.Len(t, seen, n)
			assert.Equal(t, `"devices/d1/seq"`, string(recs[0].Key))
		})
	}
}
