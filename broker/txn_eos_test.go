package broker_test

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/testenv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"
)

// etl runs a consume-transform-produce loop with a GroupTransactSession
// until ctx ends, counting committed transactions' records in done. A
// session that fails is closed and replaced, as an application would.
func etl(ctx context.Context, t *testing.T, addr, in, out, group string, done *atomic.Int64) {
	for ctx.Err() == nil {
		sess, err := kgo.NewGroupTransactSession(
			kgo.SeedBrokers(addr), kgo.TransactionalID("etl"), kgo.ConsumerGroup(group), kgo.ConsumeTopics(in),
			kgo.FetchIsolationLevel(kgo.ReadCommitted()),
			kgo.SessionTimeout(6*time.Second), kgo.FetchMaxWait(200*time.Millisecond),
			kgo.TransactionTimeout(10*time.Second),
		)
		require.NoError(t, err)
		etlSession(ctx, t, sess, out, done)
		sess.Close()
	}
}

func etlSession(ctx context.Context, t *testing.T, sess *kgo.GroupTransactSession, out string, done *atomic.Int64) {
	for ctx.Err() == nil {
		fs := sess.PollFetches(ctx)
		if ctx.Err() != nil {
			return
		}
		fs.EachError(func(topic string, p int32, err error) { t.Logf("etl fetch %s-%d: %v", topic, p, err) })
		recs := fs.Records()
		if len(recs) == 0 {
			continue
		}
		if err := sess.Begin(); err != nil {
			t.Logf("etl begin: %v", err)
			return
		}
		for _, r := range recs {
			sess.Produce(ctx, &kgo.Record{Topic: out, Key: r.Key, Value: r.Value}, nil)
		}
		committed, err := sess.End(ctx, kgo.TryCommit)
		if err != nil {
			t.Logf("etl end: %v", err)
			return
		}
		if committed {
			done.Add(int64(len(recs)))
		}
	}
}

func TestTransactionsExactlyOnceAcrossRestart(t *testing.T) {
	b := testenv.StartBroker(t, map[string]string{"group.min.session.timeout.ms": "500"})
	const in, out, total = "eos-in", "eos-out", 4000
	createTopic(t, b.Addr, in, 3, nil)
	createTopic(t, b.Addr, out, 3, nil)
	prod := newClient(t, b.Addr, kgo.DefaultProduceTopic(in))
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	produce := func(from, to int) {
		for i := from; i < to; i++ {
			prod.Produce(ctx, &kgo.Record{Key: []byte(strconv.Itoa(i)), Value: []byte(strconv.Itoa(i))}, func(_ *kgo.Record, err error) { assert.NoError(t, err) })
		}
		require.NoError(t, prod.Flush(ctx))
	}
	produce(0, total/2)

	var done atomic.Int64
	etlCtx, stopETL := context.WithCancel(ctx)
	etlDone := make(chan struct{})
	go func() {
		defer close(etlDone)
		etl(etlCtx, t, b.Addr, in, out, "eos", &done)
	}()
	for done.Load() < total/4 {
		require.NoError(t, ctx.Err(), "etl stalled at %d", done.Load())
		time.Sleep(10 * time.Millisecond)
	}
	b.Restart(t)
	produce(total/2, total)

	seen := map[string]int{}
	rc := newClient(t, b.Addr, kgo.ConsumeTopics(out), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.FetchMaxWait(200*time.Millisecond))
	for len(seen) < total {
		fs := rc.PollFetches(ctx)
		require.NoError(t, ctx.Err(), "saw %d of %d inputs", len(seen), total)
		for _, r := range fs.Records() {
			seen[string(r.Value)]++
		}
	}
	// Let the loop finish anything in flight, then check nothing doubled.
	stopETL()
	<-etlDone
	final := map[string]int{}
	for _, r := range consumeIdle(t, b.Addr, out, kgo.FetchIsolationLevel(kgo.ReadCommitted())) {
		final[string(r.Value)]++
	}
	require.Len(t, final, total)
	for i := range total {
		require.Equal(t, 1, final[strconv.Itoa(i)], "input %d in the committed output %d times", i, final[strconv.Itoa(i)])
	}
}
