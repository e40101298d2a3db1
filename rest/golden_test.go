package rest

import (
	"bytes"
	"encoding/json"
	"flag"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/logging"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

var _ Herder = (*memHerder)(nil)

// apiCase is one request whose whole answer is kept in testdata/<name>.json.
type apiCase struct {
	name         string
	method, path string
	body         string
	setup        func(*memHerder)
}

// golden is what a golden file records of an answer.
type golden struct {
	Request     string          `json:"request"`
	RequestBody string          `json:"request_body,omitempty"`
	Status      int             `json:"status"`
	ContentType string          `json:"content_type,omitempty"`
	Location    string          `json:"location,omitempty"`
	Body        json.RawMessage `json:"body,omitempty"`
}

// testLevels knows sluice.worker and sluice.broker; sluice.broker is at
// DEBUG, set at a fixed time.
func testLevels() *logging.Levels {
	levels := logging.NewLevels(slog.LevelInfo, func() time.Time { return time.UnixMilli(1700000000000) })
	h := logging.NewHandler(slog.DiscardHandler, levels)
	h.WithAttrs([]slog.Attr{slog.String(logging.LoggerKey, "sluice.worker")})
	h.WithAttrs([]slog.Attr{slog.String(logging.LoggerKey, "sluice.broker")})
	levels.Set("sluice.broker", slog.LevelDebug)
	return levels
}

func newTestServer(h Herder, opts Options) *Server {
	if opts.Levels == nil {
		opts.Levels = testLevels()
	}
	if opts.HealthTimeout == 0 {
		opts.HealthTimeout = 100 * time.Millisecond
	}
	return New(h, opts)
}

func do(t *testing.T, s *Server, method, path, body string) *httptest.ResponseRecorder {
	t.Helper()
	var rd *strings.Reader
	if body != "" {
		rd = strings.NewReader(body)
	} else {
		rd = strings.NewReader("")
	}
	req := httptest.NewRequest(method, path, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	return rec
}

func checkGolden(t *testing.T, c apiCase, rec *httptest.ResponseRecorder) {
	t.Helper()
	g := golden{Request: c.method + " " + c.path, RequestBody: c.body, Status: rec.Code,
		ContentType: rec.Header().Get("Content-Type"), Location: rec.Header().Get("Location")}
	if rec.Body.Len() > 0 {
		require.True(t, json.Valid(rec.Body.Bytes()), "body is not JSON: %s", rec.Body)
		g.Body = json.RawMessage(rec.Body.Bytes())
	}
	if rec.Code >= 400 && c.path != "/health" {
		var e errorMessage
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &e), "error answers carry an error body")
		assert.Equal(t, rec.Code, e.ErrorCode)
		assert.NotEmpty(t, e.Message)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	require.NoError(t, enc.Encode(g))

	path := filepath.Join("testdata", c.name+".json")
	if *update {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test ./rest -update to create it")
	assert.Equal(t, string(want), buf.String())
}

func TestGolden(t *testing.T) {
	for _, c := range goldenCases() {
		t.Run(c.name, func(t *testing.T) {
			h := newMemHerder()
			if c.setup != nil {
				c.setup(h)
			}
			if h.block != nil {
				t.Cleanup(func() { close(h.block) })
			}
			rec := do(t, newTestServer(h, Options{}), c.method, c.path, c.body)
			checkGolden(t, c, rec)
		})
	}
}

func TestGoldenFilesAllUsed(t *testing.T) {
	names := map[string]bool{}
	for _, c := range goldenCases() {
		require.False(t, names[c.name], "duplicate case %s", c.name)
		names[c.name] = true
	}
	files, err := filepath.Glob("testdata/*.json")
	require.NoError(t, err)
	for _, f := range files {
		assert.True(t, names[strings.TrimSuffix(filepath.Base(f), ".json")], "stale golden file %s", f)
	}
}

func goldenCases() []apiCase {
	const srcConfig = `{"connector.class":"FileStreamSource","tasks.max":1,"file":"/tmp/x & y.txt","topic":"t"}`
	return slicesConcat(rootCases(), connectorCases(srcConfig), controlCases(), pluginCases(), loggerCases(), routingCases())
}

func slicesConcat(parts ...[]apiCase) []apiCase {
	var out []apiCase
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func rootCases() []apiCase {
	return []apiCase{
		{name: "root", method: http.MethodGet, path: "/"},
		{name: "health_healthy", method: http.MethodGet, path: "/health"},
		{name: "health_starting", method: http.MethodGet, path: "/health", setup: func(h *memHerder) {
			h.ready = false
			h.block = make(chan struct{})
		}},
		{name: "health_unhealthy", method: http.MethodGet, path: "/health", setup: func(h *memHerder) {
			h.block = make(chan struct{})
		}},
		{name: "health_check_fails", method: http.MethodGet, path: "/health", setup: func(h *memHerder) {
			h.healthErr = errForTest("herder thread died")
		}},
	}
}

type errForTest string

func (e errForTest) Error() string { return string(e) }

func connectorCases(srcConfig string) []apiCase {
	return []apiCase{
		{name: "connectors_list", method: http.MethodGet, path: "/connectors"},
		{name: "connectors_list_trailing_slash", method: http.MethodGet, path: "/connectors/"},
		{name: "connectors_expand_status_info", method: http.MethodGet, path: "/connectors?expand=status&expand=info"},
		{name: "connectors_expand_info", method: http.MethodGet, path: "/connectors?expand=info"},
		{name: "connectors_expand_comma_ignored", method: http.MethodGet, path: "/connectors?expand=status,info"},
		{name: "connectors_expand_skips_deleted", method: http.MethodGet, path: "/connectors?expand=status",
			setup: func(h *memHerder) { h.vanish["sink"] = true }},
		{name: "create_201", method: http.MethodPost, path: "/connectors",
			body: `{"name":" new ","config":` + srcConfig + `}`},
		{name: "create_201_initial_state", method: http.MethodPost, path: "/connectors",
			body: `{"name":"new","config":` + srcConfig + `,"initial_state":"stopped"}`},
		{name: "create_409_exists", method: http.MethodPost, path: "/connectors",
			body: `{"name":"src","config":` + srcConfig + `}`},
		{name: "create_400_invalid_config", method: http.MethodPost, path: "/connectors",
			body: `{"name":"bad","config":{"connector.class":"NoSuchConnector"}}`},
		{name: "create_400_missing_name", method: http.MethodPost, path: "/connectors",
			body: `{"config":` + srcConfig + `}`},
		{name: "create_400_name_mismatch", method: http.MethodPost, path: "/connectors",
			body: `{"name":"a","config":{"name":"b","connector.class":"FileStreamSource"}}`},
		{name: "create_500_malformed_json", method: http.MethodPost, path: "/connectors", body: `{"name":"a",`},
		{name: "create_500_object_value", method: http.MethodPost, path: "/connectors",
			body: `{"name":"a","config":{"file":{"path":"/x"}}}`},
		{name: "create_500_bad_initial_state", method: http.MethodPost, path: "/connectors",
			body: `{"name":"a","config":` + srcConfig + `,"initial_state":"SLEEPING"}`},
		{name: "connector_get", method: http.MethodGet, path: "/connectors/src"},
		{name: "connector_get_404", method: http.MethodGet, path: "/connectors/nope"},
		{name: "connector_get_escaped_name", method: http.MethodGet, path: "/connectors/a%2Fb"},
		{name: "config_get", method: http.MethodGet, path: "/connectors/src/config"},
		{name: "config_put_200_updated", method: http.MethodPut, path: "/connectors/src/config", body: srcConfig},
		{name: "config_put_201_created", method: http.MethodPut, path: "/connectors/fresh/config", body: srcConfig},
		{name: "config_put_400_name_mismatch", method: http.MethodPut, path: "/connectors/src/config",
			body: `{"name":"other","connector.class":"FileStreamSource"}`},
		{name: "config_put_400_empty_body", method: http.MethodPut, path: "/connectors/src/config"},
		{name: "config_patch_200", method: http.MethodPatch, path: "/connectors/src/config",
			body: `{"topic":"renamed","file":null,"batch.size":500}`},
		{name: "config_patch_400_name", method: http.MethodPatch, path: "/connectors/src/config", body: `{"name":"x"}`},
		{name: "config_patch_404", method: http.MethodPatch, path: "/connectors/nope/config", body: `{"a":"b"}`},
		{name: "delete_204", method: http.MethodDelete, path: "/connectors/src"},
		{name: "delete_404", method: http.MethodDelete, path: "/connectors/nope"},
		{name: "status", method: http.MethodGet, path: "/connectors/sink/status"},
		{name: "status_404", method: http.MethodGet, path: "/connectors/nope/status"},
		{name: "tasks", method: http.MethodGet, path: "/connectors/src/tasks"},
		{name: "tasks_config", method: http.MethodGet, path: "/connectors/src/tasks-config"},
		{name: "task_status", method: http.MethodGet, path: "/connectors/src/tasks/1/status"},
		{name: "task_status_404", method: http.MethodGet, path: "/connectors/src/tasks/9/status"},
		{name: "task_status_not_a_number", method: http.MethodGet, path: "/connectors/src/tasks/x/status"},
	}
}

func controlCases() []apiCase {
	const sourceOffsets = `{"offsets":[{"partition":{"filename":"/tmp/s.txt"},"offset":{"position":9007199254740993}}]}`
	return []apiCase{
		{name: "restart_204", method: http.MethodPost, path: "/connectors/src/restart"},
		{name: "restart_202_include_tasks", method: http.MethodPost, path: "/connectors/src/restart?includeTasks=true"},
		{name: "restart_202_only_failed", method: http.MethodPost, path: "/connectors/sink/restart?includeTasks=true&onlyFailed=true"},
		{name: "restart_404", method: http.MethodPost, path: "/connectors/nope/restart?includeTasks=true"},
		{name: "restart_task_204", method: http.MethodPost, path: "/connectors/src/tasks/0/restart"},
		{name: "restart_task_404", method: http.MethodPost, path: "/connectors/src/tasks/5/restart"},
		{name: "pause_202", method: http.MethodPut, path: "/connectors/src/pause"},
		{name: "pause_404", method: http.MethodPut, path: "/connectors/nope/pause"},
		{name: "resume_202", method: http.MethodPut, path: "/connectors/stopped/resume"},
		{name: "stop_204", method: http.MethodPut, path: "/connectors/src/stop"},
		{name: "topics", method: http.MethodGet, path: "/connectors/src/topics"},
		{name: "topics_empty", method: http.MethodGet, path: "/connectors/sink/topics"},
		{name: "topics_403_disabled", method: http.MethodGet, path: "/connectors/src/topics",
			setup: func(h *memHerder) { h.topicTracking = false }},
		{name: "topics_reset_202", method: http.MethodPut, path: "/connectors/src/topics/reset"},
		{name: "topics_reset_403_disabled", method: http.MethodPut, path: "/connectors/src/topics/reset",
			setup: func(h *memHerder) { h.topicTrackingReset = false }},
		{name: "offsets_get", method: http.MethodGet, path: "/connectors/stopped/offsets"},
		{name: "offsets_get_empty", method: http.MethodGet, path: "/connectors/src/offsets"},
		{name: "offsets_patch_200", method: http.MethodPatch, path: "/connectors/stopped/offsets", body: sourceOffsets},
		{name: "offsets_patch_400_not_stopped", method: http.MethodPatch, path: "/connectors/src/offsets", body: sourceOffsets},
		{name: "offsets_patch_400_no_body", method: http.MethodPatch, path: "/connectors/stopped/offsets"},
		{name: "offsets_patch_400_empty_list", method: http.MethodPatch, path: "/connectors/stopped/offsets", body: `{"offsets":[]}`},
		{name: "offsets_delete_200", method: http.MethodDelete, path: "/connectors/stopped/offsets"},
		{name: "offsets_delete_400_not_stopped", method: http.MethodDelete, path: "/connectors/src/offsets"},
	}
}

func pluginCases() []apiCase {
	return []apiCase{
		{name: "plugins", method: http.MethodGet, path: "/connector-plugins"},
		{name: "plugins_all", method: http.MethodGet, path: "/connector-plugins?connectorsOnly=false"},
		{name: "plugin_config", method: http.MethodGet, path: "/connector-plugins/FileStreamSource/config"},
		{name: "plugin_config_404", method: http.MethodGet, path: "/connector-plugins/Nope/config"},
		{name: "validate", method: http.MethodPut, path: "/connector-plugins/FileStreamSource/config/validate",
			body: `{"connector.class":"FileStreamSourceConnector","tasks.max":"2"}`},
		{name: "validate_400_class_mismatch", method: http.MethodPut, path: "/connector-plugins/FileStreamSource/config/validate",
			body: `{"connector.class":"FileStreamSinkConnector"}`},
	}
}

func loggerCases() []apiCase {
	return []apiCase{
		{name: "loggers_list", method: http.MethodGet, path: "/admin/loggers"},
		{name: "logger_get", method: http.MethodGet, path: "/admin/loggers/sluice.broker"},
		{name: "logger_get_inherited", method: http.MethodGet, path: "/admin/loggers/sluice.worker"},
		{name: "logger_get_root", method: http.MethodGet, path: "/admin/loggers/root"},
		{name: "logger_get_404", method: http.MethodGet, path: "/admin/loggers/no.such.logger"},
		{name: "logger_put_200", method: http.MethodPut, path: "/admin/loggers/sluice", body: `{"level":"trace"}`},
		{name: "logger_put_cluster_204", method: http.MethodPut, path: "/admin/loggers/sluice?scope=cluster", body: `{"level":"WARN"}`},
		{name: "logger_put_404_invalid_level", method: http.MethodPut, path: "/admin/loggers/sluice", body: `{"level":"LOUD"}`},
		{name: "logger_put_400_missing_level", method: http.MethodPut, path: "/admin/loggers/sluice", body: `{}`},
	}
}

func routingCases() []apiCase {
	return []apiCase{
		{name: "unknown_path_404", method: http.MethodGet, path: "/no/such/path"},
		{name: "unknown_subresource_404", method: http.MethodGet, path: "/connectors/src/nope"},
		{name: "unknown_plugin_path_404", method: http.MethodGet, path: "/connector-plugins/a/b/c"},
		{name: "method_405", method: http.MethodDelete, path: "/connectors"},
		{name: "internal_task_configs", method: http.MethodPost, path: "/connectors/src/tasks", body: `[{"topic":"lines"}]`},
		{name: "internal_task_configs_unknown_connector", method: http.MethodPost, path: "/connectors/nope/tasks", body: `[]`},
	}
}
