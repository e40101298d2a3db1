package httpsink

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/connecttest"
	"github.com/sluicehq/sluice/runtime/connect"
	"github.com/sluicehq/sluice/runtime/worker"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"
)

// ids reads the record indexes out of bodies that are JSON arrays of
// numbers (the Confluent front-end's default shape with the worker's
// JSON converter).
func ids(t testing.TB, bodies []string) []int {
	var out []int
	for _, b := range bodies {
		var arr []int
		require.NoError(t, json.Unmarshal([]byte(b), &arr), "body %q", b)
		out = append(out, arr...)
	}
	return out
}

// TestAcceptance runs the connector suite: what the endpoint received is
// what was written.
func TestAcceptance(t *testing.T) {
	var mu sync.Mutex
	servers := map[string]*endpoint{}
	connecttest.Acceptance(t, connecttest.Spec{
		Plugin: Plugin,
		Config: func(t *testing.T) map[string]string {
			e := startEndpoint(t)
			mu.Lock()
			servers[e.URL] = e
			mu.Unlock()
			return map[string]string{"topics": "web-" + strconv.Itoa(len(servers)), "http.api.url": e.URL, "batch.max.size": "4"}
		},
		Topic: func(config map[string]string) string { return config["topics"] },
		ID: func(v any) (int, error) {
			n, ok := v.(int)
			if !ok {
				return 0, fmt.Errorf("%v is not an index", v)
			}
			return n, nil
		},
		Written: func(t *testing.T, config map[string]string) []any {
			mu.Lock()
			e := servers[config["http.api.url"]]
			mu.Unlock()
			var out []any
			for _, id := range ids(t, e.bodies()) {
				out = append(out, id)
			}
			return out
		},
	})
}

// TestWorkerDLQ sends records an endpoint refuses with 4xx to the dead
// letter queue through the real worker, with the response's status and
// body in headers, and commits past them.
func TestWorkerDLQ(t *testing.T) {
	e := startEndpoint(t)
	e.setRespond(func(int, captured) (int, http.Header, string) {
		return http.StatusBadRequest, nil, `{"error":"field x is missing"}`
	})
	w := connecttest.StartWorker(t, nil, []connect.ConnectorPlugin{Plugin}, nil)
	connecttest.Produce(t, w.Broker, "in", []byte(`{"a":1}`), []byte(`{"a":2}`), []byte(`{"a":3}`))
	w.Create("web", ConfluentClass, map[string]string{
		"topics": "in", "http.api.url": e.URL, "batch.max.size": "2", "request.body.format": "json",
		"retry.on.status.codes": "500-", "errors.tolerance": "all",
		"errors.deadletterqueue.topic.name": "dlq", "errors.deadletterqueue.topic.replication.factor": "1",
		"errors.deadletterqueue.context.headers.enable": "true",
	})
	got := connecttest.Consume(t, w.Broker, "dlq", 3, 30*time.Second)
	require.Len(t, got, 3)
	for i, r := range got {
		assert.JSONEq(t, fmt.Sprintf(`{"a":%d}`, i+1), string(r.Value))
		h := headers(r)
		assert.Equal(t, "400", h[HeaderStatus])
		assert.Equal(t, `{"error":"field x is missing"}`, h[HeaderBody])
		assert.Equal(t, "1", h[HeaderAttempts])
		assert.Contains(t, h["__connect.errors.exception.message"], "answered 400")
	}
	assert.Equal(t, []string{`[{"a":1},{"a":2}]`, `[{"a":3}]`}, e.bodies())
}

func headers(r *kgo.Record) map[string]string {
	m := map[string]string{}
	for _, h := range r.Headers {
		m[h.Key] = string(h.Value)
	}
	return m
}

// TestWorkerFailedBatchRedelivered: while the endpoint fails, the task
// fails and nothing is committed; after a worker restart with the
// endpoint back, every record arrives at least once (duplicates are
// counted and logged).
func TestWorkerFailedBatchRedelivered(t *testing.T) {
	e := startEndpoint(t)
	var down sync.Mutex
	failing := true
	var accepted []string // bodies answered 2xx
	e.setRespond(func(n int, c captured) (int, http.Header, string) {
		down.Lock()
		defer down.Unlock()
		// The first batch is accepted, later ones fail while down.
		if failing && n > 0 {
			return http.StatusServiceUnavailable, nil, "down"
		}
		accepted = append(accepted, c.Body)
		return http.StatusOK, nil, ""
	})
	delivered := func() []int {
		down.Lock()
		defer down.Unlock()
		return ids(t, accepted)
	}
	w := connecttest.StartWorker(t, nil, []connect.ConnectorPlugin{Plugin}, nil)
	vals := make([][]byte, 20)
	for i := range vals {
		vals[i] = []byte(strconv.Itoa(i))
	}
	connecttest.Produce(t, w.Broker, "in", vals...)
	config := map[string]string{"topics": "in", "http.api.url": e.URL, "batch.max.size": "5", "max.retries": "1", "retry.backoff.ms": "10"}
	full := map[string]string{"name": "web", "connector.class": Class}
	maps.Copy(full, config)
	_, err := w.CreateConnector(t.Context(), "web", full, worker.TargetStarted)
	require.NoError(t, err)
	// The task fails on the second batch and the worker restarts it,
	// again and again while the endpoint is down.
	require.Eventually(t, func() bool { return len(e.requests()) >= 6 }, 30*time.Second, 20*time.Millisecond)
	off, err := w.Offsets(t.Context(), "web")
	require.NoError(t, err)
	for _, o := range off.Offsets {
		assert.LessOrEqual(t, o.Offset["kafka_offset"], int64(5), "nothing past the accepted batch is committed")
	}
	down.Lock()
	failing = false
	down.Unlock()
	w.Restart()
	w.Create("web", Class, config)
	require.Eventually(t, func() bool {
		seen := map[int]bool{}
		for _, id := range delivered() {
			seen[id] = true
		}
		return len(seen) == 20
	}, 30*time.Second, 50*time.Millisecond)
	got := delivered()
	t.Logf("records accepted: %d for 20 produced (%d duplicates: the first batch, accepted before the failures, is redelivered)", len(got), len(got)-20)
}

// TestWorkerReporter writes one result record per delivered record and
// one error record per failed one, to topics created on the broker named
// by reporter.bootstrap.servers, or by default the worker's.
func TestWorkerReporter(t *testing.T) {
	for _, viaServers := range []bool{true, false} {
		t.Run(fmt.Sprintf("reporter.bootstrap.servers=%v", viaServers), func(t *testing.T) { testReporter(t, viaServers) })
	}
}

func testReporter(t *testing.T, viaServers bool) {
	e := startEndpoint(t)
	e.setRespond(func(_ int, c captured) (int, http.Header, string) {
		if c.Body == "[2]" {
			return http.StatusNotFound, nil, "no such thing"
		}
		return http.StatusOK, nil, ""
	})
	w := connecttest.StartWorker(t, nil, []connect.ConnectorPlugin{Plugin}, nil)
	connecttest.Produce(t, w.Broker, "in", []byte("1"), []byte("2"), []byte("3"))
	config := map[string]string{"topics": "in", "http.api.url": e.URL, "behavior.on.error": "log",
		"retry.on.status.codes": "500-", "report.errors.as": "http_response"}
	if viaServers {
		config["reporter.bootstrap.servers"] = w.Broker.Addr
	}
	w.Create("hooks", Class, config)
	ok := connecttest.Consume(t, w.Broker, "hooks-success", 2, 30*time.Second)
	require.Len(t, ok, 2)
	assert.Equal(t, "in", headers(ok[0])["input_record_topic"])
	assert.Equal(t, "0", headers(ok[0])["input_record_offset"])
	assert.Equal(t, "2", headers(ok[1])["input_record_offset"])
	bad := connecttest.Consume(t, w.Broker, "hooks-error", 1, 30*time.Second)
	require.Len(t, bad, 1)
	assert.Equal(t, "no such thing", string(bad[0].Value))
	assert.Equal(t, "404", headers(bad[0])[HeaderStatus])
	assert.Equal(t, "1", headers(bad[0])["input_record_offset"])
}

// countingTask counts the task's Put calls, so a test knows when the
// worker delivered what it produced.
type countingTask struct {
	*sinkTask
	puts *atomic.Int64
}

func (c countingTask) Put(ctx context.Context, rs []*connect.Record) error {
	defer c.puts.Add(1)
	return c.sinkTask.Put(ctx, rs)
}

// TestWorkerDLQOfEarlierPut: a batch holding records of two Puts fails at
// Flush; both records reach the dead letter queue (the worker keeps the
// consumed record of every put until its offset is flushed).
func TestWorkerDLQOfEarlierPut(t *testing.T) {
	e := startEndpoint(t)
	e.setRespond(func(int, captured) (int, http.Header, string) { return http.StatusForbidden, nil, "no" })
	var puts atomic.Int64
	p := Plugin
	p.NewSinkTask = func() connect.SinkTask { return countingTask{newSinkTask(), &puts} }
	w := connecttest.StartWorker(t, nil, []connect.ConnectorPlugin{p}, map[string]string{"offset.flush.interval.ms": "1500"})
	w.Create("web", Class, map[string]string{
		"topics": "in", "http.api.url": e.URL, "batch.max.size": "10", "retry.on.status.codes": "500-",
		"errors.tolerance": "all", "errors.deadletterqueue.topic.name": "dlq", "errors.deadletterqueue.topic.replication.factor": "1",
	})
	connecttest.Produce(t, w.Broker, "in", []byte("1"))
	require.Eventually(t, func() bool { return puts.Load() >= 1 }, 10*time.Second, 5*time.Millisecond)
	connecttest.Produce(t, w.Broker, "in", []byte("2"))
	require.Eventually(t, func() bool { return puts.Load() >= 2 }, 10*time.Second, 5*time.Millisecond)
	got := connecttest.Consume(t, w.Broker, "dlq", 2, 30*time.Second)
	require.Len(t, got, 2)
	assert.Equal(t, "1", string(got[0].Value))
	assert.Equal(t, "2", string(got[1].Value))
	assert.Equal(t, []string{"[1,2]"}, e.bodies(), "one batch of both Puts")
}
