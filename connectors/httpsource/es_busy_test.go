package httpsource

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// esBusyBody is a bulk body of two valid items, a malformed one and a
// delete.
const esBusyBody = `{"create":{"_index":"a","_id":"1"}}
{"m":1}
{"index":{"_index":"a"}}
"not an object"
{"delete":{"_index":"a","_id":"9"}}
{"index":{"_index":"b"}}
{"m":2}
`

// esBusyAnswer is a decoded _bulk answer.
type esBusyAnswer struct {
	Errors bool
	Items  []map[string]struct {
		ID     string `json:"_id"`
		Status int
		Error  struct{ Type, Reason string }
	}
}

// TestESBusyResponse: with es.busy.response=request (the default) a busy
// delivery answers the whole bulk request 429 with Retry-After; with
// items it answers 200, "errors":true, and every item that was to be
// written 429 es_rejected_execution_exception, the refused and deleted
// items keeping their own answers. An error that is not busy (413) is a
// whole-request answer either way.
func TestESBusyResponse(t *testing.T) {
	busy := map[string]error{
		"queue full": &Error{Status: http.StatusTooManyRequests, Msg: "the queue stayed full", RetryAfter: 3 * time.Second},
		"no ack":     &Error{Status: http.StatusServiceUnavailable, Msg: "no ack in time", RetryAfter: 3 * time.Second},
	}
	for name, fail := range busy {
		t.Run(name+"/request", func(t *testing.T) {
			c := &captureEndpoint{Fail: fail}
			url := serveCapture(t, c, routesES)
			status, answer, h := post(t, url+"/_bulk", []byte(esBusyBody), "Content-Type", "application/x-ndjson")
			assert.Equal(t, http.StatusTooManyRequests, status, answer)
			assert.Equal(t, "3", h.Get("Retry-After"))
			assert.Contains(t, answer, "es_rejected_execution_exception")
		})
		t.Run(name+"/items", func(t *testing.T) {
			c := &captureEndpoint{Fail: fail, settings: Settings{ESBusyItems: true}}
			url := serveCapture(t, c, routesES)
			status, answer, h := post(t, url+"/_bulk", []byte(esBusyBody), "Content-Type", "application/x-ndjson")
			require.Equal(t, http.StatusOK, status, answer)
			assert.Empty(t, h.Get("Retry-After"))
			var got esBusyAnswer
			require.NoError(t, json.Unmarshal([]byte(answer), &got), answer)
			assert.True(t, got.Errors)
			require.Len(t, got.Items, 4)
			want := []struct {
				action string
				status int
				typ    string
			}{
				{"create", 429, "es_rejected_execution_exception"},
				{"index", 400, "mapper_parsing_exception"},
				{"delete", 404, ""},
				{"index", 429, "es_rejected_execution_exception"},
			}
			for i, w := range want {
				it, ok := got.Items[i][w.action]
				require.True(t, ok, "item %d is a %s: %v", i, w.action, got.Items[i])
				assert.Equal(t, w.status, it.Status, "item %d", i)
				assert.Equal(t, w.typ, it.Error.Type, "item %d", i)
				if w.status == 429 {
					assert.Contains(t, it.Error.Reason, fail.Error(), "item %d names why", i)
				}
			}
			assert.Equal(t, "1", got.Items[0]["create"].ID, "the given _id is kept")
		})
	}
	t.Run("not busy", func(t *testing.T) {
		c := &captureEndpoint{Fail: &Error{Status: http.StatusRequestEntityTooLarge, Msg: "max.events.per.request"},
			settings: Settings{ESBusyItems: true}}
		url := serveCapture(t, c, routesES)
		status, answer, _ := post(t, url+"/_bulk", []byte(esBusyBody), "Content-Type", "application/x-ndjson")
		assert.Equal(t, http.StatusRequestEntityTooLarge, status, answer)
		assert.Contains(t, answer, "max.events.per.request")
	})
	t.Run("config", func(t *testing.T) {
		base := map[string]string{"listeners": "127.0.0.1:0", "topic": "logs"}
		c, err := parseConfig(base)
		require.NoError(t, err)
		assert.False(t, c.settings.ESBusyItems, "request is the default")
		base["es.busy.response"] = "ITEMS"
		c, err = parseConfig(base)
		require.NoError(t, err)
		assert.True(t, c.settings.ESBusyItems)
		base["es.busy.response"] = "drop"
		_, err = parseConfig(base)
		require.ErrorContains(t, err, "es.busy.response")
	})
}
