package httpsource

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestJSONProtocolAnswers checks the generic endpoint's answers over a
// capturing endpoint: what it delivers, and how failures are answered.
func TestJSONProtocolAnswers(t *testing.T) {
	c := &captureEndpoint{settings: Settings{JSONPaths: []string{"/", "/fluent"}, TimestampField: "date"}, token: "tok"}
	url := serveCapture(t, c, routesJSON)
	auth := []string{"Authorization", "Bearer tok"}

	status, answer, _ := post(t, url+"/fluent", []byte(`[{"date":1714979289.25,"log":"a"},{"log":"b"}]`), auth...)
	require.Equal(t, 200, status, answer)
	assert.JSONEq(t, `{"accepted":2}`, answer)
	evs := c.Events()
	require.Len(t, evs, 2)
	assert.True(t, time.Unix(1714979289, 250_000_000).Equal(evs[0].Time))
	assert.True(t, evs[1].Time.IsZero())
	assert.Equal(t, map[string]any{"log": "b"}, evs[1].Value)

	status, answer, _ = post(t, url+"/", []byte("{\"a\":1}\n{\"a\":"), auth...)
	assert.Equal(t, 400, status)
	assert.Contains(t, answer, "line 2 is not valid JSON")
	assert.Len(t, c.Events(), 2, "nothing of a malformed body delivered")

	status, _, _ = post(t, url+"/", []byte(`{}`), "Authorization", "Bearer wrong")
	assert.Equal(t, 403, status)

	c.Fail = &Error{Status: http.StatusTooManyRequests, Msg: "busy", RetryAfter: 2500 * time.Millisecond}
	status, answer, h := post(t, url+"/", []byte(`{}`), auth...)
	assert.Equal(t, 429, status)
	assert.Equal(t, "3", h.Get("Retry-After"), "rounded up to whole seconds")
	assert.JSONEq(t, `{"error":"busy"}`, answer)

	c.Fail = errors.New("unexpected")
	status, _, _ = post(t, url+"/", []byte(`{}`), auth...)
	assert.Equal(t, 503, status, "never 500, which shippers drop")
}
