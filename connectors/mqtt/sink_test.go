package mqtt

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/connecttest"
	"github.com/sluicehq/sluice/internal/testenv"
	"github.com/sluicehq/sluice/runtime/connect"
)

// subscriber is a real MQTT client (paho, through this package's Client)
// with a persistent session, recording what it receives.
type subscriber struct {
	mu   sync.Mutex
	msgs []Message
	c    Client
}

func subscribe(t *testing.T, server, id, filter string, qos byte) *subscriber {
	t.Helper()
	s := &subscriber{}
	cfg := testConn(t, server, id, version5)
	cfg.MaxRetry = 30 * time.Second
	s.c = NewClient(cfg, ClientOptions{Subscriptions: []string{filter}, QoS: qos, OnMessage: func(m *Received) {
		s.mu.Lock()
		s.msgs = append(s.msgs, m.Message)
		s.mu.Unlock()
		m.Ack()
	}})
	require.NoError(t, s.c.Connect(context.Background()))
	t.Cleanup(func() { _ = s.c.Close() })
	select { // Connect returns before the SUBACK
	case <-s.c.Subscribed():
	case <-time.After(30 * time.Second):
		t.Fatalf("no SUBACK for %s", filter)
	}
	return s
}

func (s *subscriber) got() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// waitFor waits until at least n messages arrived.
func (s *subscriber) waitFor(t *testing.T, n int, within time.Duration) []Message {
	t.Helper()
	deadline := time.Now().Add(within)
	for len(s.got()) < n {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d messages within %s", len(s.got()), n, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return s.got()
}

func payloads(ms []Message) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = string(m.Payload)
	}
	return out
}

// startSinkTask starts a task of the sink on config (plus the server).
func startSinkTask(t *testing.T, config map[string]string) (*sinkTask, *connecttest.SinkContext) {
	t.Helper()
	task := &sinkTask{}
	ctx := connecttest.NewSinkContext(t, config)
	require.NoError(t, task.Start(ctx, config))
	t.Cleanup(func() { _ = task.Stop() })
	return task, ctx
}

func records(topic string, values ...any) []*connect.Record {
	out := make([]*connect.Record, len(values))
	for i, v := range values {
		out[i] = &connect.Record{Topic: topic, Offset: int64(i), Value: v}
	}
	return out
}

// TestSinkQoS publishes at QoS 0, 1 and 2 over MQTT 5 and 3.1.1: Flush
// returns the offsets once the messages were acknowledged, and a
// subscriber gets every payload, in order: bytes as they are, strings as
// UTF-8, maps and numbers as JSON.
func TestSinkQoS(t *testing.T) {
	m := testenv.StartMosquitto(t)
	for _, version := range []string{version5, version311} {
		for qos := range 3 {
			t.Run(fmt.Sprintf("%s/qos%d", version, qos), func(t *testing.T) {
				topic := fmt.Sprintf("qos%d-%s", qos, version)
				sub := subscribe(t, m.URL(), "sub-"+topic, topic, 2)
				task, _ := startSinkTask(t, map[string]string{
					"mqtt.server.uri": m.URL(), "mqtt.qos": strconv.Itoa(qos), "mqtt.version": version,
					"mqtt.client.id": "sink-" + topic, "mqtt.retained.enabled": "false",
				})
				var values []any
				var want []string
				for i := range 200 {
					switch i % 4 {
					case 0:
						values = append(values, []byte(fmt.Sprintf("b%d", i)))
						want = append(want, fmt.Sprintf("b%d", i))
					case 1:
						values = append(values, fmt.Sprintf("s%d", i))
						want = append(want, fmt.Sprintf("s%d", i))
					case 2:
						values = append(values, map[string]any{"i": int64(i)})
						want = append(want, fmt.Sprintf(`{"i":%d}`, i))
					default:
						values = append(values, int64(i))
						want = append(want, strconv.Itoa(i))
					}
				}
				require.NoError(t, task.Put(context.Background(), records(topic, values...)))
				assert.Len(t, task.pending, 200, "Put waited for acknowledgements instead of pipelining")
				tp := connect.TopicPartition{Topic: topic}
				safe, err := task.Flush(context.Background(), map[connect.TopicPartition]int64{tp: 200})
				require.NoError(t, err)
				assert.Equal(t, int64(200), safe[tp])
				assert.Empty(t, task.pending, "flush returned with messages unacknowledged")
				got := sub.waitFor(t, 200, 10*time.Second)
				assert.Equal(t, want, payloads(got))
				for _, g := range got {
					assert.Equal(t, topic, g.Topic)
					assert.Equal(t, byte(qos), g.QoS)
				}
			})
		}
	}
}

// TestSinkRetainedByDefault: with Confluent's default a subscriber that
// arrives after the publish still gets the last message, flagged
// retained; with mqtt.retained.enabled=false it gets nothing; a
// tombstone under behavior.on.null.values=delete clears it.
func TestSinkRetainedByDefault(t *testing.T) {
	m := testenv.StartMosquitto(t)
	task, _ := startSinkTask(t, map[string]string{"mqtt.server.uri": m.URL(), "mqtt.qos": "1", "behavior.on.null.values": "delete"})
	require.NoError(t, task.Put(context.Background(), records("kept", "first", "last")))
	_, err := task.Flush(context.Background(), map[connect.TopicPartition]int64{{Topic: "kept"}: 2})
	require.NoError(t, err)

	late := subscribe(t, m.URL(), "late", "kept", 1)
	got := late.waitFor(t, 1, 10*time.Second)
	assert.Equal(t, "last", string(got[0].Payload))
	assert.True(t, got[0].Retained)

	plain, _ := startSinkTask(t, map[string]string{"mqtt.server.uri": m.URL(), "mqtt.qos": "1", "mqtt.retained.enabled": "false", "mqtt.client.id": "plain"})
	require.NoError(t, plain.Put(context.Background(), records("notkept", "x")))
	_, err = plain.Flush(context.Background(), map[connect.TopicPartition]int64{{Topic: "notkept"}: 1})
	require.NoError(t, err)
	late2 := subscribe(t, m.URL(), "late2", "notkept", 1)

	// The tombstone clears "kept": a subscriber after it gets nothing.
	require.NoError(t, task.Put(context.Background(), []*connect.Record{{Topic: "kept", Offset: 2}}))
	_, err = task.Flush(context.Background(), map[connect.TopicPartition]int64{{Topic: "kept"}: 3})
	require.NoError(t, err)
	late3 := subscribe(t, m.URL(), "late3", "kept", 1)
	time.Sleep(500 * time.Millisecond)
	assert.Empty(t, late2.got(), "a message published with mqtt.retained.enabled=false reached a later subscriber")
	assert.Empty(t, late3.got(), "the tombstone did not clear the retained message")
}

// TestSinkTopicFormat routes by topic, key and header; a record whose
// topic cannot be made (no such header, a key making a wildcard) is
// reported with a message naming it, and the others are published.
func TestSinkTopicFormat(t *testing.T) {
	m := testenv.StartMosquitto(t)
	sub := subscribe(t, m.URL(), "fmt", "plant/#", 1)
	task, ctx := startSinkTask(t, map[string]string{
		"mqtt.server.uri": m.URL(), "mqtt.qos": "1", "mqtt.topic.format": "plant/${header.site}/${topic}/${key}",
	})
	ctx.Tolerate = true
	site := func(v string) connect.Headers {
		return connect.Headers{{Key: "site", Schema: connect.StringSchema, Value: v}}
	}
	recs := []*connect.Record{
		{Topic: "temp", Offset: 0, Key: "dev1", Value: "21.5", Headers: site("north")},
		{Topic: "temp", Offset: 1, Key: "dev2", Value: "19.0"},
		{Topic: "temp", Offset: 2, Key: "a+b", Value: "0", Headers: site("north")},
		{Topic: "temp", Offset: 3, Key: int64(7), Value: "22.0", Headers: site("south")},
		{Topic: "temp", Offset: 4, Value: "1", Headers: site("south")},
	}
	require.NoError(t, task.Put(context.Background(), recs))
	_, err := task.Flush(context.Background(), map[connect.TopicPartition]int64{{Topic: "temp"}: 5})
	require.NoError(t, err)
	got := sub.waitFor(t, 2, 10*time.Second)
	require.Len(t, got, 2)
	assert.Equal(t, "plant/north/temp/dev1", got[0].Topic)
	assert.Equal(t, "plant/south/temp/7", got[1].Topic)
	rep := ctx.ReportedRecords()
	require.Len(t, rep, 3)
	assert.ErrorContains(t, rep[0].Err, "record temp-0@1: ${header.site}: the record has no header site")
	assert.ErrorContains(t, rep[1].Err, `record temp-0@2 gives "plant/north/temp/a+b"`)
	assert.ErrorContains(t, rep[2].Err, "record temp-0@4: ${key}: the record key is null")

	_, err = resolveSink(map[string]string{"mqtt.server.uri": m.URL(), "mqtt.topic.format": "x/${value}"})
	assert.ErrorContains(t, err, "unknown placeholder ${value}")
	_, err = resolveSink(map[string]string{"mqtt.server.uri": m.URL(), "mqtt.topic.format": "x/#"})
	assert.ErrorContains(t, err, "wildcard")
}

// TestSinkNullValues: log and ignore skip a tombstone, fail reports it.
func TestSinkNullValues(t *testing.T) {
	m := testenv.StartMosquitto(t)
	sub := subscribe(t, m.URL(), "nulls", "n/#", 1)
	for _, policy := range []string{nullLog, nullIgnore, nullFail} {
		task, ctx := startSinkTask(t, map[string]string{"mqtt.server.uri": m.URL(), "mqtt.qos": "1", "behavior.on.null.values": policy,
			"mqtt.topic.format": "n/" + policy, "mqtt.client.id": "null-" + policy})
		ctx.Tolerate = true
		require.NoError(t, task.Put(context.Background(), []*connect.Record{{Topic: "t", Offset: 0}, {Topic: "t", Offset: 1, Value: "v"}}))
		_, err := task.Flush(context.Background(), map[connect.TopicPartition]int64{{Topic: "t"}: 2})
		require.NoError(t, err)
		if policy == nullFail {
			require.Len(t, ctx.ReportedRecords(), 1)
			assert.ErrorContains(t, ctx.ReportedRecords()[0].Err, "record t-0@0 has a null value")
		} else {
			assert.Empty(t, ctx.ReportedRecords())
		}
	}
	got := sub.waitFor(t, 3, 10*time.Second)
	assert.Equal(t, []string{"v", "v", "v"}, payloads(got))
}

// TestSinkPublishTimeout: when the server stops answering, the flush
// does not return the offsets: the partition is rewound to the first
// unacknowledged record and Flush commits no further.
func TestSinkPublishTimeout(t *testing.T) {
	m := testenv.StartMosquitto(t)
	task, ctx := startSinkTask(t, map[string]string{"mqtt.server.uri": m.URL(), "mqtt.qos": "1", "mqtt.publish.timeout.ms": "500",
		"max.retry.time.ms": "60000", "mqtt.version": version5})
	tp := connect.TopicPartition{Topic: "t"}
	require.NoError(t, task.Put(context.Background(), records("t", "0", "1")))
	_, err := task.Flush(context.Background(), map[connect.TopicPartition]int64{tp: 2})
	require.NoError(t, err)
	m.Kill(t)
	recs := records("t", "2", "3", "4")
	for i, r := range recs {
		r.Offset = int64(i + 2)
	}
	require.NoError(t, task.Put(context.Background(), recs))
	safe, err := task.Flush(context.Background(), map[connect.TopicPartition]int64{tp: 5})
	require.NoError(t, err)
	assert.Equal(t, int64(2), safe[tp], "offsets ran ahead of the acknowledgements")
	assert.Equal(t, map[connect.TopicPartition]int64{tp: 2}, ctx.Rewinds())
}

// TestSinkTLS publishes over TLS with the CA given as PEM in mqtt.ssl.ca.
func TestSinkTLS(t *testing.T) {
	m := testenv.StartMosquitto(t, testenv.MosquittoTLS())
	sub := subscribe(t, m.URL(), "tls-sub", "secure", 1)
	task, _ := startSinkTask(t, map[string]string{"mqtt.server.uri": m.TLSURL(), "mqtt.ssl.ca": m.CAFile, "mqtt.qos": "1"})
	require.NoError(t, task.Put(context.Background(), records("secure", "a", "b")))
	_, err := task.Flush(context.Background(), map[connect.TopicPartition]int64{{Topic: "secure"}: 2})
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "b"}, payloads(sub.waitFor(t, 2, 10*time.Second)))
}

// TestSinkTaskClientIDs: each task connects under its own client id (a
// second connection with one id would kick the first off).
func TestSinkTaskClientIDs(t *testing.T) {
	c := SinkPlugin.NewConnector()
	require.NoError(t, c.Start(connecttest.NewConnectorContext(t), map[string]string{"name": "out", "mqtt.server.uri": "tcp://127.0.0.1:1"}))
	cfgs, err := c.TaskConfigs(2)
	require.NoError(t, err)
	assert.Equal(t, "sluice-out-0", cfgs[0]["mqtt.client.id"])
	assert.Equal(t, "sluice-out-1", cfgs[1]["mqtt.client.id"])

	require.NoError(t, c.Start(connecttest.NewConnectorContext(t), map[string]string{"mqtt.server.uri": "tcp://127.0.0.1:1", "mqtt.client.id": "plant"}))
	cfgs, err = c.TaskConfigs(1)
	require.NoError(t, err)
	assert.Equal(t, "plant", cfgs[0]["mqtt.client.id"])
	cfgs, err = c.TaskConfigs(2)
	require.NoError(t, err)
	assert.Equal(t, []string{"plant-0", "plant-1"}, []string{cfgs[0]["mqtt.client.id"], cfgs[1]["mqtt.client.id"]})
}
