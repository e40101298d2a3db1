package testenv

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestSyslogNGHTTPNDJSON(t *testing.T) {
	r := newRecorder(t)
	s := SyslogNG(t, SyslogNGHTTPNDJSON(r.srv.URL+"/", "s3cret", 20))
	lines := testLines(t, 50)
	s.Send(t, lines...)
	decode := decodeNDJSON(t)
	waitMessages(t, r, s, len(lines), decode)
	requireExactlyOnce(t, lines, settle(t, r, s, len(lines), decode))
	req := firstPost(t, r)
	require.Equal(t, "/", req.Path)
	require.Equal(t, "Bearer s3cret", req.Header.Get("Authorization"))
	require.Equal(t, "application/x-ndjson", req.Header.Get("Content-Type"))
	saveFixture(t, "syslog-ng-http-ndjson", req)
}

func TestSyslogNGHTTPJSONArray(t *testing.T) {
	r := newRecorder(t)
	s := SyslogNG(t, SyslogNGHTTPJSONArray(r.srv.URL+"/", "", 20))
	lines := testLines(t, 50)
	s.Send(t, lines...)
	decode := decodeJSONArray(t)
	waitMessages(t, r, s, len(lines), decode)
	requireExactlyOnce(t, lines, settle(t, r, s, len(lines), decode))
	req := firstPost(t, r)
	require.Empty(t, req.Header.Get("Authorization"))
	require.Equal(t, "application/json", req.Header.Get("Content-Type"))
	saveFixture(t, "syslog-ng-http-json-array", req)
}

func TestSyslogNGElasticsearch(t *testing.T) {
	r := newRecorder(t)
	s := SyslogNG(t, SyslogNGElasticsearch(r.srv.URL, "logs", 20))
	lines := testLines(t, 50)
	s.Send(t, lines...)
	decode := decodeBulk(t)
	waitMessages(t, r, s, len(lines), decode)
	requireExactlyOnce(t, lines, settle(t, r, s, len(lines), decode))
	req := firstPost(t, r)
	require.Equal(t, "/_bulk", req.Path)
	require.Equal(t, "application/x-ndjson", req.Header.Get("Content-Type"))
	saveFixture(t, "syslog-ng-elasticsearch-http", req)
}

// TestSyslogNGRetriesBackpressure shows syslog-ng's default for a 503 or
// a 429: the batch is kept and resent after time-reopen() (1 s here), not
// dropped.
func TestSyslogNGRetriesBackpressure(t *testing.T) {
	for _, status := range []int{http.StatusServiceUnavailable, http.StatusTooManyRequests} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			r := newRecorder(t)
			r.failNext(2, status, `{"error":"overloaded"}`)
			s := SyslogNG(t, SyslogNGHTTPNDJSON(r.srv.URL+"/", "", 100))
			lines := testLines(t, 50)
			start := time.Now()
			s.Send(t, lines...)
			decode := decodeNDJSON(t)
			waitMessages(t, r, s, len(lines), decode)
			t.Logf("%d twice, then 200: every line delivered after %v", status, time.Since(start).Round(100*time.Millisecond))
			requireExactlyOnce(t, lines, settle(t, r, s, len(lines), decode))
			var failed int
			for _, req := range r.requests() {
				if req.Status == status {
					failed++
				}
			}
			require.Equal(t, 2, failed)
		})
	}
}

// rsyslogTarget returns host and port of the recorder for omelasticsearch.
func rsyslogTarget(t *testing.T, r *recorder) (string, int) {
	u, err := url.Parse(r.srv.URL)
	require.NoError(t, err)
	host, portText, err := net.SplitHostPort(u.Host)
	require.NoError(t, err)
	port, err := strconv.Atoi(portText)
	require.NoError(t, err)
	return host, port
}

func TestRsyslogElasticsearch(t *testing.T) {
	r := newRecorder(t)
	host, port := rsyslogTarget(t, r)
	s := Rsyslog(t, RsyslogElasticsearch(host, port, "logs", filepath.Join(t.TempDir(), "errors.json")))
	lines := testLines(t, 50)
	s.Send(t, lines...)
	decode := decodeBulk(t)
	waitMessages(t, r, s, len(lines), decode)
	requireExactlyOnce(t, lines, settle(t, r, s, len(lines), decode))
	req := firstPost(t, r)
	require.Equal(t, "/_bulk", req.Path)
	saveFixture(t, "rsyslog-omelasticsearch", req)
}

// TestRsyslog503 documents omelasticsearch's answer to a 503: the status
// is not looked at, the body is.
//
//   - Elasticsearch's JSON error body (no "items"): the batch goes to
//     errorfile and is never resent: lost.
//   - a text body: the commit fails with a plain error; rsyslog then
//     resubmits the batch's messages one at a time, and omelasticsearch's
//     batch buffer, not emptied, carries the whole failed batch again in
//     the first of those requests: nothing is lost but every line arrives
//     twice.
func TestRsyslog503(t *testing.T) {
	t.Run("json", func(t *testing.T) {
		r, s, lines, errFile := startRsyslog503(t, `{"error":{"type":"unavailable","reason":"overloaded"},"status":503}`)
		require.Eventually(t, func() bool {
			b, _ := os.ReadFile(errFile)
			return bytes.Contains(b, []byte("overloaded"))
		}, 15*time.Second, 20*time.Millisecond, "errorfile %s got no entry\n%s", errFile, s.Log())
		delivered, refused := settle503(t, r, s, func(delivered, refused []string) bool {
			return len(delivered)+len(refused) >= len(lines)
		})
		require.NotEmpty(t, refused)
		// The refused lines arrive only in the 503'd request.
		requireExactlyOnce(t, lines, append(delivered, refused...))
		t.Logf("the %d lines of the refused batch were not resent, %d others delivered", len(refused), len(delivered))
	})
	t.Run("text", func(t *testing.T) {
		r, s, lines, _ := startRsyslog503(t, "Service Unavailable")
		delivered, refused := settle503(t, r, s, func(delivered, refused []string) bool {
			return len(refused) > 0 && len(delivered) >= len(lines)+len(refused)
		})
		want := map[string]int{}
		for _, l := range append(lines, refused...) {
			want[l]++
		}
		seen := map[string]int{}
		for _, m := range delivered {
			seen[m]++
		}
		require.Equal(t, want, seen, "each line once, the refused ones twice")
		t.Logf("the %d lines of the refused batch were resent, and each delivered twice", len(refused))
	})
}

// startRsyslog503 starts rsyslog against a recorder whose first POST
// answers 503 with body, and sends 50 lines.
func startRsyslog503(t *testing.T, body string) (*recorder, *Shipper, []string, string) {
	r := newRecorder(t)
	r.failNext(1, http.StatusServiceUnavailable, body)
	host, port := rsyslogTarget(t, r)
	errFile := filepath.Join(t.TempDir(), "errors.json")
	s := Rsyslog(t, RsyslogElasticsearch(host, port, "logs", errFile))
	lines := testLines(t, 50)
	s.Send(t, lines...)
	return r, s, lines, errFile
}

// settle503 waits until done holds for the accepted and refused messages,
// then a further 2 s for a resend (rsyslog's resumeInterval is 1 s here),
// and returns them.
func settle503(t *testing.T, r *recorder, s *Shipper, done func(delivered, refused []string) bool) (delivered, refused []string) {
	posted := func() (delivered, refused []string) {
		for _, req := range r.requests() {
			if req.Method != http.MethodPost {
				continue
			}
			msgs := decodeBulk(t)(req)
			if req.Status == http.StatusOK {
				delivered = append(delivered, msgs...)
			} else {
				refused = append(refused, msgs...)
			}
		}
		return delivered, refused
	}
	require.Eventually(t, func() bool {
		return done(posted())
	}, 15*time.Second, 20*time.Millisecond, "the documents expected were not posted\n%s", s.Log())
	time.Sleep(2 * time.Second)
	return posted()
}

// TestRsyslogResendsRejectedItems shows the answer that makes
// omelasticsearch resend single records: a 200 with "errors":true and a
// per-item 429. The accepted items of the batch are not resent.
func TestRsyslogResendsRejectedItems(t *testing.T) {
	r := newRecorder(t)
	r.rejectNext(1, 10)
	host, port := rsyslogTarget(t, r)
	s := Rsyslog(t, RsyslogElasticsearch(host, port, "logs", filepath.Join(t.TempDir(), "errors.json")))
	lines := testLines(t, 50)
	s.Send(t, lines...)
	decode := decodeBulk(t)
	waitMessages(t, r, s, len(lines), decode)
	requireExactlyOnce(t, lines, settle(t, r, s, len(lines), decode))
	rejected := 0
	for _, req := range r.requests() {
		rejected += req.Rejected
	}
	require.NotZero(t, rejected, "a request had items refused")
}

// TestRsyslogResendsAfterConnectionClose shows the answer that makes
// omelasticsearch keep a batch: no answer (the connection closed). The
// action suspends and resends after action.resumeInterval.
func TestRsyslogResendsAfterConnectionClose(t *testing.T) {
	r := newRecorder(t)
	var dropped sync.Once
	var hijacked atomic.Int32
	inner := r.srv.Config.Handler
	r.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method == http.MethodPost {
			closed := false
			dropped.Do(func() {
				conn, _, err := w.(http.Hijacker).Hijack()
				require.NoError(t, err)
				io.Copy(io.Discard, bufio.NewReader(io.LimitReader(req.Body, 16<<20)))
				conn.Close()
				closed = true
				hijacked.Add(1)
			})
			if closed {
				return
			}
		}
		inner.ServeHTTP(w, req)
	})
	host, port := rsyslogTarget(t, r)
	s := Rsyslog(t, RsyslogElasticsearch(host, port, "logs", filepath.Join(t.TempDir(), "errors.json")))
	lines := testLines(t, 50)
	s.Send(t, lines...)
	decode := decodeBulk(t)
	waitMessages(t, r, s, len(lines), decode)
	requireExactlyOnce(t, lines, settle(t, r, s, len(lines), decode))
	require.EqualValues(t, 1, hijacked.Load())
}
