package txn

import (
	"fmt"
	"math"
	"time"

	"github.com/sluicehq/sluice/broker/group"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Producer is a producer id and epoch.
type Producer struct {
	ID    int64
	Epoch int16
}

// InitProducerID registers transactionalID and returns its producer id and
// a new epoch, fencing older producers. A transaction the old producer left
// open is aborted first. current is the producer the client had (KIP-360,
// InitProducerId v3+), or ID -1; a client naming an older one is fenced.
// newID allocates a producer id.
func (c *Coordinator) InitProducerID(transactionalID string, timeoutMs int32, current Producer, newID func() (int64, error)) (Producer, error) {
	timeout := time.Duration(timeoutMs) * time.Millisecond
	if timeoutMs <= 0 || timeout > c.cfg.MaxTimeout {
		return Producer{-1, -1}, fmt.Errorf("%w: %dms, max %s", ErrInvalidTimeout, timeoutMs, c.cfg.MaxTimeout)
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return Producer{-1, -1}, ErrNotAvailable
	}
	m := c.txns[transactionalID]
	if m != nil && m.completing {
		c.mu.Unlock()
		return Producer{-1, -1}, ErrConcurrentTransactions
	}
	if m != nil && (m.state == kmsg.TransactionStatePrepareCommit || m.state == kmsg.TransactionStatePrepareAbort) {
		// An earlier completion failed part way: finish it first.
		m.completing = true
		c.mu.Unlock()
		if err := c.complete(m); err != nil {
			return Producer{-1, -1}, fmt.Errorf("%w: complete the previous transaction: %w", ErrNotAvailable, err)
		}
		c.mu.Lock()
		if m.completing {
			c.mu.Unlock()
			return Producer{-1, -1}, ErrConcurrentTransactions
		}
	}
	if m != nil && current.ID >= 0 && (current.ID != m.pid || current.Epoch != m.epoch) {
		c.mu.Unlock()
		return Producer{-1, -1}, fmt.Errorf("%w: producer %d epoch %d, current is %d epoch %d", ErrProducerFenced, current.ID, current.Epoch, m.pid, m.epoch)
	}
	if m == nil || m.epoch >= math.MaxInt16-1 {
		id, err := newID()
		if err != nil {
			c.mu.Unlock()
			return Producer{-1, -1}, fmt.Errorf("%w: %w", ErrNotAvailable, err)
		}
		if m == nil {
			m = &txnMeta{id: transactionalID, state: kmsg.TransactionStateEmpty, parts: map[TopicPartition]struct{}{}, groups: map[string]struct{}{}}
			c.txns[transactionalID] = m
		} else {
			delete(c.byPID, m.pid)
		}
		m.pid, m.epoch = id, -1
		c.byPID[id] = m
	}
	m.epoch++
	m.timeout = timeout
	m.updated = c.cfg.Now()
	if m.state == kmsg.TransactionStateOngoing {
		c.prepareLocked(m, false)
		c.mu.Unlock()
		if err := c.complete(m); err != nil {
			return Producer{-1, -1}, fmt.Errorf("%w: abort the fenced producer's transaction: %w", ErrNotAvailable, err)
		}
		c.mu.Lock()
	}
	p, rec := Producer{m.pid, m.epoch}, m.record()
	c.mu.Unlock()
	if err := c.persist(transactionalID, rec); err != nil {
		return Producer{-1, -1}, fmt.Errorf("%w: %w", ErrNotAvailable, err)
	}
	return p, nil
}

// checkLocked finds transactionalID's state and checks the producer is the
// current one and no completion is running.
func (c *Coordinator) checkLocked(transactionalID string, p Producer) (*txnMeta, error) {
	if c.closed {
		return nil, ErrNotAvailable
	}
	m := c.txns[transactionalID]
	switch {
	case m == nil || m.pid != p.ID:
		return nil, fmt.Errorf("%w: transactional id %q, producer %d", ErrInvalidProducerIDMapping, transactionalID, p.ID)
	case p.Epoch < m.epoch:
		return nil, fmt.Errorf("%w: transactional id %q epoch %d, current %d", ErrProducerFenced, transactionalID, p.Epoch, m.epoch)
	case p.Epoch > m.epoch:
		return nil, fmt.Errorf("%w: transactional id %q epoch %d, current %d", ErrInvalidProducerEpoch, transactionalID, p.Epoch, m.epoch)
	case m.completing || m.state == kmsg.TransactionStatePrepareCommit || m.state == kmsg.TransactionStatePrepareAbort:
		return nil, ErrConcurrentTransactions
	}
	return m, nil
}

// begin moves m to Ongoing if it is not already.
func (c *Coordinator) beginLocked(m *txnMeta) {
	if m.state != kmsg.TransactionStateOngoing {
		m.state = kmsg.TransactionStateOngoing
		m.started = c.cfg.Now()
		m.parts, m.groups, m.offsets = map[TopicPartition]struct{}{}, map[string]struct{}{}, nil
	}
	m.updated = c.cfg.Now()
}

// AddPartitions adds partitions to the producer's transaction, starting it
// if needed. It returns one error per partition (unknown partitions), or an
// error for all.
func (c *Coordinator) AddPartitions(transactionalID string, p Producer, parts []TopicPartition) ([]error, error) {
	errs := make([]error, len(parts))
	bad := false
	for i, tp := range parts {
		if _, err := c.store.Partition(tp.Topic, tp.Partition); err != nil {
			errs[i], bad = fmt.Errorf("%w: %s-%d", ErrUnknownPartition, tp.Topic, tp.Partition), true
		}
	}
	c.mu.Lock()
	m, err := c.checkLocked(transactionalID, p)
	if err != nil || bad {
		c.mu.Unlock()
		return errs, err
	}
	c.beginLocked(m)
	for _, tp := range parts {
		m.parts[tp] = struct{}{}
	}
	rec := m.record()
	c.mu.Unlock()
	if err := c.persist(transactionalID, rec); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotAvailable, err)
	}
	return errs, nil
}

// AddOffsets adds a consumer group to the producer's transaction, so that
// its TxnOffsetCommits are committed or dropped with it.
func (c *Coordinator) AddOffsets(transactionalID string, p Producer, groupID string) error {
	c.mu.Lock()
	m, err := c.checkLocked(transactionalID, p)
	if err != nil {
		c.mu.Unlock()
		return err
	}
	c.beginLocked(m)
	m.groups[groupID] = struct{}{}
	rec := m.record()
	c.mu.Unlock()
	if err := c.persist(transactionalID, rec); err != nil {
		return fmt.Errorf("%w: %w", ErrNotAvailable, err)
	}
	return nil
}

// CommitOffsets stages a TxnOffsetCommit: the group must have been added
// to the producer's ongoing transaction.
func (c *Coordinator) CommitOffsets(transactionalID string, p Producer, groupID, memberID, instanceID string, generation int32, commits []group.Commit) ([]error, error) {
	c.mu.Lock()
	m, err := c.checkLocked(transactionalID, p)
	if err == nil && m.state != kmsg.TransactionStateOngoing {
		err = fmt.Errorf("%w: TxnOffsetCommit outside a transaction", ErrInvalidTxnState)
	}
	if err == nil {
		if _, ok := m.groups[groupID]; !ok {
			err = fmt.Errorf("%w: group %q was not added to the transaction", ErrInvalidTxnState, groupID)
		}
	}
	c.mu.Unlock()
	if err != nil {
		return nil, err
	}
	errs, err := c.groups.StageTxnOffsets(groupID, memberID, instanceID, generation, p.ID, commits)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if m.pid != p.ID || m.epoch != p.Epoch || m.state != kmsg.TransactionStateOngoing || m.completing {
		// Ended or fenced meanwhile: EndTxn already dealt with the group.
		c.mu.Unlock()
		return nil, ErrConcurrentTransactions
	}
	value, err := m.stageLocked(groupID, commits, errs)
	c.mu.Unlock()
	if err == nil {
		err = c.persistRecord(transactionalID, pendingKey(transactionalID), value)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotAvailable, err)
	}
	return errs, nil
}

// EndTxn commits or aborts the producer's transaction, writing the markers
// before it returns. A retry of a finished EndTxn succeeds again.
func (c *Coordinator) EndTxn(transactionalID string, p Producer, commit bool) error {
	c.mu.Lock()
	m := c.txns[transactionalID]
	if m != nil && !m.completing && m.pid == p.ID && m.epoch == p.Epoch &&
		(m.state == kmsg.TransactionStatePrepareCommit && commit || m.state == kmsg.TransactionStatePrepareAbort && !commit) {
		// An earlier completion failed part way: resume it.
		m.completing = true
		c.mu.Unlock()
		return wrapUnavailable(c.complete(m))
	}
	m, err := c.checkLocked(transactionalID, p)
	if err != nil {
		c.mu.Unlock()
		return err
	}
	switch {
	case m.state == kmsg.TransactionStateCompleteCommit && commit, m.state == kmsg.TransactionStateCompleteAbort && !commit:
		c.mu.Unlock()
		return nil // a retry
	case m.state != kmsg.TransactionStateOngoing:
		c.mu.Unlock()
		return fmt.Errorf("%w: EndTxn in state %s", ErrInvalidTxnState, m.state)
	}
	c.prepareLocked(m, commit)
	c.mu.Unlock()
	return wrapUnavailable(c.complete(m))
}

func wrapUnavailable(err error) error {
	if err != nil {
		return fmt.Errorf("%w: %w", ErrNotAvailable, err)
	}
	return nil
}

// CheckProduce checks a transactional batch of producer p for partition tp:
// the producer must be current and have added the partition to its ongoing
// transaction.
func (c *Coordinator) CheckProduce(p Producer, tp TopicPartition) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.byPID[p.ID]
	if m == nil {
		return fmt.Errorf("%w: producer %d has no transactional id", ErrInvalidProducerIDMapping, p.ID)
	}
	if p.Epoch < m.epoch {
		return fmt.Errorf("%w: producer %d epoch %d, current %d", ErrProducerFenced, p.ID, p.Epoch, m.epoch)
	}
	if _, ok := m.parts[tp]; !ok || m.state != kmsg.TransactionStateOngoing || p.Epoch != m.epoch {
		return fmt.Errorf("%w: %s-%d is not in producer %d epoch %d's transaction (state %s, epoch %d, %d partitions)", ErrInvalidTxnState, tp.Topic, tp.Partition, p.ID, p.Epoch, m.state, m.epoch, len(m.parts))
	}
	return nil
}
