package httpsource

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/esutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// gzipSeen records whether a request arrived gzip-compressed, then
// passes it on.
type gzipSeen struct {
	next http.Handler
	n    atomic.Int64
}

func (g *gzipSeen) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Content-Encoding") == "gzip" {
		g.n.Add(1)
	}
	g.next.ServeHTTP(w, r)
}

// TestESGoClient runs the official go-elasticsearch v8 client: its
// product check (it refuses a server without X-Elastic-Product), Info,
// and esutil.BulkIndexer indexing docs with gzip-compressed bodies.
func TestESGoClient(t *testing.T) {
	c := &captureEndpoint{settings: Settings{ESVersion: "8.19.0"}, token: "tok"}
	mux := http.NewServeMux()
	routesES(mux, c)
	seen := &gzipSeen{next: mux}
	url := esTestServer(t, seen)
	es, err := elasticsearch.NewClient(elasticsearch.Config{
		Addresses:           []string{url},
		Header:              http.Header{"Authorization": []string{"Bearer tok"}},
		CompressRequestBody: true,
	})
	require.NoError(t, err)

	info, err := es.Info()
	require.NoError(t, err, "the product check passes")
	defer info.Body.Close()
	require.False(t, info.IsError(), info.String())
	body, _ := io.ReadAll(info.Body)
	assert.Contains(t, string(body), `"number":"8.19.0"`)

	const n = 2500
	var failed atomic.Int64
	bi, err := esutil.NewBulkIndexer(esutil.BulkIndexerConfig{
		Client: es, Index: "app-logs", NumWorkers: 2, FlushBytes: 64 << 10,
		OnError: func(_ context.Context, err error) { t.Errorf("bulk indexer: %v", err) },
	})
	require.NoError(t, err)
	for i := 0; i < n; i++ {
		doc := fmt.Sprintf(`{"@timestamp":"2024-05-01T10:00:%02dZ","message":"line %d"}`, i%60, i)
		item := esutil.BulkIndexerItem{Action: "create", Body: strings.NewReader(doc),
			OnFailure: func(_ context.Context, _ esutil.BulkIndexerItem, res esutil.BulkIndexerResponseItem, err error) {
				failed.Add(1)
				t.Errorf("item failed: %v %+v", err, res)
			}}
		if i%2 == 0 {
			item.DocumentID = fmt.Sprintf("doc-%d", i)
		}
		require.NoError(t, bi.Add(context.Background(), item))
	}
	require.NoError(t, bi.Close(context.Background()))
	st := bi.Stats()
	assert.EqualValues(t, n, st.NumAdded)
	assert.EqualValues(t, n, st.NumCreated)
	assert.Zero(t, st.NumFailed)
	assert.Zero(t, failed.Load())
	assert.Positive(t, seen.n.Load(), "the client compressed its bodies")

	ev := c.Events()
	require.Len(t, ev, n)
	lines := map[string]bool{}
	for _, e := range ev {
		m := object(t, e.Value)
		lines[m["message"].(string)] = true
		idx, _ := e.Get("index")
		assert.Equal(t, "app-logs", idx)
		assert.False(t, e.Time.IsZero())
	}
	assert.Len(t, lines, n, "every line once")
}

// TestESGoClientRetriesBusy shows the client's own retry on the
// whole-request 429: the first attempts are refused, the retry lands.
func TestESGoClientRetriesBusy(t *testing.T) {
	c := &captureEndpoint{}
	var calls atomic.Int64
	busy := &busyFirst{c: c, n: 2, calls: &calls}
	mux := http.NewServeMux()
	routesES(mux, busy)
	url := esTestServer(t, mux)
	es, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{url},
		RetryOnStatus: []int{429, 502, 503, 504}, // 429 is not among the defaults
		RetryBackoff:  func(int) time.Duration { return 10 * time.Millisecond }})
	require.NoError(t, err)
	res, err := es.Bulk(strings.NewReader("{\"create\":{\"_index\":\"a\"}}\n{\"m\":1}\n"))
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, 200, res.StatusCode, res.String())
	var r struct{ Errors bool }
	require.NoError(t, json.NewDecoder(res.Body).Decode(&r))
	assert.False(t, r.Errors)
	assert.EqualValues(t, 3, calls.Load())
	assert.Len(t, c.Events(), 1)
}

// busyFirst is an endpoint whose first n deliveries are refused busy.
type busyFirst struct {
	c     *captureEndpoint
	n     int64
	calls *atomic.Int64
}

func (b *busyFirst) Body(r *http.Request) ([]byte, error) { return b.c.Body(r) }
func (b *busyFirst) Authorize(r *http.Request) error      { return b.c.Authorize(r) }
func (b *busyFirst) Settings() *Settings                  { return b.c.Settings() }
func (b *busyFirst) Deliver(ctx context.Context, r *http.Request, proto string, ev []Event) error {
	if b.calls.Add(1) <= b.n {
		return &Error{Status: http.StatusServiceUnavailable, Msg: "the queue is full", RetryAfter: time.Second}
	}
	return b.c.Deliver(ctx, r, proto, ev)
}

// esTestServer serves h on a test server and returns its URL.
func esTestServer(t *testing.T, h http.Handler) string {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}
