package txn

import (
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Listed is one transactional id in a ListTransactions answer.
type Listed struct {
	TransactionalID string
	ProducerID      int64
	State           string
}

// List returns the transactional ids whose state is one of states, whose
// producer id is one of pids, and whose transaction has run at least
// minDuration (each filter applies when not empty / positive), sorted by id.
func (c *Coordinator) List(states []string, pids []int64, minDuration time.Duration) []Listed {
	now := c.cfg.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []Listed
	for id, m := range c.txns {
		name := m.state.String()
		switch {
		case len(states) > 0 && !slices.Contains(states, name),
			len(pids) > 0 && !slices.Contains(pids, m.pid),
			minDuration > 0 && (m.state != kmsg.TransactionStateOngoing || now.Sub(m.started) < minDuration):
			continue
		}
		out = append(out, Listed{TransactionalID: id, ProducerID: m.pid, State: name})
	}
	slices.SortFunc(out, func(a, b Listed) int { return strings.Compare(a.TransactionalID, b.TransactionalID) })
	return out
}

// KnownState reports whether name is a transaction state ListTransactions
// can filter on.
func KnownState(name string) bool {
	_, err := kmsg.ParseTransactionState(name)
	return err == nil
}

// Described is one transactional id's state for DescribeTransactions.
type Described struct {
	Found          bool
	State          string
	Timeout        time.Duration
	StartTimestamp int64 // ms, -1 outside a transaction
	Producer       Producer
	Partitions     []TopicPartition // sorted
}

// Describe returns a transactional id's state; Found is false for an
// unknown id.
func (c *Coordinator) Describe(transactionalID string) Described {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.txns[transactionalID]
	if m == nil {
		return Described{}
	}
	d := Described{
		Found: true, State: m.state.String(), Timeout: m.timeout, StartTimestamp: -1,
		Producer: Producer{m.pid, m.epoch},
	}
	if m.state == kmsg.TransactionStateOngoing || m.state == kmsg.TransactionStatePrepareCommit || m.state == kmsg.TransactionStatePrepareAbort {
		d.StartTimestamp = m.started.UnixMilli()
	}
	for tp := range m.parts {
		d.Partitions = append(d.Partitions, tp)
	}
	slices.SortFunc(d.Partitions, func(a, b TopicPartition) int {
		if c := strings.Compare(a.Topic, b.Topic); c != 0 {
			return c
		}
		return int(a.Partition - b.Partition)
	})
	return d
}
