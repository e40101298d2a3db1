package group

// Persistence: every change of group metadata or committed offsets is one
// record in __consumer_offsets, in Kafka's own formats (kmsg's
// OffsetCommitKey/Value, key version 1, and GroupMetadataKey/Value, key
// version 2), keyed so that compaction keeps the latest per key; a null
// value (tombstone) deletes. A group's records all go to partition
// abs(String.hashCode(group)) % partitions, as in Kafka, so tools that read
// __consumer_offsets find them where they expect.

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/sluicehq/sluice/broker/batch"
	"github.com/sluicehq/sluice/broker/log"
	"github.com/sluicehq/sluice/internal/javafmt"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// OffsetsTopic is the internal topic holding groups and committed offsets.
const OffsetsTopic = "__consumer_offsets"

// write is an appended record set still to be made durable.
type write struct {
	p   *log.Partition
	res log.AppendResult
	err error
}

// sync makes writes durable; it returns the first error.
func (c *Coordinator) sync(ws []write) error {
	var errs []error
	for _, w := range ws {
		if w.err == nil && w.p != nil {
			w.err = w.p.FlushAppended(w.res)
		}
		if w.err != nil {
			errs = append(errs, w.err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("persist group state: %w", errors.Join(errs...))
	}
	return nil
}

// PartitionFor is the internal-topic partition Kafka gives a coordinator
// key (group id, transactional id): Utils.abs(key.hashCode) % partitions.
func PartitionFor(key string, partitions int) int32 {
	h := javafmt.StringHash(key)
	if h == -1<<31 {
		h = 0
	} else if h < 0 {
		h = -h
	}
	return h % int32(partitions)
}

// appendLocked appends records for group to its partition of
// __consumer_offsets, recreating the topic first if it is gone.
func (c *Coordinator) appendLocked(group string, recs []batch.Record) write {
	t, err := c.offsetsTopicLocked()
	if err != nil {
		return write{err: err}
	}
	return appendTo(t, group, recs)
}

// appendTo appends records for group to its partition of t.
func appendTo(t *log.Topic, group string, recs []batch.Record) write {
	return appendToPartition(t.Partitions[PartitionFor(group, len(t.Partitions))], recs)
}

// appendToPartition appends records to one partition of __consumer_offsets.
func appendToPartition(p *log.Partition, recs []batch.Record) write {
	b, err := batch.Encode(batch.EncodeOptions{ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1}, recs)
	if err != nil {
		return write{err: err}
	}
	res, err := p.Append(b)
	if err != nil {
		return write{err: fmt.Errorf("append to %s-%d: %w", OffsetsTopic, p.ID, err)}
	}
	return write{p: p, res: res}
}

func offsetKey(group, topic string, partition int32) []byte {
	k := kmsg.OffsetCommitKey{Version: 1, Group: group, Topic: topic, Partition: partition}
	return k.AppendTo(nil)
}

func offsetRecord(group, topic string, partition int32, o *offset) batch.Record {
	r := batch.Record{Timestamp: time.Now().UnixMilli(), Key: offsetKey(group, topic, partition)}
	if o != nil {
		v := kmsg.NewOffsetCommitValue()
		v.Version = 3
		v.Offset, v.LeaderEpoch, v.Metadata = o.offset, o.leaderEpoch, o.metadata
		v.CommitTimestamp = o.committed.UnixMilli()
		r.Value = v.AppendTo(nil)
	}
	return r
}

// groupRecordLocked appends g's metadata (nil value if g is Dead).
func (c *Coordinator) groupRecordLocked(g *group) write {
	return c.appendLocked(g.id, []batch.Record{c.groupRecord(g)})
}

// groupRecord is g's metadata record (a tombstone if g is Dead).
func (c *Coordinator) groupRecord(g *group) batch.Record {
	k := kmsg.GroupMetadataKey{Version: 2, Group: g.id}
	r := batch.Record{Timestamp: c.now().UnixMilli(), Key: k.AppendTo(nil)}
	if g.state == Dead {
		return r
	}
	v := kmsg.NewGroupMetadataValue()
	v.Version = 3
	v.ProtocolType, v.Generation = g.protocolType, g.generation
	if g.protocol != "" {
		v.Protocol = &g.protocol
	}
	if g.leader != "" {
		v.Leader = &g.leader
	}
	v.CurrentStateTimestamp = -1
	if !g.stateSince.IsZero() {
		v.CurrentStateTimestamp = g.stateSince.UnixMilli()
	}
	for _, m := range g.members {
		vm := kmsg.NewGroupMetadataValueMember()
		vm.MemberID, vm.ClientID, vm.ClientHost = m.id, m.clientID, m.host
		if m.instanceID != "" {
			vm.InstanceID = &m.instanceID
		}
		vm.RebalanceTimeoutMillis = int32(m.rebalanceTimeout.Milliseconds())
		vm.SessionTimeoutMillis = int32(m.sessionTimeout.Milliseconds())
		vm.Subscription, vm.Assignment = m.metadataFor(g.protocol), m.assignment
		v.Members = append(v.Members, vm)
	}
	r.Value = v.AppendTo(nil)
	return r
}

// offsetsTopicConfigs are the configs Kafka gives __consumer_offsets
// (GroupCoordinatorService.groupMetadataTopicConfigs).
func (c *Coordinator) offsetsTopicConfigs() map[string]string {
	return map[string]string{
		"cleanup.policy":   "compact",
		"compression.type": "producer",
		"segment.bytes":    strconv.Itoa(c.cfg.OffsetsSegmentBytes),
	}
}

// createOffsetsTopic creates __consumer_offsets unless it exists and
// returns it.
func (c *Coordinator) createOffsetsTopic() (*log.Topic, error) {
	if t, ok := c.store.Topic(OffsetsTopic); ok && len(t.Partitions) > 0 {
		return t, nil
	}
	err := c.store.CreateTopic(OffsetsTopic, c.cfg.OffsetsPartitions, c.offsetsTopicConfigs(), false)
	if err != nil && !errors.Is(err, log.ErrTopicExists) {
		return nil, fmt.Errorf("create %s: %w", OffsetsTopic, err)
	}
	t, ok := c.store.Topic(OffsetsTopic)
	if !ok || len(t.Partitions) == 0 {
		return nil, fmt.Errorf("open %s: %w", OffsetsTopic, log.ErrUnknownTopic)
	}
	return t, nil
}

// offsetsTopicLocked returns __consumer_offsets. Kafka creates it on
// demand; so does Sluice when it is gone while the broker runs (deleted
// out of band, or by a version that allowed deleting it). The groups and
// offsets still in memory are then written to the new topic, so memory
// and disk agree again and a restart loses nothing. That rewrite is made
// durable under c.mu: it is rare, and no write may slip in before it.
func (c *Coordinator) offsetsTopicLocked() (*log.Topic, error) {
	if t, ok := c.store.Topic(OffsetsTopic); ok && t.ID == c.topicID && len(t.Partitions) > 0 {
		return t, nil
	}
	t, err := c.createOffsetsTopic()
	if err != nil {
		return nil, err
	}
	c.log.Warn("__consumer_offsets was deleted or replaced while the broker ran: writing the groups back to it", "groups", len(c.groups))
	c.topicID = t.ID
	var ws []write
	for _, g := range c.groups {
		recs := make([]batch.Record, 0, 1+len(g.offsets))
		if g.generation > 0 {
			recs = append(recs, c.groupRecord(g))
		}
		for topic, ps := range g.offsets {
			for p, o := range ps {
				recs = append(recs, offsetRecord(g.id, topic, p, &o))
			}
		}
		if len(recs) > 0 {
			ws = append(ws, appendTo(t, g.id, recs))
		}
	}
	if err := c.sync(ws); err != nil {
		return nil, fmt.Errorf("write groups back to %s: %w", OffsetsTopic, err)
	}
	return t, nil
}

// EnsureOffsetsTopic creates __consumer_offsets if it is missing, as
// Kafka's FindCoordinator does for a group key.
func (c *Coordinator) EnsureOffsetsTopic() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, err := c.offsetsTopicLocked()
	return err
}

// load creates __consumer_offsets if missing and replays it.
func (c *Coordinator) load() error {
	t, err := c.createOffsetsTopic()
	if err != nil {
		return err
	}
	c.topicID = t.ID
	for _, p := range t.Partitions {
		if err := p.EachRecord(c.replay); err != nil {
			return fmt.Errorf("load %s-%d: %w", OffsetsTopic, p.ID, err)
		}
	}
	for id, g := range c.groups {
		// A deleted group, or one that only ever held offsets (no
		// metadata record) and has none left: as in Kafka, it is gone.
		if g.state == Dead || (len(g.offsets) == 0 && g.generation == 0 && g.protocolType == "") {
			delete(c.groups, id)
		}
	}
	return nil
}

// replay applies one record; unknown key versions are skipped.
func (c *Coordinator) replay(r batch.Record) {
	if len(r.Key) < 2 {
		return
	}
	switch version := int16(r.Key[0])<<8 | int16(r.Key[1]); version {
	case 0, 1:
		c.replayOffset(r)
	case 2:
		c.replayGroup(r)
	}
}

func (c *Coordinator) replayOffset(r batch.Record) {
	var k kmsg.OffsetCommitKey
	if k.ReadFrom(r.Key) != nil {
		return
	}
	if r.Value == nil {
		if g := c.groups[k.Group]; g != nil {
			g.deleteOffset(k.Topic, k.Partition)
		}
		return
	}
	var v kmsg.OffsetCommitValue
	if v.ReadFrom(r.Value) != nil {
		return
	}
	if v.Version < 3 {
		v.LeaderEpoch = -1
	}
	g := c.groups[k.Group]
	if g == nil {
		// Offsets without group metadata: a simple (standalone) group, whose
		// offsets expire counting from their commits.
		g = newGroup(k.Group, time.Time{})
		c.groups[k.Group] = g
	}
	g.setOffset(k.Topic, k.Partition, offset{offset: v.Offset, leaderEpoch: v.LeaderEpoch, metadata: v.Metadata, committed: time.UnixMilli(v.CommitTimestamp)})
}

func (c *Coordinator) replayGroup(r batch.Record) {
	var k kmsg.GroupMetadataKey
	if k.ReadFrom(r.Key) != nil {
		return
	}
	if r.Value == nil {
		if g := c.groups[k.Group]; g != nil {
			g.state = Dead // dropped after the replay unless offsets come back
			g.offsets = map[string]map[int32]offset{}
			g.generation, g.protocolType, g.protocol = 0, "", ""
			g.stateSince = time.Time{}
		}
		return
	}
	var v kmsg.GroupMetadataValue
	if v.ReadFrom(r.Value) != nil {
		return
	}
	g := c.getOrCreateLocked(k.Group)
	g.state, g.generation, g.protocolType = Empty, v.Generation, v.ProtocolType
	if v.Protocol != nil {
		g.protocol = *v.Protocol
	}
	// The group is loaded without members. If it had some when the broker
	// stopped, it became empty now; else it has been empty since the
	// record's state timestamp (unknown before value version 2).
	switch {
	case len(v.Members) > 0:
		g.stateSince = c.now()
	case v.Version >= 2 && v.CurrentStateTimestamp >= 0:
		g.stateSince = time.UnixMilli(v.CurrentStateTimestamp)
	default:
		g.stateSince = time.Time{}
	}
}

func (g *group) setOffset(topic string, partition int32, o offset) {
	if g.state == Dead {
		g.state = Empty
	}
	ps := g.offsets[topic]
	if ps == nil {
		ps = map[int32]offset{}
		g.offsets[topic] = ps
	}
	ps[partition] = o
}

func (g *group) deleteOffset(topic string, partition int32) {
	delete(g.offsets[topic], partition)
	if len(g.offsets[topic]) == 0 {
		delete(g.offsets, topic)
	}
}
