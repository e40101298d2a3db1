package worker_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/sluicehq/sluice/internal/connecttest"
	"github.com/sluicehq/sluice/runtime/connect"
)

// slowStartProbe records the order of a sink task's calls.
type slowStartProbe struct {
	mu      sync.Mutex
	started bool     // Start has returned
	calls   []string // Open/Close/Put calls, with whether Start had returned
	opened  chan struct{}
}

var slowProbe = &slowStartProbe{opened: make(chan struct{}, 16)}

// slowStartTask takes longer to start than the consumer takes to join its
// group (the broker's initial rebalance delay is 3 s).
type slowStartTask struct{}

func (slowStartTask) Start(connect.SinkTaskContext, map[string]string) error {
	time.Sleep(6 * time.Second)
	slowProbe.mu.Lock()
	slowProbe.started = true
	slowProbe.mu.Unlock()
	return nil
}

func (slowStartTask) note(call string) {
	slowProbe.mu.Lock()
	defer slowProbe.mu.Unlock()
	if !slowProbe.started {
		call += " before Start returned"
	}
	slowProbe.calls = append(slowProbe.calls, call)
}

func (t slowStartTask) Open([]connect.TopicPartition) error {
	t.note("Open")
	slowProbe.opened <- struct{}{}
	return nil
}
func (t slowStartTask) Close([]connect.TopicPartition) error { t.note("Close"); return nil }
func (t slowStartTask) Put(_ context.Context, rs []*connect.Record) error {
	if len(rs) > 0 {
		t.note("Put")
	}
	return nil
}
func (slowStartTask) Flush(context.Context, map[connect.TopicPartition]int64) (map[connect.TopicPartition]int64, error) {
	return nil, nil
}
func (slowStartTask) Stop() error { return nil }

var slowStartPlugin = connect.ConnectorPlugin{
	Class:        "test.SlowStartSinkConnector",
	NewConnector: func() connect.Connector { return &flakyConnector{} },
	NewSinkTask:  func() connect.SinkTask { return slowStartTask{} },
}

// A sink task's partitions are opened only after its Start returned, as
// Kafka's WorkerSinkTask does (it subscribes after start): the consumer
// may join its group while Start still runs, and Open must wait for it.
func TestSinkTaskOpenWaitsForStart(t *testing.T) {
	w := connecttest.StartWorker(t, nil, []connect.ConnectorPlugin{slowStartPlugin}, nil)
	connecttest.Produce(t, w.Broker, "slow-start", []byte(`"a"`))
	w.Create("slow", slowStartPlugin.Class, map[string]string{"topics": "slow-start"})
	select {
	case <-slowProbe.opened:
	case <-time.After(30 * time.Second):
		t.Fatal("the task's partitions were never opened")
	}
	slowProbe.mu.Lock()
	defer slowProbe.mu.Unlock()
	assert.Equal(t, "Open", slowProbe.calls[0])
	for _, c := range slowProbe.calls {
		assert.NotContains(t, c, "before Start returned")
	}
}
