package txn

// Transactional id expiry (transactional.id.expiration.ms), as Kafka's
// TransactionStateManager.removeExpiredTransactionalIds does it: an id
// whose state has not changed for that long and that is not in a
// transaction (Empty, CompleteCommit or CompleteAbort) is removed. The
// removal is a tombstone in __transaction_state, durable before the id
// leaves memory, so it stays removed after a restart. While the tombstone
// is written the id is busy: its requests get CONCURRENT_TRANSACTIONS and
// are retried, as in Kafka. A producer that comes back later starts over
// with a new producer id.

import (
	"errors"
	"fmt"

	"github.com/sluicehq/sluice/broker/batch"
	"github.com/sluicehq/sluice/broker/group"
	"github.com/sluicehq/sluice/broker/log"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// maxTombstoneBatch bounds the bytes of one batch of tombstones, well under
// the topic's max.message.bytes.
const maxTombstoneBatch = 256 << 10

// expirable reports whether m may expire: not in a transaction.
func (m *txnMeta) expirable() bool {
	switch m.state {
	case kmsg.TransactionStateEmpty, kmsg.TransactionStateCompleteCommit, kmsg.TransactionStateCompleteAbort:
		return !m.completing
	}
	return false
}

// ExpireTransactionalIDs removes the transactional ids unused for
// IDExpiration, durably, and reports how many went. Run calls it every
// RemoveExpiredInterval.
func (c *Coordinator) ExpireTransactionalIDs() (int, error) {
	now := c.cfg.Now()
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return 0, ErrNotAvailable
	}
	var expired []*txnMeta
	for _, m := range c.txns {
		if m.expirable() && now.Sub(m.updated) >= c.cfg.IDExpiration {
			m.completing = true
			expired = append(expired, m)
		}
	}
	c.mu.Unlock()
	if len(expired) == 0 {
		return 0, nil
	}
	err := c.writeTombstones(expired)
	c.mu.Lock()
	for _, m := range expired {
		m.completing = false
		if err != nil {
			continue
		}
		delete(c.txns, m.id)
		if c.byPID[m.pid] == m {
			delete(c.byPID, m.pid)
		}
	}
	if err == nil && 2*len(expired) > len(c.txns) {
		c.shrinkLocked()
	}
	c.mu.Unlock()
	if err != nil {
		return 0, fmt.Errorf("expire %d transactional ids: %w", len(expired), err)
	}
	c.log.Info("expired transactional ids", "count", len(expired), "took", c.cfg.Now().Sub(now))
	return len(expired), nil
}

// shrinkLocked copies the maps after many deletes: Go maps keep their size,
// so the removed entries' memory is only freed this way.
func (c *Coordinator) shrinkLocked() {
	txns := make(map[string]*txnMeta, len(c.txns))
	for id, m := range c.txns {
		txns[id] = m
	}
	byPID := make(map[int64]*txnMeta, len(c.byPID))
	for pid, m := range c.byPID {
		byPID[pid] = m
	}
	c.txns, c.byPID = txns, byPID
}

// writeTombstones appends a metadata tombstone for each id to its partition
// of __transaction_state, in bounded batches, and makes them durable.
func (c *Coordinator) writeTombstones(ms []*txnMeta) error {
	t, err := c.stateTopic()
	if err != nil {
		return err
	}
	ts := c.cfg.Now().UnixMilli()
	byPartition := map[*log.Partition][]batch.Record{}
	for _, m := range ms {
		p := t.Partitions[group.PartitionFor(m.id, len(t.Partitions))]
		byPartition[p] = append(byPartition[p], batch.Record{Timestamp: ts, Key: stateKey(m.id)})
	}
	var errs []error
	for p, recs := range byPartition {
		// All appended, to flush at once: the last one's end, the first
		// one's generation (FlushAppended fails if a recovery from a
		// storage error came in between and may have dropped them).
		var appended log.AppendResult
		first := true
		for len(recs) > 0 {
			n, size := 0, 0
			for n < len(recs) && (n == 0 || size+len(recs[n].Key) < maxTombstoneBatch) {
				size += len(recs[n].Key) + 32
				n++
			}
			b, err := batch.Encode(batch.EncodeOptions{ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1}, recs[:n])
			if err != nil {
				return err
			}
			res, err := p.Append(b)
			if err != nil {
				errs = append(errs, fmt.Errorf("append to %s-%d: %w", StateTopic, p.ID, err))
				break
			}
			if first {
				appended, first = res, false
			}
			appended.LastOffset, recs = res.LastOffset, recs[n:]
		}
		if !first {
			if err := p.FlushAppended(appended); err != nil {
				errs = append(errs, fmt.Errorf("flush %s-%d: %w", StateTopic, p.ID, err))
			}
		}
	}
	return errors.Join(errs...)
}
