package storage

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const statusTopic = "connect-status"

func newStatusStore(t *testing.T, addr string, run bool) *StatusStore {
	t.Helper()
	s, err := NewStatusStore(StatusStoreOptions{
		TopicOptions: topicOpts(addr, statusTopic),
		Now:          func() time.Time { return time.UnixMilli(1700000000123) },
	})
	require.NoError(t, err)
	startStore(t, s, run)
	return s
}

func TestStatusStoreRecordFormats(t *testing.T) {
	forEachBroker(t, func(t *testing.T, addr string) {
		ctx := testCtx(t)
		s := newStatusStore(t, addr, false)
		s.PutConnector("my-conn", Status{State: "RUNNING", WorkerID: "10.0.0.1:8083", Generation: 3})
		s.PutTask("my-conn", 0, Status{State: "FAILED", Trace: "boom\n\tat \"x\"", WorkerID: "w2", Generation: 4})
		s.PutTask("my-conn", 1, Status{State: "RUNNING", WorkerID: "w2", Generation: 4})
		s.PutTopic("my-conn", "orders", 1)
		s.PutTopic("my-conn", "orders", 0) // already recorded: no write
		s.ResetTopics("my-conn")
		s.DeleteConnector("my-conn")
		require.NoError(t, s.Flush(ctx))

		got := keyValues(readRaw(t, addr, statusTopic))
		// Golden values: what Kafka's KafkaStatusBackingStore writes.
		assert.ElementsMatch(t, [][2]string{
			{"status-connector-my-conn", `{"state":"RUNNING","trace":null,"worker_id":"10.0.0.1:8083","generation":3}`},
			{"status-task-my-conn-0", `{"state":"FAILED","trace":"boom\n\tat \"x\"","worker_id":"w2","generation":4}`},
			{"status-task-my-conn-1", `{"state":"RUNNING","trace":null,"worker_id":"w2","generation":4}`},
			{"status-topic-orders:connector-my-conn", `{"topic":{"name":"orders","connector":"my-conn","task":1,"discoverTimestamp":1700000000123}}`},
			{"status-topic-orders:connector-my-conn", "<nil>"},
			{"status-connector-my-conn", "<nil>"},
			{"status-task-my-conn-0", "<nil>"},
			{"status-task-my-conn-1", "<nil>"},
		}, got)
	})
}

func TestStatusStoreLocalViewIsImmediate(t *testing.T) {
	forEachBroker(t, func(t *testing.T, addr string) {
		s := newStatusStore(t, addr, true)
		running := Status{State: "RUNNING", WorkerID: "w1", Generation: 1}
		s.PutConnector("c", running)
		s.PutTask("c", 0, running)
		s.PutTask("c", 2, running)
		s.PutTopic("c", "b", 0)
		s.PutTopic("c", "a", 2)

		st, ok := s.Connector("c")
		assert.True(t, ok)
		assert.Equal(t, running, st)
		assert.Equal(t, map[int]Status{0: running, 2: running}, s.Tasks("c"))
		st, ok = s.Task("c", 2)
		assert.True(t, ok)
		assert.Equal(t, running, st)
		assert.Equal(t, []string{"c"}, s.Connectors())
		assert.Equal(t, []string{"a", "b"}, s.Topics("c"))

		s.PutTask("c", 2, Status{State: StateDestroyed, WorkerID: "w1", Generation: 1})
		assert.Equal(t, map[int]Status{0: running}, s.Tasks("c"))
		s.ResetTopics("c")
		assert.Empty(t, s.Topics("c"))
		s.DeleteConnector("c")
		_, ok = s.Connector("c")
		assert.False(t, ok)
		assert.Empty(t, s.Tasks("c"))

		// Reading its own writes back leaves the view where it is.
		require.NoError(t, s.Flush(testCtx(t)))
		require.NoError(t, s.Refresh(testCtx(t)))
		assert.Empty(t, s.Connectors())
		assert.Empty(t, s.Tasks("c"))
	})
}

func TestStatusStorePutSafe(t *testing.T) {
	forEachBroker(t, func(t *testing.T, addr string) {
		s := newStatusStore(t, addr, false)
		w1gen5 := Status{State: "RUNNING", WorkerID: "w1", Generation: 5}
		for _, tc := range []struct {
			name string
			next Status
			ok   bool
		}{
			{"no previous value", w1gen5, true},
			{"other worker, older generation", Status{State: "UNASSIGNED", WorkerID: "w2", Generation: 4}, false},
			{"other worker, same generation", Status{State: "UNASSIGNED", WorkerID: "w2", Generation: 5}, true},
			{"back to w1", w1gen5, true},
			{"same worker, older generation", Status{State: "PAUSED", WorkerID: "w1", Generation: 1}, true},
			{"other worker, newer generation", Status{State: "RUNNING", WorkerID: "w3", Generation: 6}, true},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before, _ := s.Task("c", 0)
				assert.Equal(t, tc.ok, s.PutTaskSafe("c", 0, tc.next))
				got, _ := s.Task("c", 0)
				if tc.ok {
					assert.Equal(t, tc.next, got)
				} else {
					assert.Equal(t, before, got)
				}
				beforeConn, _ := s.Connector("c")
				assert.Equal(t, tc.ok, s.PutConnectorSafe("c", tc.next))
				gotConn, _ := s.Connector("c")
				if !tc.ok {
					assert.Equal(t, beforeConn, gotConn)
				}
			})
		}
		require.NoError(t, s.Flush(testCtx(t)))
	})
}

func TestStatusStoreSecondInstance(t *testing.T) {
	forEachBroker(t, func(t *testing.T, addr string) {
		ctx := testCtx(t)
		a := newStatusStore(t, addr, false)
		failed := Status{State: "FAILED", Trace: "trace", WorkerID: "w1", Generation: 2}
		a.PutConnector("c", failed)
		a.PutTask("c", 0, failed)
		a.PutTask("c", 1, failed)
		a.PutTopic("c", "t1", 0)
		a.PutConnector("d", failed)
		require.NoError(t, a.Flush(ctx))

		b := newStatusStore(t, addr, true)
		st, ok := b.Connector("c")
		assert.True(t, ok)
		assert.Equal(t, failed, st)
		assert.Equal(t, map[int]Status{0: failed, 1: failed}, b.Tasks("c"))
		assert.Equal(t, []string{"t1"}, b.Topics("c"))

		a.DeleteConnector("c")
		a.ResetTopics("c")
		require.NoError(t, a.Flush(ctx))
		waitFor(t, "b to read the tombstones", func() bool {
			_, ok := b.Connector("c")
			return !ok && len(b.Tasks("c")) == 0 && len(b.Topics("c")) == 0
		})
		assert.Equal(t, []string{"d"}, b.Connectors())
	})
}

func TestStatusStoreReadsKafkaWrittenRecords(t *testing.T) {
	forEachBroker(t, func(t *testing.T, addr string) {
		ctx := testCtx(t)
		s := newStatusStore(t, addr, false)
		produceRaw(t, addr, statusTopic, nil,
			[2]string{"status-connector-my-conn", `{"worker_id":"w","generation":7,"state":"RUNNING","trace":null}`},
			[2]string{"status-task-my-conn-0", `{"state":"UNASSIGNED","trace":null,"worker_id":"w","generation":7}`},
			[2]string{"status-task-my-conn-1", `{"state":"RUNNING","trace":null,"worker_id":"w","generation":7}`},
			[2]string{"status-topic-t.1:connector-my-conn", `{"topic":{"name":"t.1","connector":"my-conn","task":0,"discoverTimestamp":1}}`},
			// Malformed records are skipped.
			[2]string{"status-task-my-conn-x", `{"state":"RUNNING","worker_id":"w","generation":7}`},
			[2]string{"status-task-other-0", `{"state":"NAPPING","worker_id":"w","generation":7}`},
			[2]string{"status-task-other-1", `{"state":"RUNNING","worker_id":"w"}`},
			[2]string{"status-topic-nocolon", `{}`},
			[2]string{"status-topic-t:connector-other", `{"topic":{"name":"t"}}`},
			[2]string{"status-connector-", `{}`},
			[2]string{"unknown", `{}`},
		)
		require.NoError(t, s.Refresh(ctx))
		assert.Equal(t, []string{"my-conn"}, s.Connectors())
		assert.Equal(t, Status{State: "RUNNING", WorkerID: "w", Generation: 7}, s.Tasks("my-conn")[1])
		assert.Len(t, s.Tasks("my-conn"), 2)
		assert.Empty(t, s.Tasks("other"))
		assert.Equal(t, []string{"t.1"}, s.Topics("my-conn"))
		assert.Empty(t, s.Topics("other"))

		// As in Kafka, a connector's tombstone removes its tasks too.
		produceRaw(t, addr, statusTopic, nil, [2]string{"status-connector-my-conn", "<nil>"})
		require.NoError(t, s.Refresh(ctx))
		assert.Empty(t, s.Connectors())
		assert.Empty(t, s.Tasks("my-conn"))
	})
}

func TestStatusStoreViewNeverStepsBack(t *testing.T) {
	forEachBroker(t, func(t *testing.T, addr string) {
		ctx := testCtx(t)
		s := newStatusStore(t, addr, false) // Refresh does the reading
		theirs := `{"state":"RUNNING","trace":null,"worker_id":"other","generation":9}`
		mine := Status{State: "FAILED", WorkerID: "me", Generation: 9}

		// Their write precedes mine in the log: mine stays.
		produceRaw(t, addr, statusTopic, nil, [2]string{"status-task-c-0", theirs})
		s.PutTask("c", 0, mine)
		require.NoError(t, s.Flush(ctx))
		require.NoError(t, s.Refresh(ctx))
		got, _ := s.Task("c", 0)
		assert.Equal(t, mine, got)

		// Their write follows mine: theirs wins once read.
		s.PutTask("c", 1, mine)
		require.NoError(t, s.Flush(ctx))
		produceRaw(t, addr, statusTopic, nil, [2]string{"status-task-c-1", theirs})
		require.NoError(t, s.Refresh(ctx))
		got, _ = s.Task("c", 1)
		assert.Equal(t, Status{State: "RUNNING", WorkerID: "other", Generation: 9}, got)
		assert.Empty(t, s.pending, "every write was read back")
	})
}

func TestStatusStoreBeforeStart(t *testing.T) {
	s, err := NewStatusStore(StatusStoreOptions{TopicOptions: TopicOptions{Topic: "s"}})
	require.NoError(t, err)
	s.PutConnector("c", Status{State: "RUNNING"})
	require.ErrorContains(t, s.Flush(testCtx(t)), "Start has not succeeded")
	assert.Empty(t, s.pending)
	require.NoError(t, s.Flush(testCtx(t)), "Flush reports an error once")
}

func TestStatusStorePendingWritesAreBounded(t *testing.T) {
	forEachBroker(t, func(t *testing.T, addr string) {
		ctx := testCtx(t)
		s := newStatusStore(t, addr, false) // nothing reads back meanwhile
		var last Status
		for i := range 3 * maxPendingPerKey {
			last = Status{State: "RUNNING", WorkerID: "w", Generation: i}
			s.PutTask("c", 0, last)
		}
		assert.Len(t, s.pending["status-task-c-0"], maxPendingPerKey)
		require.NoError(t, s.Flush(ctx))
		require.NoError(t, s.Refresh(ctx))
		got, _ := s.Task("c", 0)
		assert.Equal(t, last, got)
		assert.Empty(t, s.pending)
	})
}
