package broker_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/testenv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// A topic name of 249 characters, the longest Kafka allows, works through
// the real broker for create, produce, fetch, config changes, partition
// growth, restart and delete; it used to fail with UNKNOWN_SERVER_ERROR and
// a message holding the data path, leaving a directory behind.
func TestLongestTopicNameThroughBroker(t *testing.T) {
	b := testenv.StartBroker(t, nil)
	name := strings.Repeat("a", 240) + "-123.x_yz"
	require.Len(t, name, 249)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	adm := kadm.NewClient(newClient(t, b.Addr))

	resp, err := adm.CreateTopic(ctx, 3, 1, map[string]*string{"cleanup.policy": kadm.StringPtr("compact")}, name)
	require.NoError(t, err)
	require.NoError(t, resp.Err, "create: %s", resp.ErrMessage)

	cl := newClient(t, b.Addr, kgo.DefaultProduceTopic(name))
	produce := func(keys ...string) {
		for _, k := range keys {
			require.NoError(t, cl.ProduceSync(ctx, &kgo.Record{Key: []byte(k), Value: []byte("v-" + k)}).FirstErr())
		}
	}
	produce("a", "b", "c", "d")
	require.Len(t, consumeAll(t, b.Addr, name, 4), 4)

	alter, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "retention.ms", Value: kadm.StringPtr("3600000")}}, name)
	require.NoError(t, err)
	require.NoError(t, alter[0].Err)
	grow, err := adm.CreatePartitions(ctx, 2, name)
	require.NoError(t, err)
	require.NoError(t, grow[name].Err)
	produce("e", "f", "g", "h")

	b.Restart(t)
	adm = kadm.NewClient(newClient(t, b.Addr))
	md, err := adm.Metadata(ctx, name)
	require.NoError(t, err)
	require.Len(t, md.Topics[name].Partitions, 5)
	cfgs, err := adm.DescribeTopicConfigs(ctx, name)
	require.NoError(t, err)
	rc, err := cfgs.On(name, nil)
	require.NoError(t, err)
	for _, c := range rc.Configs {
		if c.Key == "retention.ms" {
			assert.Equal(t, "3600000", c.MaybeValue())
		}
	}
	require.Len(t, consumeAll(t, b.Addr, name, 8), 8)

	del, err := adm.DeleteTopics(ctx, name)
	require.NoError(t, err)
	require.NoError(t, del[name].Err)
	entries, err := os.ReadDir(b.Dir)
	require.NoError(t, err)
	for _, e := range entries {
		assert.False(t, strings.HasPrefix(e.Name(), "aaaa"), "left behind: %s", e.Name())
	}
	metas, err := os.ReadDir(filepath.Join(b.Dir, "topic-meta"))
	require.NoError(t, err)
	for _, e := range metas {
		assert.False(t, strings.HasPrefix(e.Name(), "aaaa"), "left behind: topic-meta/%s", e.Name())
	}

	// One character more is Kafka's INVALID_TOPIC_EXCEPTION, and no message
	// names a server path.
	resp, err = adm.CreateTopic(ctx, 1, 1, nil, name+"z")
	if err == nil {
		err = resp.Err
	}
	require.ErrorIs(t, err, kerr.InvalidTopicException)
	assert.NotContains(t, resp.ErrMessage, b.Dir)
}
