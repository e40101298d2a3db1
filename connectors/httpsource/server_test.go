package httpsource

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/connectors/kit"
	"github.com/sluicehq/sluice/internal/connecttest"
	"github.com/sluicehq/sluice/runtime/connect"
)

var connectorSeq atomic.Int32

// startConnector runs the connector on a real worker and in-process
// broker, listening on a free port, and returns the worker, the
// listener's URL, the connector's name and its topic.
func startConnector(t *testing.T, extra map[string]string) (*connecttest.Worker, string, string, string) {
	t.Helper()
	w := connecttest.StartWorker(t, nil, []connect.ConnectorPlugin{Plugin}, nil)
	name := fmt.Sprintf("http-%d", connectorSeq.Add(1))
	topic := name + "-logs"
	cfg := map[string]string{"listeners": "127.0.0.1:0", "topic": topic, "request.timeout.ms": "10000"}
	maps.Copy(cfg, extra)
	w.Create(name, Plugin.Class, cfg)
	return w, waitAddr(t, name, 0), name, topic
}

// waitAddr waits for task id of connector name to listen, and returns
// its first listener's URL.
func waitAddr(t testing.TB, name string, id int) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if a := kit.BoundAddrs(name, id); len(a) > 0 {
			return a[0]
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("task %s-%d does not listen after 20s", name, id)
	return ""
}

var testClient = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

// post sends body to url with headers (name, value pairs) and returns
// the status, the answer and its headers.
func post(t testing.TB, url string, body []byte, headers ...string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest("POST", url, bytes.NewReader(body))
	require.NoError(t, err)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := testClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// ndjson returns n lines {"id":first+i,"log":…} of about size bytes.
func ndjson(first, n, size int) []byte {
	var b bytes.Buffer
	pad := strings.Repeat("x", max(0, size-40))
	for i := range n {
		fmt.Fprintf(&b, `{"id":%d,"log":"%s"}`+"\n", first+i, pad)
	}
	return b.Bytes()
}

func TestAnsweredAfterRecordsAreInTheTopic(t *testing.T) {
	w, url, name, topic := startConnector(t, map[string]string{"key.field": "id"})
	date := time.Now().Add(-2 * time.Second).Truncate(time.Millisecond)
	body := fmt.Appendf(nil, `[{"id":1,"date":%d.%03d,"log":"a"},{"id":2,"log":"b"},"plain"]`, date.Unix(), date.Nanosecond()/1e6)
	status, answer, _ := post(t, url+"/", body, "Content-Type", "application/json", "X-Scope-OrgID", "acme")
	require.Equal(t, 200, status, answer)
	assert.JSONEq(t, `{"accepted":3}`, answer)

	// The records were in the topic before the answer: read what is there now.
	recs := connecttest.ConsumeAll(t, w.Broker, topic)
	require.Len(t, recs, 3)
	var v map[string]any
	require.NoError(t, json.Unmarshal(recs[0].Value, &v))
	assert.Equal(t, "a", v["log"])
	assert.Equal(t, `"1"`, string(recs[0].Key), "a string key, as the JSON key converter writes it")
	assert.Equal(t, date.UnixMilli(), recs[0].Timestamp.UnixMilli())
	assert.Nil(t, recs[2].Key, "no id: a null key")
	assert.Equal(t, `"plain"`, string(recs[2].Value))
	hs := map[string]string{}
	for _, h := range recs[0].Headers {
		hs[h.Key] = string(h.Value)
	}
	assert.Equal(t, map[string]string{"protocol": "json", "tenant": "acme"}, hs)

	// The task's status reports where it listens.
	st, err := w.ConnectorStatus(context.Background(), name)
	require.NoError(t, err)
	require.Len(t, st.Tasks, 1)
	assert.Equal(t, map[string]string{"listeners": url}, st.Tasks[0].Info)
	ts, err := w.TaskStatus(context.Background(), name, 0)
	require.NoError(t, err)
	assert.Equal(t, url, ts.Info["listeners"])

	// Other methods and paths are not the JSON endpoint: GET / is
	// Elasticsearch's version document.
	resp, err := testClient.Get(url + "/")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "Elasticsearch", resp.Header.Get("X-Elastic-Product"))
	status, _, _ = post(t, url+"/elsewhere", body)
	assert.Equal(t, http.StatusNotFound, status)
	resp, err = testClient.Get(url + "/health")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode, "the load balancers' health check")
}

func TestBadInputWritesNothing(t *testing.T) {
	w, url, _, topic := startConnector(t, map[string]string{
		"auth.tokens": "s3cret,other", "max.request.bytes": "65536", "max.events.per.request": "50",
	})
	auth := []string{"Authorization", "Bearer s3cret"}
	check := func(what string, wantStatus int, wantMsg string, body []byte, headers ...string) {
		t.Helper()
		status, answer, _ := post(t, url+"/", body, headers...)
		assert.Equal(t, wantStatus, status, "%s: %s", what, answer)
		assert.Contains(t, answer, wantMsg, what)
	}
	check("malformed NDJSON", 400, "line 3", []byte("{\"a\":1}\n{\"a\":2}\n{\"a\":\n{\"a\":4}\n"), auth...)
	check("oversize", 413, "max.request.bytes", ndjson(0, 100, 1024), auth...)
	check("too many events", 413, "max.events.per.request (50)", ndjson(0, 51, 10), auth...)
	var bomb bytes.Buffer
	zw := gzip.NewWriter(&bomb)
	_, _ = zw.Write(bytes.Repeat([]byte(" "), 16<<20))
	require.NoError(t, zw.Close())
	check("gzip bomb", 413, "decompressed body exceeds max.request.bytes", bomb.Bytes(), append(auth, "Content-Encoding", "gzip")...)
	check("unknown encoding", 415, "br", ndjson(0, 1, 10), append(auth, "Content-Encoding", "br")...)
	check("no token", 401, "credentials are required", ndjson(0, 1, 10))
	check("wrong token", 403, "not valid", ndjson(0, 1, 10), "Authorization", "Bearer nope")
	check("wrong scheme", 401, "scheme", ndjson(0, 1, 10), "Authorization", "Digest x")

	// The process is fine: a good request (each token form) goes through,
	// and only its records are in the topic.
	check("good", 200, `{"accepted":2}`, ndjson(100, 2, 10), auth...)
	check("good, Splunk form", 200, `{"accepted":1}`, ndjson(102, 1, 10), "Authorization", "Splunk other")
	var gz bytes.Buffer
	zw = gzip.NewWriter(&gz)
	_, _ = zw.Write(ndjson(103, 1, 10))
	require.NoError(t, zw.Close())
	check("good, gzip", 200, `{"accepted":1}`, gz.Bytes(), append(auth, "Content-Encoding", "gzip")...)
	var ids []int
	for _, r := range connecttest.ConsumeAll(t, w.Broker, topic) {
		var v struct{ ID int }
		require.NoError(t, json.Unmarshal(r.Value, &v))
		ids = append(ids, v.ID)
	}
	assert.Equal(t, []int{100, 101, 102, 103}, ids)
}

func TestBasicAuth(t *testing.T) {
	_, url, _, _ := startConnector(t, map[string]string{"auth.basic.username": "fluent", "auth.basic.password": "bit"})
	req, _ := http.NewRequest("POST", url+"/", bytes.NewReader(ndjson(0, 1, 10)))
	req.SetBasicAuth("fluent", "bit")
	resp, err := testClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 200, resp.StatusCode)
	req, _ = http.NewRequest("POST", url+"/", bytes.NewReader(ndjson(0, 1, 10)))
	req.SetBasicAuth("fluent", "wrong")
	resp, err = testClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 403, resp.StatusCode)
}

// TestBackpressure stalls the broker side (the connector is paused, so
// the worker polls nothing) under a tiny queue: requests get 503 (their
// records queued, no ack) or 429 (the queue stayed full) with
// Retry-After within request.timeout.ms, and leave no goroutine behind;
// once resumed, what was queued arrives.
func TestBackpressure(t *testing.T) {
	w, url, name, topic := startConnector(t, map[string]string{
		"max.queue.size": "2", "request.timeout.ms": "400", "retry.after.seconds": "7",
	})
	// A paused task pauses once its pending Poll returns: a first
	// request wakes it, and is written.
	require.NoError(t, w.PauseConnector(context.Background(), name))
	status, answer, _ := post(t, url+"/", ndjson(100, 1, 10))
	require.Equal(t, 200, status, answer)
	w.WaitState(name, 1, "PAUSED")
	before := runtime.NumGoroutine()

	start := time.Now()
	status, answer, h := post(t, url+"/", ndjson(0, 2, 10))
	assert.Equal(t, http.StatusServiceUnavailable, status, answer)
	assert.Contains(t, answer, "request.timeout.ms")
	assert.Equal(t, "7", h.Get("Retry-After"))
	status, answer, h = post(t, url+"/", ndjson(2, 1, 10))
	assert.Equal(t, http.StatusTooManyRequests, status, answer)
	assert.Contains(t, answer, "queue stayed full")
	assert.Equal(t, "7", h.Get("Retry-After"))
	assert.Less(t, time.Since(start), 3*time.Second, "two answers, each within request.timeout.ms")

	// Many concurrent requests: all answered busy, none hangs.
	errs := make(chan int, 20)
	for i := range 20 {
		go func() {
			s, _, _ := post(t, url+"/", ndjson(10+i, 1, 10))
			errs <- s
		}()
	}
	for range 20 {
		s := <-errs
		assert.Contains(t, []int{429, 503}, s)
	}
	require.Eventually(t, func() bool { return runtime.NumGoroutine() <= before+2 }, 5*time.Second, 20*time.Millisecond,
		"goroutines back to baseline (%d before)", before)

	require.NoError(t, w.ResumeConnector(context.Background(), name))
	recs := connecttest.Consume(t, w.Broker, topic, 3, 20*time.Second)
	assert.Len(t, recs, 3, "the 503'd request's records still arrive (at-least-once)")
	status, answer, _ = post(t, url+"/", ndjson(3, 1, 10))
	assert.Equal(t, 200, status, answer)
}

func TestListenerInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	cfg := map[string]string{"listeners": "127.0.0.1:0," + ln.Addr().String(), "topic": "logs"}
	task := &Task{}
	err = task.Start(connecttest.NewSourceContext(t, cfg), cfg)
	require.ErrorContains(t, err, "cannot listen on "+ln.Addr().String())
	require.NoError(t, task.Stop())
}

// TestStopAnswersWaitingRequests: a request waiting for its ack gets 503
// as soon as the task stops, and the listener closes.
func TestStopAnswersWaitingRequests(t *testing.T) {
	before := connecttest.Goroutines()
	cfg := map[string]string{"listeners": "127.0.0.1:0", "topic": "logs", "name": "stop", taskIDKey: "0"}
	task := &Task{}
	require.NoError(t, task.Start(connecttest.NewSourceContext(t, cfg), cfg))
	url := task.Addrs()[0]
	assert.Equal(t, []string{url}, kit.BoundAddrs("stop", 0))
	answered := make(chan int, 1)
	go func() {
		s, _, _ := post(t, url+"/", ndjson(0, 1, 10))
		answered <- s
	}()
	recs, err := task.Poll(context.Background()) // polled, never acknowledged
	require.NoError(t, err)
	require.Len(t, recs, 1)
	start := time.Now()
	require.NoError(t, task.Stop())
	select {
	case s := <-answered:
		assert.Equal(t, 503, s)
	case <-time.After(5 * time.Second):
		t.Fatal("the waiting request was not answered after Stop")
	}
	assert.Less(t, time.Since(start), 3*time.Second)
	assert.Nil(t, kit.BoundAddrs("stop", 0))
	_, err = net.DialTimeout("tcp", strings.TrimPrefix(url, "http://"), time.Second)
	assert.Error(t, err, "the listener is closed")
	require.NoError(t, task.Stop())
	testClient.CloseIdleConnections()
	connecttest.CheckNoLeak(t, before, 5*time.Second)
}

// TestOldEventTime: an event older than the producer's
// delivery.timeout.ms (a replay, a shipper's retry after a long outage)
// must still be written with its own time.
func TestOldEventTime(t *testing.T) {
	w, url, _, topic := startConnector(t, nil)
	date := time.Now().Add(-time.Hour).Truncate(time.Second)
	status, answer, _ := post(t, url+"/", fmt.Appendf(nil, `{"date":%d}`, date.Unix()))
	require.Equal(t, 200, status, answer)
	recs := connecttest.ConsumeAll(t, w.Broker, topic)
	require.Len(t, recs, 1)
	assert.True(t, date.Equal(recs[0].Timestamp))
}

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

// TestValidateNamesTheKey: /config/validate refuses bad values with a
// message on the key at fault.
func TestValidateNamesTheKey(t *testing.T) {
	w := connecttest.StartWorker(t, nil, []connect.ConnectorPlugin{Plugin}, nil)
	base := map[string]string{"name": "v", "connector.class": Plugin.Class, "listeners": "127.0.0.1:0", "topic": "logs"}
	for key, c := range map[string]struct{ value, msg string }{
		"listeners":           {"localhost", `listener "localhost" is not host:port`},
		"protocols":           {"json,syslog", `unknown protocol "syslog"`},
		"metadata.location":   {"body", "headers, value, none"},
		"topic":               {"a topic", "not a legal topic name"},
		"topic.format":        {"${index", "without a closing }"},
		"json.paths":          {"ingest", "must start with /"},
		"auth.basic.password": {"", "required with auth.basic.username"},
	} {
		cfg := maps.Clone(base)
		cfg[key] = c.value
		if key == "auth.basic.password" {
			delete(cfg, key)
			cfg["auth.basic.username"] = "u"
		}
		errs := w.ValidationErrors(Plugin.Class, cfg)
		require.NotEmpty(t, errs[key], "%s=%q: errors %v", key, c.value, errs)
		assert.Contains(t, strings.Join(errs[key], "; "), c.msg, key)
	}
	cfg := maps.Clone(base)
	cfg["listeners"] = "https://127.0.0.1:0"
	assert.Contains(t, strings.Join(w.ValidationErrors(Plugin.Class, cfg)["listeners"], "; "), "ssl.keystore.certificate.chain")
	assert.Empty(t, w.ValidationErrors(Plugin.Class, base))
}

// TestJSONPathsAndLimits: json.paths serves the listed paths (a trailing
// / takes the paths below it), and max.concurrent.requests bounds the
// requests in flight, the others answered 503 after request.timeout.ms.
func TestJSONPathsAndLimits(t *testing.T) {
	w, url, _, topic := startConnector(t, map[string]string{
		"json.paths": "/ingest,/logs/", "max.concurrent.requests": "1", "request.timeout.ms": "500",
	})
	for _, p := range []string{"/ingest", "/logs/", "/logs/app"} {
		status, answer, _ := post(t, url+p, ndjson(0, 1, 10))
		assert.Equal(t, 200, status, "%s: %s", p, answer)
	}
	status, _, _ := post(t, url+"/", ndjson(0, 1, 10))
	// Elasticsearch's GET / is there, so a POST is not allowed.
	assert.Equal(t, 405, status, "/ is not served unless listed")
	assert.Len(t, connecttest.ConsumeAll(t, w.Broker, topic), 3)

	// A request still sending its body holds the only slot: the next
	// waits request.timeout.ms for it, then gets 503.
	pr, pw := io.Pipe()
	req, err := http.NewRequest("POST", url+"/ingest", pr)
	require.NoError(t, err)
	first := make(chan string, 1)
	go func() {
		resp, err := testClient.Do(req)
		if err != nil {
			first <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		first <- fmt.Sprint(resp.StatusCode, string(b))
	}()
	_, err = pw.Write([]byte(`{"id":1,`)) // returns once the client sent it
	require.NoError(t, err)
	// The server takes the slot a moment later: until it has, a probe
	// whose body is not JSON gets its 400 and writes nothing.
	var answer string
	var h http.Header
	var start time.Time
	for probe := 0; ; probe++ {
		require.Less(t, probe, 100, "the first request never held the slot")
		start = time.Now()
		status, answer, h = post(t, url+"/ingest", []byte("not json\n"))
		if status != http.StatusBadRequest {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	assert.Equal(t, 503, status, answer)
	assert.Contains(t, answer, "max.concurrent.requests (1)")
	assert.NotEmpty(t, h.Get("Retry-After"))
	assert.Less(t, time.Since(start), 3*time.Second)
	_, err = pw.Write([]byte(`"log":"slow"}`))
	require.NoError(t, err)
	require.NoError(t, pw.Close())
	assert.Equal(t, `200{"accepted":1}`, <-first)
}

// TestPathTakenTwice: a json.paths entry that another route already
// serves fails the task start with an error naming the keys, not a panic.
func TestPathTakenTwice(t *testing.T) {
	cfg := map[string]string{"listeners": "127.0.0.1:0", "topic": "logs", "json.paths": "/in,/in"}
	task := &Task{}
	err := task.Start(connecttest.NewSourceContext(t, cfg), cfg)
	require.ErrorContains(t, err, "protocols and json.paths")
	require.NoError(t, task.Stop())
}

// TestJSONPathsBesideOtherProtocols: a json.paths subtree that overlaps
// Elasticsearch's /{index}/_bulk is served, the other protocols' routes
// taking precedence; a json.paths entry that is exactly another
// protocol's route fails the start naming it.
func TestJSONPathsBesideOtherProtocols(t *testing.T) {
	cfg := map[string]string{"listeners": "127.0.0.1:0", "topic": "logs", "json.paths": "/logs/"}
	task := &Task{}
	require.NoError(t, task.Start(connecttest.NewSourceContext(t, cfg), cfg))
	url := task.Addrs()[0]
	// Malformed bodies, so nothing waits for an acknowledgement: each
	// protocol refuses it in its own shape.
	for path, es := range map[string]bool{"/logs/_bulk": true, "/logs/app": false, "/logs/": false} {
		resp, err := http.Post(url+path, "application/json", strings.NewReader("{"))
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, 400, resp.StatusCode, path)
		assert.Equal(t, es, resp.Header.Get("X-Elastic-Product") == "Elasticsearch", path)
	}
	require.NoError(t, task.Stop())

	cfg["json.paths"] = "/loki/api/v1/push"
	task = &Task{}
	err := task.Start(connecttest.NewSourceContext(t, cfg), cfg)
	require.ErrorContains(t, err, "json.paths: /loki/api/v1/push is a route of another protocol")
	require.NoError(t, task.Stop())
}
