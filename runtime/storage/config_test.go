package storage

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"
)

const configTopic = "connect-configs"

// updates collects OnUpdate calls.
type updates struct {
	mu   sync.Mutex
	list []ConfigUpdate
}

func (u *updates) add(up ConfigUpdate) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.list = append(u.list, up)
}

func (u *updates) get() []ConfigUpdate {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]ConfigUpdate(nil), u.list...)
}

func newConfigStore(t *testing.T, addr string, run bool, onUpdate func(ConfigUpdate)) *ConfigStore {
	t.Helper()
	s, err := NewConfigStore(ConfigStoreOptions{TopicOptions: topicOpts(addr, configTopic), OnUpdate: onUpdate})
	require.NoError(t, err)
	startStore(t, s, run)
	return s
}

func ptr[T any](v T) *T { return &v }

func TestConfigStoreRecordFormats(t *testing.T) {
	forEachBroker(t, func(t *testing.T, addr string) {
		ctx := testCtx(t)
		s := newConfigStore(t, addr, false, nil)

		require.NoError(t, s.PutConnectorConfig(ctx, "my-conn", map[string]string{"b": "2", "a": "x\"<y>"}, ptr(TargetStopped)))
		require.NoError(t, s.PutConnectorConfig(ctx, "my-conn", map[string]string{"a": "1"}, nil))
		require.NoError(t, s.PutTaskConfigs(ctx, "my-conn", []map[string]string{{"t": "0"}, {"t": "1"}}))
		require.NoError(t, s.PutTargetState(ctx, "my-conn", TargetPaused))
		require.NoError(t, s.PutTargetState(ctx, "my-conn", TargetStarted))
		require.NoError(t, s.PutRestartRequest(ctx, "my-conn", true, false))
		require.NoError(t, s.PutTaskConfigs(ctx, "my-conn", nil))
		require.NoError(t, s.RemoveConnector(ctx, "my-conn"))

		// Golden values: what Kafka's KafkaConfigBackingStore writes.
		assert.Equal(t, [][2]string{
			{"target-state-my-conn", `{"state":"PAUSED","state.v2":"STOPPED"}`},
			{"connector-my-conn", `{"properties":{"a":"x\"<y>","b":"2"}}`},
			{"connector-my-conn", `{"properties":{"a":"1"}}`},
			{"task-my-conn-0", `{"properties":{"t":"0"}}`},
			{"task-my-conn-1", `{"properties":{"t":"1"}}`},
			{"commit-my-conn", `{"tasks":2}`},
			{"target-state-my-conn", `{"state":"PAUSED","state.v2":"PAUSED"}`},
			{"target-state-my-conn", `{"state":"STARTED","state.v2":"STARTED"}`},
			{"restart-connector-my-conn", `{"include-tasks":true,"only-failed":false}`},
			{"commit-my-conn", `{"tasks":0}`},
			{"connector-my-conn", "<nil>"},
			{"target-state-my-conn", "<nil>"},
		}, keyValues(readRaw(t, addr, configTopic)))
	})
}

func TestConfigStorePutsAreReadBack(t *testing.T) {
	forEachBroker(t, func(t *testing.T, addr string) {
		ctx := testCtx(t)
		s := newConfigStore(t, addr, true, nil)
		assert.Equal(t, int64(-1), s.Snapshot().Offset)

		require.NoError(t, s.PutConnectorConfig(ctx, "c", map[string]string{"k": "v"}, ptr(TargetPaused)))
		snap := s.Snapshot()
		assert.Equal(t, map[string]map[string]string{"c": {"k": "v"}}, snap.Connectors)
		assert.Equal(t, TargetPaused, snap.TargetStates["c"])
		assert.Equal(t, int64(2), snap.Offset)

		require.NoError(t, s.PutTaskConfigs(ctx, "c", []map[string]string{{"task": "a"}}))
		snap = s.Snapshot()
		assert.Equal(t, []map[string]string{{"task": "a"}}, snap.Tasks["c"])
		assert.Equal(t, 1, snap.TaskCounts["c"])

		require.NoError(t, s.PutTargetState(ctx, "c", TargetStopped))
		assert.Equal(t, TargetStopped, s.Snapshot().TargetStates["c"])

		// A snapshot is a deep copy.
		snap = s.Snapshot()
		snap.Connectors["c"]["k"] = "changed"
		snap.Tasks["c"][0]["task"] = "changed"
		assert.Equal(t, "v", s.Snapshot().Connectors["c"]["k"])
		assert.Equal(t, "a", s.Snapshot().Tasks["c"][0]["task"])

		require.NoError(t, s.RemoveConnector(ctx, "c"))
		snap = s.Snapshot()
		assert.Empty(t, snap.Connectors)
		assert.Empty(t, snap.TargetStates)
		assert.Empty(t, snap.Tasks)
		assert.Empty(t, snap.TaskCounts)

		require.ErrorContains(t, s.PutTargetState(ctx, "c", "RUNNING"), `unknown target state "RUNNING"`)
	})
}

func TestConfigStoreCommitSemantics(t *testing.T) {
	forEachBroker(t, func(t *testing.T, addr string) {
		ctx := testCtx(t)
		s := newConfigStore(t, addr, false, nil)
		require.NoError(t, s.PutConnectorConfig(ctx, "x", map[string]string{}, nil))

		// Task configs without a commit take no effect.
		produceRaw(t, addr, configTopic, nil,
			[2]string{"task-x-0", `{"properties":{"n":"0"}}`},
			[2]string{"task-x-1", `{"properties":{"n":"1"}}`})
		require.NoError(t, s.Refresh(ctx))
		assert.NotContains(t, s.Snapshot().Tasks, "x")
		assert.NotContains(t, s.Snapshot().TaskCounts, "x")

		produceRaw(t, addr, configTopic, nil, [2]string{"commit-x", `{"tasks":2}`})
		require.NoError(t, s.Refresh(ctx))
		assert.Equal(t, []map[string]string{{"n": "0"}, {"n": "1"}}, s.Snapshot().Tasks["x"])

		// A commit missing one of its tasks (compaction) is inconsistent
		// and leaves no tasks until a complete set is committed.
		produceRaw(t, addr, configTopic, nil,
			[2]string{"task-x-1", `{"properties":{"n":"new1"}}`},
			[2]string{"commit-x", `{"tasks":2}`})
		require.NoError(t, s.Refresh(ctx))
		snap := s.Snapshot()
		assert.True(t, snap.Inconsistent["x"])
		assert.NotContains(t, snap.Tasks, "x")
		assert.Equal(t, 2, snap.TaskCounts["x"])

		// Shrinking leaves old task configs behind; only the count matters.
		require.NoError(t, s.PutTaskConfigs(ctx, "x", []map[string]string{{"n": "only"}}))
		snap = s.Snapshot()
		assert.False(t, snap.Inconsistent["x"])
		assert.Equal(t, []map[string]string{{"n": "only"}}, snap.Tasks["x"])
	})
}

func TestConfigStoreReadsKafkaWrittenRecords(t *testing.T) {
	forEachBroker(t, func(t *testing.T, addr string) {
		ctx := testCtx(t)
		s := newConfigStore(t, addr, false, nil)
		produceRaw(t, addr, configTopic, nil,
			// A connector from an older worker: no target state record.
			[2]string{"connector-old", `{"properties":{"z":"1","a":"2","nul":null}}`},
			// A pre-KIP-875 target state without state.v2.
			[2]string{"connector-legacy", `{"properties":{}}`},
			[2]string{"target-state-legacy", `{"state":"PAUSED"}`},
			// Records Sluice reads past.
			[2]string{"session-key", `{"key":"AAAA","algorithm":"HmacSHA256","creation-timestamp":1}`},
			[2]string{"tasks-fencing-old", `{"task-count":1}`},
			[2]string{"logger-cluster-org.apache", `{"level":"DEBUG"}`},
			// Malformed records are skipped.
			[2]string{"connector-bad", `["not","a","map"]`},
			[2]string{"connector-worse", `not json`},
			[2]string{"commit-old", `{"tasks":"two"}`},
			[2]string{"task-old", `{"properties":{}}`},
			[2]string{"target-state-old", `{"state":"SLEEPING"}`},
			[2]string{"something-else", `{}`},
		)
		require.NoError(t, s.Refresh(ctx))
		snap := s.Snapshot()
		assert.Equal(t, map[string]map[string]string{"old": {"z": "1", "a": "2"}, "legacy": {}}, snap.Connectors)
		assert.Equal(t, map[string]TargetState{"old": TargetStarted, "legacy": TargetPaused}, snap.TargetStates)
		assert.Empty(t, snap.TaskCounts)
	})
}

func TestConfigStoreSecondInstanceSeesWrites(t *testing.T) {
	forEachBroker(t, func(t *testing.T, addr string) {
		ctx := testCtx(t)
		writer := newConfigStore(t, addr, true, nil)
		require.NoError(t, writer.PutConnectorConfig(ctx, "before", map[string]string{"k": "v"}, nil))

		var got updates
		reader := newConfigStore(t, addr, true, got.add)
		assert.Equal(t, writer.Snapshot(), reader.Snapshot(), "Start reads everything")

		require.NoError(t, writer.PutConnectorConfig(ctx, "c", map[string]string{"k": "v"}, ptr(TargetPaused)))
		require.NoError(t, writer.PutTaskConfigs(ctx, "c", []map[string]string{{"t": "0"}, {"t": "1"}}))
		require.NoError(t, writer.PutTargetState(ctx, "c", TargetPaused)) // unchanged: not reported
		require.NoError(t, writer.PutTargetState(ctx, "c", TargetStopped))
		require.NoError(t, writer.PutTargetState(ctx, "nobody", TargetPaused)) // no connector: not reported
		require.NoError(t, writer.PutRestartRequest(ctx, "c", false, true))
		require.NoError(t, writer.RemoveConnector(ctx, "c"))

		want := []ConfigUpdate{
			{Kind: ConnectorConfigUpdated, Connector: "c"},
			{Kind: TaskConfigsCommitted, Connector: "c", Tasks: []int{0, 1}},
			{Kind: TargetStateChanged, Connector: "c"},
			{Kind: RestartRequested, Connector: "c", OnlyFailed: true},
			{Kind: ConnectorConfigRemoved, Connector: "c"},
		}
		waitFor(t, "all updates", func() bool { return len(got.get()) >= len(want) })
		assert.Equal(t, want, got.get())
		require.NoError(t, reader.Refresh(ctx))
		assert.Equal(t, writer.Snapshot(), reader.Snapshot())
	})
}

func TestConfigStoreReopenRestoresState(t *testing.T) {
	forEachBroker(t, func(t *testing.T, addr string) {
		ctx := testCtx(t)
		first, err := NewConfigStore(ConfigStoreOptions{TopicOptions: topicOpts(addr, configTopic)})
		require.NoError(t, err)
		require.NoError(t, first.Start(ctx))
		require.NoError(t, first.PutConnectorConfig(ctx, "a", map[string]string{"x": "1"}, ptr(TargetStopped)))
		require.NoError(t, first.PutConnectorConfig(ctx, "b", map[string]string{"y": "2"}, nil))
		require.NoError(t, first.PutTaskConfigs(ctx, "b", []map[string]string{{"t": "0"}}))
		require.NoError(t, first.PutConnectorConfig(ctx, "gone", map[string]string{}, nil))
		require.NoError(t, first.RemoveConnector(ctx, "gone"))
		want := first.Snapshot()
		require.NoError(t, first.Close())
		require.NoError(t, first.Close(), "Close is idempotent")

		var got updates
		second := newConfigStore(t, addr, false, got.add)
		assert.Equal(t, want, second.Snapshot())
		assert.Empty(t, got.get(), "what Start reads is not reported")
	})
}

func TestConfigStoreRefusesMultiPartitionTopic(t *testing.T) {
	forEachBroker(t, func(t *testing.T, addr string) {
		createTopic(t, addr, configTopic, 2, map[string]string{"cleanup.policy": "compact"})
		s, err := NewConfigStore(ConfigStoreOptions{TopicOptions: topicOpts(addr, configTopic)})
		require.NoError(t, err)
		defer s.Close()
		err = s.Start(testCtx(t))
		require.EqualError(t, err, "Topic 'connect-configs' supplied via the 'config.storage.topic' property is required "+
			"to have a single partition in order to guarantee consistency of connector configurations, but found 2 partitions.")
	})
}

func TestConfigStoreOptions(t *testing.T) {
	_, err := NewConfigStore(ConfigStoreOptions{})
	require.ErrorContains(t, err, "config store: topic must not be empty")
	_, err = NewConfigStore(ConfigStoreOptions{TopicOptions: TopicOptions{Topic: "t", Partitions: 3}})
	require.ErrorContains(t, err, "the config topic has exactly 1")
	_, err = NewConfigStore(ConfigStoreOptions{TopicOptions: TopicOptions{Topic: "t", ReplicationFactor: -2}})
	require.ErrorContains(t, err, "replication factor -2")

	s, err := NewConfigStore(ConfigStoreOptions{TopicOptions: TopicOptions{Topic: "t", ClientOpts: []kgo.Opt{kgo.SeedBrokers("127.0.0.1:1")}}})
	require.NoError(t, err)
	require.ErrorContains(t, s.PutTargetState(testCtx(t), "c", TargetPaused), "Start has not succeeded")
	require.ErrorContains(t, s.Run(testCtx(t)), "Start has not succeeded")
	require.NoError(t, s.Close())
}
