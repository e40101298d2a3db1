package broker_test

import (
	"context"
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

// joinAndCommit runs one group consumer on topic until it has consumed a
// record and committed it, then leaves.
func joinAndCommit(t *testing.T, addr, group, topic string) {
	t.Helper()
	cl := newClient(t, addr, kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit(),
		kgo.FetchMaxWait(100*time.Millisecond))
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
	cl.Close()
}

// committedTotal sums a group's committed offsets.
func committedTotal(t *testing.T, adm *kadm.Client, group string) int64 {
	t.Helper()
	offs, err := adm.FetchOffsets(adminCtx(t), group)
	require.NoError(t, err)
	require.NoError(t, offs.Error())
	var total int64
	offs.Each(func(o kadm.OffsetResponse) { total += o.At })
	return total
}

// TestInternalAndProtectedTopicsCannotBeDeleted: DeleteTopics, by name or
// id, CreatePartitions and DeleteRecords are refused for __consumer_offsets
// and for the topics in sluice.protected.topics, with
// INVALID_TOPIC_EXCEPTION and a message saying why, and groups keep working
// with their offsets.
func TestInternalAndProtectedTopicsCannotBeDeleted(t *testing.T) {
	b := testenv.StartBroker(t, map[string]string{broker.ProtectedTopicsKey: "_schemas, connect-configs"})
	adm, cl := newAdmin(t, b.Addr)
	ctx := adminCtx(t)
	for _, topic := range []string{"_schemas", "connect-configs", "work", "scratch"} {
		createTopic(t, b.Addr, topic, 1, nil)
	}
	produceOne(t, b.Addr, "work")
	joinAndCommit(t, b.Addr, "before", "work")
	require.Equal(t, int64(1), committedTotal(t, adm, "before"))

	rs, err := adm.DeleteTopics(ctx, "__consumer_offsets", "_schemas", "connect-configs", "scratch")
	require.NoError(t, err)
	for _, topic := range []string{"__consumer_offsets", "_schemas", "connect-configs"} {
		require.ErrorIs(t, rs[topic].Err, kerr.InvalidTopicException, topic)
		assert.Contains(t, rs[topic].ErrMessage, "cannot delete", topic)
		assert.True(t, topicExists(t, cl, topic), topic)
	}
	assert.Contains(t, rs["__consumer_offsets"].ErrMessage, "internal topic __consumer_offsets: it holds every consumer group")
	assert.Contains(t, rs["_schemas"].ErrMessage, broker.ProtectedTopicsKey)
	require.NoError(t, rs["scratch"].Err)
	assert.False(t, topicExists(t, cl, "scratch"))

	// By id (DeleteTopics v6) too.
	internal := topicMetadata(t, cl, "__consumer_offsets")
	req := kmsg.NewPtrDeleteTopicsRequest()
	rt := kmsg.NewDeleteTopicsRequestTopic()
	rt.TopicID = internal.TopicID
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	require.NoError(t, err)
	require.Len(t, resp.Topics, 1)
	assert.Equal(t, kerr.InvalidTopicException.Code, resp.Topics[0].ErrorCode)

	// Growing them or deleting their records is refused the same way.
	grown, err := adm.CreatePartitions(ctx, 1, "__consumer_offsets", "connect-configs")
	require.NoError(t, err)
	for _, topic := range []string{"__consumer_offsets", "connect-configs"} {
		require.ErrorIs(t, grown[topic].Err, kerr.InvalidTopicException, topic)
		assert.Contains(t, grown[topic].ErrMessage, "cannot add partitions to", topic)
	}
	assert.Equal(t, 1, partitionCount(t, cl, "connect-configs"))
	del := kadm.Offsets{}
	del.Add(kadm.Offset{Topic: "__consumer_offsets", Partition: 0, At: -1})
	del.Add(kadm.Offset{Topic: "_schemas", Partition: 0, At: -1})
	deleted, err := adm.DeleteRecords(ctx, del)
	require.NoError(t, err)
	for _, topic := range []string{"__consumer_offsets", "_schemas"} {
		r, err := deleted.On(topic, 0, nil)
		require.NoError(t, err)
		require.ErrorIs(t, r.Err, kerr.InvalidTopicException, topic)
	}

	// CreateTopics may not make an internal topic.
	created, err := adm.CreateTopics(ctx, 1, 1, nil, "__transaction_state")
	require.NoError(t, err)
	require.ErrorIs(t, created["__transaction_state"].Err, kerr.InvalidRequest)
	assert.Contains(t, created["__transaction_state"].ErrMessage, "creation of internal topic __transaction_state is prohibited")

	// Groups work as before, with the offsets committed before.
	assert.Equal(t, int64(1), committedTotal(t, adm, "before"))
	joinAndCommit(t, b.Addr, "after", "work")
	assert.Equal(t, int64(1), committedTotal(t, adm, "after"))
}

// TestProtectedTopicsListIsChecked: a list naming an illegal topic stops
// the broker from starting.
func TestProtectedTopicsListIsChecked(t *testing.T) {
	cfg, err := broker.NewConfig(map[string]string{"log.dirs": t.TempDir(), broker.ProtectedTopicsKey: "_schemas,no such topic"})
	require.NoError(t, err)
	store, err := log.Open(log.Options{Dir: cfg.DataDir})
	require.NoError(t, err)
	defer store.Close()
	_, err = broker.New(cfg, store, nil)
	require.ErrorContains(t, err, broker.ProtectedTopicsKey)
}

// TestProduceToInternalTopicIsRefused: a client cannot forge group or
// transaction records — Produce to __consumer_offsets answers
// INVALID_TOPIC_EXCEPTION, as Kafka's does for every client but its admin
// client.
func TestProduceToInternalTopicIsRefused(t *testing.T) {
	b := testenv.StartBroker(t, nil)
	adm, _ := newAdmin(t, b.Addr)
	require.NoError(t, adm.FindGroupCoordinators(adminCtx(t), "g").Error()) // creates __consumer_offsets
	cl := newClient(t, b.Addr, kgo.RequestRetries(0))
	ctx := adminCtx(t)
	err := cl.ProduceSync(ctx, &kgo.Record{Topic: "__consumer_offsets", Key: []byte("forged"), Value: []byte("group")}).FirstErr()
	require.ErrorIs(t, err, kerr.InvalidTopicException)
	ends, err := adm.ListEndOffsets(ctx, "__consumer_offsets")
	require.NoError(t, err)
	ends.Each(func(o kadm.ListedOffset) { assert.Zero(t, o.Offset, "partition %d", o.Partition) })
}

// TestMetadataDoesNotAutoCreateInternalTopics: a Metadata request naming
// __transaction_state before any transaction does not create it with
// default configs (the transaction coordinator creates it compacted on
// first use), and only Kafka's internal topics are flagged internal.
func TestMetadataDoesNotAutoCreateInternalTopics(t *testing.T) {
	b := testenv.StartBroker(t, nil)
	adm, cl := newAdmin(t, b.Addr)
	req := kmsg.NewPtrMetadataRequest()
	req.AllowAutoTopicCreation = true
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = kmsg.StringPtr("__transaction_state")
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(adminCtx(t), cl)
	require.NoError(t, err)
	assert.Equal(t, kerr.UnknownTopicOrPartition.Code, resp.Topics[0].ErrorCode)
	assert.False(t, topicExists(t, cl, "__transaction_state"))

	cl2 := newClient(t, b.Addr, kgo.TransactionalID("tx"), kgo.DefaultProduceTopic("work"), kgo.AllowAutoTopicCreation())
	require.NoError(t, cl2.BeginTransaction())
	require.NoError(t, cl2.ProduceSync(adminCtx(t), &kgo.Record{Value: []byte("v")}).FirstErr())
	require.NoError(t, cl2.EndTransaction(adminCtx(t), kgo.TryCommit))
	cfgs, err := adm.DescribeTopicConfigs(adminCtx(t), "__transaction_state")
	require.NoError(t, err)
	rc, err := cfgs.On("__transaction_state", nil)
	require.NoError(t, err)
	for _, c := range rc.Configs {
		if c.Key == "cleanup.policy" {
			assert.Equal(t, "compact", c.MaybeValue())
		}
	}

	assert.True(t, topicMetadata(t, cl, "__consumer_offsets").IsInternal)
	assert.True(t, topicMetadata(t, cl, "__transaction_state").IsInternal)
	createTopic(t, b.Addr, "__mine", 1, nil)
	assert.False(t, topicMetadata(t, cl, "__mine").IsInternal, "an ordinary topic whose name starts with __")
}
