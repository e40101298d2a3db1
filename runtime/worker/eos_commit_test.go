package worker_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/connecttest"
	"github.com/sluicehq/sluice/internal/testenv"
	"github.com/sluicehq/sluice/runtime/connect"
	"github.com/sluicehq/sluice/runtime/worker"
)

// ackSource emits ackRecords records, one a poll, on one source partition
// and notes every Commit the worker makes.
const ackRecords = 20

var (
	acksMu sync.Mutex
	acks   [][]connect.SourceOffset
)

type ackConnector struct{ cfg map[string]string }

func (c *ackConnector) Start(_ connect.ConnectorContext, cfg map[string]string) error {
	c.cfg = cfg
	return nil
}
func (c *ackConnector) TaskConfigs(int) ([]map[string]string, error) {
	return []map[string]string{c.cfg}, nil
}
func (c *ackConnector) Stop() error { return nil }

type ackTask struct{ next int64 }

func (t *ackTask) Start(ctx connect.SourceTaskContext, _ map[string]string) error {
	off, err := ctx.Offset(map[string]any{"src": "x"})
	if err != nil {
		return err
	}
	if n, ok, err := off.Int("n"); err != nil {
		return err
	} else if ok {
		t.next = n + 1
	}
	return nil
}

func (t *ackTask) Poll(ctx context.Context) ([]*connect.Record, error) {
	if t.next >= ackRecords {
		<-ctx.Done()
		return nil, nil
	}
	r := connect.NewSourceRecord(map[string]any{"src": "x"}, map[string]any{"n": t.next}, "acks", nil, nil, connect.StringSchema, "v")
	t.next++
	return []*connect.Record{r}, nil
}

func (t *ackTask) CommitRecord(*connect.Record) error { return nil }
func (t *ackTask) Commit(committed []connect.SourceOffset) error {
	acksMu.Lock()
	defer acksMu.Unlock()
	acks = append(acks, committed)
	return nil
}
func (t *ackTask) Stop() error { return nil }

var ackPlugin = connect.ConnectorPlugin{
	Class:         "test.AckSourceConnector",
	ExactlyOnce:   true,
	NewConnector:  func() connect.Connector { return &ackConnector{} },
	NewSourceTask: func() connect.SourceTask { return &ackTask{} },
}

// Under exactly-once, Commit receives the offsets each committed
// transaction wrote: this task's partition only, advancing with every
// transaction, ending with the offset the offsets topic holds.
func TestExactlyOnceCommitReceivesTheTransactionsOffsets(t *testing.T) {
	ctx := context.Background()
	h := connecttest.StartDistributedWorker(t, testenv.StartBroker(t, nil), "eos-commit", []connect.ConnectorPlugin{ackPlugin})

	_, err := h.CreateConnector(ctx, "acks", map[string]string{"connector.class": ackPlugin.Class, "tasks.max": "1",
		"exactly.once.support": "required"}, worker.TargetStarted)
	require.NoError(t, err)
	last := func() int64 {
		acksMu.Lock()
		defer acksMu.Unlock()
		if len(acks) == 0 {
			return -1
		}
		c := acks[len(acks)-1]
		n, _, _ := c[len(c)-1].Offset.Int("n")
		return n
	}
	require.Eventually(t, func() bool { return last() == ackRecords-1 }, 30*time.Second, 20*time.Millisecond)

	acksMu.Lock()
	prev := int64(-1)
	for _, c := range acks {
		require.Len(t, c, 1, "one source partition")
		assert.Equal(t, map[string]any{"src": "x"}, c[0].Partition)
		n, ok, err := c[0].Offset.Int("n")
		require.NoError(t, err)
		require.True(t, ok)
		assert.Greater(t, n, prev, "each transaction commits offsets past the last")
		prev = n
	}
	acksMu.Unlock()
	offs, err := h.Offsets(ctx, "acks")
	require.NoError(t, err)
	require.Len(t, offs.Offsets, 1)
	assert.Equal(t, connect.Offset{"n": int64(ackRecords - 1)}, connect.Offset(offs.Offsets[0].Offset), "the offsets topic holds what Commit got last")
}
