package txn

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/sluicehq/sluice/broker/batch"
	"github.com/sluicehq/sluice/broker/group"
	"github.com/sluicehq/sluice/broker/log"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// StateTopic is the internal topic holding transactional ids' state.
const StateTopic = "__transaction_state"

// record is m's value record (TxnMetadataValue v0).
func (m *txnMeta) record() []byte {
	v := kmsg.NewTxnMetadataValue()
	v.ProducerID, v.ProducerEpoch = m.pid, m.epoch
	v.TimeoutMillis = int32(m.timeout / time.Millisecond)
	v.State = m.state
	v.LastUpdateTimestamp = m.updated.UnixMilli()
	v.StartTimestamp = -1
	if m.state == kmsg.TransactionStateOngoing || m.state == kmsg.TransactionStatePrepareCommit || m.state == kmsg.TransactionStatePrepareAbort {
		v.StartTimestamp = m.started.UnixMilli()
	}
	byTopic := map[string][]int32{}
	for tp := range m.parts {
		byTopic[tp.Topic] = append(byTopic[tp.Topic], tp.Partition)
	}
	for t, ps := range byTopic {
		slices.Sort(ps)
		vt := kmsg.NewTxnMetadataValueTopic()
		vt.Topic, vt.Partitions = t, ps
		v.Topics = append(v.Topics, vt)
	}
	return v.AppendTo(nil)
}

func stateKey(transactionalID string) []byte {
	k := kmsg.NewTxnMetadataKey()
	k.TransactionalID = transactionalID
	return k.AppendTo(nil)
}

// persist appends a transactional id's metadata record and makes it
// durable.
func (c *Coordinator) persist(transactionalID string, value []byte) error {
	return c.persistRecord(transactionalID, stateKey(transactionalID), value)
}

// persistRecord appends one record to the transactional id's partition of
// __transaction_state and makes it durable; a nil value is a tombstone.
func (c *Coordinator) persistRecord(transactionalID string, key, value []byte) error {
	t, err := c.stateTopic()
	if err != nil {
		return err
	}
	p := t.Partitions[group.PartitionFor(transactionalID, len(t.Partitions))]
	b, err := batch.Encode(batch.EncodeOptions{ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1},
		[]batch.Record{{Timestamp: c.cfg.Now().UnixMilli(), Key: key, Value: value}})
	if err != nil {
		return err
	}
	res, err := p.Append(b)
	if err != nil {
		return fmt.Errorf("append to %s-%d: %w", StateTopic, p.ID, err)
	}
	if err := p.FlushAppended(res); err != nil {
		return fmt.Errorf("flush %s-%d: %w", StateTopic, p.ID, err)
	}
	return nil
}

// load reads __transaction_state when it exists; the topic is created on
// the first transactional InitProducerID, so brokers that never see a
// transaction do not carry it.
// It returns the pending offsets of transactions not yet complete.
func (c *Coordinator) load() (map[string]pendingOffsets, error) {
	loaded := map[string]pendingOffsets{}
	t, ok := c.store.Topic(StateTopic)
	if !ok {
		return loaded, nil
	}
	for _, p := range t.Partitions {
		if err := p.EachRecord(func(r batch.Record) { c.replay(r, loaded) }); err != nil {
			return nil, fmt.Errorf("load %s-%d: %w", StateTopic, p.ID, err)
		}
	}
	for _, m := range c.txns {
		c.byPID[m.pid] = m
	}
	return loaded, nil
}

// stateTopic returns __transaction_state, creating it if needed.
func (c *Coordinator) stateTopic() (*log.Topic, error) {
	if t, ok := c.store.Topic(StateTopic); ok {
		return t, nil
	}
	// Kafka's configs for it (TransactionStateManager.transactionTopicConfigs).
	err := c.store.CreateTopic(StateTopic, c.cfg.StatePartitions, map[string]string{
		"cleanup.policy":                 "compact",
		"compression.type":               "uncompressed",
		"unclean.leader.election.enable": "false",
		"segment.bytes":                  strconv.Itoa(c.cfg.StateSegmentBytes),
	}, false)
	if err != nil && !errors.Is(err, log.ErrTopicExists) {
		return nil, fmt.Errorf("create %s: %w", StateTopic, err)
	}
	t, ok := c.store.Topic(StateTopic)
	if !ok || len(t.Partitions) == 0 {
		return nil, fmt.Errorf("open %s: %w", StateTopic, log.ErrUnknownTopic)
	}
	return t, nil
}

// replay applies one record; unknown key versions are skipped.
func (c *Coordinator) replay(r batch.Record, loaded map[string]pendingOffsets) {
	if id, ok := parsePendingKey(r.Key); ok {
		var po pendingOffsets
		switch {
		case r.Value == nil:
			delete(loaded, id)
		case json.Unmarshal(r.Value, &po) == nil:
			loaded[id] = po
		default:
			c.log.Warn("skipping unreadable pending offsets record", "transactional.id", id)
		}
		return
	}
	var k kmsg.TxnMetadataKey
	if k.ReadFrom(r.Key) != nil || k.Version != 0 {
		return
	}
	if r.Value == nil {
		delete(c.txns, k.TransactionalID)
		return
	}
	var v kmsg.TxnMetadataValue
	if err := v.ReadFrom(r.Value); err != nil {
		c.log.Warn("skipping unreadable transaction state record", "transactional.id", k.TransactionalID, "err", err)
		return
	}
	m := &txnMeta{
		id: k.TransactionalID, pid: v.ProducerID, epoch: v.ProducerEpoch,
		timeout: time.Duration(v.TimeoutMillis) * time.Millisecond, state: v.State,
		parts: map[TopicPartition]struct{}{}, groups: map[string]struct{}{},
		started: time.UnixMilli(v.StartTimestamp), updated: time.UnixMilli(v.LastUpdateTimestamp),
	}
	for _, t := range v.Topics {
		for _, p := range t.Partitions {
			m.parts[TopicPartition{Topic: t.Topic, Partition: p}] = struct{}{}
		}
	}
	c.txns[k.TransactionalID] = m
}
