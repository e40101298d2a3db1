package broker_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/testenv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// txnProduce produces n records "<tag>-<i>" in one transaction and ends it.
func txnProduce(t *testing.T, cl *kgo.Client, tag string, n int, commit kgo.TransactionEndTry) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	require.NoError(t, cl.BeginTransaction())
	for i := range n {
		rs := cl.ProduceSync(ctx, &kgo.Record{Value: fmt.Appendf(nil, "%s-%d", tag, i)})
		require.NoError(t, rs.FirstErr())
	}
	require.NoError(t, cl.EndTransaction(ctx, commit))
}

func values(recs []*kgo.Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = string(r.Value)
	}
	return out
}

// consumeUntilEnd reads topic from the start until the partition's end as
// the isolation level sees it, with a short idle stop.
func consumeIdle(t *testing.T, addr, topic string, opts ...kgo.Opt) []*kgo.Record {
	t.Helper()
	cl := newClient(t, addr, append([]kgo.Opt{kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(200 * time.Millisecond)}, opts...)...)
	var out []*kgo.Record
	for idle := 0; idle < 3; {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		fs := cl.PollFetches(ctx)
		cancel()
		fs.EachError(func(topic string, p int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("fetch %s-%d: %v", topic, p, err)
			}
		})
		if recs := fs.Records(); len(recs) > 0 {
			out = append(out, recs...)
			idle = 0
		} else {
			idle++
		}
	}
	return out
}

func TestTransactionsAbortedInvisibleToReadCommitted(t *testing.T) {
	b := testenv.StartBroker(t, nil)
	const topic = "txn-vis"
	createTopic(t, b.Addr, topic, 1, nil)
	cl := newClient(t, b.Addr, kgo.DefaultProduceTopic(topic), kgo.TransactionalID("vis"))
	txnProduce(t, cl, "c1", 3, kgo.TryCommit)
	txnProduce(t, cl, "a1", 2, kgo.TryAbort)
	txnProduce(t, cl, "c2", 2, kgo.TryCommit)

	committed := consumeIdle(t, b.Addr, topic, kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	assert.Equal(t, []string{"c1-0", "c1-1", "c1-2", "c2-0", "c2-1"}, values(committed))
	uncommitted := consumeIdle(t, b.Addr, topic, kgo.FetchIsolationLevel(kgo.ReadUncommitted()))
	assert.Equal(t, []string{"c1-0", "c1-1", "c1-2", "a1-0", "a1-1", "c2-0", "c2-1"}, values(uncommitted))
}

func TestTransactionsZombieIsFenced(t *testing.T) {
	b := testenv.StartBroker(t, nil)
	const topic = "txn-zombie"
	createTopic(t, b.Addr, topic, 1, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	zombie := newClient(t, b.Addr, kgo.DefaultProduceTopic(topic), kgo.TransactionalID("z"))
	require.NoError(t, zombie.BeginTransaction())
	require.NoError(t, zombie.ProduceSync(ctx, &kgo.Record{Value: []byte("zombie-0")}).FirstErr())

	fresh := newClient(t, b.Addr, kgo.DefaultProduceTopic(topic), kgo.TransactionalID("z"))
	txnProduce(t, fresh, "fresh", 1, kgo.TryCommit)

	err := zombie.ProduceSync(ctx, &kgo.Record{Value: []byte("zombie-1")}).FirstErr()
	if err == nil {
		err = zombie.EndTransaction(ctx, kgo.TryCommit)
	}
	require.Error(t, err, "the zombie must not commit")
	assert.True(t, errors.Is(err, kerr.ProducerFenced) || errors.Is(err, kerr.InvalidProducerEpoch), "got %v", err)

	committed := consumeIdle(t, b.Addr, topic, kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	assert.Equal(t, []string{"fresh-0"}, values(committed))
}

func TestTransactionsTimeoutAbortsAndUnblocksLSO(t *testing.T) {
	b := testenv.StartBroker(t, nil)
	const topic = "txn-timeout"
	createTopic(t, b.Addr, topic, 1, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	abandoned := newClient(t, b.Addr, kgo.DefaultProduceTopic(topic), kgo.TransactionalID("abandon"), kgo.TransactionTimeout(time.Second))
	require.NoError(t, abandoned.BeginTransaction())
	require.NoError(t, abandoned.ProduceSync(ctx, &kgo.Record{Value: []byte("lost")}).FirstErr())

	plain := newClient(t, b.Addr, kgo.DefaultProduceTopic(topic))
	require.NoError(t, plain.ProduceSync(ctx, &kgo.Record{Value: []byte("after")}).FirstErr())

	// read_committed sees "after" only once the abandoned transaction is
	// aborted by its timeout.
	start := time.Now()
	got := consumeAll(t, b.Addr, topic, 1, kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	assert.Equal(t, []string{"after"}, values(got))
	assert.GreaterOrEqual(t, time.Since(start), 500*time.Millisecond-100*time.Millisecond)
	err := abandoned.EndTransaction(ctx, kgo.TryCommit)
	require.Error(t, err, "the timed out transaction cannot commit")
}

func TestTransactionsOpenTransactionAbortsAfterRestart(t *testing.T) {
	b := testenv.StartBroker(t, nil)
	const topic = "txn-restart"
	createTopic(t, b.Addr, topic, 1, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	open := newClient(t, b.Addr, kgo.DefaultProduceTopic(topic), kgo.TransactionalID("restart"), kgo.TransactionTimeout(2*time.Second))
	require.NoError(t, open.BeginTransaction())
	require.NoError(t, open.ProduceSync(ctx, &kgo.Record{Value: []byte("in-flight")}).FirstErr())
	open.Close()
	b.Restart(t)

	plain := newClient(t, b.Addr, kgo.DefaultProduceTopic(topic))
	require.NoError(t, plain.ProduceSync(ctx, &kgo.Record{Value: []byte("after")}).FirstErr())
	got := consumeAll(t, b.Addr, topic, 1, kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	assert.Equal(t, []string{"after"}, values(got), "the restored transaction timed out and aborted")
	all := consumeIdle(t, b.Addr, topic, kgo.FetchIsolationLevel(kgo.ReadUncommitted()))
	assert.Equal(t, []string{"in-flight", "after"}, values(all))

	// The restored coordinator still knows the id: a new producer bumps
	// its epoch and commits.
	next := newClient(t, b.Addr, kgo.DefaultProduceTopic(topic), kgo.TransactionalID("restart"))
	txnProduce(t, next, "next", 1, kgo.TryCommit)
	got = consumeIdle(t, b.Addr, topic, kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	assert.Equal(t, []string{"after", "next-0"}, values(got))
}

func TestTransactionsTimeoutAboveMaxIsRefused(t *testing.T) {
	b := testenv.StartBroker(t, map[string]string{"transaction.max.timeout.ms": "1000"})
	const topic = "txn-max-timeout"
	createTopic(t, b.Addr, topic, 1, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cl := newClient(t, b.Addr, kgo.DefaultProduceTopic(topic), kgo.TransactionalID("too-long"), kgo.TransactionTimeout(2*time.Second))
	err := cl.BeginTransaction()
	if err == nil {
		err = cl.ProduceSync(ctx, &kgo.Record{Value: []byte("x")}).FirstErr()
	}
	require.ErrorIs(t, err, kerr.InvalidTransactionTimeout)
}
