package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/logging"
	"github.com/sluicehq/sluice/internal/testenv"
)

// freeAddr returns a loopback address nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().String()
}

// restCall sends a JSON request and returns the status and body.
func restCall(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

// startTestWorker runs serveWorkerChecked against brokerAddr with the given
// extra health check until the test ends, and returns its REST base URL
// once it is healthy. stopped receives what serveWorkerChecked returned.
func startTestWorker(t *testing.T, brokerAddr string, check func(context.Context) error, stopped func(error)) string {
	t.Helper()
	rest := freeAddr(t)
	props := map[string]string{"bootstrap.servers": brokerAddr, "listeners": "http://" + rest, "group.id": "g"}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	levels := logging.NewLevels(slog.LevelInfo, nil)
	go func() {
		done <- serveWorkerChecked(ctx, props, nil, testenv.Logger(t), levels, []func(context.Context) error{check})
	}()
	t.Cleanup(func() {
		cancel()
		stopped(<-done)
	})
	base := "http://" + rest
	require.Eventually(t, func() bool {
		resp, err := http.Get(base + "/health")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 60*time.Second, 50*time.Millisecond)
	return base
}

func healthOf(t *testing.T, base string) (int, string) {
	t.Helper()
	code, body := restCall(t, http.MethodGet, base+"/health", "")
	var st struct{ Status, Message string }
	require.NoError(t, json.Unmarshal([]byte(body), &st), body)
	return code, st.Status + ": " + st.Message
}

// TestWorkerHealthRunsEmbedderChecks: a check passed by the embedding
// process (sluice up passes the bundled broker's) makes /health unhealthy
// while it fails.
func TestWorkerHealthRunsEmbedderChecks(t *testing.T) {
	b := testenv.StartBroker(t, nil)
	var failing atomic.Bool
	base := startTestWorker(t, b.Addr, func(context.Context) error {
		if failing.Load() {
			return errors.New("broker listener 127.0.0.1:9092 stopped accepting connections")
		}
		return nil
	}, func(err error) { assert.NoError(t, err) })
	failing.Store(true)
	code, msg := healthOf(t, base)
	assert.Equal(t, http.StatusInternalServerError, code)
	assert.Equal(t, "unhealthy: Worker was unable to handle this request and may be unable to handle other requests. "+
		"broker listener 127.0.0.1:9092 stopped accepting connections", msg)
	failing.Store(false)
	code, _ = healthOf(t, base)
	assert.Equal(t, http.StatusOK, code)
}

// TestWorkerOnAFullDisk: when the broker cannot write (a full disk fences
// the config topic with KAFKA_STORAGE_ERROR), POST /connectors answers 500
// within seconds naming the topic and the broker's error, where it used to
// time out after 90 s, and /health says the worker's internal-topic writes
// fail.
func TestWorkerOnAFullDisk(t *testing.T) {
	dir := testenv.MountTmpfs(t, 64<<20)
	addr := testenv.StartBrokerIn(t, dir, nil).Addr
	base := startTestWorker(t, addr, func(context.Context) error { return nil }, func(err error) {
		// The last statuses cannot be written either.
		t.Logf("worker stopped: %v", err)
	})
	code, body := restCall(t, http.MethodPost, base+"/connectors",
		`{"name":"small","config":{"connector.class":"FileStreamSource","topic":"t","file":"/dev/null"}}`)
	require.Equal(t, http.StatusCreated, code, body)

	testenv.FillDisk(t, dir)

	create := fmt.Sprintf(`{"name":"big","config":{"connector.class":"FileStreamSource","topic":"t","file":"/dev/null","note":%q}}`,
		strings.Repeat("x", 256<<10))
	start := time.Now()
	code, body = restCall(t, http.MethodPost, base+"/connectors", create)
	took := time.Since(start)
	t.Logf("POST /connectors on a full disk: %d after %s: %s", code, took, body)
	assert.Equal(t, http.StatusInternalServerError, code)
	assert.Less(t, took, 15*time.Second)
	assert.Contains(t, body, `"message":"write config of connector big: write to config topic connect-configs: KAFKA_STORAGE_ERROR: Disk error when trying to access log file on the disk."`)
	assert.NotContains(t, body, dir)

	code, msg := healthOf(t, base)
	assert.Equal(t, http.StatusInternalServerError, code)
	assert.Contains(t, msg, "unhealthy: Worker was unable to handle this request and may be unable to handle other requests. "+
		"write to config topic connect-configs: KAFKA_STORAGE_ERROR")
}

// TestStandaloneHealthNamesAnUnreachableCluster: a standalone worker whose
// bootstrap.servers answer nothing says so on /health, instead of
// "healthy" while its tasks cannot deliver.
func TestStandaloneHealthNamesAnUnreachableCluster(t *testing.T) {
	dead := freeAddr(t) // nothing listens there
	rest := freeAddr(t)
	props := map[string]string{"bootstrap.servers": dead, "listeners": "http://" + rest,
		"offset.storage.file.filename": filepath.Join(t.TempDir(), "offsets")}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- serveWorkerChecked(ctx, props, []map[string]string{}, testenv.Logger(t), logging.NewLevels(slog.LevelInfo, nil), nil)
	}()
	t.Cleanup(func() { cancel(); <-done })
	base := "http://" + rest
	var code int
	var msg string
	require.Eventually(t, func() bool {
		resp, err := http.Get(base + "/health")
		if err != nil {
			return false
		}
		resp.Body.Close()
		code, msg = healthOf(t, base)
		return code == http.StatusInternalServerError
	}, 60*time.Second, 100*time.Millisecond)
	assert.Contains(t, msg, "cannot reach the Kafka cluster at "+dead)
}
