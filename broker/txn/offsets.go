package txn

// Durable pending offsets. The offsets a transaction commits for its groups
// (TxnOffsetCommit) are held pending in the group coordinator, in memory;
// so that a restart can still commit them, the coordinator also writes them
// to __transaction_state under the transactional id, with a key version of
// its own (pendingKeyVersion; Kafka's readers skip key versions they do not
// know), and a tombstone once the transaction is complete. On load they are
// staged again in the group coordinator before Prepare* transactions are
// completed.

import (
	"encoding/binary"
	"encoding/json"
	"fmt"

	"github.com/sluicehq/sluice/broker/group"
)

// pendingKeyVersion marks Sluice's pending-offsets records in
// __transaction_state (Kafka uses key version 0 for transaction metadata).
const pendingKeyVersion = 0x5301

// pendingOffsets is the value of a pending-offsets record.
type pendingOffsets struct {
	ProducerID int64                     `json:"pid"`
	Groups     map[string][]group.Commit `json:"groups"`
}

func pendingKey(transactionalID string) []byte {
	b := binary.BigEndian.AppendUint16(nil, pendingKeyVersion)
	b = binary.BigEndian.AppendUint16(b, uint16(len(transactionalID)))
	return append(b, transactionalID...)
}

// parsePendingKey returns the transactional id of a pending-offsets key.
func parsePendingKey(k []byte) (string, bool) {
	if len(k) < 4 || binary.BigEndian.Uint16(k) != pendingKeyVersion {
		return "", false
	}
	n := int(binary.BigEndian.Uint16(k[2:]))
	if len(k) != 4+n {
		return "", false
	}
	return string(k[4:]), true
}

// stageLocked records commits as m's pending offsets for groupID and
// returns the record value to persist.
func (m *txnMeta) stageLocked(groupID string, commits []group.Commit, errs []error) ([]byte, error) {
	if m.offsets == nil {
		m.offsets = map[string]map[TopicPartition]group.Commit{}
	}
	staged := m.offsets[groupID]
	if staged == nil {
		staged = map[TopicPartition]group.Commit{}
		m.offsets[groupID] = staged
	}
	for i, cm := range commits {
		if errs[i] == nil {
			staged[cm.TopicPartition] = cm
		}
	}
	v := pendingOffsets{ProducerID: m.pid, Groups: map[string][]group.Commit{}}
	for g, byTP := range m.offsets {
		for _, cm := range byTP {
			v.Groups[g] = append(v.Groups[g], cm)
		}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode pending offsets: %w", err)
	}
	return b, nil
}

// restagePending stages again, in the group coordinator, the offsets of
// transactions that were not complete when the broker stopped.
func (c *Coordinator) restagePending(loaded map[string]pendingOffsets) error {
	for id, po := range loaded {
		m := c.txns[id]
		if m == nil || m.pid != po.ProducerID || !m.inProgress() {
			continue
		}
		m.offsets = map[string]map[TopicPartition]group.Commit{}
		for g, commits := range po.Groups {
			if _, err := c.groups.StageTxnOffsets(g, "", "", -1, po.ProducerID, commits); err != nil {
				return fmt.Errorf("restage offsets of transactional id %q for group %q: %w", id, g, err)
			}
			m.groups[g] = struct{}{}
			m.offsets[g] = map[TopicPartition]group.Commit{}
			for _, cm := range commits {
				m.offsets[g][cm.TopicPartition] = cm
			}
		}
	}
	return nil
}
