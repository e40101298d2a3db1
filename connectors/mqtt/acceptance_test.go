package mqtt

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/connecttest"
	"github.com/sluicehq/sluice/internal/testenv"
)

var acceptanceSeq atomic.Int64

func TestSourceAcceptance(t *testing.T) {
	m := testenv.StartMosquitto(t)
	connecttest.Acceptance(t, connecttest.Spec{
		Plugin: SourcePlugin,
		Config: func(t *testing.T) map[string]string {
			n := acceptanceSeq.Add(1)
			// The session exists before anything is published, as it
			// does for a connector that ran before: MQTT keeps nothing
			// for a subscription not yet made.
			presubscribe(t, m.URL(), fmt.Sprintf("acc-%d", n), fmt.Sprintf("acc%d/#", n))
			return map[string]string{
				"mqtt.server.uri": m.URL(), "mqtt.topics": fmt.Sprintf("acc%d/#", n), "mqtt.qos": "1",
				"kafka.topic": fmt.Sprintf("mqtt-acceptance-%d", n), "mqtt.client.id": fmt.Sprintf("acc-%d", n),
				"max.retry.time.ms": "5000",
			}
		},
		Topic: func(config map[string]string) string { return config["kafka.topic"] },
		ID: func(value any) (int, error) {
			s, ok := value.(string)
			if !ok {
				return 0, fmt.Errorf("value %v is not base64 bytes", value)
			}
			b, err := base64.StdEncoding.DecodeString(s)
			if err != nil {
				return 0, err
			}
			var v struct{ ID int }
			if err := json.Unmarshal(b, &v); err != nil {
				return 0, fmt.Errorf("payload %q: %w", b, err)
			}
			return v.ID, nil
		},
		Produce: func(t *testing.T, config map[string]string, first, n int) {
			publish(t, m.URL(), config["mqtt.topics"][:len(config["mqtt.topics"])-1]+"x", first, n)
		},
		Skip: map[string]string{
			"CorruptOffsetIsRefused": "an MQTT source keeps no source offsets: the MQTT server's persistent session holds what was not acknowledged",
		},
	})
}

// publish sends {"id":first}…{"id":first+n-1} with QoS 1 to topic.
func publish(t testing.TB, server, topic string, first, n int) {
	t.Helper()
	u, err := parseServer(server)
	if err != nil {
		t.Fatal(err)
	}
	cfg := ConnConfig{Servers: nil, ClientID: fmt.Sprintf("pub-%d", acceptanceSeq.Add(1)), ConnectTimeout: 5 * time.Second,
		KeepAlive: 30 * time.Second, MaxRetry: 10 * time.Second, Version: version5, CleanSession: true}
	cfg.Servers = append(cfg.Servers, u)
	c := NewClient(cfg, ClientOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := c.Connect(ctx); err != nil {
		t.Fatalf("publisher: %v", err)
	}
	defer c.Close()
	for i := first; i < first+n; i++ {
		if err := c.Publish(ctx, topic, fmt.Appendf(nil, `{"id":%d}`, i), 1, false); err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
	}
}

// presubscribe creates the persistent session of client id with a QoS 1
// subscription to filter, then leaves it.
func presubscribe(t testing.TB, server, id string, filters ...string) {
	t.Helper()
	u, err := parseServer(server)
	if err != nil {
		t.Fatal(err)
	}
	cfg := ConnConfig{ClientID: id, ConnectTimeout: 5 * time.Second, KeepAlive: 30 * time.Second, MaxRetry: 10 * time.Second,
		Version: version5, SessionExpiry: 3600}
	cfg.Servers = append(cfg.Servers, u)
	c := NewClient(cfg, ClientOptions{Subscriptions: filters, QoS: 1, OnMessage: func(*Received) {}})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := c.Connect(ctx); err != nil {
		t.Fatalf("presubscribe %s: %v", id, err)
	}
	select {
	case <-c.Subscribed():
	case <-ctx.Done():
		t.Fatalf("presubscribe %s: no SUBACK", id)
	}
	_ = c.Close()
}
