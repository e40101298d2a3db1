package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestHTTPSinkSurvivesKill streams records through the HTTP sink of
// `sluice up` to a real HTTP server, kills the process with SIGKILL
// midway, restarts it, and checks that every record reached the server at
// least once (the duplicates, records sent but not committed before the
// kill, are counted).
func TestHTTPSinkSurvivesKill(t *testing.T) {
	const records = 20_000
	var mu sync.Mutex
	seen := map[int]int{}
	total := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var ids []int
		if err := json.Unmarshal(body, &ids); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		for _, id := range ids {
			seen[id]++
		}
		total += len(ids)
		mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	distinct := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(seen)
	}

	dir := t.TempDir()
	brokerAddr, restAddr := freeAddr(t), freeAddr(t)
	workerProps := filepath.Join(dir, "worker.properties")
	require.NoError(t, os.WriteFile(workerProps, []byte("offset.flush.interval.ms=500\n"), 0o644))
	log := &procLog{}
	dumpOnFailure(t, "sluice up", log)
	args := []string{"up", "--data-dir", filepath.Join(dir, "data"), "--broker-addr", brokerAddr, "--rest-addr", restAddr,
		"--registry-addr", freeAddr(t), "--worker-config", workerProps}
	p := startProcUntil(t, log, workerReady, args...)
	base := "http://" + restAddr

	cl, err := kgo.NewClient(kgo.SeedBrokers(brokerAddr), kgo.AllowAutoTopicCreation(), kgo.DefaultProduceTopic("hooks-in"))
	require.NoError(t, err)
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	batch := make([]*kgo.Record, 0, 1000)
	for i := range records {
		batch = append(batch, &kgo.Record{Value: []byte(strconv.Itoa(i))})
		if len(batch) == cap(batch) {
			require.NoError(t, cl.ProduceSync(ctx, batch...).FirstErr())
			batch = batch[:0]
		}
	}

	create := map[string]any{"name": "hooks", "config": map[string]string{
		"connector.class": "io.confluent.connect.http.HttpSinkConnector", "topics": "hooks-in", "http.api.url": srv.URL,
		"batch.max.size": "100", "value.converter": "org.apache.kafka.connect.storage.StringConverter",
	}}
	var resp map[string]any
	require.Equal(t, 201, rest(t, "POST", base+"/connectors", create, &resp), "create: %v", resp)
	require.Eventually(t, func() bool { return distinct() >= records/3 }, 60*time.Second, 5*time.Millisecond)
	p.kill()
	t.Logf("killed at %d distinct records delivered", distinct())

	p = startProcUntil(t, log, workerReady, args...)
	waitRunning(t, base, "hooks", 1)
	require.Eventually(t, func() bool { return distinct() == records }, 120*time.Second, 50*time.Millisecond,
		"%d of %d records delivered", distinct(), records)
	mu.Lock()
	t.Logf("all %d records delivered at least once after SIGKILL; %d duplicates", records, total-records)
	mu.Unlock()
	p.terminate(t, 20*time.Second)
}
