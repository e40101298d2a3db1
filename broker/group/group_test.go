package group

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/broker/log"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func openStore(t *testing.T, dir string) *log.Store {
	t.Helper()
	s, err := log.Open(log.Options{Dir: dir})
	require.NoError(t, err)
	return s
}

// start opens a coordinator with short timeouts and runs it until the test ends.
func start(t *testing.T, dir string) (*Coordinator, *log.Store) {
	t.Helper()
	store := openStore(t, dir)
	c, err := New(Config{MinSessionTimeout: 10 * time.Millisecond, OffsetsPartitions: 3, Tick: 5 * time.Millisecond}, store, nil)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); c.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done; store.Close() })
	return c, store
}

func joinReq(group, member string, protos ...string) JoinRequest {
	r := JoinRequest{Group: group, MemberID: member, ClientID: "c", ProtocolType: "consumer",
		SessionTimeout: 300 * time.Millisecond, RebalanceTimeout: 300 * time.Millisecond, RequireMemberID: true}
	for _, p := range protos {
		r.Protocols = append(r.Protocols, Protocol{Name: p, Metadata: []byte(p)})
	}
	return r
}

// joinNew does the two-step join and returns the result.
func joinNew(t *testing.T, c *Coordinator, req JoinRequest) JoinResult {
	t.Helper()
	r := c.Join(context.Background(), req)
	require.ErrorIs(t, r.Err, ErrMemberIDRequired)
	req.MemberID = r.MemberID
	return c.Join(context.Background(), req)
}

func TestJoinSyncHeartbeatLeave(t *testing.T) {
	c, _ := start(t, t.TempDir())
	a := joinNew(t, c, joinReq("g", "", "range", "roundrobin"))
	require.NoError(t, a.Err)
	assert.Equal(t, int32(1), a.Generation)
	assert.Equal(t, a.MemberID, a.Leader)
	assert.Equal(t, "range", a.Protocol)

	// A second member joins: the first must rejoin, and the rebalance ends
	// as soon as both have, well before the rebalance timeout.
	var b JoinResult
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); b = joinNew(t, c, joinReq("g", "", "roundrobin", "range")) }()
	require.Eventually(t, func() bool { return c.Heartbeat("g", a.MemberID, "", 1) != nil }, time.Second, time.Millisecond)
	assert.ErrorIs(t, c.Heartbeat("g", a.MemberID, "", 1), ErrRebalanceInProgress)
	began := time.Now()
	a = c.Join(context.Background(), joinReq("g", a.MemberID, "range", "roundrobin"))
	wg.Wait()
	assert.Less(t, time.Since(began), 200*time.Millisecond)
	require.NoError(t, a.Err)
	require.NoError(t, b.Err)
	assert.Equal(t, int32(2), a.Generation)
	assert.Equal(t, a.Leader, b.Leader)
	leader, follower := a, b
	if b.MemberID == b.Leader {
		leader, follower = b, a
	}
	assert.Len(t, leader.Members, 2)
	assert.Empty(t, follower.Members)

	var fs SyncResult
	wg.Add(1)
	go func() {
		defer wg.Done()
		fs = c.Sync(context.Background(), SyncRequest{Group: "g", MemberID: follower.MemberID, Generation: 2})
	}()
	ls := c.Sync(context.Background(), SyncRequest{Group: "g", MemberID: leader.MemberID, Generation: 2,
		Assignments: map[string][]byte{leader.MemberID: []byte("L"), follower.MemberID: []byte("F")}})
	wg.Wait()
	require.NoError(t, ls.Err)
	require.NoError(t, fs.Err)
	assert.Equal(t, "L", string(ls.Assignment))
	assert.Equal(t, "F", string(fs.Assignment))
	assert.Equal(t, Stable, c.Describe("g").State)

	assert.NoError(t, c.Heartbeat("g", leader.MemberID, "", 2))
	assert.ErrorIs(t, c.Heartbeat("g", leader.MemberID, "", 1), ErrIllegalGeneration)
	assert.ErrorIs(t, c.Heartbeat("g", "nobody", "", 2), ErrUnknownMemberID)

	errs, err := c.Leave("g", []Leaver{{MemberID: follower.MemberID}})
	require.NoError(t, err)
	require.NoError(t, errs[0])
	assert.ErrorIs(t, c.Heartbeat("g", leader.MemberID, "", 2), ErrRebalanceInProgress)
	r := c.Join(context.Background(), joinReq("g", leader.MemberID, "range"))
	require.NoError(t, r.Err)
	assert.Equal(t, int32(3), r.Generation)
	assert.Len(t, r.Members, 1)
}

func TestSessionExpiryAndRebalanceTimeout(t *testing.T) {
	c, _ := start(t, t.TempDir())
	a := joinNew(t, c, joinReq("g", "", "range"))
	require.NoError(t, a.Err)
	s := c.Sync(context.Background(), SyncRequest{Group: "g", MemberID: a.MemberID, Generation: 1})
	require.NoError(t, s.Err)
	// No heartbeats: the session ends and the group becomes Empty.
	require.Eventually(t, func() bool { return c.Describe("g").State == Empty }, 2*time.Second, 5*time.Millisecond)
	assert.ErrorIs(t, c.Heartbeat("g", a.MemberID, "", 1), ErrUnknownMemberID)

	// A member that does not rejoin within the rebalance timeout is removed.
	a = joinNew(t, c, joinReq("g", "", "range"))
	require.NoError(t, a.Err)
	began := time.Now()
	b := joinNew(t, c, joinReq("g", "", "range")) // a never rejoins
	require.NoError(t, b.Err)
	assert.GreaterOrEqual(t, time.Since(began), 250*time.Millisecond)
	assert.Len(t, b.Members, 1)
	assert.Equal(t, b.MemberID, b.Leader)
}

func TestProtocolSelection(t *testing.T) {
	g := newGroup("g", time.Now())
	for i, protos := range [][]string{{"a", "b", "c"}, {"b", "c"}, {"c", "b"}} {
		m := &member{id: string(rune('x' + i))}
		for _, p := range protos {
			m.protocols = append(m.protocols, Protocol{Name: p})
		}
		g.members[m.id] = m
	}
	// b and c are supported by all; b has two first votes (x and y).
	assert.Equal(t, []string{"b", "c"}, g.candidates(nil))
	assert.Equal(t, "b", g.selectProtocol())

	c, _ := start(t, t.TempDir())
	first := joinNew(t, c, joinReq("g", "", "b"))
	require.NoError(t, first.Err)
	assert.ErrorIs(t, c.Join(context.Background(), joinReq("g", "", "x")).Err, ErrInconsistentProtocol)
	other := joinReq("g", "", "b")
	other.ProtocolType = "connect"
	assert.ErrorIs(t, c.Join(context.Background(), other).Err, ErrInconsistentProtocol)
	bad := joinReq("g", "", "b")
	bad.SessionTimeout = time.Millisecond
	assert.ErrorIs(t, c.Join(context.Background(), bad).Err, ErrInvalidSessionTimeout)
}

func TestStaticMembership(t *testing.T) {
	c, _ := start(t, t.TempDir())
	req := joinReq("g", "", "range")
	req.InstanceID = "i1"
	a := c.Join(context.Background(), req) // static members skip MEMBER_ID_REQUIRED
	require.NoError(t, a.Err)
	require.NoError(t, c.Sync(context.Background(), SyncRequest{Group: "g", MemberID: a.MemberID, InstanceID: "i1", Generation: 1,
		Assignments: map[string][]byte{a.MemberID: []byte("A")}}).Err)

	// The same instance restarts: new member id, same generation, no rebalance.
	b := c.Join(context.Background(), req)
	require.NoError(t, b.Err)
	assert.NotEqual(t, a.MemberID, b.MemberID)
	assert.Equal(t, int32(1), b.Generation)
	assert.Equal(t, Stable, c.Describe("g").State)
	s := c.Sync(context.Background(), SyncRequest{Group: "g", MemberID: b.MemberID, InstanceID: "i1", Generation: 1})
	require.NoError(t, s.Err)
	assert.Equal(t, "A", string(s.Assignment))

	// The old member id is fenced.
	assert.ErrorIs(t, c.Heartbeat("g", a.MemberID, "i1", 1), ErrFencedInstanceID)
	stale := req
	stale.MemberID = a.MemberID
	assert.ErrorIs(t, c.Join(context.Background(), stale).Err, ErrFencedInstanceID)
}

func TestOffsetsPersist(t *testing.T) {
	dir := t.TempDir()
	store := openStore(t, dir)
	c, err := New(Config{OffsetsPartitions: 3}, store, nil)
	require.NoError(t, err)
	errs, err := c.CommitOffsets("g", "", "", -1, []Commit{
		{TopicPartition{"t", 0}, 10, 1, "m"}, {TopicPartition{"t", 1}, 20, -1, ""},
	})
	require.NoError(t, err)
	require.Equal(t, []error{nil, nil}, errs)
	_, err = c.CommitOffsets("new", "m", "", 3, []Commit{{TopicPartition{"t", 0}, 5, -1, ""}})
	assert.ErrorIs(t, err, ErrIllegalGeneration)
	_, err = c.CommitOffsets("gone", "", "", -1, []Commit{{TopicPartition{"t", 0}, 5, -1, ""}})
	require.NoError(t, err)
	require.NoError(t, c.DeleteGroup("gone"))
	_, err = c.DeleteOffsets("g", []TopicPartition{{"t", 1}})
	require.NoError(t, err)
	c.Close()
	require.NoError(t, store.Close())

	store = openStore(t, dir)
	defer store.Close()
	c, err = New(Config{OffsetsPartitions: 3}, store, nil)
	require.NoError(t, err)
	got := c.FetchOffsets("g", []TopicPartition{{"t", 0}, {"t", 1}})
	assert.Equal(t, []Fetched{{TopicPartition{"t", 0}, 10, 1, "m"}, {TopicPartition{"t", 1}, -1, -1, ""}}, got)
	assert.Equal(t, []Listed{{ID: "g", State: Empty}}, c.List(nil))
	assert.Equal(t, int64(-1), c.FetchOffsets("unknown", []TopicPartition{{"t", 0}})[0].Offset)
}

func TestPartitionFor(t *testing.T) {
	// "polygenelubricants".hashCode() is Integer.MIN_VALUE: Kafka's
	// Utils.abs maps it to 0.
	assert.Equal(t, int32(0), PartitionFor("polygenelubricants", 50))
	assert.Equal(t, int32(99162322%50), PartitionFor("hello", 50))
}

func TestInitialRebalanceDelay(t *testing.T) {
	store := openStore(t, t.TempDir())
	defer store.Close()
	c, err := New(Config{MinSessionTimeout: 10 * time.Millisecond, OffsetsPartitions: 1, Tick: 5 * time.Millisecond,
		InitialRebalanceDelay: 150 * time.Millisecond}, store, nil)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); c.Run(ctx) }()
	defer func() { cancel(); <-done }()

	// Two members arriving within the delay land in one generation.
	res := make(chan JoinResult, 2)
	began := time.Now()
	go func() { res <- joinNew(t, c, joinReq("g", "", "range")) }()
	time.Sleep(30 * time.Millisecond)
	go func() { res <- joinNew(t, c, joinReq("g", "", "range")) }()
	a, b := <-res, <-res
	require.NoError(t, a.Err)
	require.NoError(t, b.Err)
	assert.GreaterOrEqual(t, time.Since(began), 150*time.Millisecond)
	assert.Equal(t, int32(1), a.Generation)
	assert.Equal(t, int32(1), b.Generation)
	assert.Len(t, append(a.Members, b.Members...), 2)
}

func TestLeaveBatchStatic(t *testing.T) {
	c, _ := start(t, t.TempDir())
	req := joinReq("g", "", "range")
	req.InstanceID = "i1"
	a := c.Join(context.Background(), req)
	require.NoError(t, a.Err)
	errs, err := c.Leave("g", []Leaver{{InstanceID: "i1"}, {MemberID: "nobody"}, {InstanceID: "i1", MemberID: "stale"}})
	require.NoError(t, err)
	assert.NoError(t, errs[0])
	assert.ErrorIs(t, errs[1], ErrUnknownMemberID)
	assert.ErrorIs(t, errs[2], ErrUnknownMemberID)
	assert.Equal(t, Empty, c.Describe("g").State)
	_, err = c.Leave("missing", []Leaver{{MemberID: "x"}})
	assert.ErrorIs(t, err, ErrUnknownMemberID)
	assert.ErrorIs(t, c.DeleteGroup("missing"), ErrGroupNotFound)
	require.NoError(t, c.DeleteGroup("g"))
	assert.Equal(t, Dead, c.Describe("g").State)
}

func TestCommitChecksMembership(t *testing.T) {
	c, _ := start(t, t.TempDir())
	a := joinNew(t, c, joinReq("g", "", "range"))
	require.NoError(t, a.Err)
	commit := []Commit{{TopicPartition{"t", 0}, 1, -1, ""}}
	// Completing the rebalance: commits wait for the assignment.
	_, err := c.CommitOffsets("g", a.MemberID, "", 1, commit)
	assert.ErrorIs(t, err, ErrRebalanceInProgress)
	require.NoError(t, c.Sync(context.Background(), SyncRequest{Group: "g", MemberID: a.MemberID, Generation: 1}).Err)
	_, err = c.CommitOffsets("g", a.MemberID, "", 1, commit)
	assert.NoError(t, err)
	_, err = c.CommitOffsets("g", a.MemberID, "", 0, commit)
	assert.ErrorIs(t, err, ErrIllegalGeneration)
	_, err = c.CommitOffsets("g", "other", "", 1, commit)
	assert.ErrorIs(t, err, ErrUnknownMemberID)
	_, err = c.CommitOffsets("g", "", "", -1, commit) // simple commit to a group with members
	assert.ErrorIs(t, err, ErrUnknownMemberID)
	assert.ErrorIs(t, c.DeleteGroup("g"), ErrNonEmptyGroup)
}
