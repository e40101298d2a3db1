package storage

import (
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Keys Kafka writes to the config topic that Sluice reads past: KIP-618
// task-count records, the KIP-507 session key and KIP-976 logger levels.
var ignoredConfigPrefixes = []string{"tasks-fencing-", "session-key", "logger-cluster-"}

// apply reads one config record as KafkaConfigBackingStore's consumer
// callback does; records in the wrong shape are logged and skipped.
func (s *ConfigStore) apply(r *kgo.Record) {
	key := string(r.Key)
	var value any
	if len(r.Value) > 0 {
		v, err := decodeJSON(r.Value)
		if err != nil {
			s.log.log.Error("skipping config record that is not JSON", "key", key, "offset", r.Offset, "error", err)
			return
		}
		value = v
	}
	s.mu.Lock()
	s.offset = r.Offset + 1
	update, ok := s.applyLocked(key, value)
	s.mu.Unlock()
	if ok && s.onUpdate != nil && s.started.Load() {
		s.onUpdate(update)
	}
}

// applyLocked applies a decoded record and returns the update to report,
// if any.
func (s *ConfigStore) applyLocked(key string, value any) (ConfigUpdate, bool) {
	switch {
	case strings.HasPrefix(key, targetStatePrefix):
		return s.applyTargetState(strings.TrimPrefix(key, targetStatePrefix), value)
	case strings.HasPrefix(key, connectorPrefix):
		return s.applyConnector(strings.TrimPrefix(key, connectorPrefix), value)
	case strings.HasPrefix(key, taskPrefix):
		s.applyTask(key, value)
		return ConfigUpdate{}, false
	case strings.HasPrefix(key, commitPrefix):
		return s.applyCommit(strings.TrimPrefix(key, commitPrefix), value)
	case strings.HasPrefix(key, restartPrefix):
		return s.restartRequest(strings.TrimPrefix(key, restartPrefix), value)
	}
	for _, p := range ignoredConfigPrefixes {
		if strings.HasPrefix(key, p) {
			s.log.log.Debug("ignoring config record", "key", key)
			return ConfigUpdate{}, false
		}
	}
	s.log.log.Error("discarding config record with an unknown key", "key", key)
	return ConfigUpdate{}, false
}

func (s *ConfigStore) applyTargetState(name string, value any) (ConfigUpdate, bool) {
	if value == nil {
		// Written with the connector's removal, which is reported itself.
		delete(s.targets, name)
		if _, ok := s.connectors[name]; ok {
			s.targets[name] = TargetStarted
		}
		return ConfigUpdate{}, false
	}
	m, ok := value.(map[string]any)
	if !ok {
		s.log.log.Error("skipping target state in the wrong format", "connector", name, "type", jsonKind(value))
		return ConfigUpdate{}, false
	}
	// state.v2 (KIP-875) wins; records from older workers only have state.
	raw, ok := m["state.v2"].(string)
	if !ok {
		if raw, ok = m["state"].(string); !ok {
			s.log.log.Error("skipping target state without a string state field", "connector", name)
			return ConfigUpdate{}, false
		}
	}
	state := TargetState(raw)
	if !state.valid() {
		s.log.log.Error("skipping unknown target state", "connector", name, "state", raw)
		return ConfigUpdate{}, false
	}
	prev, had := s.targets[name]
	s.targets[name] = state
	_, exists := s.connectors[name]
	// A target state written before its connector's first config (an
	// initial state) is not reported: the config record will be.
	changed := !had || prev != state
	return ConfigUpdate{Kind: TargetStateChanged, Connector: name}, changed && exists
}

func (s *ConfigStore) applyConnector(name string, value any) (ConfigUpdate, bool) {
	if value == nil {
		delete(s.connectors, name)
		delete(s.taskCounts, name)
		delete(s.tasks, name)
		delete(s.deferred, name)
		return ConfigUpdate{Kind: ConnectorConfigRemoved, Connector: name}, true
	}
	props, ok := properties(value)
	if !ok {
		s.log.log.Error("skipping connector config in the wrong format", "connector", name)
		return ConfigUpdate{}, false
	}
	s.connectors[name] = props
	if _, ok := s.targets[name]; !ok {
		s.targets[name] = TargetStarted
	}
	return ConfigUpdate{Kind: ConnectorConfigUpdated, Connector: name}, true
}

// properties reads {"properties":{…}}; null values are dropped, other
// non-string values make the record invalid.
func properties(value any) (map[string]string, bool) {
	m, ok := value.(map[string]any)
	if !ok {
		return nil, false
	}
	raw, ok := m["properties"].(map[string]any)
	if !ok {
		return nil, false
	}
	props := make(map[string]string, len(raw))
	for k, v := range raw {
		switch v := v.(type) {
		case nil:
		case string:
			props[k] = v
		default:
			return nil, false
		}
	}
	return props, true
}

func (s *ConfigStore) applyTask(key string, value any) {
	name, task, ok := parseTaskKey(key)
	if !ok {
		s.log.log.Error("skipping task config whose key is not task-<connector>-<n>", "key", key)
		return
	}
	props, ok := properties(value)
	if !ok {
		s.log.log.Error("skipping task config in the wrong format", "connector", name, "task", task)
		return
	}
	d := s.deferred[name]
	if d == nil {
		d = map[int]map[string]string{}
		s.deferred[name] = d
	}
	d[task] = props
}

// parseTaskKey splits task-<connector>-<n>; the connector name may itself
// contain dashes.
func parseTaskKey(key string) (string, int, bool) {
	rest := strings.TrimPrefix(key, taskPrefix)
	i := strings.LastIndexByte(rest, '-')
	if i < 0 {
		return "", 0, false
	}
	n, err := strconv.Atoi(rest[i+1:])
	if err != nil || n < 0 {
		return "", 0, false
	}
	return rest[:i], n, true
}

// applyCommit applies the task configs read since the last commit if they
// cover every task the commit counts; otherwise it marks the connector
// inconsistent. Either way the buffered configs are dropped.
func (s *ConfigStore) applyCommit(name string, value any) (ConfigUpdate, bool) {
	m, ok := value.(map[string]any)
	if !ok {
		s.log.log.Error("skipping task commit in the wrong format", "connector", name, "type", jsonKind(value))
		return ConfigUpdate{}, false
	}
	n, ok := m["tasks"].(int64)
	if !ok || n < 0 || n > 1<<31-1 {
		s.log.log.Error("skipping task commit without a valid task count", "connector", name)
		return ConfigUpdate{}, false
	}
	count := int(n)
	deferred := s.deferred[name]
	update := ConfigUpdate{Kind: TaskConfigsCommitted, Connector: name, Tasks: []int{}}
	if !coversTasks(deferred, count) {
		// Compaction removed some of the configs this commit covered.
		s.log.log.Debug("incomplete task configs for a commit; connector is inconsistent", "connector", name, "tasks", count)
		s.inconsistent[name] = true
	} else {
		if len(deferred) > 0 {
			applied := s.tasks[name]
			if applied == nil {
				applied = map[int]map[string]string{}
				s.tasks[name] = applied
			}
			maps.Copy(applied, deferred)
			update.Tasks = slices.Sorted(maps.Keys(deferred))
		}
		delete(s.inconsistent, name)
	}
	delete(s.deferred, name)
	s.taskCounts[name] = count
	return update, true
}

// coversTasks reports whether configs hold tasks 0…count-1; extra tasks are
// fine (a shrink leaves old ones behind until compaction).
func coversTasks(configs map[int]map[string]string, count int) bool {
	for i := range count {
		if _, ok := configs[i]; !ok {
			return false
		}
	}
	return true
}

func (s *ConfigStore) restartRequest(name string, value any) (ConfigUpdate, bool) {
	m, ok := value.(map[string]any)
	if !ok {
		s.log.log.Error("skipping restart request in the wrong format", "connector", name, "type", jsonKind(value))
		return ConfigUpdate{}, false
	}
	// Missing or malformed flags default to false, as in Kafka.
	includeTasks, _ := m["include-tasks"].(bool)
	onlyFailed, _ := m["only-failed"].(bool)
	return ConfigUpdate{Kind: RestartRequested, Connector: name, IncludeTasks: includeTasks, OnlyFailed: onlyFailed}, true
}
