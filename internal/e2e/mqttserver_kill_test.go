package e2e

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/testenv"
)

// The MQTT kill test's shape: mqttMessages QoS 1 messages, at most
// mqttWindow unacknowledged, `sluice up` SIGKILLed when mqttKillAt of them
// are acknowledged.
const (
	mqttServerMessages = 50_000
	mqttWindow         = 500
)

var mqttKillAt = []int{15_000, 35_000}

// TestMQTTServerSurvivesKill publishes 50,000 QoS 1 messages with MQTT.js
// (a separate Node process, MQTT v5) to the built-in MQTT server of
// `sluice up`, which is SIGKILLed mid-stream and started again, twice,
// while the client reconnects and resends what was not acknowledged.
// Every message acknowledged before a kill is in the topic (the PUBACK
// went only once the broker had it), and in the end every message is;
// the duplicates (messages written whose PUBACK the kill cut off) are
// counted and bounded by the window in flight at each kill.
func TestMQTTServerSurvivesKill(t *testing.T) {
	inst := testenv.NPMProject(t, "../../connectors/mqtt/testdata/mqttjs", "../../connectors/mqtt/testdata/mqttjs/publish.mjs")
	node := testenv.RequireBinary(t, "node")
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()

	dir := t.TempDir()
	brokerAddr, restAddr, listen := freeAddr(t), freeAddr(t), freeAddr(t)
	workerProps := filepath.Join(dir, "worker.properties")
	// A producer linger keeps records out of the broker for a while after
	// they are queued: the window in which a server acknowledging too
	// early would lose messages to the SIGKILL.
	require.NoError(t, os.WriteFile(workerProps, []byte("offset.flush.interval.ms=500\nproducer.linger.ms=50\nsession.timeout.ms=6000\nheartbeat.interval.ms=500\nscheduled.rebalance.max.delay.ms=1000\n"), 0o644))
	log := &procLog{}
	dumpOnFailure(t, "sluice up", log)
	args := []string{"up", "--data-dir", filepath.Join(dir, "data"), "--broker-addr", brokerAddr, "--rest-addr", restAddr,
		"--registry-addr", freeAddr(t), "--worker-config", workerProps}
	p := startProcUntil(t, log, workerReady, args...)
	base := "http://" + restAddr
	var resp map[string]any
	require.Equal(t, 201, rest(t, "POST", base+"/connectors", map[string]any{"name": "devices", "config": map[string]string{
		"connector.class": "io.sluice.connect.mqtt.MqttServerSourceConnector",
		"listeners":       "mqtt://" + listen, "kafka.topic": "readings",
		"key.converter":   "org.apache.kafka.connect.storage.StringConverter",
		"value.converter": "org.apache.kafka.connect.converters.ByteArrayConverter",
	}}, &resp), "%v", resp)
	waitRunning(t, base, "devices", 1)

	pub := startPublisher(ctx, t, node, inst, "mqtt://"+listen)
	t.Logf("%s: publishing", time.Since(start).Round(time.Millisecond))
	var ackedBefore map[int]bool
	for _, at := range mqttKillAt {
		require.Eventually(t, func() bool { return pub.ackedCount() >= at }, 90*time.Second, 2*time.Millisecond,
			"%d messages acknowledged", pub.ackedCount())
		p.kill()
		ackedBefore = pub.ackedSet()
		t.Logf("%s: sluice up killed after %d messages acknowledged", time.Since(start).Round(time.Millisecond), len(ackedBefore))
		time.Sleep(300 * time.Millisecond)
		p = startProcUntil(t, log, workerReady, args...)
		t.Logf("%s: sluice up started again", time.Since(start).Round(time.Millisecond))
	}
	select {
	case <-pub.done:
	case <-ctx.Done():
		t.Fatalf("the publisher did not finish: %d of %d acknowledged\n%s", pub.ackedCount(), mqttServerMessages, pub.stderr.tail(20))
	}
	require.Equal(t, mqttServerMessages, pub.ackedCount(), "messages acknowledged in the end\n%s", pub.stderr.tail(20))

	counts, read := readSeqs(ctx, t, brokerAddr, "readings")
	missing := 0
	for seq := range ackedBefore {
		if counts[seq] == 0 {
			missing++
		}
	}
	assert.Zero(t, missing, "messages acknowledged before the last kill but not in the topic")
	assert.Equal(t, mqttServerMessages, len(counts), "distinct messages in the topic")
	dups := read - mqttServerMessages
	t.Logf("%d records for %d messages: %d duplicates (bound %d: the window at each kill); took %s",
		read, mqttServerMessages, dups, len(mqttKillAt)*mqttWindow, time.Since(start).Round(time.Millisecond))
	assert.LessOrEqual(t, dups, len(mqttKillAt)*mqttWindow, "duplicates")
	p.terminate(t, 20*time.Second)
}

// publisher follows the Node publisher's acknowledgements.
type publisher struct {
	mu     sync.Mutex
	acked  map[int]bool
	done   chan struct{} // closed when the process printed "done" or ended
	stderr *procLog
}

func startPublisher(ctx context.Context, t *testing.T, node, inst, url string) *publisher {
	t.Helper()
	p := &publisher{acked: make(map[int]bool, mqttServerMessages), done: make(chan struct{}), stderr: &procLog{}}
	cmd := exec.CommandContext(ctx, node, "publish.mjs", url, strconv.Itoa(mqttServerMessages), strconv.Itoa(mqttWindow), "5")
	cmd.Dir = inst
	cmd.Stderr = p.stderr
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line := sc.Text()
			if line == "done" {
				return
			}
			if n, ok := strings.CutPrefix(line, "ack "); ok {
				seq, err := strconv.Atoi(n)
				if err == nil {
					p.mu.Lock()
					p.acked[seq] = true
					p.mu.Unlock()
				}
			}
		}
	}()
	return p
}

func (p *publisher) ackedCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.acked)
}

func (p *publisher) ackedSet() map[int]bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[int]bool, len(p.acked))
	for seq := range p.acked {
		out[seq] = true
	}
	return out
}

// readSeqs reads topic to its end and counts each value, a number.
func readSeqs(ctx context.Context, t *testing.T, brokerAddr, topic string) (map[int]int, int) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokerAddr), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(200*time.Millisecond))
	require.NoError(t, err)
	defer cl.Close()
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	require.NoError(t, err)
	require.NoError(t, ends.Error())
	var end int64
	ends.Each(func(o kadm.ListedOffset) { end += o.Offset })
	counts := make(map[int]int, mqttServerMessages)
	read := 0
	for int64(read) < end && ctx.Err() == nil {
		fs := cl.PollFetches(ctx)
		fs.EachError(func(topic string, p int32, err error) { t.Logf("fetch %s/%d: %v", topic, p, err) })
		fs.EachRecord(func(r *kgo.Record) {
			read++
			seq, err := strconv.Atoi(string(r.Value))
			if err != nil {
				t.Errorf("record at offset %d is not a published number: %q", r.Offset, r.Value)
				return
			}
			counts[seq]++
		})
	}
	require.NoError(t, ctx.Err(), "read %d of %d records", read, end)
	return counts, read
}
