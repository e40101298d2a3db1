package testenv

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var updateShipperFixtures = flag.Bool("update", false, "rewrite testdata/shippers from the captured requests")

// recorded is one request a shipper made.
type recorded struct {
	Method string      `json:"method"`
	Path   string      `json:"path"`
	Header http.Header `json:"header"`
	Body   string      `json:"-"`
	Status int         `json:"status,omitempty"`
	// Rejected is how many of an _bulk request's documents, the last
	// ones, were answered with a per-item 429.
	Rejected int `json:"-"`
}

// recorder is an HTTP server answering as Elasticsearch would (GET / and
// POST /_bulk) or, on any other path, 200 {}; it records every request.
// failNext and rejectNext make it refuse the next requests.
type recorder struct {
	srv *httptest.Server

	mu         sync.Mutex
	reqs       []recorded
	failing    int    // status to answer POSTs with while failFor > 0
	failFor    int    // how many POSTs to fail before answering normally
	failRsp    string // body of failed answers
	rejectFor  int    // how many _bulk requests to answer with per-item 429s
	rejectKeep int    // how many leading documents of those to accept
}

func newRecorder(t *testing.T) *recorder {
	r := &recorder{}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

// failNext makes the next n POSTs answer status with body.
func (r *recorder) failNext(n, status int, body string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failing, r.failFor, r.failRsp = status, n, body
}

// rejectNext makes the next n _bulk requests of more than keep documents
// answer 200 with "errors":true, accepting the first keep and rejecting the rest
// with status 429, as an overloaded Elasticsearch does.
func (r *recorder) rejectNext(n, keep int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rejectFor, r.rejectKeep = n, keep
}

func (r *recorder) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(io.LimitReader(req.Body, 16<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	rec := recorded{Method: req.Method, Path: req.URL.Path, Header: req.Header.Clone(), Body: string(body), Status: http.StatusOK}
	bulk := req.Method == http.MethodPost && strings.HasSuffix(req.URL.Path, "/_bulk")
	keep := -1
	r.mu.Lock()
	switch {
	case req.Method == http.MethodPost && r.failFor > 0:
		r.failFor--
		rec.Status = r.failing
		r.reqs = append(r.reqs, rec)
		rsp := r.failRsp
		r.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(rec.Status)
		io.WriteString(w, rsp)
		return
	case bulk && r.rejectFor > 0 && len(bulkDocs(rec.Body)) > r.rejectKeep:
		// Only a request with documents to refuse counts: under load a
		// shipper may send a first batch of a few lines.
		r.rejectFor--
		keep = r.rejectKeep
		rec.Rejected = len(bulkDocs(rec.Body)) - keep
	}
	r.reqs = append(r.reqs, rec)
	r.mu.Unlock()

	w.Header().Set("X-Elastic-Product", "Elasticsearch")
	w.Header().Set("Content-Type", "application/json")
	switch {
	case req.Method == http.MethodGet && req.URL.Path == "/":
		io.WriteString(w, `{"name":"sluice","cluster_name":"sluice","version":{"number":"8.11.0","build_flavor":"default","lucene_version":"9.8.0"},"tagline":"You Know, for Search"}`)
	case bulk:
		items := make([]string, len(bulkDocs(rec.Body)))
		for i := range items {
			if keep >= 0 && i >= keep {
				items[i] = fmt.Sprintf(`{"index":{"_index":"logs","_id":"%d","status":429,"error":{"type":"es_rejected_execution_exception","reason":"rejected execution"}}}`, i)
			} else {
				items[i] = fmt.Sprintf(`{"index":{"_index":"logs","_id":"%d","status":201,"result":"created"}}`, i)
			}
		}
		fmt.Fprintf(w, `{"took":1,"errors":%t,"items":[%s]}`, rec.Rejected > 0, strings.Join(items, ","))
	default:
		io.WriteString(w, `{}`)
	}
}

// requests returns the requests so far.
func (r *recorder) requests() []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]recorded(nil), r.reqs...)
}

// bulkDocs returns the document lines of an _bulk NDJSON body (every
// second line, after its action line).
func bulkDocs(body string) []string {
	lines := bulkLines(body)
	var docs []string
	for i := 1; i < len(lines); i += 2 {
		docs = append(docs, lines[i])
	}
	return docs
}

// testLines returns n distinct lines naming the test.
func testLines(t *testing.T, n int) []string {
	lines := make([]string, n)
	for i := range lines {
		lines[i] = fmt.Sprintf("%s line %03d \"quoted\"", t.Name(), i)
	}
	return lines
}

// messagesOf returns the "message" field (or "MESSAGE", as
// elasticsearch-http()'s RFC 5424 scope names it) of each JSON document,
// failing on a document that is not a JSON object with a string message.
func messagesOf(t *testing.T, docs []string) []string {
	t.Helper()
	var out []string
	for _, d := range docs {
		var doc map[string]any
		require.NoError(t, json.Unmarshal([]byte(d), &doc), "document %q", d)
		msg, ok := doc["message"].(string)
		if !ok {
			msg, ok = doc["MESSAGE"].(string)
		}
		require.True(t, ok, "document %q has no string message", d)
		require.Contains(t, doc, "@timestamp", "document %q", d)
		out = append(out, msg)
	}
	return out
}

// requireExactlyOnce checks that got holds each of want once, in any order.
func requireExactlyOnce(t *testing.T, want, got []string) {
	t.Helper()
	w := append([]string(nil), want...)
	g := append([]string(nil), got...)
	sort.Strings(w)
	sort.Strings(g)
	require.Equal(t, w, g)
}

// waitMessages polls until decode over the recorded successful requests
// yields at least n messages, and returns them.
func waitMessages(t *testing.T, r *recorder, s *Shipper, n int, decode func(recorded) []string) []string {
	t.Helper()
	var got []string
	deadline := time.Now().Add(15 * time.Second)
	for {
		got = got[:0]
		for _, req := range r.requests() {
			if req.Method == http.MethodPost && req.Status == http.StatusOK {
				got = append(got, decode(req)...)
			}
		}
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d messages arrived within 15s\n%s output:\n%s", len(got), n, s.Name, s.Log())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// settle waits briefly to let a duplicate show up, then returns the
// messages once more.
func settle(t *testing.T, r *recorder, s *Shipper, n int, decode func(recorded) []string) []string {
	time.Sleep(500 * time.Millisecond)
	return waitMessages(t, r, s, n, decode)
}

// saveFixture writes one captured request as <name>.body and
// <name>.headers.json under testdata/shippers, for the HTTP source's tests.
// Only with -update: the captured timestamps and hosts change every run.
func saveFixture(t *testing.T, name string, req recorded) {
	t.Helper()
	if !*updateShipperFixtures {
		return
	}
	dir := filepath.Join("testdata", "shippers")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	hdr := req.Header.Clone()
	hdr.Del("Host")
	meta, err := json.MarshalIndent(recorded{Method: req.Method, Path: req.Path, Header: hdr}, "", "  ")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, name+".headers.json"), append(meta, '\n'), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, name+".body"), []byte(req.Body), 0o644))
}

// firstPost returns the first successful POST.
func firstPost(t *testing.T, r *recorder) recorded {
	for _, req := range r.requests() {
		if req.Method == http.MethodPost && req.Status == http.StatusOK {
			return req
		}
	}
	t.Fatal("no successful POST recorded")
	return recorded{}
}

func decodeNDJSON(t *testing.T) func(recorded) []string {
	return func(req recorded) []string {
		require.True(t, strings.HasSuffix(req.Body, "\n"), "NDJSON body %q does not end in a newline", req.Body)
		return messagesOf(t, strings.Split(strings.TrimSuffix(req.Body, "\n"), "\n"))
	}
}

func decodeJSONArray(t *testing.T) func(recorded) []string {
	return func(req recorded) []string {
		var docs []json.RawMessage
		require.NoError(t, json.Unmarshal([]byte(req.Body), &docs), "body %q", req.Body)
		var s []string
		for _, d := range docs {
			s = append(s, string(d))
		}
		return messagesOf(t, s)
	}
}

// bulkLines returns the lines of an _bulk body, which ends in a newline.
func bulkLines(body string) []string {
	return strings.Split(strings.TrimSuffix(body, "\n"), "\n")
}

func decodeBulk(t *testing.T) func(recorded) []string {
	return func(req recorded) []string {
		lines := bulkLines(req.Body)
		require.Zero(t, len(lines)%2, "_bulk body %q has an odd number of lines", req.Body)
		for i := 0; i < len(lines); i += 2 {
			var action map[string]map[string]any
			require.NoError(t, json.Unmarshal([]byte(lines[i]), &action), "action line %q", lines[i])
			require.Contains(t, action, "index", "action line %q", lines[i])
			require.Equal(t, "logs", action["index"]["_index"], "action line %q", lines[i])
		}
		docs := bulkDocs(req.Body)
		return messagesOf(t, docs[:len(docs)-req.Rejected])
	}
}
