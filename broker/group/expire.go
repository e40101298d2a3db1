package group

// Offset expiry (offsets.retention.minutes), with Kafka's semantics since
// KIP-211 (GroupMetadata.removeExpiredOffsets, cleanupGroupMetadata):
//
//   - a group with a protocol type (consumers, Connect workers) that is
//     Empty: every offset expires once the retention has passed since the
//     group became empty (or, when that time is unknown, since the
//     offset's commit);
//   - a Stable consumer group: offsets of topics no member subscribes to
//     expire once the retention has passed since their commit;
//   - a group without a protocol type (a standalone consumer that only
//     commits): each offset expires once the retention has passed since
//     its commit;
//   - any other group keeps its offsets.
//
// An offset held by an open transaction (TxnOffsetCommit) never expires.
// A group left Empty with no offsets and no pending transactional offsets
// is removed. Each removal is a tombstone in __consumer_offsets (for the
// group's metadata only if it ever wrote any), so it stays removed after a
// restart, and the memory is freed.

import (
	"time"

	"github.com/sluicehq/sluice/broker/batch"
	"github.com/sluicehq/sluice/broker/log"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// maxTombstoneBatch bounds the bytes of one batch of tombstones, well under
// the topic's max.message.bytes, so every reader of __consumer_offsets can
// read them.
const maxTombstoneBatch = 256 << 10

// ExpireOffsets removes the offsets whose retention has passed and the
// groups left with nothing, durably, and reports how many of each went.
// Run calls it every OffsetsRetentionCheckInterval.
func (c *Coordinator) ExpireOffsets() (offsets, groups int, err error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return 0, 0, errClosed
	}
	now := c.now()
	tombs := map[string][]batch.Record{} // by group
	for id, g := range c.groups {
		recs := c.expireGroupLocked(g, now)
		offsets += len(recs)
		if g.state == Empty && len(g.offsets) == 0 && len(g.pending) == 0 && len(c.pending[id]) == 0 {
			if g.generation > 0 {
				g.state = Dead
				recs = append(recs, c.groupRecord(g))
			}
			delete(c.groups, id)
			groups++
		}
		if len(recs) > 0 {
			tombs[id] = recs
		}
	}
	if groups > len(c.groups) {
		// Go maps keep their size after deletes: copy what is left so
		// that the memory of the removed groups' entries is freed too.
		kept := make(map[string]*group, len(c.groups))
		for id, g := range c.groups {
			kept[id] = g
		}
		c.groups = kept
	}
	var ws []write
	if len(tombs) > 0 {
		ws = c.appendTombstonesLocked(tombs)
	}
	c.mu.Unlock()
	if err := c.sync(ws); err != nil {
		// The tombstones are written again at the next check only for
		// what is still in memory; a restart before then brings the rest
		// back, to expire again.
		return offsets, groups, err
	}
	if offsets > 0 || groups > 0 {
		c.log.Info("expired committed offsets", "offsets", offsets, "groups", groups, "took", c.now().Sub(now))
	}
	return offsets, groups, nil
}

// expireGroupLocked removes g's expired offsets and returns their
// tombstones.
func (c *Coordinator) expireGroupLocked(g *group, now time.Time) []batch.Record {
	retention := c.cfg.OffsetsRetention
	var since func(o offset) time.Time // what the retention counts from
	var keep map[string]bool           // topics whose offsets stay
	switch {
	case g.protocolType == "":
		since = func(o offset) time.Time { return o.committed }
	case g.state == Empty:
		since = func(o offset) time.Time {
			if g.stateSince.IsZero() {
				return o.committed
			}
			return g.stateSince
		}
	case g.protocolType == "consumer" && g.state == Stable:
		topics, ok := g.subscriptions()
		if !ok {
			return nil
		}
		keep = topics
		since = func(o offset) time.Time { return o.committed }
	default:
		return nil
	}
	var recs []batch.Record
	for topic, ps := range g.offsets {
		if keep[topic] {
			continue
		}
		for p, o := range ps {
			if now.Sub(since(o)) < retention || c.pendingTxnOffsetLocked(g.id, TopicPartition{topic, p}) {
				continue
			}
			g.deleteOffset(topic, p)
			recs = append(recs, offsetRecord(g.id, topic, p, nil))
		}
	}
	return recs
}

// pendingTxnOffsetLocked reports whether an open transaction holds an
// offset for the group's partition.
func (c *Coordinator) pendingTxnOffsetLocked(groupID string, tp TopicPartition) bool {
	for _, staged := range c.pending[groupID] {
		if _, ok := staged[tp]; ok {
			return true
		}
	}
	return false
}

// subscriptions is the set of topics g's members subscribe to, from the
// consumer protocol metadata of the chosen protocol; ok is false if any
// member's metadata cannot be read (then nothing is known to be unused).
func (g *group) subscriptions() (topics map[string]bool, ok bool) {
	topics = map[string]bool{}
	for _, m := range g.members {
		var md kmsg.ConsumerMemberMetadata
		if md.ReadFrom(m.metadataFor(g.protocol)) != nil {
			return nil, false
		}
		for _, t := range md.Topics {
			topics[t] = true
		}
	}
	return topics, true
}

// appendTombstonesLocked appends each group's tombstones to its partition,
// in batches of at most maxTombstoneBatch bytes, and returns the writes to
// make durable.
func (c *Coordinator) appendTombstonesLocked(byGroup map[string][]batch.Record) []write {
	t, err := c.offsetsTopicLocked()
	if err != nil {
		return []write{{err: err}}
	}
	byPartition := map[*log.Partition][]batch.Record{}
	for id, recs := range byGroup {
		p := t.Partitions[PartitionFor(id, len(t.Partitions))]
		byPartition[p] = append(byPartition[p], recs...)
	}
	var ws []write
	for p, recs := range byPartition {
		for len(recs) > 0 {
			n, size := 0, 0
			for n < len(recs) && (n == 0 || size+len(recs[n].Key) < maxTombstoneBatch) {
				size += len(recs[n].Key) + 32
				n++
			}
			ws = append(ws, appendToPartition(p, recs[:n]))
			recs = recs[n:]
		}
	}
	return ws
}
