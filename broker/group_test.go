package broker_test

import (
	"context"
	"maps"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/testenv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// groupProps lets tests use short session timeouts.
var groupProps = map[string]string{"group.min.session.timeout.ms": "500"}

// member is one kgo group consumer and the partitions it owns.
type member struct {
	cl    *kgo.Client
	mu    sync.Mutex
	owned map[int32]bool
	stop  context.CancelFunc
	done  chan struct{}
}

func (m *member) partitions() []int32 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Sorted(maps.Keys(m.owned))
}

func startMember(t *testing.T, addr, group, topic string, balancer kgo.GroupBalancer) *member {
	m := &member{owned: map[int32]bool{}, done: make(chan struct{})}
	update := func(ps map[string][]int32, own bool) {
		m.mu.Lock()
		defer m.mu.Unlock()
		for _, p := range ps[topic] {
			if own {
				m.owned[p] = true
			} else {
				delete(m.owned, p)
			}
		}
	}
	m.cl = newClient(t, addr,
		kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic), kgo.Balancers(balancer),
		kgo.SessionTimeout(3*time.Second), kgo.HeartbeatInterval(100*time.Millisecond),
		kgo.FetchMaxWait(100*time.Millisecond),
		kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, ps map[string][]int32) { update(ps, true) }),
		kgo.OnPartitionsRevoked(func(_ context.Context, _ *kgo.Client, ps map[string][]int32) { update(ps, false) }),
		kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, ps map[string][]int32) { update(ps, false) }),
	)
	ctx, cancel := context.WithCancel(context.Background())
	m.stop = cancel
	go func() {
		defer close(m.done)
		for ctx.Err() == nil {
			m.cl.PollFetches(ctx)
		}
	}()
	t.Cleanup(func() { cancel(); <-m.done })
	return m
}

// sharedExactly reports whether the members own every partition of n
// exactly once.
func sharedExactly(ms []*member, n int) bool {
	seen := map[int32]int{}
	for _, m := range ms {
		ps := m.partitions()
		if len(ps) == 0 {
			return false
		}
		for _, p := range ps {
			seen[p]++
		}
	}
	if len(seen) != n {
		return false
	}
	for _, c := range seen {
		if c != 1 {
			return false
		}
	}
	return true
}

func TestGroupConsumersShareAndTakeOver(t *testing.T) {
	b := testenv.StartBroker(t, groupProps)
	for _, bal := range []struct {
		name string
		b    kgo.GroupBalancer
	}{{"range", kgo.RangeBalancer()}, {"cooperative-sticky", kgo.CooperativeStickyBalancer()}} {
		t.Run(bal.name, func(t *testing.T) {
			topic, group := "share-"+bal.name, "g-"+bal.name
			createTopic(t, b.Addr, topic, 12, nil)
			var ms []*member
			for range 3 {
				ms = append(ms, startMember(t, b.Addr, group, topic, bal.b))
			}
			require.Eventually(t, func() bool { return sharedExactly(ms, 12) }, 30*time.Second, 20*time.Millisecond,
				"3 members never shared 12 partitions: %v %v %v", ms[0].partitions(), ms[1].partitions(), ms[2].partitions())

			// One leaves; the other two take its partitions well within
			// the 3s session timeout.
			ms[2].stop()
			<-ms[2].done
			began := time.Now()
			ms[2].cl.Close() // LeaveGroup
			require.Eventually(t, func() bool { return sharedExactly(ms[:2], 12) }, 3*time.Second, 10*time.Millisecond,
				"2 members never took over: %v %v", ms[0].partitions(), ms[1].partitions())
			t.Logf("take-over after leave: %v", time.Since(began))

			adm := kadm.NewClient(newClient(t, b.Addr))
			described, err := adm.DescribeGroups(context.Background(), group)
			require.NoError(t, err)
			d := described[group]
			require.NoError(t, d.Err)
			assert.Equal(t, "Stable", d.State)
			assert.Equal(t, "consumer", d.ProtocolType)
			assert.Equal(t, bal.name, d.Protocol)
			assert.Len(t, d.Members, 2)
		})
	}
}

func TestGroupCommitsSurviveRestart(t *testing.T) {
	b := testenv.StartBroker(t, groupProps)
	const topic, group = "resume", "resumers"
	createTopic(t, b.Addr, topic, 3, nil)
	produce := func(from, to int) {
		cl := newClient(t, b.Addr, kgo.DefaultProduceTopic(topic))
		for i := from; i < to; i++ {
			require.NoError(t, cl.ProduceSync(context.Background(), kgo.StringRecord(strconv.Itoa(i))).FirstErr())
		}
		cl.Close()
	}
	consume := func(n int) []string {
		cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr), kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit(),
			kgo.SessionTimeout(3*time.Second), kgo.FetchMaxWait(100*time.Millisecond))
		require.NoError(t, err)
		defer cl.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		var got []string
		for len(got) < n {
			fs := cl.PollFetches(ctx)
			require.NoError(t, ctx.Err(), "got %d of %d", len(got), n)
			for _, r := range fs.Records() {
				got = append(got, string(r.Value))
			}
		}
		// Nothing more arrives.
		short, cancelShort := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancelShort()
		got = append(got, recordValues(cl.PollFetches(short))...)
		require.NoError(t, cl.CommitUncommittedOffsets(context.Background()))
		return got
	}
	produce(0, 100)
	first := consume(100)
	assert.Len(t, first, 100)

	produce(100, 150)
	b.Restart(t)

	adm := kadm.NewClient(newClient(t, b.Addr))
	offs, err := adm.FetchOffsets(context.Background(), group)
	require.NoError(t, err)
	var total int64
	offs.Each(func(o kadm.OffsetResponse) { total += o.At })
	assert.Equal(t, int64(100), total, "committed offsets after restart")

	second := consume(50)
	slices.SortFunc(second, func(a, b string) int { x, _ := strconv.Atoi(a); y, _ := strconv.Atoi(b); return x - y })
	want := make([]string, 0, 50)
	for i := 100; i < 150; i++ {
		want = append(want, strconv.Itoa(i))
	}
	assert.Equal(t, want, second, "the new member must resume right after the last commit")
}

func recordValues(fs kgo.Fetches) []string {
	var out []string
	for _, r := range fs.Records() {
		out = append(out, string(r.Value))
	}
	return out
}

func TestGroupAdmin(t *testing.T) {
	b := testenv.StartBroker(t, groupProps)
	createTopic(t, b.Addr, "adm", 2, nil)
	adm := kadm.NewClient(newClient(t, b.Addr))
	ctx := context.Background()

	// Unknown group: offset -1, no error.
	fetched, err := adm.FetchOffsetsForTopics(ctx, "nobody", "adm")
	require.NoError(t, err)
	require.NoError(t, fetched.Error())
	o, ok := fetched.Lookup("adm", 0)
	require.True(t, ok)
	assert.Equal(t, int64(-1), o.At)

	var os kadm.Offsets
	os.Add(kadm.Offset{Topic: "adm", Partition: 0, At: 7, LeaderEpoch: -1, Metadata: "meta"})
	os.Add(kadm.Offset{Topic: "adm", Partition: 1, At: 9, LeaderEpoch: -1})
	committed, err := adm.CommitOffsets(ctx, "admins", os)
	require.NoError(t, err)
	require.NoError(t, committed.Error())

	got, err := adm.FetchOffsets(ctx, "admins")
	require.NoError(t, err)
	o, _ = got.Lookup("adm", 0)
	assert.Equal(t, int64(7), o.At)
	assert.Equal(t, "meta", o.Metadata)

	// A commit to a topic that does not exist is refused per partition.
	var missing kadm.Offsets
	missing.Add(kadm.Offset{Topic: "missing", Partition: 0, At: 1, LeaderEpoch: -1})
	committed, err = adm.CommitOffsets(ctx, "admins", missing)
	require.NoError(t, err)
	assert.ErrorIs(t, committed.Error(), kerr.UnknownTopicOrPartition)

	listed, err := adm.ListGroups(ctx)
	require.NoError(t, err)
	assert.Contains(t, listed.Groups(), "admins")
	listed, err = adm.ListGroups(ctx, "Stable")
	require.NoError(t, err)
	assert.NotContains(t, listed.Groups(), "admins")

	described, err := adm.DescribeGroups(ctx, "admins")
	require.NoError(t, err)
	assert.Equal(t, "Empty", described["admins"].State)

	var del kadm.TopicsSet
	del.Add("adm", 1)
	deleted, err := adm.DeleteOffsets(ctx, "admins", del)
	require.NoError(t, err)
	require.NoError(t, deleted.Error())
	got, err = adm.FetchOffsets(ctx, "admins")
	require.NoError(t, err)
	_, ok = got.Lookup("adm", 1)
	assert.False(t, ok, "deleted offset still listed")

	// A group with an active member subscribed to the topic keeps its offsets.
	m := startMember(t, b.Addr, "busy", "adm", kgo.RangeBalancer())
	require.Eventually(t, func() bool { return len(m.partitions()) == 2 }, 20*time.Second, 20*time.Millisecond)
	deleted, err = adm.DeleteOffsets(ctx, "busy", del)
	require.NoError(t, err)
	assert.ErrorIs(t, deleted.Error(), kerr.GroupSubscribedToTopic)
	groups, err := adm.DeleteGroups(ctx, "busy")
	require.NoError(t, err)
	assert.ErrorIs(t, groups.Error(), kerr.NonEmptyGroup)

	groups, err = adm.DeleteGroups(ctx, "admins")
	require.NoError(t, err)
	require.NoError(t, groups.Error())
	listed, err = adm.ListGroups(ctx)
	require.NoError(t, err)
	assert.NotContains(t, listed.Groups(), "admins")
}

// TestGroupKafkaPythonVersions drives the versions kafka-python sends:
// JoinGroup v2, SyncGroup v1, Heartbeat v1, OffsetCommit v2, OffsetFetch v1,
// LeaveGroup v1.
func TestGroupKafkaPythonVersions(t *testing.T) {
	b := testenv.StartBroker(t, groupProps)
	createTopic(t, b.Addr, "py", 1, nil)
	rc := dialRaw(t, b.Addr)

	join := kmsg.NewPtrJoinGroupRequest()
	join.Version = 2
	join.Group, join.SessionTimeoutMillis, join.RebalanceTimeoutMillis = "py-group", 10000, 10000
	join.ProtocolType = "consumer"
	meta := kmsg.NewConsumerMemberMetadata()
	meta.Topics = []string{"py"}
	join.Protocols = []kmsg.JoinGroupRequestProtocol{{Name: "range", Metadata: meta.AppendTo(nil)}}
	jr := rc.roundTrip(join).(*kmsg.JoinGroupResponse)
	require.Zero(t, jr.ErrorCode, kerr.ErrorForCode(jr.ErrorCode))
	require.Equal(t, jr.MemberID, jr.LeaderID)
	require.Equal(t, int32(1), jr.Generation)
	require.Len(t, jr.Members, 1)

	sync := kmsg.NewPtrSyncGroupRequest()
	sync.Version = 1
	sync.Group, sync.Generation, sync.MemberID = "py-group", jr.Generation, jr.MemberID
	sync.GroupAssignment = []kmsg.SyncGroupRequestGroupAssignment{{MemberID: jr.MemberID, MemberAssignment: []byte("assignment")}}
	sr := rc.roundTrip(sync).(*kmsg.SyncGroupResponse)
	require.Zero(t, sr.ErrorCode)
	assert.Equal(t, "assignment", string(sr.MemberAssignment))

	hb := kmsg.NewPtrHeartbeatRequest()
	hb.Version = 1
	hb.Group, hb.Generation, hb.MemberID = "py-group", jr.Generation, jr.MemberID
	require.Zero(t, rc.roundTrip(hb).(*kmsg.HeartbeatResponse).ErrorCode)

	commit := kmsg.NewPtrOffsetCommitRequest()
	commit.Version = 2
	commit.Group, commit.Generation, commit.MemberID, commit.RetentionTimeMillis = "py-group", jr.Generation, jr.MemberID, -1
	commit.Topics = []kmsg.OffsetCommitRequestTopic{{Topic: "py", Partitions: []kmsg.OffsetCommitRequestTopicPartition{{Partition: 0, Offset: 42}}}}
	cr := rc.roundTrip(commit).(*kmsg.OffsetCommitResponse)
	require.Zero(t, cr.Topics[0].Partitions[0].ErrorCode)

	fetch := kmsg.NewPtrOffsetFetchRequest()
	fetch.Version = 1
	fetch.Group = "py-group"
	fetch.Topics = []kmsg.OffsetFetchRequestTopic{{Topic: "py", Partitions: []int32{0, 5}}}
	fr := rc.roundTrip(fetch).(*kmsg.OffsetFetchResponse)
	require.Len(t, fr.Topics, 1)
	require.Len(t, fr.Topics[0].Partitions, 2)
	assert.Equal(t, int64(42), fr.Topics[0].Partitions[0].Offset)
	assert.Equal(t, int64(-1), fr.Topics[0].Partitions[1].Offset)
	assert.Zero(t, fr.Topics[0].Partitions[1].ErrorCode)

	leave := kmsg.NewPtrLeaveGroupRequest()
	leave.Version = 1
	leave.Group, leave.MemberID = "py-group", jr.MemberID
	require.Zero(t, rc.roundTrip(leave).(*kmsg.LeaveGroupResponse).ErrorCode)
	hb.Generation = 2
	assert.Equal(t, kerr.UnknownMemberID.Code, rc.roundTrip(hb).(*kmsg.HeartbeatResponse).ErrorCode)

	// JoinGroup v4+: a new member first gets MEMBER_ID_REQUIRED.
	join.Version = 4
	jr = rc.roundTrip(join).(*kmsg.JoinGroupResponse)
	assert.Equal(t, kerr.MemberIDRequired.Code, jr.ErrorCode)
	assert.NotEmpty(t, jr.MemberID)
	join.SessionTimeoutMillis = 100
	jr = rc.roundTrip(join).(*kmsg.JoinGroupResponse)
	assert.Equal(t, kerr.InvalidSessionTimeout.Code, jr.ErrorCode)
}

// TestGroupStaticMemberRestart restarts a static member (group.instance.id):
// the new client takes the old member's place and partitions without a new
// generation.
func TestGroupStaticMemberRestart(t *testing.T) {
	b := testenv.StartBroker(t, groupProps)
	const topic, group = "static", "static-group"
	createTopic(t, b.Addr, topic, 4, nil)
	adm := kadm.NewClient(newClient(t, b.Addr))
	start := func() *kgo.Client {
		cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr), kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic),
			kgo.InstanceID("instance-1"), kgo.SessionTimeout(5*time.Second), kgo.FetchMaxWait(100*time.Millisecond))
		require.NoError(t, err)
		go func() {
			for {
				if fs := cl.PollFetches(context.Background()); fs.IsClientClosed() {
					return
				}
			}
		}()
		return cl
	}
	describe := func() kadm.DescribedGroup {
		d, err := adm.DescribeGroups(context.Background(), group)
		require.NoError(t, err)
		return d[group]
	}
	cl := start()
	require.Eventually(t, func() bool { d := describe(); return d.State == "Stable" && len(d.Members) == 1 }, 20*time.Second, 20*time.Millisecond)
	first := describe().Members[0]
	require.NotNil(t, first.InstanceID)
	assert.Equal(t, "instance-1", *first.InstanceID)
	cl.Close() // a static member does not leave the group

	cl = start()
	defer cl.Close()
	require.Eventually(t, func() bool {
		d := describe()
		return d.State == "Stable" && len(d.Members) == 1 && d.Members[0].MemberID != first.MemberID
	}, 20*time.Second, 20*time.Millisecond)
	second := describe().Members[0]
	a1, _ := first.Assigned.AsConsumer()
	a2, _ := second.Assigned.AsConsumer()
	require.NotNil(t, a1)
	assert.Equal(t, a1.Topics, a2.Topics, "the restarted static member keeps its assignment")
}
