package broker

// Internal and protected topics.
//
// __consumer_offsets and __transaction_state hold the group and transaction
// coordinators' state; the coordinators create them with the configs they
// need. Kafka's broker lets any client its ACLs allow delete them (only
// kafka-topics.sh --zookeeper refused to, KAFKA-1961, until Kafka 3.0);
// Sluice has no ACLs yet, so it refuses to delete them, to add
// partitions to them (which would move groups and transactional ids to
// other partitions than their records) or to delete records from them, and
// CreateTopics may not create them. A client must not lose every group's
// offsets with one request.
//
// The process embedding the broker can protect the topics its own services
// keep their state in the same way: `sluice up` runs a schema registry
// (_schemas) and a Connect worker (connect-configs, connect-offsets,
// connect-status) with the broker. It lists them, comma-separated, in the
// broker property sluice.protected.topics (ProtectedTopicsKey), which
// anyone running `sluice broker` can set too.
//
// Each refusal answers INVALID_TOPIC_EXCEPTION, the error Kafka's broker
// gives when it refuses a write to an internal topic ("Cannot delete
// records of internal topic ..."), with a message saying why.

import (
	"fmt"
	"strings"

	"github.com/sluicehq/sluice/broker/group"
	"github.com/sluicehq/sluice/broker/log"
	"github.com/sluicehq/sluice/broker/txn"
)

// ProtectedTopicsKey is the broker property listing, comma-separated, the
// topics no client may delete, grow or delete records from, because a
// service running with the broker keeps its state there.
const ProtectedTopicsKey = "sluice.protected.topics"

// internalTopics are Kafka's internal topics that Sluice has, with what
// each holds.
var internalTopics = map[string]string{
	group.OffsetsTopic: "it holds every consumer group and its committed offsets",
	txn.StateTopic:     "it holds the state of every transactional producer",
}

// clusterMetadataTopic is KRaft's metadata log, which Kafka never lets a
// client create; Sluice has none, and refuses it likewise.
const clusterMetadataTopic = "__cluster_metadata"

// topicRefusal is a refused write on an internal or protected topic: its
// message is shown to the client as it is.
type topicRefusal struct{ msg string }

func (e *topicRefusal) Error() string { return e.msg }

// Unwrap maps the refusal to INVALID_TOPIC_EXCEPTION.
func (e *topicRefusal) Unwrap() error { return log.ErrInvalidTopic }

// refuseProtected returns the error for doing op ("delete", "add partitions
// to", "delete records of") to topic if it is internal or protected.
func (s *Server) refuseProtected(op, topic string) error {
	if why, ok := internalTopics[topic]; ok {
		return &topicRefusal{fmt.Sprintf("cannot %s internal topic %s: %s", op, topic, why)}
	}
	if s.protectedTopic(topic) {
		return &topicRefusal{fmt.Sprintf("cannot %s topic %s: it is protected (%s) because a service running with this broker keeps its state in it", op, topic, ProtectedTopicsKey)}
	}
	return nil
}

// refuseInternalCreate refuses CreateTopics for an internal topic, as Kafka
// does for __cluster_metadata: the coordinators create theirs.
func refuseInternalCreate(topic string) error {
	if _, ok := internalTopics[topic]; ok || topic == clusterMetadataTopic {
		return fmt.Errorf("%w: creation of internal topic %s is prohibited: the broker creates it with the configs it needs", errInvalidRequest, topic)
	}
	return nil
}

// protectedTopic reports whether topic is listed in sluice.protected.topics.
func (s *Server) protectedTopic(topic string) bool {
	list := s.cfg.Properties[ProtectedTopicsKey]
	for list != "" {
		var name string
		name, list, _ = strings.Cut(list, ",")
		if strings.TrimSpace(name) == topic {
			return true
		}
	}
	return false
}

// checkProtectedTopics validates sluice.protected.topics: every entry must
// be a legal topic name, so a typo is not silently protecting nothing.
func checkProtectedTopics(props map[string]string) error {
	list := props[ProtectedTopicsKey]
	if strings.TrimSpace(list) == "" {
		return nil
	}
	for _, name := range strings.Split(list, ",") {
		if err := log.ValidateTopicName(strings.TrimSpace(name)); err != nil {
			return fmt.Errorf("%s=%q: %w", ProtectedTopicsKey, list, err)
		}
	}
	return nil
}

// adminClientID is the client id Kafka lets append to internal topics (its
// AdminUtils.ADMIN_CLIENT_ID); every other producer is refused.
const adminClientID = "__admin_client"

// refuseInternalAppend refuses a client's Produce to an internal topic, as
// Kafka's ReplicaManager does: the coordinators load what is there at
// start, so a forged record would become a group or a transaction.
func refuseInternalAppend(clientID, topic string) error {
	if _, ok := internalTopics[topic]; ok && clientID != adminClientID {
		return &topicRefusal{fmt.Sprintf("cannot append to internal topic %s", topic)}
	}
	return nil
}
