package connecttest

import (
	"context"
	"maps"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/testenv"
	"github.com/sluicehq/sluice/runtime/connect"
	"github.com/sluicehq/sluice/runtime/convert"
	"github.com/sluicehq/sluice/runtime/convert/schemaconv"
	"github.com/sluicehq/sluice/runtime/storage"
	"github.com/sluicehq/sluice/runtime/transform"
	"github.com/sluicehq/sluice/runtime/worker"
)

// Worker is a real worker (herder, task loops, converters, producer and
// consumers) running only the connector plugins under test, against an
// in-process broker. Its source offsets live in a file, as
// connect-standalone keeps them, so a worker started again on the same
// file resumes from what the stopped one committed, read back as the
// offsets topic's JSON; its connector configs and statuses live in
// memory, so a restarted worker needs its connectors created again.
type Worker struct {
	*worker.Herder
	// Broker is the broker the worker produces to and consumes from.
	Broker *testenv.Broker
	// OffsetFile holds the committed source offsets.
	OffsetFile string

	t       testing.TB
	plugins []connect.ConnectorPlugin
	props   map[string]string
	stop    context.CancelFunc
	done    chan error
}

// WorkerProps are the worker settings StartWorker begins from: schemaless
// JSON for keys and values (so a test reads records with encoding/json),
// and source offsets committed every 200 ms.
func WorkerProps() map[string]string {
	return map[string]string{
		"key.converter":                        "org.apache.kafka.connect.json.JsonConverter",
		"value.converter":                      "org.apache.kafka.connect.json.JsonConverter",
		"key.converter.schemas.enable":         "false",
		"value.converter.schemas.enable":       "false",
		"offset.flush.interval.ms":             "200",
		"task.auto.restart.initial.backoff.ms": "100",
		"task.auto.restart.max.backoff.ms":     "400",
		"listeners":                            "http://127.0.0.1:0",
	}
}

// StartWorker starts a worker with plugins on b (a new broker when b is
// nil), WorkerProps overridden by props; it stops when the test ends.
func StartWorker(t testing.TB, b *testenv.Broker, plugins []connect.ConnectorPlugin, props map[string]string) *Worker {
	t.Helper()
	if b == nil {
		b = testenv.StartBroker(t, nil)
	}
	all := WorkerProps()
	maps.Copy(all, props)
	all["bootstrap.servers"] = b.Addr
	w := &Worker{Broker: b, OffsetFile: filepath.Join(t.TempDir(), "connect.offsets"), t: t, plugins: plugins, props: all}
	w.start()
	return w
}

func (w *Worker) start() {
	t := w.t
	t.Helper()
	cfg, err := worker.NewConfig(w.props)
	if err != nil {
		t.Fatalf("worker config: %v", err)
	}
	logger := TestLogger(t)
	offsets, err := storage.NewFileOffsetStore(w.OffsetFile, logger)
	if err != nil {
		t.Fatalf("offset store: %v", err)
	}
	if err := offsets.Start(context.Background()); err != nil {
		t.Fatalf("load offsets: %v", err)
	}
	h, err := worker.New(worker.Options{
		Config: cfg, Plugins: worker.Plugins{Connectors: w.plugins, Others: otherPlugins()}, Offsets: offsets,
		ClientOpts: []kgo.Opt{kgo.SeedBrokers(w.Broker.Addr), kgo.MetadataMinAge(250 * time.Millisecond)},
		Logger:     logger, Standalone: true,
	})
	if err != nil {
		t.Fatalf("new worker: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	w.Herder, w.stop, w.done = h, cancel, make(chan error, 1)
	go func() { w.done <- h.Run(ctx) }()
	t.Cleanup(w.Stop)
	deadline := time.Now().Add(20 * time.Second)
	for !h.Ready() {
		if time.Now().After(deadline) {
			t.Fatalf("worker not ready after 20s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// otherPlugins are the converters, transforms and predicates of a worker.
func otherPlugins() []connect.Plugin {
	var out []connect.Plugin
	out = append(out, convert.Plugins()...)
	out = append(out, schemaconv.Plugins()...)
	return append(out, transform.Plugins()...)
}

// Stop stops the worker: every task stops and commits its offsets first.
// It is idempotent.
func (w *Worker) Stop() {
	if w.stop == nil {
		return
	}
	w.stop()
	w.stop = nil
	if err := <-w.done; err != nil {
		w.t.Errorf("worker stopped with error: %v", err)
	}
}

// Restart stops the worker and starts a new one on the same broker and
// offset file, with no connectors.
func (w *Worker) Restart() {
	w.t.Helper()
	w.Stop()
	w.start()
}

// Create creates a connector from its plugin's class and config (which
// needs no name or connector.class) and waits until it runs tasks
// (tasks.max of them, 1 when unset).
func (w *Worker) Create(name string, class string, config map[string]string) worker.ConnectorStateInfo {
	w.t.Helper()
	cfg := maps.Clone(config)
	cfg["name"], cfg["connector.class"] = name, class
	if _, err := w.CreateConnector(context.Background(), name, cfg, worker.TargetStarted); err != nil {
		w.t.Fatalf("create connector %s: %v", name, err)
	}
	tasks := 1
	if n, ok := cfg["tasks.max"]; ok {
		v, err := connect.ParseConfigValue(connect.ConfigInt, n)
		if err != nil {
			w.t.Fatalf("tasks.max: %v", err)
		}
		tasks = int(v.(int64))
	}
	return w.WaitState(name, tasks, worker.StateRunning)
}

// WaitState waits until the connector has tasks tasks all in state,
// failing at once when a task or the connector failed instead.
func (w *Worker) WaitState(name string, tasks int, state worker.State) worker.ConnectorStateInfo {
	w.t.Helper()
	var last worker.ConnectorStateInfo
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		st, err := w.ConnectorStatus(context.Background(), name)
		if err == nil {
			last = st
			if state != worker.StateFailed {
				if st.Connector.State == worker.StateFailed {
					w.t.Fatalf("connector %s failed: %s", name, st.Connector.Trace)
				}
				for _, ts := range st.Tasks {
					if ts.State == worker.StateFailed {
						w.t.Fatalf("task %s-%d failed: %s", name, ts.ID, ts.Trace)
					}
				}
			}
			if len(st.Tasks) == tasks && allIn(st, state) {
				return st
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	w.t.Fatalf("connector %s never had %d tasks in state %s; last status %+v", name, tasks, state, last)
	return last
}

func allIn(st worker.ConnectorStateInfo, state worker.State) bool {
	for _, ts := range st.Tasks {
		if ts.State != state {
			return false
		}
	}
	return len(st.Tasks) > 0 || st.Connector.State == state
}

// ValidationErrors validates config for class as /config/validate does
// and returns the errors by key.
func (w *Worker) ValidationErrors(class string, config map[string]string) map[string][]string {
	w.t.Helper()
	infos, err := w.ValidateConfig(context.Background(), class, config)
	if err != nil {
		w.t.Fatalf("validate %s: %v", class, err)
	}
	out := map[string][]string{}
	for _, c := range infos.Configs {
		if len(c.Value.Errors) > 0 {
			out[c.Value.Name] = append(out[c.Value.Name], c.Value.Errors...)
		}
	}
	return out
}

// Consume reads topic from its start until at least n records arrived
// (failing after timeout) and returns them.
func Consume(t testing.TB, b *testenv.Broker, topic string, n int, timeout time.Duration) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatalf("consumer: %v", err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var out []*kgo.Record
	for len(out) < n {
		f := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("only %d of %d records on %s after %s", len(out), n, topic, timeout)
		}
		out = append(out, f.Records()...)
	}
	return out
}

// ConsumeAll reads the records topic holds now: until it has reached the
// end offsets taken at the call, or nothing more arrived for two seconds
// (transaction markers take offsets but are no records).
func ConsumeAll(t testing.TB, b *testenv.Broker, topic string) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatalf("consumer: %v", err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatalf("end offsets of %s: %v", topic, err)
	}
	var total int64
	ends.Each(func(o kadm.ListedOffset) { total += o.Offset })
	var out []*kgo.Record
	for int64(len(out)) < total {
		pollCtx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		f := cl.PollFetches(pollCtx)
		cancel()
		if pollCtx.Err() != nil && len(f.Records()) == 0 {
			break
		}
		out = append(out, f.Records()...)
	}
	return out
}

// Produce writes values to topic, each as its record's value.
func Produce(t testing.TB, b *testenv.Broker, topic string, values ...[]byte) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr), kgo.AllowAutoTopicCreation())
	if err != nil {
		t.Fatalf("producer: %v", err)
	}
	defer cl.Close()
	recs := make([]*kgo.Record, len(values))
	for i, v := range values {
		recs[i] = &kgo.Record{Topic: topic, Value: v}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("produce to %s: %v", topic, err)
	}
}

// StartDistributedWorker runs a distributed worker (group groupID) with
// its config, offset and status stores on Kafka topics of b, exactly-once
// source support enabled and offsets committed every 200 ms, running only
// plugins; it stops when the test ends. It returns once the worker is
// ready.
func StartDistributedWorker(t testing.TB, b *testenv.Broker, groupID string, plugins []connect.ConnectorPlugin) *worker.Herder {
	t.Helper()
	cfg, err := worker.NewConfig(map[string]string{
		"bootstrap.servers": b.Addr, "group.id": groupID, "exactly.once.source.support": "enabled",
		"offset.flush.interval.ms": "200", "listeners": "http://127.0.0.1:0",
		"config.storage.replication.factor": "1", "offset.storage.replication.factor": "1", "status.storage.replication.factor": "1",
	})
	require.NoError(t, err)
	clientOpts := []kgo.Opt{kgo.SeedBrokers(b.Addr)}
	logger := testenv.Logger(t)
	ks, err := worker.NewKafkaStores(cfg, clientOpts, logger)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	startCtx, cancelStart := context.WithTimeout(ctx, 30*time.Second)
	defer cancelStart()
	require.NoError(t, ks.Start(startCtx))
	opts := worker.Options{Config: cfg, Plugins: worker.Plugins{Connectors: plugins, Others: convert.Plugins()},
		ClientOpts: clientOpts, Logger: logger, Distributed: true}
	ks.Bind(&opts)
	h, err := worker.New(opts)
	require.NoError(t, err)
	ks.Watch(h)
	storeCtx, stopStores := context.WithCancel(context.Background())
	storesDone, herderDone := make(chan error, 1), make(chan error, 1)
	go func() { storesDone <- ks.Run(storeCtx) }()
	go func() { herderDone <- h.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-herderDone
		stopStores()
		<-storesDone
	})
	require.Eventually(t, h.Ready, 20*time.Second, 20*time.Millisecond)
	return h
}
