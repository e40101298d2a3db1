package broker

// CreateTopics: v0-7. DeleteTopics: v0-6. CreatePartitions: v0-3.
//
// This node is the whole cluster, so every partition has exactly one replica,
// on this node. CreateTopics takes -1 partitions or replication factor to
// mean num.partitions or default.replication.factor (KIP-464); a replication
// factor above 1 is answered INVALID_REPLICATION_FACTOR, and a manual replica
// assignment is accepted only if every partition's replicas are exactly this
// node (INVALID_REPLICA_ASSIGNMENT otherwise). Config overrides are checked
// against the topic config table (INVALID_CONFIG naming the key); a name that
// breaks Kafka's rules, or differs from an existing topic only in '.' versus
// '_', is INVALID_TOPIC_EXCEPTION; a topic named twice in one request is
// INVALID_REQUEST. v5+ answers with the topic's partition count, replication
// factor and every resulting config, v7+ with its id. validate_only checks
// everything and creates nothing.
//
// DeleteTopics deletes by name, or (v6+) by topic id; delete.topic.enable=false
// answers TOPIC_DELETION_DISABLED. A name or id given twice is answered once,
// INVALID_REQUEST, and not deleted, as in Kafka. CreatePartitions only grows
// a topic (INVALID_PARTITIONS otherwise); validate_only is honoured.
//
// Internal topics (__consumer_offsets, __transaction_state) and the topics in
// sluice.protected.topics cannot be deleted or grown, and CreateTopics cannot
// create an internal topic (topics_protected.go).
//
// Every error carries a message (where the version has the field) that says
// what was wrong. Creation, deletion and growth all hold the server's
// createMu, so they never race Metadata's auto-creation or each other.

import (
	"errors"
	"fmt"
	"strings"

	"github.com/sluicehq/sluice/broker/log"
	"github.com/twmb/franz-go/pkg/kmsg"
)

var (
	createTopicsAPI     = api{key: 19, min: 0, max: 7, handle: handleCreateTopics}
	deleteTopicsAPI     = api{key: 20, min: 0, max: 6, handle: handleDeleteTopics}
	createPartitionsAPI = api{key: 37, min: 0, max: 3, handle: handleCreatePartitions}
)

var (
	errInvalidReplicationFactor = errors.New("invalid replication factor")
	errInvalidReplicaAssignment = errors.New("invalid replica assignment")
	errInvalidRequest           = errors.New("invalid request")
	errTopicDeletionDisabled    = errors.New("topic deletion is disabled (delete.topic.enable=false)")
)

func handleCreateTopics(c *conn, kreq kmsg.Request) *pending {
	req := kreq.(*kmsg.CreateTopicsRequest)
	resp := req.ResponseKind().(*kmsg.CreateTopicsResponse)
	times := map[string]int{}
	for _, rt := range req.Topics {
		times[rt.Topic]++
	}
	c.s.createMu.Lock()
	defer c.s.createMu.Unlock()
	for _, rt := range req.Topics {
		n := times[rt.Topic]
		if n == 0 {
			continue // a repeated name, already answered
		}
		st := kmsg.NewCreateTopicsResponseTopic()
		st.Topic = rt.Topic
		var err error
		if n > 1 {
			times[rt.Topic] = 0
			err = fmt.Errorf("%w: topic %s appears %d times in one CreateTopics request", errInvalidRequest, rt.Topic, n)
		} else {
			err = c.createTopic(&st, rt, req.ValidateOnly)
		}
		if err != nil {
			st.ErrorCode = errorCode(err)
			st.ErrorMessage = errorMessage(err)
			c.log.Debug("create topic refused", "topic", rt.Topic, "err", err)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return ready(resp)
}

// createTopic creates (or with validateOnly, checks) one topic and fills in
// the v5+ fields of its answer. The caller holds createMu.
func (c *conn) createTopic(st *kmsg.CreateTopicsResponseTopic, rt kmsg.CreateTopicsRequestTopic, validateOnly bool) error {
	s := c.s
	if err := log.ValidateTopicName(rt.Topic); err != nil {
		return err
	}
	if _, ok := s.store.Topic(rt.Topic); ok {
		return fmt.Errorf("%w: %s", log.ErrTopicExists, rt.Topic)
	}
	if err := refuseInternalCreate(rt.Topic); err != nil {
		return err
	}
	if err := s.checkTopicCollision(rt.Topic); err != nil {
		return err
	}
	partitions, err := s.newTopicPartitions(rt)
	if err != nil {
		return err
	}
	overrides := map[string]string{}
	for _, rc := range rt.Configs {
		if _, dup := overrides[rc.Name]; dup {
			return fmt.Errorf("%w: config %s is given twice", errInvalidRequest, rc.Name)
		}
		if rc.Value == nil {
			return fmt.Errorf("%w: config %s has a null value", log.ErrInvalidConfig, rc.Name)
		}
		overrides[rc.Name] = *rc.Value
	}
	if err := s.store.CreateTopic(rt.Topic, partitions, overrides, validateOnly); err != nil {
		return err
	}
	if !validateOnly {
		if t, ok := s.store.Topic(rt.Topic); ok {
			st.TopicID = t.ID
		}
	}
	st.NumPartitions, st.ReplicationFactor = int32(partitions), 1
	for _, e := range s.topicConfigEntries(overrides) {
		rc := kmsg.NewCreateTopicsResponseTopicConfig()
		rc.Name, rc.Value, rc.Source = e.name, e.value, int8(e.source)
		st.Configs = append(st.Configs, rc)
	}
	return nil
}

// checkTopicCollision refuses a name that differs from an existing topic's
// only in '.' versus '_', which Kafka forbids because both map to the same
// metric names.
func (s *Server) checkTopicCollision(name string) error {
	norm := strings.ReplaceAll(name, ".", "_")
	for _, t := range s.store.Topics() {
		if strings.ReplaceAll(t.Name, ".", "_") == norm {
			return fmt.Errorf("%w: %s collides with existing topic %s ('.' and '_' are the same in metric names)", log.ErrInvalidTopic, name, t.Name)
		}
	}
	return nil
}

// newTopicPartitions resolves a new topic's partition count from either its
// count and replication factor (-1 meaning the broker default) or a manual
// replica assignment, which must place every partition on this node alone.
func (s *Server) newTopicPartitions(rt kmsg.CreateTopicsRequestTopic) (int, error) {
	if len(rt.ReplicaAssignment) > 0 {
		if rt.NumPartitions != -1 || rt.ReplicationFactor != -1 {
			return 0, fmt.Errorf("%w: give either a replica assignment or a partition count and replication factor, not both (set them to -1)", errInvalidRequest)
		}
		seen := make([]bool, len(rt.ReplicaAssignment))
		for _, a := range rt.ReplicaAssignment {
			if a.Partition < 0 || int(a.Partition) >= len(seen) || seen[a.Partition] {
				return 0, fmt.Errorf("%w: partition %d: partitions must be numbered 0 to %d, each once", errInvalidReplicaAssignment, a.Partition, len(seen)-1)
			}
			seen[a.Partition] = true
			if err := s.checkReplicas(a.Partition, a.Replicas); err != nil {
				return 0, err
			}
		}
		return len(seen), nil
	}
	partitions, fromDefault := int(rt.NumPartitions), ""
	if partitions == -1 {
		partitions, fromDefault = s.cfg.NumPartitions, " (num.partitions)"
	}
	if partitions < 1 {
		return 0, fmt.Errorf("%w: %d partitions%s: want at least 1, or -1 for num.partitions", log.ErrInvalidPartitions, partitions, fromDefault)
	}
	rf, fromDefault := int(rt.ReplicationFactor), ""
	if rf == -1 {
		rf, fromDefault = s.cfg.DefaultReplication, " (default.replication.factor)"
	}
	switch {
	case rf < 1:
		return 0, fmt.Errorf("%w: %d: want 1, or -1 for default.replication.factor", errInvalidReplicationFactor, rf)
	case rf > 1:
		return 0, fmt.Errorf("%w: %d%s: this is a single-node cluster (node %d), so the replication factor can only be 1", errInvalidReplicationFactor, rf, fromDefault, s.cfg.NodeID)
	}
	return partitions, nil
}

// checkReplicas accepts a manually assigned replica list only if it is
// exactly this node.
func (s *Server) checkReplicas(partition int32, replicas []int32) error {
	if len(replicas) == 1 && replicas[0] == s.cfg.NodeID {
		return nil
	}
	return fmt.Errorf("%w: partition %d: replicas %v: this is a single-node cluster, so the only valid assignment is [%d]", errInvalidReplicaAssignment, partition, replicas, s.cfg.NodeID)
}

func handleDeleteTopics(c *conn, kreq kmsg.Request) *pending {
	req := kreq.(*kmsg.DeleteTopicsRequest)
	resp := req.ResponseKind().(*kmsg.DeleteTopicsResponse)
	topics := req.Topics
	if req.Version < 6 {
		topics = make([]kmsg.DeleteTopicsRequestTopic, len(req.TopicNames))
		for i := range req.TopicNames {
			topics[i].Topic = &req.TopicNames[i]
		}
	}
	c.s.createMu.Lock()
	defer c.s.createMu.Unlock()
	for _, d := range c.s.planDeletes(topics) {
		st := kmsg.NewDeleteTopicsResponseTopic()
		st.Topic, st.TopicID = d.name, d.id
		err := d.err
		if err == nil {
			var t *log.Topic
			t, err = c.s.deleteTopic(d)
			if t != nil {
				st.Topic, st.TopicID = &t.Name, t.ID
			}
		}
		if err != nil {
			st.ErrorCode = errorCode(err)
			st.ErrorMessage = errorMessage(err)
			c.log.Debug("delete topic refused", "topic", st.Topic, "err", err)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return ready(resp)
}

// deletion is one topic a DeleteTopics request names, by name or by id;
// err is set when the request itself is wrong about it.
type deletion struct {
	name  *string
	id    [16]byte
	topic *log.Topic // resolved from id
	err   error
}

// planDeletes answers each distinct name and id of a DeleteTopics request
// once, as Kafka's controller does: a name or id given twice is one
// INVALID_REQUEST and deletes nothing, as is a name whose topic's id is
// also given (the id then gets no answer of its own); an entry with both a
// name and an id, or neither, is INVALID_REQUEST. A request naming one
// topic a million times does the work of one. The caller holds createMu.
func (s *Server) planDeletes(topics []kmsg.DeleteTopicsRequestTopic) []deletion {
	names, ids := map[string]int{}, map[[16]byte]int{}
	for _, rt := range topics {
		switch {
		case rt.Topic != nil && rt.TopicID == [16]byte{}:
			names[*rt.Topic]++
		case rt.Topic == nil && rt.TopicID != [16]byte{}:
			ids[rt.TopicID]++
		}
	}
	byID := map[[16]byte]*log.Topic{}
	claimed := map[[16]byte]bool{} // ids whose topic is also named
	if len(ids) > 0 {
		for _, t := range s.store.Topics() {
			byID[t.ID] = t
			if ids[t.ID] > 0 && names[t.Name] == 1 {
				claimed[t.ID] = true
			}
		}
	}
	answered := map[string]bool{}
	answeredID := map[[16]byte]bool{}
	var out []deletion
	for _, rt := range topics {
		d := deletion{name: rt.Topic, id: rt.TopicID}
		switch {
		case rt.Topic != nil && rt.TopicID != [16]byte{}:
			d.err = fmt.Errorf("%w: give a topic name or a topic id, not both", errInvalidRequest)
		case rt.Topic == nil && rt.TopicID == [16]byte{}:
			d.err = fmt.Errorf("%w: neither a topic name nor a topic id was given", errInvalidRequest)
		case rt.Topic != nil:
			name := *rt.Topic
			if answered[name] {
				continue // a repeated name, already answered
			}
			answered[name] = true
			if n := names[name]; n > 1 {
				d.err = fmt.Errorf("%w: topic %s appears %d times in one DeleteTopics request", errInvalidRequest, name, n)
			} else if t, ok := s.store.Topic(name); ok && claimed[t.ID] {
				d.id = t.ID
				d.err = fmt.Errorf("%w: topic %s is also named by its id in the same request", errInvalidRequest, name)
			}
		default:
			id := rt.TopicID
			if answeredID[id] || (claimed[id] && ids[id] == 1) {
				continue // already answered, or answered with its name
			}
			answeredID[id] = true
			if n := ids[id]; n > 1 {
				d.err = fmt.Errorf("%w: topic id %x appears %d times in one DeleteTopics request", errInvalidRequest, id, n)
			} else if d.topic = byID[id]; d.topic == nil {
				d.err = errUnknownTopicID
			}
		}
		out = append(out, d)
	}
	return out
}

// deleteTopic deletes the topic d names, returning the topic it found. The
// caller holds createMu.
func (s *Server) deleteTopic(d deletion) (*log.Topic, error) {
	t := d.topic
	if t == nil {
		var ok bool
		if t, ok = s.store.Topic(*d.name); !ok {
			return nil, fmt.Errorf("%s: %w", *d.name, log.ErrUnknownTopic)
		}
	}
	if s.cfg.Properties["delete.topic.enable"] == "false" {
		return t, errTopicDeletionDisabled
	}
	if err := s.refuseProtected("delete", t.Name); err != nil {
		return t, err
	}
	return t, s.store.DeleteTopic(t.Name)
}

func handleCreatePartitions(c *conn, kreq kmsg.Request) *pending {
	req := kreq.(*kmsg.CreatePartitionsRequest)
	resp := req.ResponseKind().(*kmsg.CreatePartitionsResponse)
	times := map[string]int{}
	for _, rt := range req.Topics {
		times[rt.Topic]++
	}
	c.s.createMu.Lock()
	defer c.s.createMu.Unlock()
	for _, rt := range req.Topics {
		n := times[rt.Topic]
		if n == 0 {
			continue // a repeated name, already answered
		}
		st := kmsg.NewCreatePartitionsResponseTopic()
		st.Topic = rt.Topic
		var err error
		if n > 1 {
			times[rt.Topic] = 0
			err = fmt.Errorf("%w: topic %s appears %d times in one CreatePartitions request", errInvalidRequest, rt.Topic, n)
		} else {
			err = c.s.createPartitions(rt, req.ValidateOnly)
		}
		if err != nil {
			st.ErrorCode = errorCode(err)
			st.ErrorMessage = errorMessage(err)
			c.log.Debug("create partitions refused", "topic", rt.Topic, "err", err)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return ready(resp)
}

// createPartitions grows one topic to rt.Count partitions. The caller holds
// createMu.
func (s *Server) createPartitions(rt kmsg.CreatePartitionsRequestTopic, validateOnly bool) error {
	t, ok := s.store.Topic(rt.Topic)
	if !ok {
		return fmt.Errorf("%s: %w", rt.Topic, log.ErrUnknownTopic)
	}
	if err := s.refuseProtected("add partitions to", rt.Topic); err != nil {
		return err
	}
	if added := int(rt.Count) - len(t.Partitions); added > 0 && rt.Assignment != nil {
		if len(rt.Assignment) != added {
			return fmt.Errorf("%w: %d assignments for %d new partitions", errInvalidReplicaAssignment, len(rt.Assignment), added)
		}
		for i, a := range rt.Assignment {
			if err := s.checkReplicas(int32(len(t.Partitions)+i), a.Replicas); err != nil {
				return err
			}
		}
	}
	if err := s.store.CreatePartitions(rt.Topic, int(rt.Count), validateOnly); err != nil {
		return err
	}
	if !validateOnly {
		s.log.Info("created partitions", "topic", rt.Topic, "from", len(t.Partitions), "to", rt.Count)
	}
	return nil
}
