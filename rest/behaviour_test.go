package rest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/logging"
	"github.com/sluicehq/sluice/runtime/worker"
)

func decodeError(t *testing.T, rec *httptest.ResponseRecorder) errorMessage {
	t.Helper()
	var e errorMessage
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &e), rec.Body.String())
	return e
}

func TestErrorResponse(t *testing.T) {
	tests := []struct {
		name    string
		err     error
		status  int
		message string
	}{
		{"not found", fmt.Errorf("%w: Connector x not found", worker.ErrNotFound), 404, "Connector x not found"},
		{"exists", fmt.Errorf("%w: Connector x already exists", worker.ErrAlreadyExists), 409, "Connector x already exists"},
		{"bad request", fmt.Errorf("%w: Connector configuration is invalid", worker.ErrBadRequest), 400, "Connector configuration is invalid"},
		{"conflict", fmt.Errorf("%w: Cannot complete request momentarily", worker.ErrConflict), 409, "Cannot complete request momentarily"},
		{"forbidden", fmt.Errorf("%w: Topic tracking is disabled.", worker.ErrForbidden), 403, "Topic tracking is disabled."},
		{"wrapped again keeps the message", fmt.Errorf("put config: %w", fmt.Errorf("%w: Connector x not found", worker.ErrNotFound)), 404, "Connector x not found"},
		{"bare sentinel", worker.ErrNotFound, 404, "not found"},
		{"unknown error is 500 with its text", errors.New("write config topic: broker down"), 500, "write config topic: broker down"},
		{"timeout", errTimeout, 500, "Request timed out"},
		{"interrupted", errInterrupted, 500, "Request interrupted"},
		{"malformed body is 500 as in Kafka", fmt.Errorf("%w: Cannot parse", errBody), 500, "Cannot parse"},
		{"method", errMethodNotAllowed, 405, "HTTP 405 Method Not Allowed"},
		{"route", errRouteNotFound, 404, "HTTP 404 Not Found"},
		{"media type", errUnsupportedMediaType, 415, "HTTP 415 Unsupported Media Type"},
		{"slow body", fmt.Errorf("%w: Request body not received within 30s", errReadTimeout), 408, "Request body not received within 30s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, msg := errorResponse(tt.err)
			assert.Equal(t, tt.status, status)
			assert.Equal(t, tt.message, msg)
		})
	}
}

func TestRequestTimeout(t *testing.T) {
	h := newMemHerder()
	h.block = make(chan struct{})
	t.Cleanup(func() { close(h.block) })
	s := newTestServer(h, Options{RequestTimeout: 50 * time.Millisecond})

	start := time.Now()
	rec := do(t, s, http.MethodGet, "/connectors/src", "")
	assert.Less(t, time.Since(start), 5*time.Second, "the handler must not wait for a stuck herder")
	assert.Equal(t, http.StatusInternalServerError, rec.Code)
	assert.Equal(t, errorMessage{ErrorCode: 500, Message: "Request timed out"}, decodeError(t, rec))
}

// ctxHerder answers ConnectorInfo only when its context ends, with the
// context's error, as a well-behaved herder does.
type ctxHerder struct{ *memHerder }

func (h ctxHerder) ConnectorInfo(ctx context.Context, _ string) (worker.ConnectorInfo, error) {
	<-ctx.Done()
	return worker.ConnectorInfo{}, fmt.Errorf("wait for config topic: %w", ctx.Err())
}

func TestHerderDeadlineErrorIsTimeout(t *testing.T) {
	s := newTestServer(ctxHerder{newMemHerder()}, Options{RequestTimeout: 20 * time.Millisecond})
	rec := do(t, s, http.MethodGet, "/connectors/src", "")
	assert.Equal(t, errorMessage{ErrorCode: 500, Message: "Request timed out"}, decodeError(t, rec))
}

func TestRequestInterrupted(t *testing.T) {
	s := newTestServer(ctxHerder{newMemHerder()}, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	req := httptest.NewRequestWithContext(ctx, http.MethodGet, "/connectors/src", nil)
	rec := httptest.NewRecorder()
	time.AfterFunc(10*time.Millisecond, cancel)
	s.Handler().ServeHTTP(rec, req)
	assert.Equal(t, errorMessage{ErrorCode: 500, Message: "Request interrupted"}, decodeError(t, rec))
}

// panicHerder panics in a herder call.
type panicHerder struct{ *memHerder }

func (panicHerder) ConnectorStatus(context.Context, string) (worker.ConnectorStateInfo, error) {
	panic("boom")
}

func TestHerderPanicIs500(t *testing.T) {
	s := newTestServer(panicHerder{newMemHerder()}, Options{})
	rec := do(t, s, http.MethodGet, "/connectors/src/status", "")
	assert.Equal(t, errorMessage{ErrorCode: 500, Message: "herder panicked: boom"}, decodeError(t, rec))
}

func TestCreateConnectorArguments(t *testing.T) {
	tests := []struct {
		name       string
		body       string
		wantName   string
		wantTarget worker.TargetState
		wantConfig map[string]string
	}{
		{"defaults", `{"name":"a","config":{"connector.class":"FileStreamSource"}}`, "a", worker.TargetStarted,
			map[string]string{"name": "a", "connector.class": "FileStreamSource"}},
		{"trimmed name, scalars as text, null dropped",
			`{"name":"  b\t","config":{"connector.class":"FileStreamSource","tasks.max":2,"x.enabled":true,"y":null,"z":1.50}}`,
			"b", worker.TargetStarted,
			map[string]string{"name": "b", "connector.class": "FileStreamSource", "tasks.max": "2", "x.enabled": "true", "z": "1.50"}},
		{"initial paused", `{"name":"c","config":{"connector.class":"FileStreamSource"},"initial_state":"Paused"}`, "c", worker.TargetPaused,
			map[string]string{"name": "c", "connector.class": "FileStreamSource"}},
		{"initial stopped", `{"name":"d","config":{"connector.class":"FileStreamSource"},"initial_state":"STOPPED"}`, "d", worker.TargetStopped,
			map[string]string{"name": "d", "connector.class": "FileStreamSource"}},
		{"initial running", `{"name":"e","config":{"connector.class":"FileStreamSource"},"initial_state":"running"}`, "e", worker.TargetStarted,
			map[string]string{"name": "e", "connector.class": "FileStreamSource"}},
		{"unknown fields ignored", `{"name":"f","config":{"connector.class":"FileStreamSource"},"tasks":[],"type":"source"}`, "f", worker.TargetStarted,
			map[string]string{"name": "f", "connector.class": "FileStreamSource"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newMemHerder()
			rec := do(t, newTestServer(h, Options{}), http.MethodPost, "/connectors", tt.body)
			require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
			c := h.connectors[tt.wantName]
			require.NotNil(t, c)
			assert.Equal(t, tt.wantTarget, c.target)
			assert.Equal(t, tt.wantConfig, c.config)
			assert.Equal(t, "http://example.com/connectors/"+tt.wantName, rec.Header().Get("Location"))
		})
	}
}

func TestPutConfigFillsName(t *testing.T) {
	h := newMemHerder()
	rec := do(t, newTestServer(h, Options{}), http.MethodPut, "/connectors/src/config", `{"connector.class":"FileStreamSource"}`)
	require.Equal(t, http.StatusOK, rec.Code)
	assert.Empty(t, rec.Header().Get("Location"), "no Location on update")
	assert.Equal(t, "src", h.connectors["src"].config["name"])
}

// offsetsHerder records what AlterOffsets receives.
type offsetsHerder struct {
	*memHerder
	got *worker.ConnectorOffsets
}

func (h offsetsHerder) AlterOffsets(ctx context.Context, name string, o worker.ConnectorOffsets) (string, error) {
	*h.got = o
	return h.memHerder.AlterOffsets(ctx, name, o)
}

func TestAlterOffsetsKeepsIntegerPrecision(t *testing.T) {
	var got worker.ConnectorOffsets
	s := newTestServer(offsetsHerder{newMemHerder(), &got}, Options{})
	body := `{"offsets":[{"partition":{"kafka_topic":"t","kafka_partition":3},"offset":{"kafka_offset":9007199254740993}},` +
		`{"partition":{"f":"x","ratio":0.5},"offset":null}]}`
	rec := do(t, s, http.MethodPatch, "/connectors/stopped/offsets", body)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Len(t, got.Offsets, 2)
	assert.Equal(t, map[string]any{"kafka_topic": "t", "kafka_partition": int64(3)}, got.Offsets[0].Partition)
	assert.Equal(t, map[string]any{"kafka_offset": int64(9007199254740993)}, got.Offsets[0].Offset)
	assert.Equal(t, map[string]any{"f": "x", "ratio": 0.5}, got.Offsets[1].Partition)
	assert.Nil(t, got.Offsets[1].Offset, "a null offset resets the partition")
}

// restartHerder records the restart flags.
type restartHerder struct {
	*memHerder
	flags *[2]bool
}

func (h restartHerder) RestartConnector(ctx context.Context, name string, includeTasks, onlyFailed bool) (*worker.ConnectorStateInfo, error) {
	*h.flags = [2]bool{includeTasks, onlyFailed}
	return h.memHerder.RestartConnector(ctx, name, includeTasks, onlyFailed)
}

func TestRestartQuery(t *testing.T) {
	tests := []struct {
		query  string
		flags  [2]bool
		status int
	}{
		{"", [2]bool{false, false}, http.StatusNoContent},
		{"?includeTasks=false&onlyFailed=false", [2]bool{false, false}, http.StatusNoContent},
		{"?includeTasks=TRUE", [2]bool{true, false}, http.StatusAccepted},
		{"?onlyFailed=true", [2]bool{false, true}, http.StatusAccepted},
		{"?includeTasks=yes", [2]bool{false, false}, http.StatusNoContent},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			var flags [2]bool
			s := newTestServer(restartHerder{newMemHerder(), &flags}, Options{})
			rec := do(t, s, http.MethodPost, "/connectors/src/restart"+tt.query, "")
			assert.Equal(t, tt.status, rec.Code)
			assert.Equal(t, tt.flags, flags)
			if tt.status == http.StatusNoContent {
				assert.Zero(t, rec.Body.Len())
			}
		})
	}
}

func TestConnectorsOnlyQuery(t *testing.T) {
	tests := map[string]int{"": 2, "?connectorsOnly=true": 2, "?connectorsOnly=false": 6, "?connectorsOnly=False": 6}
	for query, want := range tests {
		t.Run(query, func(t *testing.T) {
			rec := do(t, newTestServer(newMemHerder(), Options{}), http.MethodGet, "/connector-plugins"+query, "")
			var got []worker.PluginInfo
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &got))
			assert.Len(t, got, want)
		})
	}
}

func TestLoggersChangeLogOutput(t *testing.T) {
	levels := logging.NewLevels(slog.LevelInfo, nil)
	var buf bytes.Buffer
	log := slog.New(logging.NewHandler(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: logging.LevelAll}), levels)).
		With(logging.LoggerKey, "sluice.worker.sink")
	s := newTestServer(newMemHerder(), Options{Levels: levels})

	log.Debug("before")
	rec := do(t, s, http.MethodPut, "/admin/loggers/sluice.worker", `{"level":"DEBUG"}`)
	require.Equal(t, http.StatusOK, rec.Code)
	assert.JSONEq(t, `["sluice.worker","sluice.worker.sink"]`, rec.Body.String())
	log.Debug("after")

	assert.NotContains(t, buf.String(), "before")
	assert.Contains(t, buf.String(), "after")
}

func TestLoggerScopes(t *testing.T) {
	tests := []struct {
		query  string
		status int
	}{
		{"", http.StatusOK},
		{"?scope=worker", http.StatusOK},
		{"?scope=WORKER", http.StatusOK},
		{"?scope=galaxy", http.StatusOK},
		{"?scope=Cluster", http.StatusNoContent},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			levels := logging.NewLevels(slog.LevelInfo, nil)
			rec := do(t, newTestServer(newMemHerder(), Options{Levels: levels}), http.MethodPut, "/admin/loggers/x"+tt.query, `{"level":"ERROR"}`)
			assert.Equal(t, tt.status, rec.Code)
			assert.Equal(t, slog.LevelError, levels.Effective("x"), "every scope changes this worker")
		})
	}
}

func TestContentTypeOnEveryJSONAnswer(t *testing.T) {
	s := newTestServer(newMemHerder(), Options{})
	for _, path := range []string{"/", "/connectors", "/connectors/nope", "/nope", "/admin/loggers"} {
		rec := do(t, s, http.MethodGet, path, "")
		assert.Equal(t, "application/json", rec.Header().Get("Content-Type"), path)
		assert.False(t, strings.HasSuffix(rec.Body.String(), "\n"), "no trailing newline, as Jackson writes")
	}
}

func BenchmarkGetConnector(b *testing.B) {
	s := newTestServer(newMemHerder(), Options{})
	req := httptest.NewRequest(http.MethodGet, "/connectors/src", nil)
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatal(rec.Code)
		}
	}
}
