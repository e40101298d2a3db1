package registry

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/testenv"
)

// instance is a running registry and its base URL.
type instance struct {
	srv *Server
	url string
}

// startRegistry runs a registry against broker on a free port until the
// test ends.
func startRegistry(t testing.TB, broker *testenv.Broker, topic string) *instance {
	t.Helper()
	in, _ := startStoppable(t, broker, topic)
	return in
}

// startStoppable is startRegistry with a stop function (idempotent; also
// run when the test ends).
func startStoppable(t testing.TB, broker *testenv.Broker, topic string) (*instance, func()) {
	t.Helper()
	// A store timeout well above the default: these tests are about the
	// API, and a loaded test machine can take longer than 500ms to fsync.
	return startWith(t, Options{ClientOpts: []kgo.Opt{kgo.SeedBrokers(broker.Addr)}, Topic: topic, StoreTimeout: 10 * time.Second})
}

// startWith is startStoppable with options; Listen and Logger are set.
func startWith(t testing.TB, opts Options) (*instance, func()) {
	t.Helper()
	opts.Listen, opts.Logger = "127.0.0.1:0", testenv.Logger(t)
	srv, err := New(opts)
	require.NoError(t, err)
	addr, err := srv.Listen()
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			require.NoError(t, <-done)
		})
	}
	t.Cleanup(stop)
	in := &instance{srv: srv, url: "http://" + addr.String()}
	require.Eventually(t, func() bool {
		resp, err := http.Get(in.url + "/config")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200 && srv.store.client() != nil
	}, 10*time.Second, 20*time.Millisecond)
	return in, stop
}

// call sends a JSON request and returns the status and body.
func (in *instance) call(t testing.TB, method, path string, body any) (int, string) {
	t.Helper()
	var r io.Reader
	if body != nil {
		if s, ok := body.(string); ok {
			r = strings.NewReader(s)
		} else {
			b, err := json.Marshal(body)
			require.NoError(t, err)
			r = strings.NewReader(string(b))
		}
	}
	req, err := http.NewRequest(method, in.url+path, r)
	require.NoError(t, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/vnd.schemaregistry.v1+json")
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

// errorCode extracts error_code from an error body.
func errorCode(t testing.TB, body string) int {
	t.Helper()
	var e struct {
		Code int `json:"error_code"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &e), body)
	return e.Code
}

func schemaBody(schema string) map[string]any { return map[string]any{"schema": schema} }

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
