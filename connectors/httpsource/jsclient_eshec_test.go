package httpsource

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/testenv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// eshecNPM installs testdata/jsclient-eshec (the @elastic/elasticsearch
// and splunk-logging clients) with its scripts.
func eshecNPM(t *testing.T) string {
	return testenv.NPMProject(t, "testdata/jsclient-eshec",
		"testdata/jsclient-eshec/es-helpers-bulk.mjs", "testdata/jsclient-eshec/hec-splunk-logging.mjs")
}

// runNode runs script in dir with env, killed after a minute, and
// decodes the JSON line it prints into out.
func runNode(t *testing.T, dir, script string, out any, env ...string) {
	t.Helper()
	ctx, stop := context.WithTimeout(context.Background(), 60*time.Second)
	defer stop()
	cmd := exec.CommandContext(ctx, "node", script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	b, err := cmd.Output()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		t.Fatalf("node %s (killed after 60s if it hangs): %v\n%s", script, err, exit.Stderr)
	}
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, out), "%s", b)
}

// TestESJSClient runs @elastic/elasticsearch 9.5.1: its product check,
// info() and helpers.bulk with gzip.
func TestESJSClient(t *testing.T) {
	js := eshecNPM(t)
	c := &captureEndpoint{settings: Settings{ESVersion: "9.1.0"}, token: "tok"}
	url := serveCapture(t, c, routesES)
	const n = 700
	var got struct {
		Version, Tagline          string
		Total, Successful, Failed int
		Dropped                   []int
	}
	runNode(t, js, "es-helpers-bulk.mjs", &got, "ES_URL="+url, "ES_TOKEN=tok", fmt.Sprintf("N=%d", n))
	assert.Equal(t, "9.1.0", got.Version)
	assert.Equal(t, "You Know, for Search", got.Tagline)
	assert.Equal(t, n, got.Total)
	assert.Equal(t, n, got.Successful)
	assert.Zero(t, got.Failed)
	assert.Empty(t, got.Dropped)
	ev := c.Events()
	require.Len(t, ev, n)
	seen := map[string]bool{}
	for _, e := range ev {
		seen[object(t, e.Value)["message"].(string)] = true
		idx, _ := e.Get("index")
		assert.Equal(t, "js-logs", idx)
		assert.False(t, e.Time.IsZero())
	}
	assert.Len(t, seen, n, "every line once")
}

// TestHECJSClient runs splunk-logging 0.11.1 against the HEC routes.
func TestHECJSClient(t *testing.T) {
	js := eshecNPM(t)
	c := &captureEndpoint{token: "hec-token"}
	url := serveCapture(t, c, routesHEC)
	const n = 95
	var got struct {
		Errors   []string
		Requests int
		Bodies   []string
	}
	runNode(t, js, "hec-splunk-logging.mjs", &got, "HEC_URL="+url, "HEC_TOKEN=hec-token", fmt.Sprintf("N=%d", n))
	assert.Empty(t, got.Errors)
	assert.Equal(t, 10, got.Requests, "batches of 10, the last flushed")
	require.NotEmpty(t, got.Bodies)
	for _, b := range got.Bodies {
		assert.JSONEq(t, `{"text":"Success","code":0}`, b)
	}
	ev := c.Events()
	require.Len(t, ev, n)
	seen := map[string]bool{}
	for _, e := range ev {
		m := object(t, e.Value)
		msg := m["message"].(map[string]any)
		seen[msg["line"].(string)] = true
		assert.Equal(t, "info", m["severity"])
		h, _ := e.Get("host")
		st, _ := e.Get("sourcetype")
		assert.Equal(t, "js-host", h)
		assert.Equal(t, "js", st)
		assert.False(t, e.Time.IsZero())
	}
	assert.Len(t, seen, n, "every event once")
}
