package httpsink

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/connecttest"
	"github.com/sluicehq/sluice/runtime/connect"
	"github.com/stretchr/testify/require"
)

// captured is one request the test server received.
type captured struct {
	Method string
	Path   string // escaped path as sent
	Query  string
	Header http.Header
	Body   string
	At     time.Time
}

// endpoint is a real HTTP server that records every request and answers
// with what respond returns (200 when nil).
type endpoint struct {
	*httptest.Server
	mu      sync.Mutex
	reqs    []captured
	respond func(n int, c captured) (int, http.Header, string) // n counts from 0
}

func startEndpoint(t testing.TB) *endpoint {
	e := &endpoint{}
	e.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		c := captured{Method: r.Method, Path: r.URL.EscapedPath(), Query: r.URL.RawQuery, Header: r.Header.Clone(), Body: string(body), At: time.Now()}
		e.mu.Lock()
		n := len(e.reqs)
		e.reqs = append(e.reqs, c)
		respond := e.respond
		e.mu.Unlock()
		status, hs, text := http.StatusOK, http.Header(nil), ""
		if respond != nil {
			status, hs, text = respond(n, c)
		}
		for k, vs := range hs {
			w.Header()[k] = vs
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, text)
	}))
	t.Cleanup(e.Close)
	return e
}

func (e *endpoint) requests() []captured {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]captured(nil), e.reqs...)
}

func (e *endpoint) bodies() []string {
	var out []string
	for _, c := range e.requests() {
		out = append(out, c.Body)
	}
	return out
}

func (e *endpoint) setRespond(f func(n int, c captured) (int, http.Header, string)) {
	e.mu.Lock()
	e.respond = f
	e.mu.Unlock()
}

// startTask starts a task with config (connector.class and name added
// when missing) on a unit-test context.
func startTask(t *testing.T, config map[string]string) (*sinkTask, *connecttest.SinkContext) {
	t.Helper()
	if _, ok := config["name"]; !ok {
		config["name"] = "web"
	}
	if _, ok := config["connector.class"]; !ok {
		config["connector.class"] = Class
	}
	ctx := connecttest.NewSinkContext(t, config)
	task := newSinkTask()
	require.NoError(t, task.Start(ctx, config))
	t.Cleanup(func() { _ = task.Stop() })
	return task, ctx
}

// recs makes records on topic with the given values, at offsets 0, 1, …
func recs(topic string, values ...any) []*connect.Record {
	out := make([]*connect.Record, len(values))
	for i, v := range values {
		out[i] = &connect.Record{Topic: topic, Offset: int64(i), Value: v, OriginalTopic: topic, OriginalOffset: int64(i)}
	}
	return out
}

// putFlush puts rs and flushes, returning Flush's offsets.
func putFlush(t *testing.T, task *sinkTask, rs []*connect.Record) (map[connect.TopicPartition]int64, error) {
	t.Helper()
	if err := task.Put(context.Background(), rs); err != nil {
		return nil, err
	}
	cur := map[connect.TopicPartition]int64{}
	for _, r := range rs {
		cur[connect.TopicPartition{Topic: r.Topic, Partition: r.Partition}] = r.Offset + 1
	}
	return task.Flush(context.Background(), cur)
}
