package storage

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/bench/kfakeserver"
)

// refusingKfake is a kfake cluster whose produce requests are answered
// with KAFKA_STORAGE_ERROR (a broker with a full disk) while refuse is set.
func refusingKfake(t *testing.T, refuse *atomic.Bool) string {
	t.Helper()
	c, err := kfakeserver.New("127.0.0.1:0", 1)
	require.NoError(t, err)
	t.Cleanup(c.Close)
	c.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		if !refuse.Load() {
			return nil, nil, false
		}
		return storageErrorResponse(req.(*kmsg.ProduceRequest)), nil, true
	})
	return c.ListenAddrs()[0]
}

func storageErrorResponse(req *kmsg.ProduceRequest) *kmsg.ProduceResponse {
	resp := req.ResponseKind().(*kmsg.ProduceResponse)
	for _, t := range req.Topics {
		rt := kmsg.NewProduceResponseTopic()
		rt.Topic, rt.TopicID = t.Topic, t.TopicID
		for _, p := range t.Partitions {
			rp := kmsg.NewProduceResponseTopicPartition()
			rp.Partition = p.Partition
			rp.ErrorCode = kerr.KafkaStorageError.Code
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}

// TestWritesTheBrokerRefusesFailFast: a config or offset write the broker
// keeps refusing fails in seconds with the topic and the broker's error,
// not at the caller's deadline; WriteError reports it until a write
// succeeds again.
func TestWritesTheBrokerRefusesFailFast(t *testing.T) {
	var refuse atomic.Bool
	addr := refusingKfake(t, &refuse)
	configs := newConfigStore(t, addr, true, nil)
	offsets, err := NewKafkaOffsetStore(topicOpts(addr, "connect-offsets"))
	require.NoError(t, err)
	startStore(t, offsets, true)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	require.NoError(t, configs.PutConnectorConfig(ctx, "c", map[string]string{"a": "1"}, nil))
	require.NoError(t, configs.WriteError())

	refuse.Store(true)
	start := time.Now()
	err = configs.PutConnectorConfig(ctx, "c", map[string]string{"a": "2"}, nil)
	took := time.Since(start)
	require.Error(t, err)
	t.Logf("a refused config write failed after %s", took)
	assert.Less(t, took, 15*time.Second, "a refused write fails fast, not at the 60 s deadline")
	assert.ErrorIs(t, err, kerr.KafkaStorageError)
	assert.Contains(t, err.Error(), "write config of connector c: write to config topic connect-configs: KAFKA_STORAGE_ERROR: ")
	require.Error(t, configs.WriteError())
	assert.Contains(t, configs.WriteError().Error(), "write to config topic connect-configs: KAFKA_STORAGE_ERROR")
	assert.Equal(t, "1", configs.Snapshot().Connectors["c"]["a"], "the refused config was not applied")

	err = offsets.Set(ctx, "src", []OffsetEntry{{Partition: map[string]any{"f": "a"}, Offset: map[string]any{"pos": int64(1)}}})
	require.ErrorIs(t, err, kerr.KafkaStorageError)
	assert.Contains(t, err.Error(), "write to offset topic connect-offsets: KAFKA_STORAGE_ERROR")
	require.Error(t, offsets.WriteError())

	refuse.Store(false)
	require.NoError(t, configs.PutConnectorConfig(ctx, "c", map[string]string{"a": "3"}, nil))
	assert.NoError(t, configs.WriteError(), "healthy again once a write succeeds")
	assert.Equal(t, "3", configs.Snapshot().Connectors["c"]["a"])
	require.NoError(t, offsets.Set(ctx, "src", []OffsetEntry{{Partition: map[string]any{"f": "a"}, Offset: map[string]any{"pos": int64(2)}}}))
	assert.NoError(t, offsets.WriteError())
}
