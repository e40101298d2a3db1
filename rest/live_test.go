package rest_test

import (
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/connectors/builtin"
	"github.com/sluicehq/sluice/internal/testenv"
	"github.com/sluicehq/sluice/rest"
	"github.com/sluicehq/sluice/runtime/connect"
	"github.com/sluicehq/sluice/runtime/worker"
)

// liveAPI is the REST API over a real herder on a real broker.
type liveAPI struct {
	t      *testing.T
	base   string
	broker string
}

func startLiveAPI(t *testing.T) *liveAPI {
	t.Helper()
	return startLiveAPIWith(t, nil)
}

// startLiveAPIWith starts the API with extra worker properties and
// connector plugins.
func startLiveAPIWith(t *testing.T, props map[string]string, plugins ...connect.ConnectorPlugin) *liveAPI {
	t.Helper()
	b := testenv.StartBroker(t, nil)
	all := map[string]string{"bootstrap.servers": b.Addr, "listeners": "http://127.0.0.1:0", "offset.flush.interval.ms": "200"}
	maps.Copy(all, props)
	cfg, err := worker.NewConfig(all)
	require.NoError(t, err)
	reg := worker.Plugins{Connectors: builtin.Connectors(), Others: builtin.Others()}
	reg.Connectors = append(reg.Connectors, plugins...)
	h, err := worker.New(worker.Options{Config: cfg, Plugins: reg, Offsets: worker.NewMemOffsetStore(),
		ClientOpts: []kgo.Opt{kgo.SeedBrokers(b.Addr)}, Logger: testenv.Logger(t)})
	require.NoError(t, err)
	h.SetWorkerID("worker-1:8083")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = h.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	require.Eventually(t, h.Ready, 10*time.Second, 10*time.Millisecond)
	srv := httptest.NewServer(rest.New(h, rest.Options{}).Handler())
	t.Cleanup(srv.Close)
	return &liveAPI{t: t, base: srv.URL, broker: b.Addr}
}

// do sends a request and returns the status, body and Location header.
func (a *liveAPI) do(method, path, body string) (int, string, string) {
	a.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, a.base+path, rd)
	require.NoError(a.t, err)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(a.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(a.t, err)
	return resp.StatusCode, string(b), resp.Header.Get("Location")
}

// expect checks status and JSON body exactly.
func (a *liveAPI) expect(method, path, body string, status int, want string) string {
	a.t.Helper()
	code, got, _ := a.do(method, path, body)
	require.Equal(a.t, status, code, "%s %s: %s", method, path, got)
	if want != "" {
		require.JSONEq(a.t, want, got, "%s %s", method, path)
	}
	return got
}

// waitStatus waits until the connector and its tasks (none when STOPPED,
// one otherwise) are in state want.
func (a *liveAPI) waitStatus(name, want string) {
	a.t.Helper()
	var last string
	ok := assert.Eventually(a.t, func() bool {
		code, got, _ := a.do("GET", "/connectors/"+name+"/status", "")
		last = got
		var st worker.ConnectorStateInfo
		if code != 200 || json.Unmarshal([]byte(got), &st) != nil || string(st.Connector.State) != want {
			return false
		}
		if want == "STOPPED" {
			return len(st.Tasks) == 0
		}
		return len(st.Tasks) == 1 && string(st.Tasks[0].State) == want
	}, 20*time.Second, 20*time.Millisecond)
	if !ok {
		a.t.Fatalf("%s never %s: %s", name, want, last)
	}
}

// TestLiveRESTAPI drives the REST API of a real worker through a
// connector's life, with the JSON Kafka Connect answers.
func TestLiveRESTAPI(t *testing.T) {
	a := startLiveAPI(t)
	cl, err := kgo.NewClient(kgo.SeedBrokers(a.broker), kgo.AllowAutoTopicCreation())
	require.NoError(t, err)
	for i := 0; i < 10; i++ {
		require.NoError(t, cl.ProduceSync(context.Background(), &kgo.Record{Topic: "in", Value: []byte(`{"schema":{"type":"int32","optional":false},"payload":1}`)}).FirstErr())
	}
	cl.Close()
	out := filepath.Join(t.TempDir(), "out.txt")
	outJSON, _ := json.Marshal(out)

	got := a.expect("GET", "/", "", 200, "")
	assert.Regexp(t, regexp.MustCompile(`^\{"version":"[^"]+","commit":"[^"]+","kafka_cluster_id":"[^"]+"\}$`), got)
	a.expect("GET", "/connectors", "", 200, `[]`)

	create := `{"name":"sink","config":{"connector.class":"FileStreamSink","topics":"in","file":` + string(outJSON) + `}}`
	code, body, loc := a.do("POST", "/connectors", create)
	require.Equal(t, 201, code, body)
	assert.True(t, strings.HasSuffix(loc, "/connectors/sink"), loc)
	assert.JSONEq(t, `{"name":"sink","config":{"connector.class":"FileStreamSink","topics":"in","file":`+string(outJSON)+`,"name":"sink"},"tasks":[],"type":"sink"}`, body)

	a.expect("POST", "/connectors", create, 409, `{"error_code":409,"message":"Connector sink already exists"}`)
	got = a.expect("POST", "/connectors", `{"name":"bad","config":{"connector.class":"FileStreamSink"}}`, 400, "")
	assert.Contains(t, got, `"error_code":400`)
	assert.Contains(t, got, `Connector configuration is invalid and contains the following 2 error(s):\nMust configure one of topics or topics.regex\nMust configure one of topics or topics.regex`)
	a.expect("GET", "/connectors/nope", "", 404, `{"error_code":404,"message":"Connector nope not found"}`)
	a.expect("GET", "/connectors/nope/status", "", 404, `{"error_code":404,"message":"Connector nope not found"}`)
	got = a.expect("PUT", "/connectors/sink/config", `{"connector.class":"FileStreamSink","topics":"in","name":"other"}`, 400, "")
	assert.Contains(t, got, "Connector name configuration (other) doesn't match connector name in the URL (sink)")

	a.waitStatus("sink", "RUNNING")
	a.expect("GET", "/connectors/sink/status", "", 200,
		`{"name":"sink","connector":{"state":"RUNNING","worker_id":"worker-1:8083"},"tasks":[{"id":0,"state":"RUNNING","worker_id":"worker-1:8083"}],"type":"sink"}`)
	a.expect("GET", "/connectors/sink/tasks/0/status", "", 200, `{"id":0,"state":"RUNNING","worker_id":"worker-1:8083"}`)
	a.expect("GET", "/connectors/sink/tasks", "", 200,
		`[{"id":{"connector":"sink","task":0},"config":{"connector.class":"FileStreamSink","topics":"in","file":`+string(outJSON)+`,"name":"sink","task.class":"org.apache.kafka.connect.file.FileStreamSinkTask"}}]`)
	a.expect("GET", "/connectors?expand=status&expand=info", "", 200,
		`{"sink":{"status":{"name":"sink","connector":{"state":"RUNNING","worker_id":"worker-1:8083"},"tasks":[{"id":0,"state":"RUNNING","worker_id":"worker-1:8083"}],"type":"sink"},`+
			`"info":{"name":"sink","config":{"connector.class":"FileStreamSink","topics":"in","file":`+string(outJSON)+`,"name":"sink"},"tasks":[{"connector":"sink","task":0}],"type":"sink"}}}`)

	a.expect("PUT", "/connectors/sink/pause", "", 202, "")
	a.waitStatus("sink", "PAUSED")
	a.expect("PUT", "/connectors/sink/resume", "", 202, "")
	a.waitStatus("sink", "RUNNING")

	offsets := `{"offsets":[{"partition":{"kafka_topic":"in","kafka_partition":0},"offset":{"kafka_offset":5}}]}`
	a.expect("PATCH", "/connectors/sink/offsets", offsets, 400,
		`{"error_code":400,"message":"Connectors must be in the STOPPED state before their offsets can be modified. This can be done for the specified connector by issuing a 'PUT' request to the '/connectors/sink/stop' endpoint"}`)
	a.expect("PUT", "/connectors/sink/stop", "", 204, "")
	a.waitStatus("sink", "STOPPED")
	a.expect("GET", "/connectors/sink/tasks", "", 200, `[]`)
	a.expect("PATCH", "/connectors/sink/offsets", offsets, 200, `{"message":"The offsets for this connector have been altered successfully"}`)
	a.expect("GET", "/connectors/sink/offsets", "", 200, offsets)
	a.expect("DELETE", "/connectors/sink/offsets", "", 200, `{"message":"The offsets for this connector have been reset successfully"}`)
	a.expect("GET", "/connectors/sink/offsets", "", 200, `{"offsets":[]}`)
	a.expect("PUT", "/connectors/sink/resume", "", 202, "")
	a.waitStatus("sink", "RUNNING")

	code, _, _ = a.do("POST", "/connectors/sink/restart", "")
	assert.Equal(t, 204, code)
	got = a.expect("POST", "/connectors/sink/restart?includeTasks=true", "", 202, "")
	assert.JSONEq(t, `{"name":"sink","connector":{"state":"RESTARTING","worker_id":"worker-1:8083"},"tasks":[{"id":0,"state":"RESTARTING","worker_id":"worker-1:8083"}],"type":"sink"}`, got)
	a.waitStatus("sink", "RUNNING")
	a.expect("POST", "/connectors/sink/tasks/0/restart", "", 204, "")
	a.expect("POST", "/connectors/sink/tasks/7/restart", "", 404, `{"error_code":404,"message":"Task sink-7 not found"}`)

	got = a.expect("GET", "/connector-plugins", "", 200, "")
	assert.Contains(t, got, `{"class":"org.apache.kafka.connect.file.FileStreamSinkConnector","type":"sink","version":`)
	assert.NotContains(t, got, "transformation")
	got = a.expect("GET", "/connector-plugins?connectorsOnly=false", "", 200, "")
	assert.Contains(t, got, `{"class":"org.apache.kafka.connect.transforms.Cast$Value","type":"transformation","version":`)
	assert.Contains(t, got, `"type":"predicate"`)
	assert.Contains(t, got, `{"class":"org.apache.kafka.connect.json.JsonConverter","type":"converter","version":`)
	got = a.expect("GET", "/connector-plugins/FileStreamSource/config", "", 200, "")
	assert.Contains(t, got, `"name":"file"`)
	a.expect("GET", "/connector-plugins/NoSuch/config", "", 404, "")

	got = a.expect("PUT", "/connector-plugins/FileStreamSinkConnector/config/validate", `{"connector.class":"FileStreamSink","name":"v","topics":"in"}`, 200, "")
	var infos worker.ConfigInfos
	require.NoError(t, json.Unmarshal([]byte(got), &infos))
	assert.Equal(t, 0, infos.ErrorCount)
	assert.Equal(t, "FileStreamSink", infos.Name)
	assert.Contains(t, infos.Groups, "Common")
	a.expect("PUT", "/connector-plugins/FileStreamSource/config/validate", `{"connector.class":"FileStreamSink"}`, 400,
		`{"error_code":400,"message":"Included connector type FileStreamSink does not match request type FileStreamSource"}`)

	a.expect("GET", "/connectors/sink/topics", "", 200, `{"sink":{"topics":["in"]}}`)
	a.expect("DELETE", "/connectors/sink", "", 204, "")
	a.expect("GET", "/connectors/sink", "", 404, `{"error_code":404,"message":"Connector sink not found"}`)
	a.expect("GET", "/health", "", 200, `{"status":"healthy","message":"Worker has completed startup and is ready to handle requests."}`)
}

func TestLiveMetrics(t *testing.T) {
	a := startLiveAPI(t)
	in := filepath.Join(t.TempDir(), "in.txt")
	require.NoError(t, os.WriteFile(in, []byte("a\nb\nc\n"), 0o644))
	inJSON, _ := json.Marshal(in)
	a.expect("POST", "/connectors", `{"name":"src","config":{"connector.class":"FileStreamSource","topic":"m","file":`+string(inJSON)+`}}`, 201, "")
	a.waitStatus("src", "RUNNING")
	var body string
	require.Eventually(t, func() bool {
		_, body, _ = a.do("GET", "/metrics", "")
		return strings.Contains(body, `sluice_connect_source_records_written_total{connector="src",task="0"} 3`)
	}, 10*time.Second, 50*time.Millisecond, body)
	assert.Contains(t, body, `sluice_connect_connector_state{connector="src",state="RUNNING",worker_id="worker-1:8083"} 1`)
	assert.Contains(t, body, `sluice_connect_task_state{connector="src",task="0",state="RUNNING",worker_id="worker-1:8083"} 1`)
	assert.Contains(t, body, `sluice_connect_source_records_polled_total{connector="src",task="0"} 3`)
}
