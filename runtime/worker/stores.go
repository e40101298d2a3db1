package worker

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"sync"

	"github.com/sluicehq/sluice/runtime/storage"
)

// ConfigSnapshot is the herder's view of the config topic: connector
// configs, target states and committed task configs.
type ConfigSnapshot struct {
	// Offset is how far the config topic was read (-1: nothing; 0 in
	// memory).
	Offset     int64
	Connectors map[string]map[string]string
	Targets    map[string]TargetState
	Tasks      map[string][]map[string]string
}

// Target returns a connector's target state (STARTED when none was
// written).
func (s ConfigSnapshot) Target(name string) TargetState {
	if t, ok := s.Targets[name]; ok && t != "" {
		return t
	}
	return TargetStarted
}

// ConfigStore keeps connector configs, target states and task configs:
// the config topic in a worker, memory in standalone mode. Writes return
// once they are visible in Snapshot.
//
// Write errors say what was written to which topic; the herder passes them
// on as they are.
type ConfigStore interface {
	Snapshot() ConfigSnapshot
	// PutConnectorConfig writes a config, and the target state unless it
	// is "".
	PutConnectorConfig(ctx context.Context, name string, props map[string]string, target TargetState) error
	RemoveConnector(ctx context.Context, name string) error
	PutTaskConfigs(ctx context.Context, name string, tasks []map[string]string) error
	PutTargetState(ctx context.Context, name string, state TargetState) error
	// PutRestartRequest records a restart request (KIP-745); every worker
	// acts on it for the instances it runs.
	PutRestartRequest(ctx context.Context, name string, includeTasks, onlyFailed bool) error
}

// Status is one connector's or task's status record.
type Status struct {
	State      State
	Trace      string
	WorkerID   string
	Generation int
}

// StatusStore keeps connector and task status and the topics each
// connector uses: the status topic in a worker, memory in standalone mode.
// Puts are asynchronous but visible locally at once.
type StatusStore interface {
	PutConnector(name string, st Status)
	PutTask(id ConnectorTaskID, st Status)
	Connector(name string) (Status, bool)
	Task(id ConnectorTaskID) (Status, bool)
	DeleteConnector(name string)
	PutTopic(connector, topic string, task int)
	Topics(connector string) []string
	ResetTopics(connector string)
}

// OffsetStore keeps source offsets: the offsets topic in a worker, a file
// in standalone mode. Set returns once the offsets are durable.
type OffsetStore interface {
	Get(connector string, partition map[string]any) (map[string]any, error)
	Set(ctx context.Context, connector string, entries []storage.OffsetEntry) error
	Offsets(connector string) []storage.OffsetEntry
}

// memConfigStore is the standalone ConfigStore: configs live as long as
// the process, as in Kafka's connect-standalone.
type memConfigStore struct {
	mu   sync.Mutex
	snap ConfigSnapshot
	// restart delivers restart requests to the herder.
	restart func(name string, includeTasks, onlyFailed bool)
}

func (m *memConfigStore) PutRestartRequest(_ context.Context, name string, includeTasks, onlyFailed bool) error {
	if m.restart != nil {
		m.restart(name, includeTasks, onlyFailed)
	}
	return nil
}

func newMemConfigStore() *memConfigStore {
	return &memConfigStore{snap: ConfigSnapshot{
		Connectors: map[string]map[string]string{},
		Targets:    map[string]TargetState{},
		Tasks:      map[string][]map[string]string{},
	}}
}

func (m *memConfigStore) Snapshot() ConfigSnapshot {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := ConfigSnapshot{
		Connectors: make(map[string]map[string]string, len(m.snap.Connectors)),
		Targets:    maps.Clone(m.snap.Targets),
		Tasks:      make(map[string][]map[string]string, len(m.snap.Tasks)),
	}
	for k, v := range m.snap.Connectors {
		out.Connectors[k] = maps.Clone(v)
	}
	for k, v := range m.snap.Tasks {
		ts := make([]map[string]string, len(v))
		for i := range v {
			ts[i] = maps.Clone(v[i])
		}
		out.Tasks[k] = ts
	}
	return out
}

func (m *memConfigStore) PutConnectorConfig(_ context.Context, name string, props map[string]string, target TargetState) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.snap.Connectors[name] = maps.Clone(props)
	if target != "" {
		m.snap.Targets[name] = target
	}
	return nil
}

func (m *memConfigStore) RemoveConnector(_ context.Context, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.snap.Connectors, name)
	delete(m.snap.Targets, name)
	delete(m.snap.Tasks, name)
	return nil
}

func (m *memConfigStore) PutTaskConfigs(_ context.Context, name string, tasks []map[string]string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	ts := make([]map[string]string, len(tasks))
	for i := range tasks {
		ts[i] = maps.Clone(tasks[i])
	}
	m.snap.Tasks[name] = ts
	return nil
}

func (m *memConfigStore) PutTargetState(_ context.Context, name string, state TargetState) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.snap.Targets[name] = state
	return nil
}

// memStatusStore is the standalone StatusStore.
type memStatusStore struct {
	mu     sync.Mutex
	conns  map[string]Status
	tasks  map[ConnectorTaskID]Status
	topics map[string][]string
}

func newMemStatusStore() *memStatusStore {
	return &memStatusStore{conns: map[string]Status{}, tasks: map[ConnectorTaskID]Status{}, topics: map[string][]string{}}
}

func (m *memStatusStore) PutConnector(name string, st Status) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.conns[name] = st
}

func (m *memStatusStore) PutTask(id ConnectorTaskID, st Status) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.tasks[id] = st
}

func (m *memStatusStore) Connector(name string) (Status, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	st, ok := m.conns[name]
	return st, ok
}

func (m *memStatusStore) Task(id ConnectorTaskID) (Status, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	st, ok := m.tasks[id]
	return st, ok
}

func (m *memStatusStore) DeleteConnector(name string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.conns, name)
	for id := range m.tasks {
		if id.Connector == name {
			delete(m.tasks, id)
		}
	}
}

func (m *memStatusStore) PutTopic(connector, topic string, _ int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !slices.Contains(m.topics[connector], topic) {
		m.topics[connector] = append(m.topics[connector], topic)
	}
}

func (m *memStatusStore) Topics(connector string) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := slices.Clone(m.topics[connector])
	slices.Sort(out)
	return out
}

func (m *memStatusStore) ResetTopics(connector string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.topics, connector)
}

// memOffsetStore keeps offsets in memory; for tests and embedding.
type memOffsetStore struct {
	mu      sync.Mutex
	offsets map[string]map[string]storage.OffsetEntry // connector → partition key → entry
}

// NewMemOffsetStore returns an OffsetStore that keeps offsets in memory
// (nothing survives a restart: for tests and throwaway workers).
func NewMemOffsetStore() OffsetStore {
	return &memOffsetStore{offsets: map[string]map[string]storage.OffsetEntry{}}
}

func partitionKey(p map[string]any) string {
	b, _ := json.Marshal(p)
	return string(b)
}

func (m *memOffsetStore) Get(connector string, partition map[string]any) (map[string]any, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.offsets[connector][partitionKey(partition)].Offset, nil
}

func (m *memOffsetStore) Set(_ context.Context, connector string, entries []storage.OffsetEntry) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.offsets[connector] == nil {
		m.offsets[connector] = map[string]storage.OffsetEntry{}
	}
	for _, e := range entries {
		k := partitionKey(e.Partition)
		if e.Offset == nil {
			delete(m.offsets[connector], k)
			continue
		}
		m.offsets[connector][k] = e
	}
	return nil
}

func (m *memOffsetStore) Offsets(connector string) []storage.OffsetEntry {
	m.mu.Lock()
	defer m.mu.Unlock()
	keys := slices.Sorted(maps.Keys(m.offsets[connector]))
	out := make([]storage.OffsetEntry, 0, len(keys))
	for _, k := range keys {
		out = append(out, m.offsets[connector][k])
	}
	return out
}
