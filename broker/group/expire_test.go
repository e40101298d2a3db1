package group

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/sluicehq/sluice/broker/log"
	"github.com/sluicehq/sluice/internal/testclock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func newClock() *testclock.Clock { return testclock.New(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)) }

const retention = time.Hour

// openExpiring opens a coordinator over dir with a one-hour offset
// retention on clk; reopen gives the one after a restart.
func openExpiring(t *testing.T, dir string, clk *testclock.Clock) (c *Coordinator, reopen func() *Coordinator) {
	t.Helper()
	var store *log.Store
	open := func() *Coordinator {
		store = openStore(t, dir)
		c, err := New(Config{MinSessionTimeout: 10 * time.Millisecond, MaxSessionTimeout: 100 * time.Hour, OffsetsPartitions: 3, OffsetsRetention: retention, Now: clk.Now}, store, nil)
		require.NoError(t, err)
		return c
	}
	c = open()
	t.Cleanup(func() { store.Close() })
	return c, func() *Coordinator {
		require.NoError(t, store.Close())
		return open()
	}
}

func commit(t *testing.T, c *Coordinator, group, member string, gen int32, tps ...TopicPartition) {
	t.Helper()
	var cs []Commit
	for _, tp := range tps {
		cs = append(cs, Commit{TopicPartition: tp, Offset: 7, LeaderEpoch: -1})
	}
	errs, err := c.CommitOffsets(group, member, "", gen, cs)
	require.NoError(t, err)
	for _, e := range errs {
		require.NoError(t, e)
	}
}

func committed(c *Coordinator, group string, tp TopicPartition) int64 {
	return c.FetchOffsets(group, []TopicPartition{tp})[0].Offset
}

func expire(t *testing.T, c *Coordinator) (int, int) {
	t.Helper()
	o, g, err := c.ExpireOffsets()
	require.NoError(t, err)
	return o, g
}

// consumerJoin makes one consumer member subscribed to topics join and
// sync group.
func consumerJoin(t *testing.T, c *Coordinator, group string, topics ...string) JoinResult {
	t.Helper()
	meta := (&kmsg.ConsumerMemberMetadata{Topics: topics}).AppendTo(nil)
	req := joinReq(group, "")
	req.Protocols = []Protocol{{Name: "range", Metadata: meta}}
	req.SessionTimeout = time.Hour
	r := joinNew(t, c, req)
	require.NoError(t, r.Err)
	require.NoError(t, c.Sync(context.Background(), SyncRequest{Group: group, MemberID: r.MemberID, Generation: r.Generation}).Err)
	return r
}

var (
	tp0 = TopicPartition{"t1", 0}
	tp1 = TopicPartition{"t2", 0}
)

func TestSimpleGroupOffsetsExpireFromCommit(t *testing.T) {
	clk := newClock()
	c, reopen := openExpiring(t, t.TempDir(), clk)
	commit(t, c, "simple", "", -1, tp0)
	clk.Add(30 * time.Minute)
	commit(t, c, "simple", "", -1, tp1)
	clk.Add(31 * time.Minute)

	o, g := expire(t, c)
	assert.Equal(t, 1, o, "only the offset committed over an hour ago")
	assert.Zero(t, g)
	assert.Equal(t, int64(-1), committed(c, "simple", tp0))
	assert.Equal(t, int64(7), committed(c, "simple", tp1))

	clk.Add(30 * time.Minute)
	o, g = expire(t, c)
	assert.Equal(t, 1, o)
	assert.Equal(t, 1, g, "a group left with nothing is removed")
	assert.Empty(t, c.List(nil))

	c = reopen()
	assert.Empty(t, c.List(nil), "the removal survives a restart")
	assert.Equal(t, int64(-1), committed(c, "simple", tp1))
}

func TestConsumerGroupOffsetsExpire(t *testing.T) {
	clk := newClock()
	c, reopen := openExpiring(t, t.TempDir(), clk)
	m := consumerJoin(t, c, "g", "t1")
	commit(t, c, "g", m.MemberID, m.Generation, tp0, tp1)
	clk.Add(2 * retention)

	// Stable: the subscribed topic's offset stays however old it is; the
	// other topic's expires.
	o, g := expire(t, c)
	assert.Equal(t, 1, o)
	assert.Zero(t, g)
	assert.Equal(t, int64(7), committed(c, "g", tp0))
	assert.Equal(t, int64(-1), committed(c, "g", tp1))

	// Empty: offsets count from when the group became empty, not from
	// their (long past) commit.
	_, err := c.Leave("g", []Leaver{{MemberID: m.MemberID}})
	require.NoError(t, err)
	require.Equal(t, Empty, c.Describe("g").State)
	clk.Add(retention - time.Minute)
	o, g = expire(t, c)
	assert.Zero(t, o)
	assert.Zero(t, g)
	assert.Equal(t, int64(7), committed(c, "g", tp0))

	// Across a restart the group is still empty since the same time.
	c = reopen()
	assert.Equal(t, int64(7), committed(c, "g", tp0))
	clk.Add(2 * time.Minute)
	o, g = expire(t, c)
	assert.Equal(t, 1, o)
	assert.Equal(t, 1, g)
	assert.Equal(t, Dead, c.Describe("g").State)

	c = reopen()
	assert.Empty(t, c.List(nil), "the group's tombstone keeps it removed")
}

func TestGroupsWithMembersOrPendingOffsetsKeepThem(t *testing.T) {
	clk := newClock()
	c, _ := openExpiring(t, t.TempDir(), clk)

	// A Connect-style group with members keeps every offset.
	req := joinReq("workers", "", "sessioned")
	req.ProtocolType, req.SessionTimeout = "connect", 10*retention
	w := joinNew(t, c, req)
	require.NoError(t, w.Err)
	require.NoError(t, c.Sync(context.Background(), SyncRequest{Group: "workers", MemberID: w.MemberID, Generation: w.Generation}).Err)
	commit(t, c, "workers", w.MemberID, w.Generation, tp0)

	// An offset pending in an open transaction does not expire, and an
	// open transaction keeps a group whose offsets all expired.
	commit(t, c, "txn", "", -1, tp0)
	commit(t, c, "txn2", "", -1, tp1)
	_, err := c.StageTxnOffsets("txn", "", "", -1, 42, []Commit{{TopicPartition: tp0, Offset: 3}})
	require.NoError(t, err)
	_, err = c.StageTxnOffsets("txn2", "", "", -1, 43, []Commit{{TopicPartition: tp0, Offset: 4}})
	require.NoError(t, err)

	// A consumer group whose member metadata cannot be read: nothing is
	// known to be unused, so nothing expires.
	bad := joinReq("opaque", "", "range")
	bad.SessionTimeout = 10 * retention
	b := joinNew(t, c, bad)
	require.NoError(t, b.Err)
	require.NoError(t, c.Sync(context.Background(), SyncRequest{Group: "opaque", MemberID: b.MemberID, Generation: b.Generation}).Err)
	commit(t, c, "opaque", b.MemberID, b.Generation, tp1)

	clk.Add(5 * retention)
	o, g := expire(t, c)
	assert.Equal(t, 1, o, "only txn2's offset without a pending one")
	assert.Zero(t, g)
	assert.Equal(t, int64(7), committed(c, "workers", tp0))
	assert.Equal(t, int64(7), committed(c, "opaque", tp1))
	assert.Equal(t, int64(7), committed(c, "txn", tp0))
	assert.Equal(t, int64(-1), committed(c, "txn2", tp1))
	assert.Equal(t, []Listed{{ID: "opaque", ProtocolType: "consumer", State: Stable}, {ID: "txn", State: Empty},
		{ID: "txn2", State: Empty}, {ID: "workers", ProtocolType: "connect", State: Stable}}, c.List(nil))
	require.NoError(t, c.EndTxnOffsets("txn", 42, true))
	assert.Equal(t, int64(3), committed(c, "txn", tp0))
	require.NoError(t, c.EndTxnOffsets("txn2", 43, false))
	o, g = expire(t, c)
	assert.Zero(t, o)
	assert.Equal(t, 1, g, "txn2 has nothing left once its transaction aborted")
}

// TestOffsetsTopicRecreated deletes __consumer_offsets behind the
// coordinator's back: the next write recreates it, compacted, with the
// groups still in memory, so a restart loses nothing.
func TestOffsetsTopicRecreated(t *testing.T) {
	clk := newClock()
	dir := t.TempDir()
	c, reopen := openExpiring(t, dir, clk)
	commit(t, c, "kept", "", -1, tp0)
	require.NoError(t, c.store.DeleteTopic(OffsetsTopic))

	commit(t, c, "new", "", -1, tp1)
	top, ok := c.store.Topic(OffsetsTopic)
	require.True(t, ok)
	assert.Equal(t, "compact", top.Overrides["cleanup.policy"])
	assert.Len(t, top.Partitions, 3)

	c = reopen()
	assert.Equal(t, int64(7), committed(c, "kept", tp0))
	assert.Equal(t, int64(7), committed(c, "new", tp1))

	require.NoError(t, c.store.DeleteTopic(OffsetsTopic))
	require.NoError(t, c.EnsureOffsetsTopic())
	_, ok = c.store.Topic(OffsetsTopic)
	assert.True(t, ok)
}

// TestExpiryFreesMemory commits offsets for 50,000 simple groups, expires
// them, and checks the heap they took is given back.
func TestExpiryFreesMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("commits 50,000 groups")
	}
	clk := newClock()
	c, _ := openExpiring(t, t.TempDir(), clk)
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapInuse
	}
	const groups = 50000
	before := heap()
	commits := make([]Commit, 1)
	for i := range groups {
		commits[0] = Commit{TopicPartition: TopicPartition{"orders", int32(i % 8)}, Offset: int64(i), LeaderEpoch: -1}
		c.mu.Lock()
		_, w := c.storeOffsetsLocked(fmt.Sprintf("consumer-group-%06d", i), commits)
		c.mu.Unlock()
		require.NoError(t, w.err)
	}
	full := heap()
	clk.Add(retention)
	o, g := expire(t, c)
	require.Equal(t, groups, o)
	require.Equal(t, groups, g)
	after := heap()
	t.Logf("HeapInuse: %.1f MiB before, %.1f MiB with %d groups, %.1f MiB after expiry",
		float64(before)/(1<<20), float64(full)/(1<<20), groups, float64(after)/(1<<20))
	grown := float64(full) - float64(before)
	assert.Less(t, float64(after)-float64(before), grown/10, "expiry must give back at least 90%% of the groups' heap")
}
