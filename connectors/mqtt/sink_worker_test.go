package mqtt

import (
	"bytes"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/connecttest"
	"github.com/sluicehq/sluice/internal/testenv"
	"github.com/sluicehq/sluice/runtime/connect"
	"github.com/sluicehq/sluice/runtime/worker"
)

var sinkSeq atomic.Int64

// TestSinkAcceptance runs the connector suite: what a subscriber with a
// persistent session received is what was written.
func TestSinkAcceptance(t *testing.T) {
	m := testenv.StartMosquitto(t)
	var mu sync.Mutex
	subs := map[string]*subscriber{}
	connecttest.Acceptance(t, connecttest.Spec{
		Plugin: SinkPlugin,
		Config: func(t *testing.T) map[string]string {
			topic := fmt.Sprintf("msink-%d", sinkSeq.Add(1))
			s := subscribe(t, m.URL(), "sub-"+topic, topic, 1)
			mu.Lock()
			subs[topic] = s
			mu.Unlock()
			return map[string]string{"topics": topic, "mqtt.server.uri": m.URL(), "mqtt.qos": "1", "mqtt.retained.enabled": "false"}
		},
		Topic: func(config map[string]string) string { return config["topics"] },
		ID: func(v any) (int, error) {
			n, ok := v.(int)
			if !ok {
				return 0, fmt.Errorf("%v is not an index", v)
			}
			return n, nil
		},
		Written: func(t *testing.T, config map[string]string) []any {
			mu.Lock()
			s := subs[config["topics"]]
			mu.Unlock()
			var out []any
			for _, m := range s.got() {
				n, err := strconv.Atoi(string(m.Payload))
				if err != nil {
					t.Fatalf("payload %q is not an index", m.Payload)
				}
				out = append(out, n)
			}
			return out
		},
	})
}

// distinctIDs counts each decimal payload.
func distinctIDs(t *testing.T, ms []Message) map[int]int {
	seen := map[int]int{}
	for _, m := range ms {
		n, err := strconv.Atoi(string(m.Payload))
		require.NoError(t, err, "payload %q", m.Payload)
		seen[n]++
	}
	return seen
}

func indexes(from, n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = strconv.AppendInt(nil, int64(from+i), 10)
	}
	return out
}

// TestSinkWorkerBrokerRestart: Mosquitto stops and restarts mid-stream
// under a running sink; a subscriber with a persistent session gets every
// record at least once (duplicates are allowed and counted), and the
// offsets end committed.
func TestSinkWorkerBrokerRestart(t *testing.T) {
	for _, version := range []string{version5, version311} {
		t.Run(version, func(t *testing.T) { testSinkBrokerRestart(t, version) })
	}
}

func testSinkBrokerRestart(t *testing.T, version string) {
	m := testenv.StartMosquitto(t)
	sub := subscribe(t, m.URL(), "restart-sub", "restart", 1)
	w := connecttest.StartWorker(t, nil, []connect.ConnectorPlugin{SinkPlugin}, nil)
	const n = 3000
	connecttest.Produce(t, w.Broker, "restart", indexes(0, n/2)...)
	w.Create("msink", SinkClass, map[string]string{
		"topics": "restart", "mqtt.server.uri": m.URL(), "mqtt.qos": "1", "mqtt.retained.enabled": "false",
		"max.retry.time.ms": "60000", "mqtt.publish.timeout.ms": "3000", "mqtt.version": version,
	})
	sub.waitFor(t, 200, time.Minute)
	m.Stop(t)
	connecttest.Produce(t, w.Broker, "restart", indexes(n/2, n/2)...)
	time.Sleep(time.Second)
	m.Start(t)
	deadline := time.Now().Add(90 * time.Second)
	for len(distinctIDs(t, sub.got())) < n && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	seen := distinctIDs(t, sub.got())
	dups := 0
	for i := range n {
		if seen[i] == 0 {
			t.Errorf("record %d never reached the subscriber", i)
		}
		dups += max(seen[i]-1, 0)
	}
	t.Logf("%d messages received, %d duplicates", len(sub.got()), dups)
	st := w.WaitState("msink", 1, worker.StateRunning)
	require.Equal(t, worker.StateRunning, st.Connector.State)
}

// TestSinkValidate: /config/validate names the credentials when the
// server refuses them, and a bad topic format on its key.
func TestSinkValidate(t *testing.T) {
	m := testenv.StartMosquitto(t, testenv.MosquittoUsers(map[string]string{"alice": "secret"}))
	w := connecttest.StartWorker(t, nil, []connect.ConnectorPlugin{SinkPlugin}, nil)
	base := map[string]string{"name": "v", "topics": "t", "mqtt.server.uri": m.URL(), "mqtt.username": "alice", "mqtt.password": "secret"}
	require.Empty(t, w.ValidationErrors(SinkClass, base))
	got := w.ValidationErrors(ConfluentSinkClass, with(base, "mqtt.password", "nope"))
	require.Contains(t, got, "mqtt.password")
	assert.Contains(t, got["mqtt.password"][0], "refused these credentials")
	got = w.ValidationErrors(SinkClass, with(base, "mqtt.topic.format", "a/${nope}"))
	require.Contains(t, got, "mqtt.topic.format")
	assert.Contains(t, got["mqtt.topic.format"][0], "unknown placeholder ${nope}")
	got = w.ValidationErrors(SinkClass, with(base, "behavior.on.null.values", "delete", "mqtt.retained.enabled", "false"))
	require.Contains(t, got, "behavior.on.null.values")
	got = w.ValidationErrors(SinkClass, with(base, "mqtt.ssl.trust.store.path", "/etc/ts.jks"))
	require.Contains(t, got, "mqtt.ssl.trust.store.path")
	assert.Contains(t, got["mqtt.ssl.trust.store.path"][0], "mqtt.ssl.ca")
}

// TestSinkRoundTrip: topic → MQTT sink → Mosquitto → MQTT source →
// second topic, through the real worker: the same payloads, byte for
// byte, in order.
func TestSinkRoundTrip(t *testing.T) {
	m := testenv.StartMosquitto(t)
	w := connecttest.StartWorker(t, nil, []connect.ConnectorPlugin{SinkPlugin, SourcePlugin}, nil)
	bytesConv := map[string]string{
		"value.converter": "org.apache.kafka.connect.converters.ByteArrayConverter",
		"key.converter":   "org.apache.kafka.connect.storage.StringConverter",
	}
	src := map[string]string{"mqtt.server.uri": m.URL(), "mqtt.topics": "rt/#", "mqtt.qos": "1", "kafka.topic": "rt-out",
		"mqtt.client.id": "rt-source"}
	for k, v := range bytesConv {
		src[k] = v
	}
	w.Create("rt-source", SourcePlugin.Class, src)
	w.WaitState("rt-source", 1, worker.StateRunning)
	// Running means the source's task connected and its subscription was
	// granted: the server keeps what the sink publishes from now on.

	const n = 500
	in := make([][]byte, n)
	for i := range in {
		in[i] = fmt.Appendf(nil, `{"reading":%d,"unit":"°C","raw":"%x"}`, i, []byte{byte(i), 0, 0xff})
	}
	connecttest.Produce(t, w.Broker, "rt-in", in...)
	sink := map[string]string{"topics": "rt-in", "mqtt.server.uri": m.URL(), "mqtt.qos": "1", "mqtt.retained.enabled": "false",
		"mqtt.topic.format": "rt/${topic}"}
	for k, v := range bytesConv {
		sink[k] = v
	}
	w.Create("rt-sink", SinkClass, sink)

	out := connecttest.Consume(t, w.Broker, "rt-out", n, 90*time.Second)
	require.Len(t, out, n)
	for i, r := range out {
		if !bytes.Equal(in[i], r.Value) {
			t.Fatalf("record %d: got %q, want %q", i, r.Value, in[i])
		}
		assert.Equal(t, "rt/rt-in", string(r.Key))
	}
}
