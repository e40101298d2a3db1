package worker_test

import (
	"context"
	"errors"
	"maps"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/connecttest"
	"github.com/sluicehq/sluice/runtime/connect"
	"github.com/sluicehq/sluice/runtime/worker"
)

// flakyPolls records when each flaky task polled, by the task's "probe"
// config.
var flakyPolls sync.Map // probe → *pollTimes

type pollTimes struct {
	mu    sync.Mutex
	times []time.Time
}

func (p *pollTimes) add(at time.Time) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.times = append(p.times, at)
	return len(p.times)
}

func (p *pollTimes) get() []time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]time.Time(nil), p.times...)
}

type flakyConnector struct{ cfg map[string]string }

func (c *flakyConnector) Start(_ connect.ConnectorContext, cfg map[string]string) error {
	c.cfg = cfg
	return nil
}
func (c *flakyConnector) TaskConfigs(int) ([]map[string]string, error) {
	return []map[string]string{maps.Clone(c.cfg)}, nil
}
func (c *flakyConnector) Stop() error { return nil }

// flakyTask fails its first fail.polls polls with a retriable error, then
// returns one record and waits.
type flakyTask struct {
	probe    *pollTimes
	failures int
}

func (t *flakyTask) Start(_ connect.SourceTaskContext, cfg map[string]string) error {
	p, _ := flakyPolls.LoadOrStore(cfg["probe"], &pollTimes{})
	t.probe = p.(*pollTimes)
	t.failures, _ = strconv.Atoi(cfg["fail.polls"])
	return nil
}

func (t *flakyTask) Poll(ctx context.Context) ([]*connect.Record, error) {
	n := t.probe.add(time.Now())
	if n <= t.failures {
		return nil, connect.Retriable(errors.New("source unavailable"))
	}
	if n == t.failures+1 {
		return []*connect.Record{connect.NewSourceRecord(nil, nil, "flaky", nil, nil, connect.StringSchema, "up")}, nil
	}
	<-ctx.Done()
	return nil, nil
}

func (t *flakyTask) Stop() error { return nil }

var flakyPlugin = connect.ConnectorPlugin{
	Class: "test.FlakySourceConnector",
	Config: connect.ConfigDef{
		{Name: "probe", Type: connect.ConfigString, Default: connect.NoDefault},
		{Name: "fail.polls", Type: connect.ConfigInt, Default: 0},
	},
	NewConnector:  func() connect.Connector { return &flakyConnector{} },
	NewSourceTask: func() connect.SourceTask { return &flakyTask{} },
}

// A retriable poll error is retried after the connector's backoff, capped
// by errors.retry.delay.max.ms, not after a fixed second; the default
// errors.retry.timeout=0 keeps retrying.
func TestRetriablePollBacksOffWithErrorsRetryDelayMax(t *testing.T) {
	w := connecttest.StartWorker(t, nil, []connect.ConnectorPlugin{flakyPlugin}, nil)
	probe := t.Name()
	w.Create("flaky", flakyPlugin.Class, map[string]string{"probe": probe, "fail.polls": "5", "errors.retry.delay.max.ms": "20"})
	connecttest.Consume(t, w.Broker, "flaky", 1, 10*time.Second)
	p, _ := flakyPolls.Load(probe)
	times := p.(*pollTimes).get()
	require.GreaterOrEqual(t, len(times), 6)
	// Five waits of at most 20 ms and a quarter of jitter; the fixed
	// one-second retry took five seconds.
	assert.Less(t, times[5].Sub(times[0]), time.Second, "5 retries took %s", times[5].Sub(times[0]))
}

// Once polls have failed for errors.retry.timeout, the task fails, naming
// the setting, rather than retrying for ever.
func TestRetriablePollGivesUpAfterErrorsRetryTimeout(t *testing.T) {
	w := connecttest.StartWorker(t, nil, []connect.ConnectorPlugin{flakyPlugin}, nil)
	cfg := map[string]string{"name": "flaky", "connector.class": flakyPlugin.Class, "probe": t.Name(), "fail.polls": "1000000",
		"errors.retry.timeout": "300", "errors.retry.delay.max.ms": "20"}
	_, err := w.CreateConnector(context.Background(), "flaky", cfg, worker.TargetStarted)
	require.NoError(t, err)
	st := w.WaitState("flaky", 1, worker.StateFailed)
	assert.Contains(t, st.Tasks[0].Trace, "past errors.retry.timeout=300")
	assert.Contains(t, st.Tasks[0].Trace, "source unavailable")
}
