package storage

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"
)

// apply reads one status record as KafkaStatusBackingStore.read does:
// unconditionally (putSafe is checked when writing), a tombstone removing
// the status, a connector's removing its tasks' too. Malformed records
// are logged and skipped.
func (s *StatusStore) apply(r *kgo.Record) {
	key := string(r.Key)
	var value []byte
	if len(r.Value) > 0 {
		value = r.Value
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.readBackLocked(key, value) {
		return
	}
	var err error
	switch {
	case strings.HasPrefix(key, connectorStatusPrefix):
		err = s.applyConnectorStatus(strings.TrimPrefix(key, connectorStatusPrefix), value)
	case strings.HasPrefix(key, taskStatusPrefix):
		err = s.applyTaskStatus(strings.TrimPrefix(key, taskStatusPrefix), value)
	case strings.HasPrefix(key, topicStatusPrefix):
		err = s.applyTopicStatus(strings.TrimPrefix(key, topicStatusPrefix), value)
	default:
		err = errors.New("unknown key")
	}
	if err != nil {
		s.log.log.Warn("skipping status record", "key", key, "partition", r.Partition, "offset", r.Offset, "error", err)
	}
}

// readBackLocked reports whether a record read for key should be applied:
// always when this store has no unread writes for the key; otherwise only
// when it is the last of them. Records of others read before that are
// older than it.
func (s *StatusStore) readBackLocked(key string, value []byte) bool {
	q := s.pending[key]
	if len(q) == 0 {
		return true
	}
	if (q[0] == nil) != (value == nil) || !bytes.Equal(q[0], value) {
		return false
	}
	if len(q) == 1 {
		delete(s.pending, key)
		return true
	}
	s.pending[key] = q[1:]
	return false
}

func (s *StatusStore) applyConnectorStatus(name string, value []byte) error {
	if name == "" {
		return errors.New("empty connector name")
	}
	if value == nil {
		delete(s.connectors, name)
		delete(s.tasks, name)
		return nil
	}
	st, err := parseStatus(value)
	if err != nil {
		return err
	}
	s.connectors[name] = st
	return nil
}

func (s *StatusStore) applyTaskStatus(rest string, value []byte) error {
	i := strings.LastIndexByte(rest, '-')
	if i < 0 {
		return errors.New("not status-task-<connector>-<n>")
	}
	task, err := strconv.Atoi(rest[i+1:])
	if err != nil || task < 0 {
		return errors.New("not status-task-<connector>-<n>")
	}
	name := rest[:i]
	if value == nil {
		s.removeTaskLocked(name, task)
		return nil
	}
	st, err := parseStatus(value)
	if err != nil {
		return err
	}
	s.setTaskLocked(name, task, st)
	return nil
}

// parseStatus reads {"state","trace","worker_id","generation"}.
func parseStatus(value []byte) (Status, error) {
	v, err := decodeJSON(value)
	if err != nil {
		return Status{}, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return Status{}, fmt.Errorf("status is a %s, expected an object", jsonKind(v))
	}
	state, _ := m["state"].(string)
	if !slices.Contains(statusStates, state) {
		return Status{}, fmt.Errorf("unknown state %v", m["state"])
	}
	gen, ok := m["generation"].(int64)
	if !ok {
		return Status{}, fmt.Errorf("generation %v is not an integer", m["generation"])
	}
	trace, _ := m["trace"].(string)
	worker, _ := m["worker_id"].(string)
	return Status{State: state, Trace: trace, WorkerID: worker, Generation: int(int32(gen))}, nil
}

// applyTopicStatus reads status-topic-<topic>:connector-<connector>; topic
// names cannot hold ':'.
func (s *StatusStore) applyTopicStatus(rest string, value []byte) error {
	topic, connector, ok := strings.Cut(rest, ":")
	if !ok || topic == "" || !strings.HasPrefix(":"+connector, topicStatusSeparator) {
		return errors.New("not status-topic-<topic>:connector-<connector>")
	}
	connector = strings.TrimPrefix(":"+connector, topicStatusSeparator)
	if connector == "" {
		return errors.New("empty connector name")
	}
	if value == nil {
		delete(s.topics[connector], topic)
		if len(s.topics[connector]) == 0 {
			delete(s.topics, connector)
		}
		return nil
	}
	if err := checkTopicStatus(value); err != nil {
		return err
	}
	s.addTopicLocked(connector, topic)
	return nil
}

// checkTopicStatus checks {"topic":{"name","connector","task","discoverTimestamp"}}.
func checkTopicStatus(value []byte) error {
	v, err := decodeJSON(value)
	if err != nil {
		return err
	}
	m, _ := v.(map[string]any)
	inner, ok := m["topic"].(map[string]any)
	if !ok {
		return errors.New(`topic status without a "topic" object`)
	}
	_, taskOK := inner["task"].(int64)
	_, tsOK := inner["discoverTimestamp"].(int64)
	if !taskOK || !tsOK {
		return errors.New("topic status without integer task and discoverTimestamp")
	}
	return nil
}
