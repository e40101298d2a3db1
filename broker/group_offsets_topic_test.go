package broker_test

import (
	"context"
	"sync"
	"testing"

	"github.com/sluicehq/sluice/broker"
	"github.com/sluicehq/sluice/broker/log"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// storeBroker is a broker whose store the test holds, to change the data
// directory behind the broker's back.
type storeBroker struct {
	Addr  string
	store *log.Store
	stop  context.CancelFunc
	wg    sync.WaitGroup
}

func startStoreBroker(t *testing.T, dir string) *storeBroker {
	t.Helper()
	cfg, err := broker.NewConfig(map[string]string{"listeners": "PLAINTEXT://127.0.0.1:0", "log.dirs": dir,
		"offsets.topic.num.partitions": "3"})
	require.NoError(t, err)
	store, err := log.Open(log.Options{Dir: dir, Defaults: cfg.TopicDefaults})
	require.NoError(t, err)
	srv, err := broker.New(cfg, store, nil)
	require.NoError(t, err)
	addr, err := srv.Listen()
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	b := &storeBroker{Addr: addr.String(), store: store, stop: cancel}
	b.wg.Go(func() { store.Run(ctx) })
	b.wg.Go(func() { srv.Groups().Run(ctx) })
	b.wg.Go(func() { srv.Txns().Run(ctx) })
	b.wg.Go(func() { srv.Run(ctx) })
	t.Cleanup(func() { b.close(t) })
	return b
}

func (b *storeBroker) close(t *testing.T) {
	if b.stop == nil {
		return
	}
	b.stop()
	b.stop = nil
	b.wg.Wait()
	assert.NoError(t, b.store.Close())
}

// TestOffsetsTopicRecreatedOnDemand: with __consumer_offsets gone while the
// broker runs (deleted out of band, or by an older version that allowed
// it), groups find their coordinator, join, sync and commit again without
// a restart; the topic comes back compacted, the groups' earlier offsets
// are written back, and all of it survives a restart.
func TestOffsetsTopicRecreatedOnDemand(t *testing.T) {
	dir := t.TempDir()
	b := startStoreBroker(t, dir)
	createTopic(t, b.Addr, "work", 1, nil)
	produceOne(t, b.Addr, "work")
	joinAndCommit(t, b.Addr, "before", "work")

	require.NoError(t, b.store.DeleteTopic("__consumer_offsets"))

	adm, cl := newAdmin(t, b.Addr)
	req := kmsg.NewPtrFindCoordinatorRequest()
	req.CoordinatorKeys = []string{"after"}
	found, err := req.RequestWith(adminCtx(t), cl)
	require.NoError(t, err)
	require.Len(t, found.Coordinators, 1)
	assert.Zero(t, found.Coordinators[0].ErrorCode)
	joinAndCommit(t, b.Addr, "after", "work")
	assert.Equal(t, int64(1), committedTotal(t, adm, "after"))
	assert.Equal(t, int64(1), committedTotal(t, adm, "before"))

	configs := topicConfigs(t, adm, "__consumer_offsets")
	assert.Equal(t, "compact", configs["cleanup.policy"].MaybeValue())
	assert.Equal(t, 3, partitionCount(t, cl, "__consumer_offsets"))

	b.close(t)
	b = startStoreBroker(t, dir)
	adm = kadm.NewClient(newClient(t, b.Addr))
	assert.Equal(t, int64(1), committedTotal(t, adm, "after"))
	assert.Equal(t, int64(1), committedTotal(t, adm, "before"))
}

func produceOne(t *testing.T, addr, topic string) {
	t.Helper()
	cl := newClient(t, addr)
	require.NoError(t, cl.ProduceSync(adminCtx(t), &kgo.Record{Topic: topic, Value: []byte("v")}).FirstErr())
}
