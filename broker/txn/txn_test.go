package txn

import (
	"testing"
	"time"

	"github.com/sluicehq/sluice/broker/batch"
	"github.com/sluicehq/sluice/broker/group"
	"github.com/sluicehq/sluice/broker/log"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kmsg"
)

var tp0 = TopicPartition{Topic: "t", Partition: 0}

type fixture struct {
	dir    string
	store  *log.Store
	groups *group.Coordinator
	c      *Coordinator
}

func open(t *testing.T, dir string) *fixture {
	t.Helper()
	st, err := log.Open(log.Options{Dir: dir})
	require.NoError(t, err)
	g, err := group.New(group.Config{OffsetsPartitions: 1}, st, nil)
	require.NoError(t, err)
	c, err := New(Config{StatePartitions: 2}, st, g, nil)
	require.NoError(t, err)
	return &fixture{dir, st, g, c}
}

func (f *fixture) close(t *testing.T) {
	t.Helper()
	f.c.Close()
	f.groups.Close()
	require.NoError(t, f.store.Close())
}

func (f *fixture) produce(t *testing.T, p Producer, seq int32) {
	t.Helper()
	b, err := batch.Encode(batch.EncodeOptions{ProducerID: p.ID, ProducerEpoch: p.Epoch, BaseSequence: seq, Transactional: true},
		[]batch.Record{{Value: []byte("v")}})
	require.NoError(t, err)
	part, err := f.store.Partition("t", 0)
	require.NoError(t, err)
	require.NoError(t, f.c.CheckProduce(p, TopicPartition{Topic: "t", Partition: 0}))
	_, err = part.Append(b)
	require.NoError(t, err)
}

func TestInitProducerIDFencesAndValidatesTimeout(t *testing.T) {
	f := open(t, t.TempDir())
	defer f.close(t)
	require.NoError(t, f.store.CreateTopic("t", 1, nil, false))
	_, err := f.c.InitProducerID("x", 900_001, Producer{-1, -1}, f.store.NextProducerID)
	require.ErrorIs(t, err, ErrInvalidTimeout)

	p0, err := f.c.InitProducerID("x", 1000, Producer{-1, -1}, f.store.NextProducerID)
	require.NoError(t, err)
	_, err = f.c.AddPartitions("x", p0, []TopicPartition{tp0})
	require.NoError(t, err)
	f.produce(t, p0, 0)
	part, _ := f.store.Partition("t", 0)
	assert.Equal(t, int64(0), part.LastStableOffset())

	p1, err := f.c.InitProducerID("x", 1000, Producer{-1, -1}, f.store.NextProducerID)
	require.NoError(t, err)
	assert.Equal(t, p0.ID, p1.ID)
	assert.Equal(t, p0.Epoch+1, p1.Epoch)
	_, hw := part.Offsets()
	assert.Equal(t, hw, part.LastStableOffset(), "the fenced producer's transaction was aborted")
	assert.Len(t, part.AbortedTransactions(0, hw), 1)

	require.ErrorIs(t, f.c.EndTxn("x", p0, true), ErrProducerFenced)
	_, err = f.c.AddPartitions("x", p0, []TopicPartition{tp0})
	require.ErrorIs(t, err, ErrProducerFenced)
	require.ErrorIs(t, f.c.CheckProduce(p0, tp0), ErrProducerFenced)
	_, err = f.c.InitProducerID("x", 1000, p0, f.store.NextProducerID)
	require.ErrorIs(t, err, ErrProducerFenced, "KIP-360 re-init with a stale epoch")
}

func TestPrepareCommitIsCompletedOnLoad(t *testing.T) {
	dir := t.TempDir()
	f := open(t, dir)
	require.NoError(t, f.store.CreateTopic("t", 1, nil, false))
	p, err := f.c.InitProducerID("x", 60_000, Producer{-1, -1}, f.store.NextProducerID)
	require.NoError(t, err)
	_, err = f.c.AddPartitions("x", p, []TopicPartition{tp0})
	require.NoError(t, err)
	f.produce(t, p, 0)
	// Crash between persisting PrepareCommit and writing the markers.
	f.c.mu.Lock()
	m := f.c.txns["x"]
	f.c.prepareLocked(m, true)
	rec := m.record()
	f.c.mu.Unlock()
	require.NoError(t, f.c.persist("x", rec))
	f.close(t)

	f = open(t, dir)
	defer f.close(t)
	part, _ := f.store.Partition("t", 0)
	_, hw := part.Offsets()
	assert.Equal(t, hw, part.LastStableOffset(), "the commit marker was written on load")
	assert.Empty(t, part.AbortedTransactions(0, hw))
	assert.Equal(t, kmsg.TransactionStateCompleteCommit, f.c.txns["x"].state)
	require.NoError(t, f.c.EndTxn("x", p, true), "a retried EndTxn after the restart succeeds")
}

func TestOngoingTransactionTimesOutAfterLoad(t *testing.T) {
	dir := t.TempDir()
	f := open(t, dir)
	require.NoError(t, f.store.CreateTopic("t", 1, nil, false))
	p, err := f.c.InitProducerID("x", 50, Producer{-1, -1}, f.store.NextProducerID)
	require.NoError(t, err)
	_, err = f.c.AddPartitions("x", p, []TopicPartition{tp0})
	require.NoError(t, err)
	f.produce(t, p, 0)
	f.close(t)

	f = open(t, dir)
	defer f.close(t)
	part, _ := f.store.Partition("t", 0)
	assert.Equal(t, int64(0), part.LastStableOffset(), "still open after the restart")
	time.Sleep(60 * time.Millisecond)
	f.c.abortExpired()
	_, hw := part.Offsets()
	assert.Equal(t, hw, part.LastStableOffset())
	assert.Len(t, part.AbortedTransactions(0, hw), 1)
	require.ErrorIs(t, f.c.EndTxn("x", p, true), ErrProducerFenced, "the timeout bumped the epoch")
}

func TestPendingOffsetsSurviveRestartIntoCommit(t *testing.T) {
	dir := t.TempDir()
	f := open(t, dir)
	require.NoError(t, f.store.CreateTopic("t", 1, nil, false))
	p, err := f.c.InitProducerID("x", 60_000, Producer{-1, -1}, f.store.NextProducerID)
	require.NoError(t, err)
	_, err = f.c.AddPartitions("x", p, []TopicPartition{tp0})
	require.NoError(t, err)
	f.produce(t, p, 0)
	require.NoError(t, f.c.AddOffsets("x", p, "g"))
	errs, err := f.c.CommitOffsets("x", p, "g", "", "", -1, []group.Commit{{TopicPartition: tp0, Offset: 42, LeaderEpoch: -1}})
	require.NoError(t, err)
	require.NoError(t, errs[0])
	assert.True(t, f.groups.HasPendingTxnOffsets("g", tp0))
	assert.Equal(t, int64(-1), f.groups.FetchOffsets("g", []TopicPartition{tp0})[0].Offset, "pending offsets are invisible")
	// Crash after PrepareCommit is durable.
	f.c.mu.Lock()
	m := f.c.txns["x"]
	f.c.prepareLocked(m, true)
	rec := m.record()
	f.c.mu.Unlock()
	require.NoError(t, f.c.persist("x", rec))
	f.close(t)

	f = open(t, dir)
	assert.Equal(t, int64(42), f.groups.FetchOffsets("g", []TopicPartition{tp0})[0].Offset, "the commit completed on load stored the offsets")
	assert.False(t, f.groups.HasPendingTxnOffsets("g", tp0))
	f.close(t)

	// And an abort drops them, durably.
	f = open(t, dir)
	defer f.close(t)
	p, err = f.c.InitProducerID("x", 60_000, Producer{-1, -1}, f.store.NextProducerID)
	require.NoError(t, err)
	require.NoError(t, f.c.AddOffsets("x", p, "g"))
	_, err = f.c.CommitOffsets("x", p, "g", "", "", -1, []group.Commit{{TopicPartition: tp0, Offset: 99, LeaderEpoch: -1}})
	require.NoError(t, err)
	require.NoError(t, f.c.EndTxn("x", p, false))
	assert.Equal(t, int64(42), f.groups.FetchOffsets("g", []TopicPartition{tp0})[0].Offset)
	assert.False(t, f.groups.HasPendingTxnOffsets("g", tp0))
}
