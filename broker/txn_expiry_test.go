package broker_test

import (
	"context"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/testenv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestTransactionalIDsExpireWithRealClients: with a one-second
// transactional.id.expiration.ms, an id whose transaction completed is
// removed a second after its last use, durably; one in an open transaction
// stays however long that runs; an expired id can be used again.
func TestTransactionalIDsExpireWithRealClients(t *testing.T) {
	t.Parallel()
	b := testenv.StartBroker(t, map[string]string{
		"transactional.id.expiration.ms":                             "1000",
		"transaction.remove.expired.transaction.cleanup.interval.ms": "100",
	})
	const topic = "txn-expiry"
	createTopic(t, b.Addr, topic, 1, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	adm := kadm.NewClient(newClient(t, b.Addr))
	ids := func() map[string]string {
		listed, err := adm.ListTransactions(ctx, nil, nil)
		require.NoError(t, err)
		out := map[string]string{}
		for _, l := range listed.Sorted() {
			out[l.TxnID] = l.State
		}
		return out
	}

	done := newClient(t, b.Addr, kgo.DefaultProduceTopic(topic), kgo.TransactionalID("done"))
	txnProduce(t, done, "d", 1, kgo.TryCommit)
	committedAt := time.Now()
	done.Close()
	open := newClient(t, b.Addr, kgo.DefaultProduceTopic(topic), kgo.TransactionalID("open"),
		kgo.TransactionTimeout(time.Minute))
	require.NoError(t, open.BeginTransaction())
	require.NoError(t, open.ProduceSync(ctx, &kgo.Record{Value: []byte("o")}).FirstErr())
	require.Equal(t, map[string]string{"done": "CompleteCommit", "open": "Ongoing"}, ids())

	require.Eventually(t, func() bool { _, ok := ids()["done"]; return !ok }, 10*time.Second, 50*time.Millisecond,
		"the completed transactional id never expired")
	assert.GreaterOrEqual(t, time.Since(committedAt), time.Second)
	time.Sleep(time.Second) // well past the expiration: the open transaction must still be there
	assert.Equal(t, map[string]string{"open": "Ongoing"}, ids())
	require.NoError(t, open.EndTransaction(ctx, kgo.TryCommit))
	require.Eventually(t, func() bool { return len(ids()) == 0 }, 10*time.Second, 50*time.Millisecond,
		"the transactional id never expired after its transaction completed")

	b.Restart(t)
	adm = kadm.NewClient(newClient(t, b.Addr))
	assert.Empty(t, ids(), "expired ids stay removed after a restart")

	again := newClient(t, b.Addr, kgo.DefaultProduceTopic(topic), kgo.TransactionalID("done"))
	txnProduce(t, again, "again", 1, kgo.TryCommit)
	assert.Contains(t, ids(), "done")
}
