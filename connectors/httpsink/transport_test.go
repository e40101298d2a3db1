package httpsink

import (
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTLSTruststore trusts a server through a PEM truststore (Confluent)
// or trust-all (Aiven), and refuses it without.
func TestTLSTruststore(t *testing.T) {
	var mu sync.Mutex
	n := 0
	srv := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		mu.Lock()
		n++
		mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600))

	task, _ := startTask(t, map[string]string{"http.api.url": srv.URL, "https.ssl.truststore.location": ca})
	_, err := putFlush(t, task, recs("t", "x"))
	require.NoError(t, err)

	task, _ = startTask(t, map[string]string{"connector.class": AivenClass, "http.url": srv.URL, "http.authorization.type": "none", "http.ssl.trust.all.certs": "true"})
	_, err = putFlush(t, task, recs("t", "x"))
	require.NoError(t, err)

	task, ctx := startTask(t, map[string]string{"http.api.url": srv.URL, "max.retries": "3"})
	ctx.Tolerate = true
	_, err = putFlush(t, task, recs("t", "x"))
	require.NoError(t, err)
	require.Len(t, ctx.ReportedRecords(), 1)
	assert.Contains(t, ctx.ReportedRecords()[0].Err.Error(), "certificate")
	mu.Lock()
	assert.Equal(t, 2, n, "the untrusted handshake sent nothing, and was not retried")
	mu.Unlock()
}

// TestProxy sends requests through http.proxy.host with its credentials.
func TestProxy(t *testing.T) {
	var got []*http.Request
	var mu sync.Mutex
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Clone(r.Context()))
		mu.Unlock()
	}))
	t.Cleanup(proxy.Close)
	host, port := splitHostPort(t, proxy.URL)
	task, _ := startTask(t, map[string]string{"http.api.url": "http://upstream.example/hook", "http.proxy.host": host, "http.proxy.port": port,
		"http.proxy.user": "pu", "http.proxy.password": "pp"})
	_, err := putFlush(t, task, recs("t", "x"))
	require.NoError(t, err)
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, got, 1)
	assert.Equal(t, "http://upstream.example/hook", got[0].RequestURI)
	assert.Equal(t, "Basic cHU6cHA=", got[0].Header.Get("Proxy-Authorization"))
}

func splitHostPort(t *testing.T, u string) (string, string) {
	t.Helper()
	srv, err := http.NewRequest(http.MethodGet, u, nil)
	require.NoError(t, err)
	return srv.URL.Hostname(), srv.URL.Port()
}

// TestRequestTimeout gives up on a request that takes longer than
// http.request.timeout.ms, and retries it.
func TestRequestTimeout(t *testing.T) {
	release := make(chan struct{})
	var mu sync.Mutex
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n++
		mu.Unlock()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	task, ctx := startTask(t, map[string]string{"http.api.url": srv.URL, "http.request.timeout.ms": "100", "max.retries": "1", "retry.backoff.ms": "1"})
	ctx.Tolerate = true
	start := time.Now()
	_, err := putFlush(t, task, recs("t", "x"))
	require.NoError(t, err)
	assert.Less(t, time.Since(start), 2*time.Second)
	require.Len(t, ctx.ReportedRecords(), 1)
	mu.Lock()
	assert.Equal(t, 2, n, "a timeout is retried")
	mu.Unlock()
}
