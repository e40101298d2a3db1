package worker_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/testenv"
	"github.com/sluicehq/sluice/rest"
	"github.com/sluicehq/sluice/runtime/worker"
)

// serveHealth serves the worker's REST API with its cluster health check
// wired into GET /health, as the sluice commands do, and returns the
// health URL.
func serveHealth(t *testing.T, h *worker.Herder) string {
	t.Helper()
	srv := rest.New(h, rest.Options{Listen: "127.0.0.1:0", HealthChecks: []func(context.Context) error{h.ClusterHealth}})
	addr, err := srv.Listen()
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return "http://" + addr.String() + "/health"
}

// getHealth returns GET /health's status code and message.
func getHealth(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	var body struct{ Status, Message string }
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	return resp.StatusCode, body.Status + ": " + body.Message
}

// TestUnreachableClusterSurfaces: a worker whose Kafka cluster is gone
// does not look healthy. Its source task warns, naming itself and the
// cause, and fails after delivery.timeout.ms with the cause in its trace;
// its sink task warns; /health says the cluster is out of reach. When a
// broker comes up on the address, the tasks recover (the source through
// an automatic restart) and the worker is healthy again.
func TestUnreachableClusterSurfaces(t *testing.T) {
	b := testenv.StartBroker(t, nil)
	b.Stop(t) // its address is now a dead port; Restart brings a broker back on it
	w := startWorker(t, b, map[string]string{
		"producer.delivery.timeout.ms":         "2000",
		"task.auto.restart.initial.backoff.ms": "1000",
		"task.auto.restart.max.backoff.ms":     "1000",
	}, nil)
	healthURL := serveHealth(t, w.Herder)
	ctx := context.Background()
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.txt"), filepath.Join(dir, "out.txt")
	writeLines(t, in, 0, 10)
	_, err := w.CreateConnector(ctx, "src", map[string]string{"connector.class": "FileStreamSource", "file": in, "topic": "lines"}, "")
	require.NoError(t, err)
	_, err = w.CreateConnector(ctx, "sink", map[string]string{"connector.class": "FileStreamSink", "file": out, "topics": "lines"}, "")
	require.NoError(t, err)

	start := time.Now()
	st := waitState(t, w.Herder, "src", 1, worker.StateFailed)
	assert.Less(t, time.Since(start), 10*time.Second, "failed within the delivery timeout (and a little)")
	assert.Contains(t, st.Tasks[0].Trace, "records not delivered within delivery.timeout.ms=2000: unable to dial "+b.Addr+": connect: connection refused")

	for _, c := range []struct{ connector, msg string }{
		{"src", "source task cannot reach the Kafka cluster"},
		{"sink", "sink task cannot reach the Kafka cluster"},
	} {
		var warns []logRecord
		require.Eventually(t, func() bool {
			warns = w.counts.find(slog.LevelWarn, c.msg)
			warns = slices.DeleteFunc(warns, func(r logRecord) bool { return r.attrs["connector"] != c.connector })
			return len(warns) > 0
		}, 10*time.Second, 20*time.Millisecond, c.msg)
		assert.Equal(t, "0", warns[0].attrs["task"])
		assert.Equal(t, "unable to dial "+b.Addr+": connect: connection refused", warns[0].attrs["error"])
	}

	err = w.ClusterHealth(ctx)
	require.Error(t, err)
	assert.Regexp(t, `^cannot reach the Kafka cluster at `+b.Addr+` since \d{4}-\d\d-\d\dT[0-9:]+Z: unable to dial `+b.Addr+`: connect: connection refused$`, err.Error())
	code, msg := getHealth(t, healthURL)
	assert.Equal(t, http.StatusInternalServerError, code)
	assert.Contains(t, msg, "unhealthy: ")
	assert.Contains(t, msg, "cannot reach the Kafka cluster at "+b.Addr)

	b.Restart(t)
	require.Eventually(t, func() bool { return w.ClusterHealth(ctx) == nil }, 20*time.Second, 20*time.Millisecond)
	code, msg = getHealth(t, healthURL)
	assert.Equal(t, http.StatusOK, code, msg)
	require.Eventually(t, func() bool { return len(readLines(out)) == 10 }, 30*time.Second, 50*time.Millisecond,
		"the source recovered and the sink delivered")
	waitState(t, w.Herder, "src", 1, worker.StateRunning)
	waitState(t, w.Herder, "sink", 1, worker.StateRunning)
	assert.True(t, strings.HasPrefix(readLines(out)[0], "line-"))
}
