package storage

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/testenv"
)

func TestStoresCreateCompactedTopics(t *testing.T) {
	forEachBroker(t, func(t *testing.T, addr string) {
		ctx := testCtx(t)
		newConfigStore(t, addr, false, nil)
		newKafkaOffsetStore(t, addr, false)
		newStatusStore(t, addr, false)

		adm := kadm.NewClient(newClient(t, addr))
		details, err := adm.ListTopics(ctx, configTopic, offsetTopic, statusTopic)
		require.NoError(t, err)
		assert.Len(t, details[configTopic].Partitions, 1)
		assert.Len(t, details[offsetTopic].Partitions, 25)
		assert.Len(t, details[statusTopic].Partitions, 5)

		configs, err := adm.DescribeTopicConfigs(ctx, configTopic, offsetTopic, statusTopic)
		require.NoError(t, err)
		for _, topic := range []string{configTopic, offsetTopic, statusTopic} {
			rc, err := configs.On(topic, nil)
			require.NoError(t, err)
			policy := ""
			for _, c := range rc.Configs {
				if c.Key == "cleanup.policy" && c.Value != nil {
					policy = *c.Value
				}
			}
			assert.Equal(t, "compact", policy, topic)
		}
	})
}

func TestStoresRefuseNonCompactedTopics(t *testing.T) {
	forEachBroker(t, func(t *testing.T, addr string) {
		createTopic(t, addr, statusTopic, 5, map[string]string{"cleanup.policy": "delete"})
		createTopic(t, addr, offsetTopic, 5, map[string]string{"cleanup.policy": "compact,delete"})

		status, err := NewStatusStore(StatusStoreOptions{TopicOptions: topicOpts(addr, statusTopic)})
		require.NoError(t, err)
		defer status.Close()
		err = status.Start(testCtx(t))
		var perr *TopicPolicyError
		require.ErrorAs(t, err, &perr)
		assert.Equal(t, "Topic 'connect-status' supplied via the 'status.storage.topic' property is required "+
			"to have 'cleanup.policy=compact' to guarantee consistency and durability of connector and task statuses, "+
			"but found the topic currently has 'cleanup.policy=delete'. Continuing would likely result in eventually "+
			"losing connector and task statuses and problems restarting this Connect cluster in the future. "+
			"Change the 'status.storage.topic' property in the Connect worker configurations to use a topic with "+
			"'cleanup.policy=compact'.", err.Error())

		offsets, err := NewKafkaOffsetStore(topicOpts(addr, offsetTopic))
		require.NoError(t, err)
		defer offsets.Close()
		err = offsets.Start(testCtx(t))
		require.ErrorAs(t, err, &perr)
		assert.Equal(t, []string{"compact", "delete"}, perr.Policies)
		assert.Contains(t, err.Error(), "'offset.storage.topic'")
		assert.Contains(t, err.Error(), "source connector offsets")
	})
}

func TestStoresAcceptExistingCompactedTopic(t *testing.T) {
	forEachBroker(t, func(t *testing.T, addr string) {
		createTopic(t, addr, offsetTopic, 3, map[string]string{"cleanup.policy": "compact"})
		s := newKafkaOffsetStore(t, addr, false)
		require.NoError(t, s.Set(testCtx(t), "c", []OffsetEntry{{Partition: map[string]any{"p": 1}, Offset: map[string]any{"o": 1}}}))
		recs := readRaw(t, addr, offsetTopic)
		require.Len(t, recs, 1)
		assert.Equal(t, javaPartition([]byte(recs[0].Key), 3), recs[0].Partition, "the existing partition count is used")
	})
}

func TestRefreshReadsEverythingWrittenBefore(t *testing.T) {
	forEachBroker(t, func(t *testing.T, addr string) {
		ctx := testCtx(t)
		s := newKafkaOffsetStore(t, addr, false)
		var kvs [][2]string
		for i := range 500 {
			kvs = append(kvs, [2]string{string(offsetKey("c", map[string]any{"n": int64(i)})), `{"o":1}`})
		}
		produceRaw(t, addr, offsetTopic, kgo.StickyKeyPartitioner(nil), kvs...)
		require.NoError(t, s.Refresh(ctx))
		assert.Len(t, s.Offsets("c"), 500)
	})
}

func TestRefreshPassesTransactionMarkers(t *testing.T) {
	forEachBroker(t, func(t *testing.T, addr string) {
		ctx := testCtx(t)
		s := newConfigStore(t, addr, true, nil)
		// A Kafka leader with exactly-once support writes the config topic
		// in transactions; aborted ones must not be applied, and the
		// markers must not stall reading to the end.
		txn := newClient(t, addr, kgo.DefaultProduceTopic(configTopic), kgo.TransactionalID("connect-cluster-test"))
		write := func(commit bool, kvs ...[2]string) {
			require.NoError(t, txn.BeginTransaction())
			for _, kv := range kvs {
				require.NoError(t, txn.ProduceSync(ctx, &kgo.Record{Key: []byte(kv[0]), Value: []byte(kv[1])}).FirstErr())
			}
			require.NoError(t, txn.EndTransaction(ctx, kgo.TransactionEndTry(commit)))
		}
		write(true, [2]string{"connector-kept", `{"properties":{}}`})
		write(false, [2]string{"connector-aborted", `{"properties":{}}`})
		write(true, [2]string{"target-state-kept", `{"state":"PAUSED","state.v2":"PAUSED"}`})

		require.NoError(t, s.Refresh(ctx))
		snap := s.Snapshot()
		assert.Equal(t, map[string]map[string]string{"kept": {}}, snap.Connectors)
		assert.Equal(t, TargetPaused, snap.TargetStates["kept"])

		// Puts, which read to the end, work on top of markers too.
		require.NoError(t, s.PutTargetState(ctx, "kept", TargetStarted))
	})
}

func TestRunStopsWithItsContext(t *testing.T) {
	forEachBroker(t, func(t *testing.T, addr string) {
		s, err := NewKafkaOffsetStore(topicOpts(addr, offsetTopic))
		require.NoError(t, err)
		require.NoError(t, s.Start(testCtx(t)))
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- s.Run(ctx) }()
		time.Sleep(50 * time.Millisecond)
		cancel()
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(10 * time.Second):
			t.Fatal("Run did not return after its context ended")
		}

		// Close ends a running Run too, and Refresh fails afterwards.
		go func() { done <- s.Run(context.Background()) }()
		time.Sleep(50 * time.Millisecond)
		require.NoError(t, s.Close())
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(10 * time.Second):
			t.Fatal("Run did not return after Close")
		}
		require.NoError(t, s.Close())
		err = s.Refresh(testCtx(t))
		require.Error(t, err)
	})
}

func TestRefreshWaitsForRunningReader(t *testing.T) {
	forEachBroker(t, func(t *testing.T, addr string) {
		ctx := testCtx(t)
		s := newKafkaOffsetStore(t, addr, true)
		produceRaw(t, addr, offsetTopic, kgo.StickyKeyPartitioner(nil), [2]string{`["c",{"p":1}]`, `{"o":1}`})
		require.NoError(t, s.Refresh(ctx))
		got, err := s.Get("c", map[string]any{"p": 1})
		require.NoError(t, err)
		assert.Equal(t, map[string]any{"o": int64(1)}, got)

		short, cancel := context.WithTimeout(ctx, time.Millisecond)
		defer cancel()
		<-short.Done()
		err = s.Refresh(short)
		require.True(t, errors.Is(err, context.DeadlineExceeded), "got %v", err)
	})
}

func TestStoresSurviveBrokerRestart(t *testing.T) {
	// Sluice only: kfake keeps nothing across a restart.
	broker := testenv.StartBroker(t, nil)
	ctx := testCtx(t)
	open := func(t *testing.T) (*ConfigStore, *KafkaOffsetStore, *StatusStore) {
		return newConfigStore(t, broker.Addr, false, nil), newKafkaOffsetStore(t, broker.Addr, false), newStatusStore(t, broker.Addr, false)
	}
	var (
		wantConfig  ConfigSnapshot
		wantOffsets []OffsetEntry
	)
	running := Status{State: "RUNNING", WorkerID: "w1", Generation: 2}
	t.Run("write", func(t *testing.T) {
		cfg, offsets, status := open(t)
		require.NoError(t, cfg.PutConnectorConfig(ctx, "c", map[string]string{"k": "v"}, ptr(TargetPaused)))
		require.NoError(t, cfg.PutTaskConfigs(ctx, "c", []map[string]string{{"t": "0"}}))
		require.NoError(t, offsets.Set(ctx, "c", []OffsetEntry{{Partition: map[string]any{"p": 1}, Offset: map[string]any{"o": 2}}}))
		status.PutConnector("c", running)
		status.PutTask("c", 0, running)
		status.PutTopic("c", "topic", 0)
		require.NoError(t, status.Flush(ctx))
		wantConfig, wantOffsets = cfg.Snapshot(), offsets.Offsets("c")
	})
	broker.Restart(t)
	t.Run("read", func(t *testing.T) {
		cfg, offsets, status := open(t)
		assert.Equal(t, wantConfig, cfg.Snapshot())
		assert.Equal(t, wantOffsets, offsets.Offsets("c"))
		st, ok := status.Connector("c")
		assert.True(t, ok)
		assert.Equal(t, running, st)
		assert.Equal(t, map[int]Status{0: running}, status.Tasks("c"))
		assert.Equal(t, []string{"topic"}, status.Topics("c"))
	})
}
