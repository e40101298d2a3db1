package group

import (
	"fmt"
	"slices"

	"github.com/sluicehq/sluice/broker/batch"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TopicPartition names one partition.
type TopicPartition struct {
	Topic     string
	Partition int32
}

// Commit is one committed offset.
type Commit struct {
	TopicPartition
	Offset      int64
	LeaderEpoch int32
	Metadata    string
}

// CommitOffsets stores offsets for a group, durably before it returns.
// Generation -1 with no member id is a "simple" commit, allowed while the
// group has no members. It returns one error per commit (metadata too
// large); the returned error applies to all of them.
func (c *Coordinator) CommitOffsets(groupID, memberID, instanceID string, generation int32, commits []Commit) ([]error, error) {
	if groupID == "" {
		return nil, ErrInvalidGroupID
	}
	c.mu.Lock()
	if err := c.checkLocked(); err != nil {
		c.mu.Unlock()
		return nil, err
	}
	// As in Kafka: a negative generation on a group without members is an
	// admin ("simple") commit; a generation for a group that does not exist
	// is from an older life of the group.
	g := c.groups[groupID]
	var err error
	switch {
	case g == nil && generation >= 0:
		err = ErrIllegalGeneration
	case g == nil || (generation < 0 && g.state == Empty):
	default:
		err = c.checkCommitterLocked(groupID, memberID, instanceID, generation)
	}
	if err != nil {
		c.mu.Unlock()
		return nil, err
	}
	errs, w := c.storeOffsetsLocked(groupID, commits)
	c.mu.Unlock()
	if err := c.sync([]write{w}); err != nil {
		return nil, err
	}
	return errs, nil
}

// storeOffsetsLocked sets and appends the offsets; the caller makes the
// write durable after releasing the lock.
func (c *Coordinator) storeOffsetsLocked(groupID string, commits []Commit) ([]error, write) {
	g := c.getOrCreateLocked(groupID)
	errs := make([]error, len(commits))
	var recs []batch.Record
	now := c.now()
	for i, cm := range commits {
		if len(cm.Metadata) > c.cfg.MaxMetadataSize {
			errs[i] = ErrOffsetMetadataTooLarge
			continue
		}
		o := offset{offset: cm.Offset, leaderEpoch: cm.LeaderEpoch, metadata: cm.Metadata, committed: now}
		g.setOffset(cm.Topic, cm.Partition, o)
		recs = append(recs, offsetRecord(groupID, cm.Topic, cm.Partition, &o))
	}
	var w write
	if len(recs) > 0 {
		w = c.appendLocked(groupID, recs)
	}
	return errs, w
}

func (c *Coordinator) checkCommitterLocked(groupID, memberID, instanceID string, generation int32) error {
	g, m, err := c.memberLocked(groupID, memberID, instanceID)
	if err != nil {
		return err
	}
	if generation != g.generation {
		return ErrIllegalGeneration
	}
	if g.state == CompletingRebalance {
		return ErrRebalanceInProgress
	}
	m.lastSeen = c.now()
	return nil
}

// Fetched is one committed offset; Offset -1 when there is none.
type Fetched struct {
	TopicPartition
	Offset      int64
	LeaderEpoch int32
	Metadata    string
}

// FetchOffsets returns the group's committed offsets for the partitions
// asked, or all of them when parts is nil. An unknown group or partition
// gets offset -1 and no error, as in Kafka.
func (c *Coordinator) FetchOffsets(groupID string, parts []TopicPartition) []Fetched {
	c.mu.Lock()
	defer c.mu.Unlock()
	g := c.groups[groupID]
	var out []Fetched
	if parts == nil {
		if g == nil {
			return nil
		}
		for t, ps := range g.offsets {
			for p, o := range ps {
				out = append(out, Fetched{TopicPartition{t, p}, o.offset, o.leaderEpoch, o.metadata})
			}
		}
		slices.SortFunc(out, func(a, b Fetched) int {
			if a.Topic != b.Topic {
				return compareStrings(a.Topic, b.Topic)
			}
			return int(a.Partition - b.Partition)
		})
		return out
	}
	for _, tp := range parts {
		f := Fetched{TopicPartition: tp, Offset: -1, LeaderEpoch: -1}
		if g != nil {
			if o, ok := g.offsets[tp.Topic][tp.Partition]; ok {
				f.Offset, f.LeaderEpoch, f.Metadata = o.offset, o.leaderEpoch, o.metadata
			}
		}
		out = append(out, f)
	}
	return out
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// DeleteOffsets removes committed offsets of a group. A consumer group's
// members must not be subscribed to the topic (ErrGroupSubscribedToTopic,
// per partition); a group of another protocol type must be empty.
func (c *Coordinator) DeleteOffsets(groupID string, parts []TopicPartition) ([]error, error) {
	c.mu.Lock()
	g := c.groups[groupID]
	if g == nil {
		c.mu.Unlock()
		return nil, fmt.Errorf("group %q: %w", groupID, ErrGroupNotFound)
	}
	var subscribed map[string]bool
	if len(g.members) > 0 {
		if g.protocolType != "consumer" {
			c.mu.Unlock()
			return nil, ErrNonEmptyGroup
		}
		subscribed = g.subscribedTopics()
	}
	errs := make([]error, len(parts))
	var recs []batch.Record
	for i, tp := range parts {
		if subscribed[tp.Topic] {
			errs[i] = ErrGroupSubscribedToTopic
			continue
		}
		if _, ok := g.offsets[tp.Topic][tp.Partition]; ok {
			g.deleteOffset(tp.Topic, tp.Partition)
			recs = append(recs, offsetRecord(groupID, tp.Topic, tp.Partition, nil))
		}
	}
	var w write
	if len(recs) > 0 {
		w = c.appendLocked(groupID, recs)
	}
	c.mu.Unlock()
	return errs, c.sync([]write{w})
}

// subscribedTopics decodes the consumer protocol metadata of every member.
func (g *group) subscribedTopics() map[string]bool {
	out := map[string]bool{}
	for _, m := range g.members {
		var md kmsg.ConsumerMemberMetadata
		meta := m.metadataFor(g.protocol)
		if meta == nil && len(m.protocols) > 0 {
			meta = m.protocols[0].Metadata
		}
		if md.ReadFrom(meta) != nil {
			continue
		}
		for _, t := range md.Topics {
			out[t] = true
		}
	}
	return out
}
