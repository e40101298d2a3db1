package rest

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestHealthChecks: the embedding process's checks (the bundled broker's
// listener and storage, the worker's internal-topic writes) make GET
// /health answer 500 unhealthy, in KIP-1017's shape, with the failing
// check's error after Kafka's message.
func TestHealthChecks(t *testing.T) {
	const kafkaUnhealthy = "Worker was unable to handle this request and may be unable to handle other requests."
	ok := func(context.Context) error { return nil }
	listenerDown := func(context.Context) error {
		return errors.New("broker listener 127.0.0.1:9092 is not accepting connections: accept: too many open files")
	}
	stuck := func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }
	tests := []struct {
		name     string
		checks   []func(context.Context) error
		notReady bool
		status   int
		want     string
	}{
		{"all pass", []func(context.Context) error{ok, ok}, false, 200,
			`{"status":"healthy","message":"Worker has completed startup and is ready to handle requests."}`},
		{"one fails", []func(context.Context) error{ok, listenerDown}, false, 500,
			`{"status":"unhealthy","message":"` + kafkaUnhealthy + ` broker listener 127.0.0.1:9092 is not accepting connections: accept: too many open files"}`},
		{"one does not answer", []func(context.Context) error{stuck}, false, 500,
			`{"status":"unhealthy","message":"` + kafkaUnhealthy + ` a health check did not answer within 100ms"}`},
		{"still starting", []func(context.Context) error{listenerDown}, true, 503,
			`{"status":"starting","message":"Worker is still starting up."}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newMemHerder()
			h.ready = !tt.notReady
			s := newTestServer(h, Options{HealthChecks: tt.checks, HealthTimeout: 100 * time.Millisecond})
			rec := do(t, s, http.MethodGet, "/health", "")
			assert.Equal(t, tt.status, rec.Code)
			assert.JSONEq(t, tt.want, rec.Body.String())
		})
	}
}
