package worker_test

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/connectors/builtin"
	"github.com/sluicehq/sluice/internal/testenv"
	"github.com/sluicehq/sluice/runtime/worker"
)

// testWorker is a herder on a real broker with in-memory config and status
// stores and the given offset store.
type testWorker struct {
	*worker.Herder
	broker *testenv.Broker
	cancel context.CancelFunc
	done   chan error
	counts *logCounts
}

// logCounts counts log messages by message text and keeps every record.
type logCounts struct {
	mu      sync.Mutex
	m       map[string]int
	records []logRecord
}

// logRecord is one captured log record, its attributes (the logger's and
// the record's) as text.
type logRecord struct {
	level slog.Level
	msg   string
	attrs map[string]string
}

func (c *logCounts) get(msg string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[msg]
}

// find returns the captured records at level whose message contains msg.
func (c *logCounts) find(level slog.Level, msg string) []logRecord {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []logRecord
	for _, r := range c.records {
		if r.level == level && strings.Contains(r.msg, msg) {
			out = append(out, r)
		}
	}
	return out
}

// countingHandler counts and captures every record, then passes it on.
type countingHandler struct {
	next   slog.Handler
	counts *logCounts
	attrs  []slog.Attr
}

func (h *countingHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *countingHandler) Handle(ctx context.Context, r slog.Record) error {
	rec := logRecord{level: r.Level, msg: r.Message, attrs: map[string]string{}}
	for _, a := range h.attrs {
		rec.attrs[a.Key] = a.Value.String()
	}
	r.Attrs(func(a slog.Attr) bool {
		rec.attrs[a.Key] = a.Value.String()
		return true
	})
	h.counts.mu.Lock()
	h.counts.m[r.Message]++
	h.counts.records = append(h.counts.records, rec)
	h.counts.mu.Unlock()
	if h.next.Enabled(ctx, r.Level) {
		return h.next.Handle(ctx, r)
	}
	return nil
}

func (h *countingHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &countingHandler{next: h.next.WithAttrs(as), counts: h.counts, attrs: append(slices.Clip(h.attrs), as...)}
}

func (h *countingHandler) WithGroup(name string) slog.Handler {
	return &countingHandler{next: h.next.WithGroup(name), counts: h.counts}
}

func startWorker(t *testing.T, b *testenv.Broker, props map[string]string, offsets worker.OffsetStore) *testWorker {
	t.Helper()
	all := map[string]string{
		"bootstrap.servers":                    b.Addr,
		"offset.flush.interval.ms":             "200",
		"task.auto.restart.initial.backoff.ms": "100",
		"task.auto.restart.max.backoff.ms":     "400",
		"listeners":                            "http://127.0.0.1:0",
	}
	maps.Copy(all, props)
	cfg, err := worker.NewConfig(all)
	require.NoError(t, err)
	if offsets == nil {
		offsets = worker.NewMemOffsetStore()
	}
	counts := &logCounts{m: map[string]int{}}
	h, err := worker.New(worker.Options{
		Config: cfg, Plugins: builtinPlugins(), Offsets: offsets,
		ClientOpts: []kgo.Opt{kgo.SeedBrokers(b.Addr)},
		Logger:     slog.New(&countingHandler{next: testenv.Logger(t).Handler(), counts: counts}),
	})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	w := &testWorker{Herder: h, broker: b, cancel: cancel, done: make(chan error, 1), counts: counts}
	go func() { w.done <- h.Run(ctx) }()
	require.Eventually(t, h.Ready, 10*time.Second, 10*time.Millisecond)
	t.Cleanup(w.stop)
	return w
}

func (w *testWorker) stop() {
	w.cancel()
	<-w.done
	w.done <- nil // later stops return at once
}

// waitState waits until the connector and all its tasks are in state.
func waitState(t *testing.T, h *worker.Herder, name string, tasks int, state worker.State) worker.ConnectorStateInfo {
	t.Helper()
	var last worker.ConnectorStateInfo
	ok := assert.Eventually(t, func() bool {
		st, err := h.ConnectorStatus(context.Background(), name)
		if err != nil {
			return false
		}
		last = st
		if len(st.Tasks) != tasks {
			return false
		}
		for _, ts := range st.Tasks {
			if ts.State != state {
				return false
			}
		}
		return tasks > 0 || st.Connector.State == state
	}, 20*time.Second, 20*time.Millisecond)
	if !ok {
		t.Fatalf("connector %s never reached %s with %d tasks; last status %+v", name, state, tasks, last)
	}
	return last
}

func writeLines(t *testing.T, path string, from, to int) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	require.NoError(t, err)
	w := bufio.NewWriter(f)
	for i := from; i < to; i++ {
		fmt.Fprintf(w, "line-%06d\n", i)
	}
	require.NoError(t, w.Flush())
	require.NoError(t, f.Close())
}

func readLines(path string) []string {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	s := strings.TrimSuffix(string(b), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func TestFileSourceToFileSinkThroughTheBroker(t *testing.T) {
	b := testenv.StartBroker(t, nil)
	offsets := worker.NewMemOffsetStore()
	w := startWorker(t, b, map[string]string{
		"key.converter": "org.apache.kafka.connect.storage.StringConverter",
	}, offsets)
	ctx := context.Background()
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.txt"), filepath.Join(dir, "out.txt")
	writeLines(t, in, 0, 5000)

	_, err := w.CreateConnector(ctx, "src", map[string]string{
		"connector.class": "FileStreamSource", "file": in, "topic": "lines",
		"value.converter": "org.apache.kafka.connect.storage.StringConverter",
	}, "")
	require.NoError(t, err)
	_, err = w.CreateConnector(ctx, "sink", map[string]string{
		"connector.class": "org.apache.kafka.connect.file.FileStreamSinkConnector", "file": out, "topics": "lines",
		"value.converter": "org.apache.kafka.connect.storage.StringConverter",
	}, "")
	require.NoError(t, err)
	waitState(t, w.Herder, "src", 1, worker.StateRunning)
	waitState(t, w.Herder, "sink", 1, worker.StateRunning)
	writeLines(t, in, 5000, 10000)

	require.Eventually(t, func() bool { return len(readLines(out)) >= 10000 }, 30*time.Second, 50*time.Millisecond)
	lines := readLines(out)
	require.Len(t, lines, 10000)
	for i, l := range lines {
		require.Equal(t, fmt.Sprintf("line-%06d", i), l)
	}
	// The committed source offset is the byte position after the last
	// line, once the broker acknowledged it.
	require.Eventually(t, func() bool {
		got, err := w.Offsets(ctx, "src")
		return err == nil && len(got.Offsets) == 1 && got.Offsets[0].Offset["position"] == int64(10000*len("line-000000\n"))
	}, 10*time.Second, 50*time.Millisecond)
	topics, err := w.ConnectorTopics(ctx, "src")
	require.NoError(t, err)
	assert.Equal(t, []string{"lines"}, topics)

	// Sink offsets are the consumer group's.
	require.Eventually(t, func() bool {
		got, err := w.Offsets(ctx, "sink")
		return err == nil && len(got.Offsets) == 1 && got.Offsets[0].Offset["kafka_offset"] == int64(10000)
	}, 10*time.Second, 50*time.Millisecond)
}

func TestPauseResumeStopAndOffsetsAPI(t *testing.T) {
	b := testenv.StartBroker(t, nil)
	w := startWorker(t, b, nil, nil)
	ctx := context.Background()
	_, err := w.CreateConnector(ctx, "gen", map[string]string{
		"connector.class": "DatagenConnector", "kafka.topic": "gen", "quickstart": "users",
		"max.interval": "1", "tasks.max": "2",
	}, "")
	require.NoError(t, err)
	waitState(t, w.Herder, "gen", 2, worker.StateRunning)

	_, err = w.AlterOffsets(ctx, "gen", worker.ConnectorOffsets{Offsets: []worker.ConnectorOffset{{Partition: map[string]any{"task": 0}, Offset: map[string]any{"seq": 1}}}})
	require.ErrorIs(t, err, worker.ErrBadRequest)
	assert.Contains(t, err.Error(), "Connectors must be in the STOPPED state before their offsets can be modified")

	require.NoError(t, w.PauseConnector(ctx, "gen"))
	waitState(t, w.Herder, "gen", 2, worker.StatePaused)
	require.NoError(t, w.ResumeConnector(ctx, "gen"))
	waitState(t, w.Herder, "gen", 2, worker.StateRunning)

	require.NoError(t, w.StopConnector(ctx, "gen"))
	st := waitState(t, w.Herder, "gen", 0, worker.StateStopped)
	assert.Empty(t, st.Tasks)
	tasks, err := w.Tasks(ctx, "gen")
	require.NoError(t, err)
	assert.Empty(t, tasks, "a stopped connector has no task configs")

	msg, err := w.AlterOffsets(ctx, "gen", worker.ConnectorOffsets{Offsets: []worker.ConnectorOffset{{Partition: map[string]any{"task": float64(0)}, Offset: map[string]any{"seq": float64(41)}}}})
	require.NoError(t, err)
	assert.Equal(t, "The offsets for this connector have been altered successfully", msg)
	got, err := w.Offsets(ctx, "gen")
	require.NoError(t, err)
	require.Contains(t, got.Offsets, worker.ConnectorOffset{Partition: map[string]any{"task": int64(0)}, Offset: map[string]any{"seq": int64(41)}})

	msg, err = w.ResetOffsets(ctx, "gen")
	require.NoError(t, err)
	assert.Equal(t, "The offsets for this connector have been reset successfully", msg)
	got, err = w.Offsets(ctx, "gen")
	require.NoError(t, err)
	assert.Empty(t, got.Offsets)

	require.NoError(t, w.ResumeConnector(ctx, "gen"))
	waitState(t, w.Herder, "gen", 2, worker.StateRunning)
	require.NoError(t, w.DeleteConnector(ctx, "gen"))
	_, err = w.ConnectorStatus(ctx, "gen")
	require.ErrorIs(t, err, worker.ErrNotFound)
}

// collect consumes topic from the start until n records arrived.
func collect(t *testing.T, addr, topic string, n int) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	require.NoError(t, err)
	defer cl.Close()
	var out []*kgo.Record
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for len(out) < n {
		f := cl.PollFetches(ctx)
		require.NoError(t, ctx.Err(), "only %d of %d records on %s", len(out), n, topic)
		out = append(out, f.Records()...)
	}
	return out
}

func produce(t *testing.T, addr, topic string, values ...string) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.AllowAutoTopicCreation())
	require.NoError(t, err)
	defer cl.Close()
	for _, v := range values {
		require.NoError(t, cl.ProduceSync(context.Background(), &kgo.Record{Topic: topic, Value: []byte(v)}).FirstErr())
	}
}

func headerMap(r *kgo.Record) map[string]string {
	m := map[string]string{}
	for _, h := range r.Headers {
		m[h.Key] = string(h.Value)
	}
	return m
}

func TestPoisonRecordsGoToTheDeadLetterQueue(t *testing.T) {
	b := testenv.StartBroker(t, nil)
	w := startWorker(t, b, nil, nil)
	ctx := context.Background()
	out := filepath.Join(t.TempDir(), "out.txt")
	produce(t, b.Addr, "events", `{"schema":{"type":"string","optional":false},"payload":"one"}`, `not json`, `{"schema":{"type":"string","optional":false},"payload":"two"}`)
	_, err := w.CreateConnector(ctx, "sink", map[string]string{
		"connector.class": "FileStreamSink", "file": out, "topics": "events",
		"errors.tolerance": "all", "errors.deadletterqueue.topic.name": "dlq",
		"errors.deadletterqueue.context.headers.enable": "true", "errors.log.enable": "true",
	}, "")
	require.NoError(t, err)
	require.Eventually(t, func() bool { return len(readLines(out)) == 2 }, 20*time.Second, 50*time.Millisecond)
	assert.Equal(t, []string{"one", "two"}, readLines(out))

	dlq := collect(t, b.Addr, "dlq", 1)
	assert.Equal(t, "not json", string(dlq[0].Value), "the DLQ holds the original bytes")
	h := headerMap(dlq[0])
	assert.Equal(t, "events", h["__connect.errors.topic"])
	assert.Equal(t, "0", h["__connect.errors.partition"])
	assert.Equal(t, "1", h["__connect.errors.offset"])
	assert.Equal(t, "sink", h["__connect.errors.connector.name"])
	assert.Equal(t, "0", h["__connect.errors.task.id"])
	assert.Equal(t, "VALUE_CONVERTER", h["__connect.errors.stage"])
	assert.Equal(t, "org.apache.kafka.connect.json.JsonConverter", h["__connect.errors.class.name"])
	assert.Equal(t, "org.apache.kafka.connect.errors.DataException", h["__connect.errors.exception.class.name"])
	assert.NotEmpty(t, h["__connect.errors.exception.message"])
	assert.NotEmpty(t, h["__connect.errors.exception.stacktrace"])
}

func TestPoisonRecordFailsTaskUnderToleranceNoneAndTaskRestarts(t *testing.T) {
	b := testenv.StartBroker(t, nil)
	w := startWorker(t, b, nil, nil)
	ctx := context.Background()
	out := filepath.Join(t.TempDir(), "out.txt")
	produce(t, b.Addr, "events", `{"schema":{"type":"string","optional":false},"payload":"one"}`, `not json`)
	_, err := w.CreateConnector(ctx, "sink", map[string]string{
		"connector.class": "FileStreamSink", "file": out, "topics": "events",
	}, "")
	require.NoError(t, err)
	st := waitState(t, w.Herder, "sink", 1, worker.StateFailed)
	assert.Contains(t, st.Tasks[0].Trace, "VALUE_CONVERTER", "the trace names the stage")
	assert.Contains(t, st.Tasks[0].Trace, "tolerance exceeded")
	assert.Contains(t, st.Tasks[0].Trace, "events", "the trace names the record's topic")

	// The task keeps being restarted with backoff; each attempt fails on
	// the same record. As in Kafka, the batch is converted before Put, so
	// the good record polled with it was not delivered either.
	first := w.counts.get("sink task started")
	require.Eventually(t, func() bool { return w.counts.get("sink task started") >= first+2 }, 20*time.Second, 10*time.Millisecond,
		"the failed task is started again (with backoff)")
	s, err := w.TaskStatus(ctx, "sink", 0)
	require.NoError(t, err)
	assert.Contains(t, []worker.State{worker.StateFailed, worker.StateRunning}, s.State)
	assert.Empty(t, readLines(out))

	// Skipping the poison record through the offsets API lets it run.
	require.NoError(t, w.StopConnector(ctx, "sink"))
	waitState(t, w.Herder, "sink", 0, worker.StateStopped)
	_, err = w.AlterOffsets(ctx, "sink", worker.ConnectorOffsets{Offsets: []worker.ConnectorOffset{{
		Partition: map[string]any{"kafka_topic": "events", "kafka_partition": float64(0)},
		Offset:    map[string]any{"kafka_offset": float64(2)},
	}}})
	require.NoError(t, err)
	require.NoError(t, w.ResumeConnector(ctx, "sink"))
	waitState(t, w.Herder, "sink", 1, worker.StateRunning)
	produce(t, b.Addr, "events", `{"schema":{"type":"string","optional":false},"payload":"three"}`)
	require.Eventually(t, func() bool { return len(readLines(out)) == 1 }, 20*time.Second, 50*time.Millisecond)
	assert.Equal(t, []string{"three"}, readLines(out))
}

func TestAutoRestartOffKeepsTaskFailed(t *testing.T) {
	b := testenv.StartBroker(t, nil)
	w := startWorker(t, b, map[string]string{"task.auto.restart.enable": "false"}, nil)
	ctx := context.Background()
	produce(t, b.Addr, "events", `not json`)
	_, err := w.CreateConnector(ctx, "sink", map[string]string{
		"connector.class": "FileStreamSink", "file": filepath.Join(t.TempDir(), "o"), "topics": "events",
	}, "")
	require.NoError(t, err)
	waitState(t, w.Herder, "sink", 1, worker.StateFailed)
	time.Sleep(time.Second)
	s, err := w.TaskStatus(ctx, "sink", 0)
	require.NoError(t, err)
	assert.Equal(t, worker.StateFailed, s.State, "no automatic restart")

	st, err := w.RestartConnector(ctx, "sink", true, true)
	require.NoError(t, err)
	require.NotNil(t, st)
	assert.Equal(t, worker.StateRestarting, st.Tasks[0].State)
	assert.Equal(t, worker.StateRunning, st.Connector.State, "onlyFailed leaves the running connector alone")
}

func TestSourceTransformsAndSourceDLQ(t *testing.T) {
	b := testenv.StartBroker(t, nil)
	w := startWorker(t, b, nil, nil)
	ctx := context.Background()
	in := filepath.Join(t.TempDir(), "in.txt")
	writeLines(t, in, 0, 3)
	_, err := w.CreateConnector(ctx, "src", map[string]string{
		"connector.class": "FileStreamSource", "file": in, "topic": "raw",
		"value.converter": "org.apache.kafka.connect.json.JsonConverter", "value.converter.schemas.enable": "false",
		"transforms":                   "route,hoist",
		"transforms.route.type":        "org.apache.kafka.connect.transforms.RegexRouter",
		"transforms.route.regex":       "raw",
		"transforms.route.replacement": "routed",
		"transforms.hoist.type":        "org.apache.kafka.connect.transforms.HoistField$Value",
		"transforms.hoist.field":       "line",
	}, "")
	require.NoError(t, err)
	recs := collect(t, b.Addr, "routed", 3)
	assert.Equal(t, `{"line":"line-000000"}`, string(recs[0].Value))
}

func builtinPlugins() worker.Plugins {
	return worker.Plugins{Connectors: builtin.Connectors(), Others: builtin.Others()}
}

func TestSourceRecordsFailingATransformGoToTheDLQ(t *testing.T) {
	b := testenv.StartBroker(t, nil)
	w := startWorker(t, b, nil, nil)
	ctx := context.Background()
	in := filepath.Join(t.TempDir(), "in.txt")
	writeLines(t, in, 0, 3)
	_, err := w.CreateConnector(ctx, "src", map[string]string{
		"connector.class": "FileStreamSource", "file": in, "topic": "out",
		"transforms":            "pick",
		"transforms.pick.type":  "org.apache.kafka.connect.transforms.ExtractField$Value",
		"transforms.pick.field": "missing",
		"errors.tolerance":      "all", "errors.deadletterqueue.topic.name": "src-dlq",
		"errors.deadletterqueue.context.headers.enable": "true",
	}, "")
	require.NoError(t, err)
	recs := collect(t, b.Addr, "src-dlq", 3)
	assert.Equal(t, `"line-000000"`, string(recs[0].Value), "the source record as schemaless JSON")
	h := headerMap(recs[0])
	assert.Equal(t, "TRANSFORMATION", h["__connect.errors.stage"])
	assert.Equal(t, "org.apache.kafka.connect.transforms.ExtractField$Value", h["__connect.errors.class.name"])
	assert.Equal(t, "src", h["__connect.errors.connector.name"])
	assert.NotContains(t, h, "__connect.errors.topic", "a source record has no Kafka position")
	// Skipped records still advance the committed offset.
	require.Eventually(t, func() bool {
		got, err := w.Offsets(ctx, "src")
		return err == nil && len(got.Offsets) == 1 && got.Offsets[0].Offset["position"] == int64(3*len("line-000000\n"))
	}, 10*time.Second, 50*time.Millisecond)
}

func TestClientOverrides(t *testing.T) {
	b := testenv.StartBroker(t, nil)
	w := startWorker(t, b, nil, nil)
	ctx := context.Background()
	produce(t, b.Addr, "old", `{"schema":{"type":"string","optional":false},"payload":"before"}`)
	out := filepath.Join(t.TempDir(), "out.txt")
	_, err := w.CreateConnector(ctx, "sink", map[string]string{
		"connector.class": "FileStreamSink", "file": out, "topics": "old",
		"consumer.override.auto.offset.reset": "latest", "consumer.override.max.poll.records": "1",
	}, "")
	require.NoError(t, err)
	waitState(t, w.Herder, "sink", 1, worker.StateRunning)
	time.Sleep(500 * time.Millisecond) // let the consumer take its position at the end
	produce(t, b.Addr, "old", `{"schema":{"type":"string","optional":false},"payload":"after"}`)
	require.Eventually(t, func() bool { return len(readLines(out)) == 1 }, 20*time.Second, 50*time.Millisecond)
	assert.Equal(t, []string{"after"}, readLines(out), "auto.offset.reset=latest skipped the old record")

	in := filepath.Join(t.TempDir(), "in.txt")
	writeLines(t, in, 0, 50)
	_, err = w.CreateConnector(ctx, "src", map[string]string{
		"connector.class": "FileStreamSource", "file": in, "topic": "lz",
		"producer.override.compression.type": "lz4", "producer.override.linger.ms": "5",
	}, "")
	require.NoError(t, err)
	recs := collect(t, b.Addr, "lz", 50)
	assert.Equal(t, uint8(3), recs[0].Attrs.CompressionType(), "lz4 batches")

	_, err = w.CreateConnector(ctx, "bad", map[string]string{
		"connector.class": "FileStreamSource", "file": in, "topic": "x", "producer.override.compression.type": "brotli",
	}, "")
	require.NoError(t, err, "overrides are checked when the task starts")
	st := waitState(t, w.Herder, "bad", 1, worker.StateFailed)
	assert.Contains(t, st.Tasks[0].Trace, "producer.override.compression.type")

	// A connector asking for TLS or SASL fails rather than connecting in
	// plaintext; PLAINTEXT asks for nothing and runs.
	_, err = w.CreateConnector(ctx, "tls", map[string]string{
		"connector.class": "FileStreamSource", "file": in, "topic": "x",
		"producer.override.security.protocol": "SASL_SSL", "producer.override.sasl.jaas.config": "secret",
	}, "")
	require.NoError(t, err)
	st = waitState(t, w.Herder, "tls", 1, worker.StateFailed)
	assert.Contains(t, st.Tasks[0].Trace, "producer.override.security.protocol=SASL_SSL: only PLAINTEXT is supported yet")
	_, err = w.CreateConnector(ctx, "plain", map[string]string{
		"connector.class": "FileStreamSource", "file": in, "topic": "plain",
		"producer.override.security.protocol": "PLAINTEXT",
	}, "")
	require.NoError(t, err)
	waitState(t, w.Herder, "plain", 1, worker.StateRunning)
}

// TestFileSourceWarnsOfMissingFileNamingTheTask: a FileStreamSource whose
// file does not exist says so at WARN, as Kafka's does, through the
// plugin logger the worker hands it: named by the task class and carrying
// the connector and task.
func TestFileSourceWarnsOfMissingFileNamingTheTask(t *testing.T) {
	b := testenv.StartBroker(t, nil)
	w := startWorker(t, b, nil, nil)
	missing := filepath.Join(t.TempDir(), "test.txt")
	_, err := w.CreateConnector(context.Background(), "src", map[string]string{
		"connector.class": "FileStreamSource", "file": missing, "topic": "lines",
	}, "")
	require.NoError(t, err)
	waitState(t, w.Herder, "src", 1, worker.StateRunning)
	var warns []logRecord
	require.Eventually(t, func() bool {
		warns = w.counts.find(slog.LevelWarn, "Couldn't find file "+missing+" for FileStreamSourceTask")
		return len(warns) > 0
	}, 10*time.Second, 20*time.Millisecond)
	assert.Equal(t, "src", warns[0].attrs["connector"])
	assert.Equal(t, "0", warns[0].attrs["task"])
	assert.Equal(t, "org.apache.kafka.connect.file.FileStreamSourceTask", warns[0].attrs["logger"])
}
