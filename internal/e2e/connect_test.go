package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/bench/kfakeserver"
)

// workerReady is what the worker logs once its REST API accepts requests.
const workerReady = "sluice worker REST listening"

// rest sends a JSON request to a worker's REST API and decodes the answer.
func rest(t testing.TB, method, url string, body any, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err, "%s %s", method, url)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	if out != nil && len(b) > 0 {
		require.NoError(t, json.Unmarshal(b, out), "decode %s", b)
	}
	return resp.StatusCode
}

type connectorStatus struct {
	Connector struct{ State, Trace string }
	Tasks     []struct {
		ID    int
		State string
		Trace string
	}
}

// waitRunning waits until a connector and its tasks are RUNNING.
func waitRunning(t testing.TB, base, name string, tasks int) {
	t.Helper()
	var st connectorStatus
	ok := assert.Eventually(t, func() bool {
		st = connectorStatus{}
		if rest(t, "GET", base+"/connectors/"+name+"/status", nil, &st) != 200 || st.Connector.State != "RUNNING" || len(st.Tasks) != tasks {
			return false
		}
		for _, ts := range st.Tasks {
			if ts.State != "RUNNING" {
				return false
			}
		}
		return true
	}, 30*time.Second, 50*time.Millisecond)
	if !ok {
		t.Fatalf("connector %s not running: %+v", name, st)
	}
}

func writeFileLines(t testing.TB, path string, from, to int) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	require.NoError(t, err)
	w := bufio.NewWriter(f)
	for i := from; i < to; i++ {
		fmt.Fprintf(w, "line %07d %s\n", i, strings.Repeat("x", 40))
	}
	require.NoError(t, w.Flush())
	require.NoError(t, f.Close())
}

func countLines(path string) int {
	b, _ := os.ReadFile(path)
	return bytes.Count(b, []byte("\n"))
}

// checkAllLines verifies the sink output holds every input line (in order
// of first appearance) and returns the number of duplicates.
func checkAllLines(t testing.TB, path string, n int) int {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	seen := make([]bool, n)
	dups, next := 0, 0
	for _, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		var i int
		_, err := fmt.Sscanf(line, "line %d", &i)
		require.NoError(t, err, "bad line %q", line)
		require.Less(t, i, n)
		if seen[i] {
			dups++
			continue
		}
		require.Equal(t, next, i, "first appearances must be in order")
		seen[i] = true
		next++
	}
	require.Equal(t, n, next, "every line arrived")
	return dups
}

// fileFlow creates the file source and sink connectors of the end-to-end
// tests through the REST API.
func fileFlow(t testing.TB, base, in, out string) {
	t.Helper()
	for _, c := range []map[string]any{
		{"name": "file-src", "config": map[string]string{
			"connector.class": "FileStreamSource", "file": in, "topic": "e2e-lines", "batch.size": "2000",
		}},
		{"name": "file-sink", "config": map[string]string{
			"connector.class": "FileStreamSink", "file": out, "topics": "e2e-lines",
		}},
	} {
		var resp map[string]any
		code := rest(t, "POST", base+"/connectors", c, &resp)
		require.Equal(t, 201, code, "create %v: %v", c["name"], resp)
	}
}

// TestUpFileFlowSurvivesKill runs 100k lines through file source → broker
// → file sink in `sluice up`, kills the process with SIGKILL midway,
// restarts it, and checks that every line arrived and that the source
// offsets are in connect-offsets.
func TestUpFileFlowSurvivesKill(t *testing.T) {
	const lines = 100_000
	dir := t.TempDir()
	brokerAddr, restAddr := freeAddr(t), freeAddr(t)
	in, out := filepath.Join(dir, "in.txt"), filepath.Join(dir, "out.txt")
	workerProps := filepath.Join(dir, "worker.properties")
	require.NoError(t, os.WriteFile(workerProps, []byte("offset.flush.interval.ms=500\n"), 0o644))
	log := &procLog{}
	dumpOnFailure(t, "sluice up", log)
	args := []string{"up", "--data-dir", filepath.Join(dir, "data"), "--broker-addr", brokerAddr, "--rest-addr", restAddr,
		"--registry-addr", freeAddr(t), "--worker-config", workerProps}
	p := startProcUntil(t, log, workerReady, args...)
	base := "http://" + restAddr

	writeFileLines(t, in, 0, lines/2)
	fileFlow(t, base, in, out)
	waitRunning(t, base, "file-src", 1)
	writeFileLines(t, in, lines/2, lines)
	require.Eventually(t, func() bool { return countLines(out) >= lines/3 }, 60*time.Second, 20*time.Millisecond)
	p.kill()
	t.Logf("killed at %d output lines", countLines(out))

	p = startProcUntil(t, log, workerReady, args...)
	waitRunning(t, base, "file-sink", 1)
	require.Eventually(t, func() bool { return countLines(out) >= lines }, 120*time.Second, 50*time.Millisecond,
		"output has %d of %d lines", countLines(out), lines)
	time.Sleep(time.Second) // let late duplicates land before counting
	dups := checkAllLines(t, out, lines)
	t.Logf("all %d lines delivered after SIGKILL; %d duplicates", lines, dups)

	var offsets struct {
		Offsets []struct{ Partition, Offset map[string]any }
	}
	require.Equal(t, 200, rest(t, "GET", base+"/connectors/file-src/offsets", nil, &offsets))
	require.Len(t, offsets.Offsets, 1)
	assert.Equal(t, in, offsets.Offsets[0].Partition["filename"])

	// The offsets topic holds Kafka Connect's key format.
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokerAddr), kgo.ConsumeTopics("connect-offsets"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	require.NoError(t, err)
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	wantKey := fmt.Sprintf(`["file-src",{"filename":%q}]`, in)
	found := false
	for !found && ctx.Err() == nil {
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) {
			found = found || string(r.Key) == wantKey
		})
	}
	assert.True(t, found, "connect-offsets has a record keyed %s", wantKey)
	p.terminate(t, 20*time.Second)
}

// TestWorkerAgainstKfake runs `sluice worker` against franz-go's kfake:
// the worker relies on nothing but the Kafka protocol.
func TestWorkerAgainstKfake(t *testing.T) {
	const lines = 20_000
	c, err := kfakeserver.New("127.0.0.1:0", 1)
	require.NoError(t, err)
	defer c.Close()
	dir := t.TempDir()
	restAddr := freeAddr(t)
	in, out := filepath.Join(dir, "in.txt"), filepath.Join(dir, "out.txt")
	props := filepath.Join(dir, "worker.properties")
	require.NoError(t, os.WriteFile(props, []byte(strings.Join([]string{
		"bootstrap.servers=" + c.ListenAddrs()[0],
		"group.id=e2e-kfake",
		"listeners=http://" + restAddr,
		"offset.flush.interval.ms=500",
		"key.converter=org.apache.kafka.connect.json.JsonConverter",
		"value.converter=org.apache.kafka.connect.json.JsonConverter",
	}, "\n")+"\n"), 0o644))
	log := &procLog{}
	dumpOnFailure(t, "sluice worker", log)
	p := startProcUntil(t, log, workerReady, "worker", "--config", props)
	base := "http://" + restAddr
	writeFileLines(t, in, 0, lines)
	fileFlow(t, base, in, out)
	require.Eventually(t, func() bool { return countLines(out) >= lines }, 60*time.Second, 50*time.Millisecond,
		"output has %d of %d lines", countLines(out), lines)
	assert.Equal(t, 0, checkAllLines(t, out, lines))

	// Restart the worker: connectors come back from the config topic.
	p.terminate(t, 20*time.Second)
	p = startProcUntil(t, log, workerReady, "worker", "--config", props)
	waitRunning(t, base, "file-src", 1)
	waitRunning(t, base, "file-sink", 1)
	writeFileLines(t, in, lines, lines+100)
	require.Eventually(t, func() bool { return countLines(out) >= lines+100 }, 60*time.Second, 50*time.Millisecond)
	assert.Equal(t, 0, checkAllLines(t, out, lines+100), "a clean restart duplicates nothing")
	p.terminate(t, 20*time.Second)
}

// TestStandaloneResumesFromOffsetFile runs `sluice standalone` with
// connectors from files against `sluice broker`; after a clean restart the
// source resumes from offset.storage.file.filename.
func TestStandaloneResumesFromOffsetFile(t *testing.T) {
	dir := t.TempDir()
	brokerAddr, restAddr := freeAddr(t), freeAddr(t)
	blog := &procLog{}
	dumpOnFailure(t, "sluice broker", blog)
	startBroker(t, blog, filepath.Join(dir, "data"), brokerAddr)
	in, out := filepath.Join(dir, "in.txt"), filepath.Join(dir, "out.txt")
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
		return p
	}
	workerProps := write("standalone.properties", strings.Join([]string{
		"bootstrap.servers=" + brokerAddr,
		"listeners=http://" + restAddr,
		"offset.storage.file.filename=" + filepath.Join(dir, "connect.offsets"),
		"offset.flush.interval.ms=200",
		"key.converter=org.apache.kafka.connect.storage.StringConverter",
		"value.converter=org.apache.kafka.connect.storage.StringConverter",
	}, "\n"))
	src := write("src.properties", "name=src\nconnector.class=FileStreamSource\nfile="+in+"\ntopic=standalone-lines\n")
	sink := write("sink.json", `{"name":"sink","config":{"connector.class":"FileStreamSink","file":"`+out+`","topics":"standalone-lines"}}`)

	log := &procLog{}
	dumpOnFailure(t, "sluice standalone", log)
	writeFileLines(t, in, 0, 1000)
	p := startProcUntil(t, log, workerReady, "standalone", workerProps, src, sink)
	require.Eventually(t, func() bool { return countLines(out) >= 1000 }, 30*time.Second, 20*time.Millisecond)
	p.terminate(t, 20*time.Second)

	writeFileLines(t, in, 1000, 1500)
	p = startProcUntil(t, log, workerReady, "standalone", workerProps, src, sink)
	require.Eventually(t, func() bool { return countLines(out) >= 1500 }, 30*time.Second, 20*time.Millisecond)
	time.Sleep(500 * time.Millisecond)
	assert.Equal(t, 0, checkAllLines(t, out, 1500), "a clean restart resumes from the offset file without duplicates")
	p.terminate(t, 20*time.Second)
}
