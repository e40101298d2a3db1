package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/testenv"
)

// mqttMessages is how many QoS 1 readings the kill test publishes.
const mqttMessages = 50_000

// TestMQTTSourceSurvivesKill publishes 50,000 QoS 1 messages with
// mosquitto_pub to Mosquitto while the worker running the MQTT source is
// SIGKILLed and started again, twice, and checks that every message is in
// the topic: the source acknowledges a message to Mosquitto only once the
// broker has its record, so what the killed worker held unacknowledged
// is redelivered to the restarted one (its persistent session, same
// client id). Redeliveries are counted as duplicates.
func TestMQTTSourceSurvivesKill(t *testing.T) {
	pubBin := testenv.RequireBinary(t, "mosquitto_pub")
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	mq := testenv.StartMosquitto(t)

	dir, brokerAddr := t.TempDir(), freeAddr(t)
	blog := &procLog{}
	dumpOnFailure(t, "sluice broker", blog)
	startBroker(t, blog, filepath.Join(dir, "data"), brokerAddr, "group.min.session.timeout.ms=1000")
	w := newClusterWorker(t, dir, "w1", brokerAddr, "producer.linger.ms=50")
	var resp map[string]any
	require.Equal(t, 201, rest(t, "POST", w.base()+"/connectors", map[string]any{"name": "iot", "config": map[string]string{
		"connector.class": "io.confluent.connect.mqtt.MqttSourceConnector",
		"mqtt.server.uri": mq.URL(), "mqtt.topics": "sensors/#", "mqtt.qos": "1", "kafka.topic": "readings",
		"key.converter":   "org.apache.kafka.connect.storage.StringConverter",
		"value.converter": "org.apache.kafka.connect.converters.ByteArrayConverter",
	}}, &resp), "%v", resp)
	waitRunning(t, w.base(), "iot", 1)
	mq.WaitSubscribed(t, "sensors/#", 30*time.Second) // the task runs before its SUBACK

	// mosquitto_pub -l sends one QoS 1 message per line of its input; the
	// lines are paced so that publishing spans the two kills.
	pub := exec.CommandContext(ctx, pubBin, "-h", mq.Host, "-p", strconv.Itoa(mq.Port), "-q", "1", "-l", "-t", "sensors/room1", "-i", "kill-test-pub")
	stdin, err := pub.StdinPipe()
	require.NoError(t, err)
	out := &procLog{}
	pub.Stdout, pub.Stderr = out, out
	require.NoError(t, pub.Start())
	var written atomic.Int64
	pubDone := make(chan error, 1)
	go func() {
		bw := bufio.NewWriter(stdin)
		for i := range mqttMessages {
			fmt.Fprintf(bw, `{"seq":%d,"temp":21.5,"unit":"C","device":"room1-sensor-0042"}`+"\n", i)
			if i%1000 == 999 {
				if err := bw.Flush(); err != nil {
					pubDone <- err
					return
				}
				written.Store(int64(i + 1))
				time.Sleep(60 * time.Millisecond)
			}
		}
		_ = bw.Flush()
		written.Store(mqttMessages)
		stdin.Close()
		pubDone <- pub.Wait()
	}()

	for _, at := range []int64{12_000, 30_000} {
		require.Eventually(t, func() bool { return written.Load() >= at }, 60*time.Second, 2*time.Millisecond)
		w.p.kill()
		t.Logf("worker SIGKILLed after %d messages handed to mosquitto_pub", written.Load())
		time.Sleep(500 * time.Millisecond)
		w.start(t)
	}
	require.NoError(t, <-pubDone, "mosquitto_pub: %s", out)

	cl, err := kgo.NewClient(kgo.SeedBrokers(brokerAddr), kgo.ConsumeTopics("readings"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(200*time.Millisecond))
	require.NoError(t, err)
	defer cl.Close()
	counts := make(map[int]int, mqttMessages)
	read := 0
	for len(counts) < mqttMessages && ctx.Err() == nil {
		fs := cl.PollFetches(ctx)
		fs.EachRecord(func(r *kgo.Record) {
			read++
			var m struct {
				Seq *int `json:"seq"`
			}
			if err := json.Unmarshal(r.Value, &m); err != nil || m.Seq == nil {
				t.Errorf("record at offset %d is not a published reading: %s", r.Offset, r.Value)
				return
			}
			if string(r.Key) != "sensors/room1" {
				t.Errorf("record at offset %d has key %q, want the MQTT topic", r.Offset, r.Key)
			}
			counts[*m.Seq]++
		})
	}
	missing := 0
	for seq := range mqttMessages {
		if counts[seq] == 0 {
			missing++
		}
	}
	assert.Zero(t, missing, "messages not in the topic (read %d records)", read)
	t.Logf("%d records in the topic for %d messages: %d duplicates (redelivered after the kills); took %s",
		read, mqttMessages, read-len(counts), time.Since(start).Round(time.Millisecond))
	w.p.terminate(t, 20*time.Second)
}
