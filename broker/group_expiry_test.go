package broker_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/sluicehq/sluice/broker"
	"github.com/sluicehq/sluice/broker/log"
	"github.com/sluicehq/sluice/internal/testenv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// groupConsumer joins group subscribed to topic, consumes a record and
// commits it, and stays in the group until the test closes the client.
func groupConsumer(t *testing.T, addr, group, topic string) *kgo.Client {
	t.Helper()
	cl := newClient(t, addr, kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit(),
		kgo.SessionTimeout(10*time.Second), kgo.FetchMaxWait(100*time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		fs := cl.PollFetches(ctx)
		require.NoError(t, ctx.Err(), "group %s consumed nothing", group)
		if fs.NumRecords() > 0 {
			break
		}
	}
	require.NoError(t, cl.CommitUncommittedOffsets(ctx))
	return cl
}

// committedOffsets is a group's committed offsets by "topic/partition".
func committedOffsets(t *testing.T, adm *kadm.Client, group string) map[string]int64 {
	t.Helper()
	offs, err := adm.FetchOffsets(adminCtx(t), group)
	require.NoError(t, err)
	require.NoError(t, offs.Error())
	out := map[string]int64{}
	offs.Each(func(o kadm.OffsetResponse) { out[fmt.Sprintf("%s/%d", o.Topic, o.Partition)] = o.At })
	return out
}

func listedGroups(t *testing.T, adm *kadm.Client) []string {
	t.Helper()
	ls, err := adm.ListGroups(adminCtx(t))
	require.NoError(t, err)
	return ls.Groups()
}

// TestOffsetsExpireWithRealClients runs Kafka's retention semantics with a
// one-minute offsets.retention.minutes (Kafka's smallest), so it takes
// about 75 seconds:
//   - a standalone consumer's offsets expire a minute after their commit,
//     and its group is then removed;
//   - a consumer group that left keeps its offsets a minute from when it
//     became empty, not from the commit, then is removed;
//   - a consumer group with a member keeps the offsets of the topic it
//     subscribes to, and loses those of a topic it does not;
//
// and every removal holds after a restart.
func TestOffsetsExpireWithRealClients(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for a one-minute offset retention")
	}
	t.Parallel()
	b := testenv.StartBroker(t, map[string]string{
		"offsets.retention.minutes":           "1",
		"offsets.retention.check.interval.ms": "200",
		"group.min.session.timeout.ms":        "500",
	})
	createTopic(t, b.Addr, "a", 1, nil)
	createTopic(t, b.Addr, "b", 1, nil)
	produceOne(t, b.Addr, "a")
	produceOne(t, b.Addr, "b")
	adm := kadm.NewClient(newClient(t, b.Addr))
	ctx := adminCtx(t)

	standalone := kadm.Offsets{}
	standalone.Add(kadm.Offset{Topic: "a", Partition: 0, At: 1})
	resp, err := adm.CommitOffsets(ctx, "standalone", standalone)
	require.NoError(t, err)
	require.NoError(t, resp.Error())
	committedAt := time.Now()

	stayer := groupConsumer(t, b.Addr, "stayer", "a")
	var commitErr error
	stayer.CommitOffsetsSync(ctx, map[string]map[int32]kgo.EpochOffset{"b": {0: {Epoch: -1, Offset: 1}}},
		func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
			commitErr = err
			if err == nil {
				commitErr = kerr.ErrorForCode(resp.Topics[0].Partitions[0].ErrorCode)
			}
		})
	require.NoError(t, commitErr)
	leaver := groupConsumer(t, b.Addr, "leaver", "a")
	require.Equal(t, map[string]int64{"a/0": 1, "b/0": 1}, committedOffsets(t, adm, "stayer"))

	// The leaver's offsets are committed now; it leaves 10s later.
	time.Sleep(10*time.Second - time.Since(committedAt))
	leaver.Close()
	leftAt := time.Now()

	require.Eventually(t, func() bool { return len(committedOffsets(t, adm, "standalone")) == 0 },
		75*time.Second, 100*time.Millisecond, "the standalone consumer's offsets never expired")
	assert.GreaterOrEqual(t, time.Since(committedAt), time.Minute)
	assert.Equal(t, map[string]int64{"a/0": 1}, committedOffsets(t, adm, "stayer"),
		"the member keeps its subscribed topic's offset and loses the other")
	assert.Equal(t, map[string]int64{"a/0": 1}, committedOffsets(t, adm, "leaver"),
		"an empty group's offsets count from when it became empty")
	assert.NotContains(t, listedGroups(t, adm), "standalone")

	require.Eventually(t, func() bool { return len(committedOffsets(t, adm, "leaver")) == 0 },
		30*time.Second, 100*time.Millisecond, "the empty group's offsets never expired")
	assert.GreaterOrEqual(t, time.Since(leftAt), time.Minute)
	require.Eventually(t, func() bool { return !slices.Contains(listedGroups(t, adm), "leaver") },
		5*time.Second, 100*time.Millisecond, "the empty group without offsets was not removed")

	stayer.Close()
	b.Restart(t)
	adm = kadm.NewClient(newClient(t, b.Addr))
	assert.Equal(t, []string{"stayer"}, listedGroups(t, adm), "removed groups stay removed")
	assert.Equal(t, map[string]int64{"a/0": 1}, committedOffsets(t, adm, "stayer"))
}

// TestCoordinatorConfigs: the expiry keys are validated at start and shown
// by DescribeConfigs, set or not.
func TestCoordinatorConfigs(t *testing.T) {
	for key, bad := range map[string]string{
		"offsets.retention.minutes":                                  "0",
		"offsets.retention.check.interval.ms":                        "often",
		"transactional.id.expiration.ms":                             "2147483648",
		"transaction.remove.expired.transaction.cleanup.interval.ms": "-1",
	} {
		cfg, err := broker.NewConfig(map[string]string{"log.dirs": t.TempDir(), key: bad})
		require.NoError(t, err)
		store, err := log.Open(log.Options{Dir: cfg.DataDir})
		require.NoError(t, err)
		_, err = broker.New(cfg, store, nil)
		assert.ErrorContains(t, err, key, "%s=%s", key, bad)
		require.NoError(t, store.Close())
	}

	b := testenv.StartBroker(t, map[string]string{"offsets.retention.minutes": "60"})
	adm := kadm.NewClient(newClient(t, b.Addr))
	rcs, err := adm.DescribeBrokerConfigs(adminCtx(t))
	require.NoError(t, err)
	require.Len(t, rcs, 1)
	got := map[string]kadm.Config{}
	for _, c := range rcs[0].Configs {
		got[c.Key] = c
	}
	want := map[string]struct {
		value  string
		source kmsg.ConfigSource
	}{
		"offsets.retention.minutes":                                  {"60", kmsg.ConfigSourceStaticBrokerConfig},
		"offsets.retention.check.interval.ms":                        {"600000", kmsg.ConfigSourceDefaultConfig},
		"transactional.id.expiration.ms":                             {"604800000", kmsg.ConfigSourceDefaultConfig},
		"transaction.remove.expired.transaction.cleanup.interval.ms": {"3600000", kmsg.ConfigSourceDefaultConfig},
	}
	for key, w := range want {
		require.Contains(t, got, key)
		c := got[key]
		assert.Equal(t, w.value, c.MaybeValue(), key)
		assert.Equal(t, w.source, got[key].Source, key)
	}
}
