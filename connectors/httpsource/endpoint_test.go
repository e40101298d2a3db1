package httpsource

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/sluicehq/sluice/runtime/connect"
	"github.com/sluicehq/sluice/runtime/convert"
	"github.com/stretchr/testify/require"
)

// captureEndpoint is an endpoint for protocol tests: it reads bodies as
// the server does and keeps what Deliver is given instead of writing it.
// Fail, when set, answers Deliver instead (to test busy answers).
type captureEndpoint struct {
	settings Settings
	limit    int64
	token    string // accepted as Bearer or Splunk when set

	mu     sync.Mutex
	events []Event
	protos []string
	Fail   error
}

func (c *captureEndpoint) Body(r *http.Request) ([]byte, error) {
	limit := c.limit
	if limit == 0 {
		limit = 10 << 20
	}
	return readBody(r, limit)
}

func (c *captureEndpoint) Authorize(r *http.Request) error {
	if c.token == "" {
		return nil
	}
	h := r.Header.Get("Authorization")
	switch h {
	case "":
		return &Error{Status: http.StatusUnauthorized, Msg: "credentials are required"}
	case "Bearer " + c.token, "Splunk " + c.token:
		return nil
	}
	return &Error{Status: http.StatusForbidden, Msg: "the credentials are not valid"}
}

func (c *captureEndpoint) Deliver(_ context.Context, _ *http.Request, proto string, events []Event) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.Fail != nil {
		return c.Fail
	}
	c.events = append(c.events, events...)
	for range events {
		c.protos = append(c.protos, proto)
	}
	return nil
}

func (c *captureEndpoint) Settings() *Settings { return &c.settings }

// Events returns what was delivered so far.
func (c *captureEndpoint) Events() []Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Event(nil), c.events...)
}

// serveCapture serves routes over a captureEndpoint on a test server.
func serveCapture(t *testing.T, c *captureEndpoint, routes ...func(*http.ServeMux, endpoint)) string {
	t.Helper()
	mux := http.NewServeMux()
	for _, r := range routes {
		r(mux, c)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

// objectValue returns an object event's value as a map, decoding a
// connect.RawJSON as the worker does; ok is false for any other value.
func objectValue(t testing.TB, v any) (map[string]any, bool) {
	t.Helper()
	if raw, isRaw := v.(connect.RawJSON); isRaw {
		d, err := convert.DecodeRawJSON(raw)
		require.NoError(t, err)
		v = d
	}
	m, ok := v.(map[string]any)
	return m, ok
}

// object is objectValue for a value that must be an object.
func object(t testing.TB, v any) map[string]any {
	t.Helper()
	m, ok := objectValue(t, v)
	require.True(t, ok, "the value %v (%T) is an object", v, v)
	return m
}
