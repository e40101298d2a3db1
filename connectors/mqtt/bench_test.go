package mqtt

import (
	"bytes"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/connecttest"
	"github.com/sluicehq/sluice/internal/testenv"
	"github.com/sluicehq/sluice/runtime/connect"
)

// benchPayload is a 200-byte reading.
var benchPayload = func() string {
	s := `{"device":"room1-sensor-0042","temp":21.5,"unit":"C","seq":`
	return s + string(bytes.Repeat([]byte("0"), 200-len(s)-2)) + "}"
}()

// queueReadings publishes n 200-byte QoS 1 readings with mosquitto_pub
// to bench/<sub>, where a persistent session waits for them.
func queueReadings(b *testing.B, m *testenv.Mosquitto, topic string, n int) {
	b.Helper()
	bin := testenv.RequireBinary(b, "mosquitto_pub")
	// In chunks: one mosquitto_pub -l bursting more than 65535 QoS 1
	// messages loses those past the packet ids' wrap.
	for sent := 0; sent < n; sent += 20000 {
		var in bytes.Buffer
		for range min(20000, n-sent) {
			in.WriteString(benchPayload)
			in.WriteByte('\n')
		}
		cmd := exec.Command(bin, "-h", m.Host, "-p", strconv.Itoa(m.Port), "-q", "1", "-l", "-t", topic)
		cmd.Stdin = &in
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("mosquitto_pub: %v: %s", err, out)
		}
	}
}

// BenchmarkSourceDrain measures how fast one source task moves QoS 1
// readings that Mosquitto queued for its persistent session into the
// broker (acks=all; each message acknowledged to Mosquitto after its
// record), beside mosquitto_sub draining as many queued readings from
// a session of its own in the same run. One op is one message.
func BenchmarkSourceDrain(b *testing.B) {
	m := testenv.StartMosquitto(b)
	subBin := testenv.RequireBinary(b, "mosquitto_sub")
	n := max(b.N, 1000)

	// Mosquitto alone: mosquitto_sub drains a session holding n messages.
	port := strconv.Itoa(m.Port)
	sub := func(args ...string) *exec.Cmd {
		return exec.Command(subBin, append([]string{"-h", m.Host, "-p", port, "-q", "1", "-c", "-i", "bench-sub", "-t", "alone/#"}, args...)...)
	}
	if out, err := sub("-E").CombinedOutput(); err != nil {
		b.Fatalf("mosquitto_sub -E: %v: %s", err, out)
	}
	queueReadings(b, m, "alone/r", n)
	start := time.Now()
	if out, err := sub("-C", strconv.Itoa(n), "-W", "120").CombinedOutput(); err != nil {
		b.Fatalf("mosquitto_sub: %v: %.200s", err, out)
	}
	alone := float64(n) / time.Since(start).Seconds()

	// The source: the same, into the broker.
	presubscribe(b, m.URL(), "sluice-bench-0", "bench/#")
	queueReadings(b, m, "bench/r", n)
	w := connecttest.StartWorker(b, nil, []connect.ConnectorPlugin{SourcePlugin}, nil)
	b.ResetTimer()
	start = time.Now()
	w.Create("bench", SourcePlugin.Class, map[string]string{
		"mqtt.server.uri": m.URL(), "mqtt.topics": "bench/#", "mqtt.qos": "1", "kafka.topic": "bench",
		"value.converter": "org.apache.kafka.connect.converters.ByteArrayConverter",
	})
	recs := connecttest.Consume(b, w.Broker, "bench", n, 2*time.Minute)
	elapsed := time.Since(start)
	b.StopTimer()
	if len(recs) < n {
		b.Fatalf("%d of %d records", len(recs), n)
	}
	source := float64(n) / elapsed.Seconds()
	b.ReportMetric(source, "msgs/s")
	b.ReportMetric(alone, "mosquitto_sub_msgs/s")
	b.ReportMetric(source/alone, "ratio")
	b.Logf("%d messages: source %.0f msgs/s, mosquitto_sub %.0f msgs/s", n, source, alone)
}
