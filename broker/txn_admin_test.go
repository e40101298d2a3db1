package broker_test

import (
	"context"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/testenv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

func TestTransactionsAdminViews(t *testing.T) {
	b := testenv.StartBroker(t, nil)
	const topic = "txn-admin"
	createTopic(t, b.Addr, topic, 2, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	done := newClient(t, b.Addr, kgo.DefaultProduceTopic(topic), kgo.TransactionalID("done"))
	txnProduce(t, done, "d", 1, kgo.TryCommit)
	open := newClient(t, b.Addr, kgo.DefaultProduceTopic(topic), kgo.TransactionalID("open"), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	require.NoError(t, open.BeginTransaction())
	require.NoError(t, open.ProduceSync(ctx, &kgo.Record{Partition: 1, Value: []byte("o")}).FirstErr())

	adm := kadm.NewClient(newClient(t, b.Addr))
	listed, err := adm.ListTransactions(ctx, nil, nil)
	require.NoError(t, err)
	states := map[string]string{}
	for _, l := range listed.Sorted() {
		states[l.TxnID] = l.State
	}
	assert.Equal(t, map[string]string{"done": "CompleteCommit", "open": "Ongoing"}, states)
	ongoing, err := adm.ListTransactions(ctx, nil, []string{"Ongoing"})
	require.NoError(t, err)
	assert.Len(t, ongoing.Sorted(), 1)

	described, err := adm.DescribeTransactions(ctx, "open", "missing")
	require.NoError(t, err)
	o := described["open"]
	require.NoError(t, o.Err)
	assert.Equal(t, "Ongoing", o.State)
	assert.Equal(t, map[string]map[int32]struct{}{topic: {1: {}}}, map[string]map[int32]struct{}(o.Topics))
	assert.ErrorIs(t, described["missing"].Err, kerr.TransactionalIDNotFound)

	producers, err := adm.DescribeProducers(ctx, kadm.TopicsSet{topic: {0: {}, 1: {}}})
	require.NoError(t, err)
	var openStart int64 = -2
	producers.EachProducer(func(p kadm.DescribedProducer) {
		if p.ProducerID == o.ProducerID && p.Partition == 1 {
			openStart = p.CurrentTxnStartOffset
		}
	})
	assert.GreaterOrEqual(t, openStart, int64(0), "the open transaction's start offset on partition 1")
	ends, err := adm.ListEndOffsets(ctx, topic)
	require.NoError(t, err)
	end, _ := ends.Lookup(topic, 1)
	assert.Equal(t, end.Offset-1, openStart, "its one record is the last on the partition")
	stable, err := adm.ListCommittedOffsets(ctx, topic)
	require.NoError(t, err)
	lso, _ := stable.Lookup(topic, 1)
	assert.Equal(t, openStart, lso.Offset, "ListOffsets latest at read_committed is the last stable offset")
}
