package broker

// Metadata: v0-12. DescribeCluster: v0-1.
//
// This one node is every partition's leader (leader epoch 0, constant across
// restarts), the only replica, and the controller. Metadata lists all topics
// for v0's empty list and v1+'s null list; an unknown topic is auto-created
// with num.partitions when auto.create.topics.enable is on and the request
// allows it — always for v0-3, which predate the flag — and answered
// UNKNOWN_TOPIC_OR_PARTITION otherwise. v10+ carries the topic's persistent
// id and looks topics up by id. v13 (KIP-1102 rebootstrap) is not served.
// A topic named (or id given) more than once is answered once. One request
// auto-creates at most maxAutoCreatePerRequest topics; the others are
// answered LEADER_NOT_AVAILABLE, and the client's retry creates them.

import (
	"errors"

	"github.com/sluicehq/sluice/broker/group"
	"github.com/sluicehq/sluice/broker/log"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

var (
	metadataAPI        = api{key: 3, min: 0, max: 12, handle: handleMetadata}
	describeClusterAPI = api{key: 60, min: 0, max: 1, handle: handleDescribeCluster}
)

// authorizedOperationsOmitted is Kafka's INT32_MIN sentinel for "not asked".
const authorizedOperationsOmitted = -2147483648

func handleMetadata(c *conn, kreq kmsg.Request) *pending {
	req := kreq.(*kmsg.MetadataRequest)
	resp := req.ResponseKind().(*kmsg.MetadataResponse)
	s := c.s
	allowCreate := req.AllowAutoTopicCreation || req.Version < 4
	b := kmsg.NewMetadataResponseBroker()
	b.NodeID, b.Host, b.Port = s.cfg.NodeID, s.cfg.AdvertisedHost, s.cfg.AdvertisedPort
	resp.Brokers = []kmsg.MetadataResponseBroker{b}
	resp.ClusterID = &s.clusterID
	resp.ControllerID = s.cfg.NodeID
	resp.AuthorizedOperations = authorizedOperationsOmitted

	all := req.Topics == nil || req.Version == 0 && len(req.Topics) == 0
	if all {
		for _, t := range s.store.Topics() {
			resp.Topics = append(resp.Topics, topicMetadata(t, s.cfg.NodeID))
		}
		return ready(resp)
	}
	created := 0
	for _, rt := range dedupMetadataTopics(req.Topics) {
		var t *log.Topic
		var err error
		switch {
		case rt.Topic == nil:
			t, err = s.topicByID(rt.TopicID)
		case allowCreate && created >= maxAutoCreatePerRequest:
			if t, _, err = s.topicOrCreate(*rt.Topic, false); errors.Is(err, log.ErrUnknownTopic) && s.cfg.AutoCreateTopics {
				err = errAutoCreateDeferred
			}
		default:
			var isNew bool
			t, isNew, err = s.topicOrCreate(*rt.Topic, allowCreate)
			if isNew {
				created++
			}
		}
		if err != nil {
			mt := kmsg.NewMetadataResponseTopic()
			mt.Topic, mt.TopicID = rt.Topic, rt.TopicID
			mt.ErrorCode = errorCode(err)
			if errors.Is(err, errAutoCreateDeferred) {
				mt.ErrorCode = kerr.LeaderNotAvailable.Code
			}
			mt.AuthorizedOperations = authorizedOperationsOmitted
			resp.Topics = append(resp.Topics, mt)
			continue
		}
		resp.Topics = append(resp.Topics, topicMetadata(t, s.cfg.NodeID))
	}
	return ready(resp)
}

// maxAutoCreatePerRequest bounds the topics one Metadata request may
// auto-create. Each creation makes directories and files and syncs them
// (a few milliseconds), under the lock that serialises topic changes, so
// a request naming a million unknown topics would hold the broker for
// minutes and fill its disk and file table. The rest are answered
// LEADER_NOT_AVAILABLE, which clients retry (Kafka answers it for topics
// whose auto-creation is under way), so each retry creates the next ones.
const maxAutoCreatePerRequest = 100

var errAutoCreateDeferred = errors.New("auto-creation deferred to a later request")

// dedupMetadataTopics leaves one entry per distinct topic name and per
// distinct topic id, in order of first appearance: Kafka answers each
// topic once however often it is named (it turns the request's list into a
// set).
func dedupMetadataTopics(topics []kmsg.MetadataRequestTopic) []kmsg.MetadataRequestTopic {
	if len(topics) < 2 {
		return topics
	}
	names := make(map[string]struct{})
	ids := make(map[[16]byte]struct{})
	out := topics[:0:0]
	for _, rt := range topics {
		if rt.Topic != nil {
			if _, dup := names[*rt.Topic]; dup {
				continue
			}
			names[*rt.Topic] = struct{}{}
		} else {
			if _, dup := ids[rt.TopicID]; dup {
				continue
			}
			ids[rt.TopicID] = struct{}{}
		}
		out = append(out, rt)
	}
	return out
}

var errUnknownTopicID = errors.New("unknown topic id")

func (s *Server) topicByID(id [16]byte) (*log.Topic, error) {
	for _, t := range s.store.Topics() {
		if t.ID == id {
			return t, nil
		}
	}
	return nil, errUnknownTopicID
}

// topicOrCreate returns a topic, creating it when allowed and configured,
// and whether this call created it.
func (s *Server) topicOrCreate(name string, allowCreate bool) (*log.Topic, bool, error) {
	if t, ok := s.store.Topic(name); ok {
		return t, false, nil
	}
	if err := log.ValidateTopicName(name); err != nil {
		return nil, false, err
	}
	if !allowCreate || !s.cfg.AutoCreateTopics {
		return nil, false, log.ErrUnknownTopic
	}
	if refuseInternalCreate(name) != nil {
		// Not with default configs: the coordinators make their topics
		// compacted, and __transaction_state on first use.
		if name != group.OffsetsTopic {
			return nil, false, log.ErrUnknownTopic
		}
		if err := s.groups.EnsureOffsetsTopic(); err != nil {
			return nil, false, err
		}
		t, ok := s.store.Topic(name)
		if !ok {
			return nil, false, log.ErrUnknownTopic
		}
		return t, false, nil
	}
	s.createMu.Lock()
	defer s.createMu.Unlock()
	err := s.store.CreateTopic(name, s.cfg.NumPartitions, nil, false)
	if err != nil && !errors.Is(err, log.ErrTopicExists) {
		return nil, false, err
	}
	if err == nil {
		// Debug: the store logs every topic it creates at Info.
		s.log.Debug("auto-created topic", "topic", name, "partitions", s.cfg.NumPartitions)
	}
	t, ok := s.store.Topic(name)
	if !ok {
		return nil, false, log.ErrUnknownTopic
	}
	return t, err == nil, nil
}

func topicMetadata(t *log.Topic, node int32) kmsg.MetadataResponseTopic {
	mt := kmsg.NewMetadataResponseTopic()
	name := t.Name
	mt.Topic, mt.TopicID = &name, t.ID
	_, mt.IsInternal = internalTopics[t.Name]
	mt.AuthorizedOperations = authorizedOperationsOmitted
	for _, p := range t.Partitions {
		mp := kmsg.NewMetadataResponseTopicPartition()
		mp.Partition = p.ID
		mp.Leader = node
		mp.LeaderEpoch = log.LeaderEpoch
		mp.Replicas = []int32{node}
		mp.ISR = []int32{node}
		mt.Partitions = append(mt.Partitions, mp)
	}
	return mt
}

func handleDescribeCluster(c *conn, kreq kmsg.Request) *pending {
	req := kreq.(*kmsg.DescribeClusterRequest)
	resp := req.ResponseKind().(*kmsg.DescribeClusterResponse)
	s := c.s
	if req.Version >= 1 && req.EndpointType != 1 {
		resp.ErrorCode = kerr.UnsupportedEndpointType.Code
		resp.ErrorMessage = errorMessage(errors.New("this node serves only broker endpoints"))
		return ready(resp)
	}
	resp.ClusterID = s.clusterID
	resp.ControllerID = s.cfg.NodeID
	resp.EndpointType = 1
	b := kmsg.NewDescribeClusterResponseBroker()
	b.NodeID, b.Host, b.Port = s.cfg.NodeID, s.cfg.AdvertisedHost, s.cfg.AdvertisedPort
	resp.Brokers = []kmsg.DescribeClusterResponseBroker{b}
	resp.ClusterAuthorizedOperations = authorizedOperationsOmitted
	return ready(resp)
}
