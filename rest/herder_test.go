package rest

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/sluicehq/sluice/runtime/worker"
)

// The worker's herder must keep serving this API.
var _ Herder = (*worker.Herder)(nil)

// memHerder is an in-memory Herder for the REST tests. Its errors and
// messages follow the real herder's convention ("%w: Kafka's text").
type memHerder struct {
	mu         sync.Mutex
	connectors map[string]*memConnector
	ready      bool
	healthErr  error
	// block, when set, makes every call taking a context wait for it to
	// close, ignoring the context, like a herder stuck in a rebalance.
	block chan struct{}
	// vanish names connectors that are listed but gone when looked up.
	vanish             map[string]bool
	topicTracking      bool
	topicTrackingReset bool
}

type memConnector struct {
	config  map[string]string
	target  worker.TargetState
	kind    string
	tasks   []map[string]string
	status  worker.ConnectorStateInfo
	topics  []string
	offsets worker.ConnectorOffsets
}

var memPlugins = []worker.PluginInfo{
	{Class: "org.apache.kafka.connect.file.FileStreamSinkConnector", Type: "sink", Version: "3.9.0"},
	{Class: "org.apache.kafka.connect.file.FileStreamSourceConnector", Type: "source", Version: "3.9.0"},
	{Class: "org.apache.kafka.connect.transforms.InsertField$Value", Type: "transformation", Version: "3.9.0"},
	{Class: "org.apache.kafka.connect.transforms.predicates.TopicNameMatches", Type: "predicate", Version: "3.9.0"},
	{Class: "org.apache.kafka.connect.json.JsonConverter", Type: "converter", Version: "3.9.0"},
	{Class: "org.apache.kafka.connect.storage.SimpleHeaderConverter", Type: "header_converter", Version: "3.9.0"},
}

// newMemHerder holds three connectors: "src" (source, two running tasks),
// "sink" (sink, one failed task) and "stopped" (source, STOPPED).
func newMemHerder() *memHerder {
	h := &memHerder{connectors: map[string]*memConnector{}, ready: true, vanish: map[string]bool{},
		topicTracking: true, topicTrackingReset: true}
	h.add("src", "FileStreamSource", worker.TargetStarted, map[string]string{"file": "/tmp/in.txt", "topic": "lines", "tasks.max": "2"})
	h.add("sink", "FileStreamSink", worker.TargetStarted, map[string]string{"file": "/tmp/out.txt", "topics": "lines"})
	h.add("stopped", "FileStreamSource", worker.TargetStopped, map[string]string{"file": "/tmp/s.txt", "topic": "s"})
	h.connectors["src"].topics = []string{"lines"}
	sink := h.connectors["sink"]
	sink.status.Tasks[0].State = worker.StateFailed
	sink.status.Tasks[0].Trace = "org.apache.kafka.connect.errors.ConnectException: disk full\n\tat Sink.put"
	h.connectors["stopped"].offsets = worker.ConnectorOffsets{Offsets: []worker.ConnectorOffset{
		{Partition: map[string]any{"filename": "/tmp/s.txt"}, Offset: map[string]any{"position": int64(42)}},
	}}
	return h
}

func (h *memHerder) add(name, class string, target worker.TargetState, extra map[string]string) {
	cfg := map[string]string{"name": name, "connector.class": class}
	maps.Copy(cfg, extra)
	c := &memConnector{target: target}
	h.store(name, c, cfg)
	h.connectors[name] = c
}

// store sets a config and derives tasks and status from it.
func (h *memHerder) store(name string, c *memConnector, cfg map[string]string) {
	c.config = cfg
	c.kind = pluginType(cfg["connector.class"])
	c.tasks = nil
	state := worker.StateRunning
	switch c.target {
	case worker.TargetPaused:
		state = worker.StatePaused
	case worker.TargetStopped:
		state = worker.StateStopped
	}
	c.status = worker.ConnectorStateInfo{Name: name, Type: c.kind, Tasks: []worker.TaskState{},
		Connector: worker.ConnectorState{State: state, WorkerID: "10.0.0.5:8083"}}
	if c.target == worker.TargetStopped {
		return
	}
	n := 1
	if cfg["tasks.max"] == "2" {
		n = 2
	}
	for i := range n {
		c.tasks = append(c.tasks, map[string]string{"task.class": cfg["connector.class"] + "Task", "file": cfg["file"]})
		c.status.Tasks = append(c.status.Tasks, worker.TaskState{ID: i, State: state, WorkerID: fmt.Sprintf("10.0.0.%d:8083", 6+i)})
	}
}

func pluginType(class string) string {
	for _, p := range memPlugins {
		if p.Class == class || strings.HasSuffix(p.Class, "."+class+"Connector") || strings.HasSuffix(p.Class, "."+class) {
			return p.Type
		}
	}
	return "unknown"
}

func (h *memHerder) wait() {
	h.mu.Lock()
	b := h.block
	h.mu.Unlock()
	if b != nil {
		<-b
	}
}

func (h *memHerder) get(name string) (*memConnector, error) {
	c, ok := h.connectors[name]
	if !ok || h.vanish[name] {
		return nil, fmt.Errorf("%w: Connector %s not found", worker.ErrNotFound, name)
	}
	return c, nil
}

func (h *memHerder) info(name string, c *memConnector) worker.ConnectorInfo {
	info := worker.ConnectorInfo{Name: name, Config: maps.Clone(c.config), Tasks: []worker.ConnectorTaskID{}, Type: c.kind}
	for i := range c.tasks {
		info.Tasks = append(info.Tasks, worker.ConnectorTaskID{Connector: name, Task: i})
	}
	return info
}

// validate applies the rules the real herder reports as invalid config.
func validate(cfg map[string]string) error {
	var errs []string
	if strings.TrimSpace(cfg["name"]) == "" {
		errs = append(errs, "Invalid value  for configuration name: String may not be empty")
	}
	if pluginType(cfg["connector.class"]) == "unknown" {
		errs = append(errs, fmt.Sprintf("Invalid value %s for configuration connector.class: Class %s could not be found.",
			cfg["connector.class"], cfg["connector.class"]))
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("%w: Connector configuration is invalid and contains the following %d error(s):\n%s\n"+
		"You can also find the above list of errors at the endpoint `/connector-plugins/{connectorType}/config/validate`",
		worker.ErrBadRequest, len(errs), strings.Join(errs, "\n"))
}

func (h *memHerder) ServerInfo(context.Context) (worker.ServerInfo, error) {
	h.wait()
	return worker.ServerInfo{Version: "3.9.0", Commit: "sluice-test", KafkaClusterID: "I4ZmrWqfT2e-upky_4fdPA"}, nil
}

func (h *memHerder) Ready() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.ready
}

func (h *memHerder) Healthy(context.Context) error {
	h.wait()
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.healthErr
}

func (h *memHerder) Connectors(context.Context) ([]string, error) {
	h.wait()
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Sorted(maps.Keys(h.connectors)), nil
}

func (h *memHerder) ConnectorInfo(_ context.Context, name string) (worker.ConnectorInfo, error) {
	h.wait()
	h.mu.Lock()
	defer h.mu.Unlock()
	c, err := h.get(name)
	if err != nil {
		return worker.ConnectorInfo{}, err
	}
	return h.info(name, c), nil
}

func (h *memHerder) ConnectorConfig(_ context.Context, name string) (map[string]string, error) {
	h.wait()
	h.mu.Lock()
	defer h.mu.Unlock()
	c, err := h.get(name)
	if err != nil {
		return nil, err
	}
	return maps.Clone(c.config), nil
}

func (h *memHerder) ConnectorStatus(_ context.Context, name string) (worker.ConnectorStateInfo, error) {
	h.wait()
	h.mu.Lock()
	defer h.mu.Unlock()
	c, err := h.get(name)
	if err != nil {
		return worker.ConnectorStateInfo{}, err
	}
	st := c.status
	st.Tasks = slices.Clone(c.status.Tasks)
	return st, nil
}

func (h *memHerder) Tasks(_ context.Context, name string) ([]worker.TaskInfo, error) {
	h.wait()
	h.mu.Lock()
	defer h.mu.Unlock()
	c, err := h.get(name)
	if err != nil {
		return nil, err
	}
	out := []worker.TaskInfo{}
	for i, cfg := range c.tasks {
		out = append(out, worker.TaskInfo{ID: worker.ConnectorTaskID{Connector: name, Task: i}, Config: maps.Clone(cfg)})
	}
	return out, nil
}

func (h *memHerder) TaskStatus(_ context.Context, name string, task int) (worker.TaskState, error) {
	h.wait()
	h.mu.Lock()
	defer h.mu.Unlock()
	c, err := h.get(name)
	if err != nil {
		return worker.TaskState{}, err
	}
	if task < 0 || task >= len(c.status.Tasks) {
		return worker.TaskState{}, fmt.Errorf("%w: No status found for task %s-%d", worker.ErrNotFound, name, task)
	}
	return c.status.Tasks[task], nil
}

func (h *memHerder) WriteMetrics(w io.Writer) error {
	_, err := io.WriteString(w, "# TYPE sluice_connect_connector_state gauge\n")
	return err
}
