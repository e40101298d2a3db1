package storage

import (
	"context"
	"fmt"
	"maps"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TargetState is the state a connector is asked to be in (Kafka's
// TargetState).
type TargetState string

// The target states.
const (
	TargetStarted TargetState = "STARTED"
	TargetPaused  TargetState = "PAUSED"
	TargetStopped TargetState = "STOPPED"
)

func (s TargetState) valid() bool {
	return s == TargetStarted || s == TargetPaused || s == TargetStopped
}

// Config topic key prefixes (KafkaConfigBackingStore).
const (
	connectorPrefix   = "connector-"
	taskPrefix        = "task-"
	commitPrefix      = "commit-"
	targetStatePrefix = "target-state-"
	restartPrefix     = "restart-connector-"
)

// ConfigSnapshot is a copy of everything the config topic says, up to
// Offset. The caller owns it.
type ConfigSnapshot struct {
	// Offset is the offset after the last record applied, -1 before any.
	Offset int64
	// Connectors holds each connector's config.
	Connectors map[string]map[string]string
	// TargetStates holds each connector's target state; a connector
	// without a target-state record is STARTED.
	TargetStates map[string]TargetState
	// TaskCounts holds the task count of each connector's last commit.
	TaskCounts map[string]int
	// Tasks holds each consistent connector's committed task configs, by
	// task number.
	Tasks map[string][]map[string]string
	// Inconsistent names connectors whose last commit found an incomplete
	// set of task configs; they have no Tasks until a complete commit.
	Inconsistent map[string]bool
}

// ConfigUpdateKind says what a ConfigUpdate is about.
type ConfigUpdateKind int

// The kinds of config updates (Kafka's ConfigBackingStore.UpdateListener).
const (
	ConnectorConfigUpdated ConfigUpdateKind = iota + 1
	ConnectorConfigRemoved
	TaskConfigsCommitted
	TargetStateChanged
	RestartRequested
)

func (k ConfigUpdateKind) String() string {
	switch k {
	case ConnectorConfigUpdated:
		return "ConnectorConfigUpdated"
	case ConnectorConfigRemoved:
		return "ConnectorConfigRemoved"
	case TaskConfigsCommitted:
		return "TaskConfigsCommitted"
	case TargetStateChanged:
		return "TargetStateChanged"
	case RestartRequested:
		return "RestartRequested"
	default:
		return "ConfigUpdateKind(" + strconv.Itoa(int(k)) + ")"
	}
}

// ConfigUpdate is one change applied from the config topic.
type ConfigUpdate struct {
	Kind      ConfigUpdateKind
	Connector string
	// Tasks lists, for TaskConfigsCommitted, the tasks whose configs the
	// commit applied (none when it left the connector inconsistent).
	Tasks []int
	// IncludeTasks and OnlyFailed are a RestartRequested's flags.
	IncludeTasks, OnlyFailed bool
}

// ConfigStoreOptions configure a ConfigStore.
type ConfigStoreOptions struct {
	TopicOptions
	// OnUpdate, if set, is called for every change applied after Start
	// returned, whoever wrote it: from Run's goroutine, or from a Put's or
	// Refresh's when Run is not running. It must not block and must not
	// call the store's Put methods or Refresh; Snapshot is fine.
	OnUpdate func(ConfigUpdate)
}

// ConfigStore keeps connector configs, task configs, target states and
// restart requests on the config topic (Kafka's KafkaConfigBackingStore).
// Like Kafka's, it expects a single writer at a time (the leader). It is
// safe for concurrent use.
type ConfigStore struct {
	log      *kafkaLog
	onUpdate func(ConfigUpdate)
	started  atomic.Bool

	mu           sync.Mutex
	offset       int64
	connectors   map[string]map[string]string
	targets      map[string]TargetState
	taskCounts   map[string]int
	tasks        map[string]map[int]map[string]string // applied task configs
	deferred     map[string]map[int]map[string]string // read, awaiting a commit
	inconsistent map[string]bool
}

// NewConfigStore checks the options and returns a store; it does no I/O.
func NewConfigStore(opts ConfigStoreOptions) (*ConfigStore, error) {
	if opts.Partitions == 0 {
		opts.Partitions = 1
	}
	if opts.WriteRetries == 0 {
		opts.WriteRetries = DefaultWriteRetries
	}
	if err := opts.validate("config store"); err != nil {
		return nil, err
	}
	if opts.Partitions != 1 {
		return nil, fmt.Errorf("config store: partitions %d: the config topic has exactly 1", opts.Partitions)
	}
	s := &ConfigStore{
		onUpdate:     opts.OnUpdate,
		offset:       -1,
		connectors:   map[string]map[string]string{},
		targets:      map[string]TargetState{},
		taskCounts:   map[string]int{},
		tasks:        map[string]map[int]map[string]string{},
		deferred:     map[string]map[int]map[string]string{},
		inconsistent: map[string]bool{},
	}
	s.log = newKafkaLog(opts.TopicOptions, configRole, s.apply)
	return s, nil
}

// Start creates the topic if needed and reads it to the end. OnUpdate is
// not called for what Start reads.
func (s *ConfigStore) Start(ctx context.Context) error {
	if err := s.log.start(ctx); err != nil {
		return err
	}
	if n := s.log.Partitions(); n > 1 {
		return fmt.Errorf("Topic '%s' supplied via the '%s' property is required "+
			"to have a single partition in order to guarantee consistency of "+
			"connector configurations, but found %d partitions.", s.log.opts.Topic, configRole.workerConfig, n)
	}
	s.started.Store(true)
	return nil
}

// Run applies records written by any worker until ctx ends.
func (s *ConfigStore) Run(ctx context.Context) error { return s.log.run(ctx) }

// Close releases the client; it is idempotent.
func (s *ConfigStore) Close() error {
	s.log.close()
	return nil
}

// WriteError returns why the last write to the topic failed, nil once a
// write succeeded again.
func (s *ConfigStore) WriteError() error { return s.log.writeError() }

// Refresh reads the topic up to its current end.
func (s *ConfigStore) Refresh(ctx context.Context) error { return s.log.readToEnd(ctx) }

// Snapshot returns a deep copy of the current state.
func (s *ConfigStore) Snapshot() ConfigSnapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	snap := ConfigSnapshot{
		Offset:       s.offset,
		Connectors:   make(map[string]map[string]string, len(s.connectors)),
		TargetStates: maps.Clone(s.targets),
		TaskCounts:   maps.Clone(s.taskCounts),
		Tasks:        map[string][]map[string]string{},
		Inconsistent: maps.Clone(s.inconsistent),
	}
	for name, props := range s.connectors {
		snap.Connectors[name] = maps.Clone(props)
	}
	for name, n := range s.taskCounts {
		if s.inconsistent[name] {
			continue
		}
		if list, ok := committedTasks(s.tasks[name], n); ok {
			snap.Tasks[name] = list
		}
	}
	return snap
}

func committedTasks(applied map[int]map[string]string, n int) ([]map[string]string, bool) {
	list := make([]map[string]string, n)
	for i := range n {
		cfg, ok := applied[i]
		if !ok {
			return nil, false
		}
		list[i] = maps.Clone(cfg)
	}
	return list, true
}

// PutConnectorConfig writes a connector's config, preceded by its target
// state when target is not nil, and returns once both are read back.
func (s *ConfigStore) PutConnectorConfig(ctx context.Context, name string, props map[string]string, target *TargetState) error {
	var recs []*kgo.Record
	if target != nil {
		if !target.valid() {
			return fmt.Errorf("write config of connector %s: unknown target state %q", name, *target)
		}
		recs = append(recs, configRecord(targetStatePrefix+name, targetStateValue(*target)))
	}
	recs = append(recs, configRecord(connectorPrefix+name, appendJSON(nil, object{{"properties", props}})))
	return s.write(ctx, "write config of connector "+name, recs...)
}

// RemoveConnector writes tombstones for a connector's config and target
// state and returns once they are read back.
func (s *ConfigStore) RemoveConnector(ctx context.Context, name string) error {
	return s.write(ctx, "remove connector "+name,
		configRecord(connectorPrefix+name, nil), configRecord(targetStatePrefix+name, nil))
}

// PutTaskConfigs writes a connector's task configs, then the commit record
// that makes them take effect, and returns once it is read back.
func (s *ConfigStore) PutTaskConfigs(ctx context.Context, name string, configs []map[string]string) error {
	what := "write task configs of connector " + name
	// As Kafka does: catch up first, so nothing lagging is applied after.
	if err := s.log.readToEnd(ctx); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	recs := make([]*kgo.Record, len(configs))
	for i, cfg := range configs {
		recs[i] = configRecord(taskPrefix+name+"-"+strconv.Itoa(i), appendJSON(nil, object{{"properties", cfg}}))
	}
	if len(recs) > 0 {
		if err := s.write(ctx, what, recs...); err != nil {
			return err
		}
	}
	commit := appendJSON(nil, object{{"tasks", int64(len(configs))}})
	return s.write(ctx, what, configRecord(commitPrefix+name, commit))
}

// PutTargetState writes a connector's target state and returns once it
// is read back.
func (s *ConfigStore) PutTargetState(ctx context.Context, name string, state TargetState) error {
	if !state.valid() {
		return fmt.Errorf("write target state of connector %s: unknown target state %q", name, state)
	}
	return s.write(ctx, "write target state of connector "+name,
		configRecord(targetStatePrefix+name, targetStateValue(state)))
}

// PutRestartRequest writes a restart request (KIP-745) and returns once
// it is read back; workers act on it through OnUpdate.
func (s *ConfigStore) PutRestartRequest(ctx context.Context, name string, includeTasks, onlyFailed bool) error {
	v := appendJSON(nil, object{{"include-tasks", includeTasks}, {"only-failed", onlyFailed}})
	return s.write(ctx, "write restart request of connector "+name, configRecord(restartPrefix+name, v))
}

// targetStateValue writes STOPPED as state=PAUSED for workers older than
// KIP-875, with the real state in state.v2.
func targetStateValue(state TargetState) []byte {
	legacy := state
	if state == TargetStopped {
		legacy = TargetPaused
	}
	return appendJSON(nil, object{{"state", string(legacy)}, {"state.v2", string(state)}})
}

func configRecord(key string, value []byte) *kgo.Record {
	return &kgo.Record{Key: []byte(key), Value: value}
}

// write produces records, waits for their acknowledgement and reads the
// topic to its end.
func (s *ConfigStore) write(ctx context.Context, what string, recs ...*kgo.Record) error {
	if err := s.log.produce(ctx, recs...); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if err := s.log.readToEnd(ctx); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}
