package group

// Persistence: every change of group metadata or committed offsets is one
// record in __consumer_offsets, in Kafka's own formats (kmsg's
// OffsetCommitKey/Value, key version 1, and GroupMetadataKey/Value, key
// version 2), keyed so that compaction keeps the latest per key; a null
// value (tombstone) deletes. A group's records all go to partition
// abs(javaHashCode(group)) % partitions, as in Kafka, so tools that read
// __consumer_offsets find them where they expect.

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/sluicehq/sluice/broker/batch"
	"github.com/sluicehq/sluice/broker/log"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// OffsetsTopic is the internal topic holding groups and committed offsets.
const OffsetsTopic = "__consumer_offsets"

// write is an appended record set still to be made durable.
type write struct {
	p    *log.Partition
	upTo int64
	err  error
}

// sync makes writes durable; it returns the first error.
func (c *Coordinator) sync(ws []write) error {
	var errs []error
	for _, w := range ws {
		if w.err == nil && w.p != nil {
			w.err = w.p.Flush(w.upTo)
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

// javaHashCode is Java's String.hashCode over UTF-16 code units.
func javaHashCode(s string) int32 {
	var h int32
	for _, r := range s {
		if r >= 0x10000 {
			r -= 0x10000
			h = 31*h + int32(0xD800+(r>>10))
			h = 31*h + int32(0xDC00+(r&0x3FF))
			continue
		}
		h = 31*h + int32(r)
	}
	return h
}

// PartitionFor is the internal-topic partition Kafka gives a coordinator
// key (group id, transactional id): Utils.abs(key.hashCode) % partitions.
func PartitionFor(key string, partitions int) int32 {
	h := javaHashCode(key)
	if h == -1<<31 {
		h = 0
	} else if h < 0 {
		h = -h
	}
	return h % int32(partitions)
}

// appendLocked appends records for group to its partition.
func (c *Coordinator) appendLocked(group string, recs []batch.Record) write {
	t, ok := c.store.Topic(OffsetsTopic)
	if !ok || len(t.Partitions) == 0 {
		return write{err: fmt.Errorf("append to %s: %w", OffsetsTopic, log.ErrUnknownTopic)}
	}
	p := t.Partitions[PartitionFor(group, len(t.Partitions))]
	b, err := batch.Encode(batch.EncodeOptions{ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1}, recs)
	if err != nil {
		return write{err: err}
	}
	res, err := p.Append(b)
	if err != nil {
		return write{err: fmt.Errorf("append to %s-%d: %w", OffsetsTopic, p.ID, err)}
	}
	return write{p: p, upTo: res.LastOffset + 1}
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
	k := kmsg.GroupMetadataKey{Version: 2, Group: g.id}
	r := batch.Record{Timestamp: c.now().UnixMilli(), Key: k.AppendTo(nil)}
	if g.state != Dead {
		v := kmsg.NewGroupMetadataValue()
		v.Version = 3
		v.ProtocolType, v.Generation = g.protocolType, g.generation
		if g.protocol != "" {
			v.Protocol = &g.protocol
		}
		if g.leader != "" {
			v.Leader = &g.leader
		}
		v.CurrentStateTimestamp = c.now().UnixMilli()
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
	}
	return c.appendLocked(g.id, []batch.Record{r})
}

// load creates __consumer_offsets if missing and replays it.
func (c *Coordinator) load() error {
	if _, ok := c.store.Topic(OffsetsTopic); !ok {
		err := c.store.CreateTopic(OffsetsTopic, c.cfg.OffsetsPartitions, map[string]string{
			"cleanup.policy": "compact",
			"segment.bytes":  strconv.Itoa(c.cfg.OffsetsSegmentBytes),
		}, false)
		if err != nil && !errors.Is(err, log.ErrTopicExists) {
			return fmt.Errorf("create %s: %w", OffsetsTopic, err)
		}
	}
	t, ok := c.store.Topic(OffsetsTopic)
	if !ok {
		return fmt.Errorf("load %s: %w", OffsetsTopic, log.ErrUnknownTopic)
	}
	for _, p := range t.Partitions {
		if err := p.EachRecord(c.replay); err != nil {
			return fmt.Errorf("load %s-%d: %w", OffsetsTopic, p.ID, err)
		}
	}
	for id, g := range c.groups {
		if g.state == Dead {
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
		var k kmsg.OffsetCommitKey
		if k.ReadFrom(r.Key) != nil {
			return
		}
		g := c.getOrCreateLocked(k.Group)
		if r.Value == nil {
			g.deleteOffset(k.Topic, k.Partition)
			return
		}
		var v kmsg.OffsetCommitValue
		if v.ReadFrom(r.Value) != nil {
			return
		}
		if v.Version < 3 {
			v.LeaderEpoch = -1
		}
		g.setOffset(k.Topic, k.Partition, offset{offset: v.Offset, leaderEpoch: v.LeaderEpoch, metadata: v.Metadata, committed: time.UnixMilli(v.CommitTimestamp)})
	case 2:
		var k kmsg.GroupMetadataKey
		if k.ReadFrom(r.Key) != nil {
			return
		}
		if r.Value == nil {
			if g := c.groups[k.Group]; g != nil {
				g.state = Dead // dropped after the replay unless offsets come back
				g.offsets = map[string]map[int32]offset{}
				g.generation, g.protocolType, g.protocol = 0, "", ""
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
