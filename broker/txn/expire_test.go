package txn

import (
	"testing"
	"time"

	"github.com/sluicehq/sluice/broker/group"
	"github.com/sluicehq/sluice/broker/log"
	"github.com/sluicehq/sluice/internal/testclock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const expiration = time.Hour

func openClocked(t *testing.T, dir string, clk *testclock.Clock) *fixture {
	t.Helper()
	st, err := log.Open(log.Options{Dir: dir})
	require.NoError(t, err)
	g, err := group.New(group.Config{OffsetsPartitions: 1}, st, nil)
	require.NoError(t, err)
	c, err := New(Config{StatePartitions: 2, MaxTimeout: 100 * time.Hour, IDExpiration: expiration, Now: clk.Now}, st, g, nil)
	require.NoError(t, err)
	return &fixture{dir, st, g, c}
}

func TestTransactionalIDsExpire(t *testing.T) {
	clk := testclock.New(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	dir := t.TempDir()
	f := openClocked(t, dir, clk)
	require.NoError(t, f.store.CreateTopic("t", 1, nil, false))
	init := func(id string) Producer {
		p, err := f.c.InitProducerID(id, 10*int32(expiration/time.Millisecond), Producer{-1, -1}, f.store.NextProducerID)
		require.NoError(t, err)
		return p
	}
	idle := init("idle")           // Empty
	committed := init("committed") // CompleteCommit
	ongoing := init("ongoing")     // in a transaction for longer than the expiration
	_, err := f.c.AddPartitions("committed", committed, []TopicPartition{tp0})
	require.NoError(t, err)
	require.NoError(t, f.c.EndTxn("committed", committed, true))
	_, err = f.c.AddPartitions("ongoing", ongoing, []TopicPartition{tp0})
	require.NoError(t, err)
	clk.Add(expiration / 2)
	init("recent")

	clk.Add(expiration / 2)
	n, err := f.c.ExpireTransactionalIDs()
	require.NoError(t, err)
	assert.Equal(t, 2, n, "idle and committed; not the ongoing transaction, not the recent id")
	ids := func(c *Coordinator) []string {
		var out []string
		for _, l := range c.List(nil, nil, 0) {
			out = append(out, l.TransactionalID)
		}
		return out
	}
	assert.Equal(t, []string{"ongoing", "recent"}, ids(f.c))
	require.ErrorIs(t, f.c.CheckProduce(idle, tp0), ErrInvalidProducerIDMapping, "the expired id's producer is unknown")
	require.NoError(t, f.c.CheckProduce(ongoing, tp0))

	// The removal is durable.
	f.close(t)
	f = openClocked(t, dir, clk)
	defer f.close(t)
	assert.Equal(t, []string{"ongoing", "recent"}, ids(f.c))

	// An expired id starts over with a new producer id.
	again, err := f.c.InitProducerID("idle", 1000, Producer{-1, -1}, f.store.NextProducerID)
	require.NoError(t, err)
	assert.NotEqual(t, idle.ID, again.ID)
	assert.Equal(t, int16(0), again.Epoch)
}
