package httpsource

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/testenv"
)

// jsLokiOTLP installs testdata/jsclient-lokiotlp (real npm clients) and
// returns a function running one of its scripts with arguments, failing
// the (sub)test it is given when the script fails.
func jsLokiOTLP(t *testing.T) func(t *testing.T, script string, args ...string) {
	t.Helper()
	dir := filepath.Join("testdata", "jsclient-lokiotlp")
	inst := testenv.NPMProject(t, dir, filepath.Join(dir, "otel.js"), filepath.Join(dir, "winston_loki.js"))
	node := testenv.RequireBinary(t, "node")
	return func(t *testing.T, script string, args ...string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, node, append([]string{filepath.Join(inst, script)}, args...)...)
		cmd.Dir = inst
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s %v:\n%s", script, args, out)
	}
}

// TestOTLPJSClients sends through @opentelemetry/exporter-logs-otlp-http
// (OTLP/JSON) and -proto (protobuf), gzip off and on.
func TestOTLPJSClients(t *testing.T) {
	run := jsLokiOTLP(t)
	const n = 25
	for _, kind := range []string{"http", "proto"} {
		for _, gz := range []string{"none", "gzip"} {
			t.Run(kind+"/"+gz, func(t *testing.T) {
				c := &captureEndpoint{}
				url := serveCapture(t, c, routesOTLP)
				run(t, "otel.js", url, kind, strconv.Itoa(n), gz)
				ev := c.Events()
				require.Len(t, ev, n)
				base := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
				for i, e := range ev {
					v := e.Value.(map[string]any)
					assert.Equal(t, fmt.Sprintf("js line %d", i), v["body"])
					assert.Equal(t, "INFO", v["severityText"])
					assert.Equal(t, "5b8efff798038103d269b633813fc60c", v["traceId"])
					assert.Equal(t, "eee19b7ec3c1b174", v["spanId"])
					assert.Equal(t, jsonNum(1), v["flags"])
					assert.Equal(t, jsonNum(9), v["severityNumber"])
					assert.Equal(t, map[string]any{"i": jsonNum(i), "user": "u1", "ok": true}, v["attributes"])
					assert.Equal(t, base.Add(time.Duration(i)*time.Millisecond), e.Time)
					for name, want := range map[string]string{
						"resource.service.name": "js-" + kind, "resource.deployment.environment": "test",
						"scope.name": "sluice.js", "scope.version": "3.0.0", "scope.attributes.team": "ingest",
					} {
						got, ok := e.Get(name)
						assert.True(t, ok, name)
						assert.Equal(t, want, got, name)
					}
				}
			})
		}
	}
}

// TestLokiWinstonClient sends through winston-loki in both of its
// encodings: JSON, and snappy protobuf without Content-Encoding.
func TestLokiWinstonClient(t *testing.T) {
	run := jsLokiOTLP(t)
	const n = 30
	for _, mode := range []string{"json", "protobuf"} {
		t.Run(mode, func(t *testing.T) {
			c := &captureEndpoint{}
			url := serveCapture(t, c, routesLoki)
			start := time.Now().Add(-time.Second)
			run(t, "winston_loki.js", url, mode, strconv.Itoa(n))
			ev := c.Events()
			require.Len(t, ev, n)
			for i, e := range ev {
				// winston-loki appends the remaining winston fields to the line.
				assert.Equal(t, fmt.Sprintf(`winston line %d {"level":"info"}`, i), e.Value)
				assert.WithinRange(t, e.Time, start, time.Now().Add(time.Second))
				for name, want := range map[string]string{
					"labels.app": "winston", "labels.env": "test", "labels.level": "info",
				} {
					got, ok := e.Get(name)
					assert.True(t, ok, name)
					assert.Equal(t, want, got, name)
				}
			}
		})
	}
}
