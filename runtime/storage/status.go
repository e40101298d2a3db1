package storage

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Status topic key prefixes (KafkaStatusBackingStore).
const (
	connectorStatusPrefix = "status-connector-"
	taskStatusPrefix      = "status-task-"
	topicStatusPrefix     = "status-topic-"
	topicStatusSeparator  = ":connector-"
)

// StateDestroyed is the state whose write is a tombstone (Kafka's
// AbstractStatus.State.DESTROYED).
const StateDestroyed = "DESTROYED"

// statusStates are the states Kafka accepts when reading a status.
var statusStates = []string{"UNASSIGNED", "RUNNING", "PAUSED", "FAILED", StateDestroyed, "RESTARTING", "STOPPED"}

// Status is a connector's or a task's status record.
type Status struct {
	State      string // UNASSIGNED, RUNNING, PAUSED, FAILED, RESTARTING, STOPPED
	Trace      string // the failure's stack trace; "" for none
	WorkerID   string
	Generation int // the group generation of the writing worker
}

// canOverwrite is Kafka's putSafe rule: a status may replace another one
// if there is none, if it comes from the same worker, or if it comes from
// the same or a later generation.
func canOverwrite(prev Status, had bool, next Status) bool {
	return !had || prev.WorkerID == next.WorkerID || prev.Generation <= next.Generation
}

// StatusStoreOptions configure a StatusStore.
type StatusStoreOptions struct {
	TopicOptions
	// Now stamps topics recorded by PutTopic; nil means time.Now.
	Now func() time.Time
}

// DefaultStatusPartitions is Kafka's status.storage.partitions default.
const DefaultStatusPartitions = 5

// StatusStore keeps connector and task statuses and the topics each
// connector uses on the status topic (Kafka's KafkaStatusBackingStore).
// Puts are asynchronous: they change the local view at once and are
// written in the background (Flush waits for them). Records read back
// replace the local view, except that a key with writes of this store
// still unread keeps the newest of them, so the view never steps back to
// an older status. It is safe for concurrent use.
//
// PutConnector and PutTask are Kafka's put; the …Safe variants are its
// putSafe, checked against the local view when writing. Records read are
// applied whoever wrote them, as in Kafka.
//
// Lock order: sendMu, then mu. Reading (apply) and produce callbacks
// take only mu.
type StatusStore struct {
	log *kafkaLog
	now func() time.Time

	sendMu sync.Mutex // orders sends: the log gets them in pending order

	mu         sync.Mutex
	connectors map[string]Status
	tasks      map[string]map[int]Status
	topics     map[string]map[string]struct{} // connector → topics
	pending    map[string][][]byte            // key → values sent, not read back, oldest first
	sendErr    error                          // the first failed send since the last Flush
}

// NewStatusStore checks the options and returns a store; it does no I/O.
// Partitions 0 means 5.
func NewStatusStore(opts StatusStoreOptions) (*StatusStore, error) {
	if opts.Partitions == 0 {
		opts.Partitions = DefaultStatusPartitions
	}
	if opts.WriteRetries == 0 {
		opts.WriteRetries = -1 // Kafka re-sends a status until it is written
	}
	if err := opts.validate("status store"); err != nil {
		return nil, err
	}
	s := &StatusStore{
		now:        opts.Now,
		connectors: map[string]Status{},
		tasks:      map[string]map[int]Status{},
		topics:     map[string]map[string]struct{}{},
		pending:    map[string][][]byte{},
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.log = newKafkaLog(opts.TopicOptions, statusRole, s.apply)
	return s, nil
}

// Start creates the topic if needed and reads it to the end.
func (s *StatusStore) Start(ctx context.Context) error { return s.log.start(ctx) }

// Run applies statuses written by any worker until ctx ends.
func (s *StatusStore) Run(ctx context.Context) error { return s.log.run(ctx) }

// Close releases the client, dropping unsent statuses; it is idempotent.
func (s *StatusStore) Close() error {
	s.log.close()
	return nil
}

// WriteError returns why the last status write failed, nil once one
// succeeded again.
func (s *StatusStore) WriteError() error { return s.log.writeError() }

// Refresh reads the topic up to its current end.
func (s *StatusStore) Refresh(ctx context.Context) error { return s.log.readToEnd(ctx) }

// Flush waits until every status put so far is acknowledged, and returns
// the first write that failed since the last Flush.
func (s *StatusStore) Flush(ctx context.Context) error {
	if client := s.log.Client(); client != nil {
		if err := client.Flush(ctx); err != nil {
			return fmt.Errorf("flush statuses to topic %s: %w", s.log.opts.Topic, err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.sendErr
	s.sendErr = nil
	return err
}

// PutConnector records a connector's status; the DESTROYED state removes
// it and its tasks.
func (s *StatusStore) PutConnector(name string, st Status) {
	s.putConnector(name, st, false)
}

// PutConnectorSafe records a connector's status if Kafka's putSafe rule
// allows it over the current one, and reports whether it did.
func (s *StatusStore) PutConnectorSafe(name string, st Status) bool {
	return s.putConnector(name, st, true)
}

func (s *StatusStore) putConnector(name string, st Status, safe bool) bool {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	key := connectorStatusPrefix + name
	s.mu.Lock()
	prev, had := s.connectors[name]
	if safe && !canOverwrite(prev, had, st) {
		s.mu.Unlock()
		return false
	}
	var value []byte
	if st.State == StateDestroyed {
		delete(s.connectors, name)
		delete(s.tasks, name)
	} else {
		s.connectors[name] = st
		value = statusValue(st)
	}
	s.queueLocked(key, value)
	s.mu.Unlock()
	s.send(key, value)
	return true
}

// PutTask records a task's status; the DESTROYED state removes it.
func (s *StatusStore) PutTask(name string, task int, st Status) {
	s.putTask(name, task, st, false)
}

// PutTaskSafe records a task's status if Kafka's putSafe rule allows it
// over the current one, and reports whether it did.
func (s *StatusStore) PutTaskSafe(name string, task int, st Status) bool {
	return s.putTask(name, task, st, true)
}

func (s *StatusStore) putTask(name string, task int, st Status, safe bool) bool {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	key := taskStatusKey(name, task)
	s.mu.Lock()
	prev, had := s.tasks[name][task]
	if safe && !canOverwrite(prev, had, st) {
		s.mu.Unlock()
		return false
	}
	var value []byte
	if st.State == StateDestroyed {
		s.removeTaskLocked(name, task)
	} else {
		s.setTaskLocked(name, task, st)
		value = statusValue(st)
	}
	s.queueLocked(key, value)
	s.mu.Unlock()
	s.send(key, value)
	return true
}

// DeleteConnector removes a connector's status and its tasks' statuses,
// writing tombstones for them.
func (s *StatusStore) DeleteConnector(name string) {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	s.mu.Lock()
	keys := []string{connectorStatusPrefix + name}
	for _, task := range slices.Sorted(maps.Keys(s.tasks[name])) {
		keys = append(keys, taskStatusKey(name, task))
	}
	delete(s.connectors, name)
	delete(s.tasks, name)
	for _, k := range keys {
		s.queueLocked(k, nil)
	}
	s.mu.Unlock()
	for _, k := range keys {
		s.send(k, nil)
	}
}

// Connector returns a connector's status.
func (s *StatusStore) Connector(name string) (Status, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.connectors[name]
	return st, ok
}

// Connectors lists the connectors with a status, sorted.
func (s *StatusStore) Connectors() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Sorted(maps.Keys(s.connectors))
}

// Task returns one task's status.
func (s *StatusStore) Task(name string, task int) (Status, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.tasks[name][task]
	return st, ok
}

// Tasks returns a copy of a connector's task statuses by task number.
func (s *StatusStore) Tasks(name string) map[int]Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := maps.Clone(s.tasks[name])
	if out == nil {
		out = map[int]Status{}
	}
	return out
}

// PutTopic records that a connector's task used a topic (KIP-558), stamped
// with the current time; a topic already recorded is left as it is.
func (s *StatusStore) PutTopic(connector, topic string, task int) {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	key := topicStatusKey(connector, topic)
	s.mu.Lock()
	if _, ok := s.topics[connector][topic]; ok {
		s.mu.Unlock()
		return
	}
	s.addTopicLocked(connector, topic)
	value := appendJSON(nil, object{{"topic", object{
		{"name", topic}, {"connector", connector}, {"task", int64(task)},
		{"discoverTimestamp", s.now().UnixMilli()},
	}}})
	s.queueLocked(key, value)
	s.mu.Unlock()
	s.send(key, value)
}

// Topics lists the topics a connector used, sorted.
func (s *StatusStore) Topics(connector string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Sorted(maps.Keys(s.topics[connector]))
}

// ResetTopics forgets the topics a connector used, writing tombstones.
func (s *StatusStore) ResetTopics(connector string) {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	s.mu.Lock()
	topics := slices.Sorted(maps.Keys(s.topics[connector]))
	delete(s.topics, connector)
	for _, t := range topics {
		s.queueLocked(topicStatusKey(connector, t), nil)
	}
	s.mu.Unlock()
	for _, t := range topics {
		s.send(topicStatusKey(connector, t), nil)
	}
}

func taskStatusKey(name string, task int) string {
	return taskStatusPrefix + name + "-" + strconv.Itoa(task)
}

func topicStatusKey(connector, topic string) string {
	return topicStatusPrefix + topic + topicStatusSeparator + connector
}

// statusValue encodes a status; an empty trace is written as null.
func statusValue(st Status) []byte {
	var trace any
	if st.Trace != "" {
		trace = st.Trace
	}
	return appendJSON(nil, object{
		{"state", st.State}, {"trace", trace}, {"worker_id", st.WorkerID}, {"generation", int64(st.Generation)},
	})
}

func (s *StatusStore) setTaskLocked(name string, task int, st Status) {
	m := s.tasks[name]
	if m == nil {
		m = map[int]Status{}
		s.tasks[name] = m
	}
	m[task] = st
}

func (s *StatusStore) removeTaskLocked(name string, task int) {
	delete(s.tasks[name], task)
	if len(s.tasks[name]) == 0 {
		delete(s.tasks, name)
	}
}

func (s *StatusStore) addTopicLocked(connector, topic string) {
	m := s.topics[connector]
	if m == nil {
		m = map[string]struct{}{}
		s.topics[connector] = m
	}
	m[topic] = struct{}{}
}

// maxPendingPerKey bounds the unread writes remembered per key. Dropping
// the oldest is safe: when read back it no longer matches the head of the
// queue and is skipped, as it should be, being older than the rest.
const maxPendingPerKey = 16

// queueLocked remembers a value sent for key until it is read back.
func (s *StatusStore) queueLocked(key string, value []byte) {
	q := s.pending[key]
	if len(q) >= maxPendingPerKey {
		q = slices.Delete(q, 0, 1)
	}
	s.pending[key] = append(q, value)
}

// send produces one record in the background. The caller holds sendMu,
// not mu, so records reach the producer in the order they were queued.
func (s *StatusStore) send(key string, value []byte) {
	client := s.log.Client()
	if client == nil {
		s.failed(key, value, fmt.Errorf("write status %s: Start has not succeeded", key))
		return
	}
	rec := &kgo.Record{Key: []byte(key), Value: value}
	client.Produce(context.Background(), rec, func(_ *kgo.Record, err error) {
		if err != nil {
			err = fmt.Errorf("write status %s to status topic %s: %w", key, s.log.opts.Topic, err)
			s.failed(key, value, err)
		}
		s.log.wrote(err)
	})
}

// failed forgets a send that will never be read back and keeps its error
// for Flush.
func (s *StatusStore) failed(key string, value []byte, err error) {
	s.log.log.Error("status write failed", "key", key, "error", err)
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.pending[key]
	for i, v := range q {
		if (v == nil) == (value == nil) && string(v) == string(value) {
			q = slices.Delete(q, i, i+1)
			break
		}
	}
	if len(q) == 0 {
		delete(s.pending, key)
	} else {
		s.pending[key] = q
	}
	if s.sendErr == nil {
		s.sendErr = err
	}
}
