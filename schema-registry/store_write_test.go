package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/broker/log/faultfs"
	"github.com/sluicehq/sluice/internal/testenv"
)

// answer is one request's outcome, for requests sent from goroutines.
type answer struct {
	status int
	body   string
	took   time.Duration
	err    error
}

// send is in.call for any goroutine: it reports instead of failing, and
// gives up after 10s so a registry that never answers fails the test
// rather than hanging it.
func (in *instance) send(method, path string, body any) answer {
	start := time.Now()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return answer{err: err}
		}
		r = strings.NewReader(string(b))
	}
	req, err := http.NewRequest(method, in.url+path, r)
	if err != nil {
		return answer{err: err}
	}
	req.Header.Set("Content-Type", "application/vnd.schemaregistry.v1+json")
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return answer{err: err, took: time.Since(start)}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, body: strings.TrimSpace(string(b)), took: time.Since(start), err: err}
}

// requireTimedOut checks that a write answered 50002, within limit.
func requireTimedOut(t *testing.T, a answer, limit time.Duration, what string) {
	t.Helper()
	require.NoError(t, a.err, "%s: no answer after %v", what, a.took)
	require.Equal(t, 500, a.status, "%s: %s", what, a.body)
	require.Equal(t, codeTimeout, errorCode(t, a.body), "%s: %s", what, a.body)
	require.Less(t, a.took, limit, "%s answered only after %v", what, a.took)
}

// TestWritesTimeOutWhileTheDiskFails: while the broker cannot write (its
// disk fails every write, so it answers KAFKA_STORAGE_ERROR, which the
// producer retries), every write answers 50002 within a few store
// timeouts instead of never, none waits behind another for good, and
// reads go on; once the broker writes again, so does the registry, with
// every id still naming one schema.
func TestWritesTimeOutWhileTheDiskFails(t *testing.T) {
	fs := faultfs.New()
	b := startFaultBroker(t, fs, t.TempDir(), "127.0.0.1:0")
	in, _ := startWith(t, Options{ClientOpts: []kgo.Opt{kgo.SeedBrokers(b.Addr)}, StoreTimeout: 500 * time.Millisecond})
	runSteps(t, in, []step{{"v1", "POST", "/subjects/s/versions", schemaBody(userV1), 200, `{"id":1}`, 0}})

	fs.SetFailWrites(true)
	first := in.send("POST", "/subjects/s/versions", schemaBody(userV2))
	requireTimedOut(t, first, 3*time.Second, "register")
	assert.Contains(t, first.body, "Register operation timed out")

	writes := []struct {
		method, path string
		body         any
	}{
		{"POST", "/subjects/t/versions", schemaBody(`"string"`)},
		{"PUT", "/config/s", map[string]string{"compatibility": "NONE"}},
		{"PUT", "/mode/s", map[string]string{"mode": "READONLY"}},
		{"DELETE", "/subjects/s/versions/1", nil},
	}
	answers := make([]answer, len(writes))
	var wg sync.WaitGroup
	for i, w := range writes {
		wg.Go(func() { answers[i] = in.send(w.method, w.path, w.body) })
	}
	wg.Wait()
	for i, w := range writes {
		// One after another, each holding the write lock for at most
		// about two store timeouts.
		requireTimedOut(t, answers[i], time.Duration(len(writes)+2)*time.Second, w.method+" "+w.path)
	}
	runSteps(t, in, []step{
		{"reads go on", "GET", "/subjects/s/versions", nil, 200, `[1]`, 0},
		{"by id", "GET", "/schemas/ids/1", nil, 200, fmt.Sprintf(`{"schema":%q}`, userV1), 0},
	})

	fs.SetFailWrites(false)
	b.restart(t)
	var id int
	require.Eventually(t, func() bool {
		a := in.send("POST", "/subjects/s/versions", schemaBody(userV2))
		if a.err != nil || a.status != 200 {
			t.Logf("after the disk came back: %d %s %v", a.status, a.body, a.err)
			return false
		}
		var got struct{ ID int }
		require.NoError(t, json.Unmarshal([]byte(a.body), &got))
		id = got.ID
		return true
	}, 30*time.Second, 200*time.Millisecond)
	runSteps(t, in, []step{
		{"the new version", "GET", "/subjects/s/versions", nil, 200, `[1,2]`, 0},
		{"its id", "GET", fmt.Sprintf("/schemas/ids/%d", id), nil, 200, fmt.Sprintf(`{"schema":%q}`, userV2), 0},
		{"id 1 unchanged", "GET", "/schemas/ids/1", nil, 200, fmt.Sprintf(`{"schema":%q}`, userV1), 0},
		{"config writes again", "PUT", "/config/s", map[string]string{"compatibility": "NONE"}, 200, "", 0},
	})
}

// TestLateWriteKeepsIDsUnique: a write whose Produce request is in flight
// with no answer when the store timeout ends answers 50002, but the
// record may still land. Until it has an outcome, other writes answer
// 50002 rather than read a topic without it and hand out its id again;
// when it lands it is applied, and ids stay unique.
func TestLateWriteKeepsIDsUnique(t *testing.T) {
	p := startProduceHolder(t)
	b := testenv.StartBroker(t, map[string]string{"advertised.listeners": "PLAINTEXT://" + p.Addr})
	p.setTarget(b.Addr)
	in, _ := startWith(t, Options{ClientOpts: []kgo.Opt{kgo.SeedBrokers(p.Addr)}, StoreTimeout: 500 * time.Millisecond})
	runSteps(t, in, []step{{"v1", "POST", "/subjects/a/versions", schemaBody(userV1), 200, `{"id":1}`, 0}})

	p.hold(true)
	requireTimedOut(t, in.send("POST", "/subjects/late/versions", schemaBody(`"string"`)), 3*time.Second, "the held write")
	other := in.send("POST", "/subjects/other/versions", schemaBody(`"long"`))
	requireTimedOut(t, other, 3*time.Second, "a write while the held one is unsettled")
	assert.Contains(t, other.body, "not acknowledged yet")
	p.hold(false)

	require.Eventually(t, func() bool {
		a := in.send("GET", "/subjects/late/versions", nil)
		return a.status == 200 && a.body == `[1]`
	}, 15*time.Second, 50*time.Millisecond, "the late record is applied")
	runSteps(t, in, []step{
		{"the late schema has id 2", "GET", "/schemas/ids/2", nil, 200, `{"schema":"\"string\""}`, 0},
		{"the next write gets a new id", "POST", "/subjects/other/versions", schemaBody(`"long"`), 200, `{"id":3}`, 0},
		{"re-registering the late schema finds it", "POST", "/subjects/late/versions", schemaBody(`"string"`), 200, `{"id":2}`, 0},
	})
}

// TestStartWritesNoop: at start the registry writes a NOOP record, as
// Confluent's KafkaStore does, so the producer is ready before the first
// write has to fit in the store timeout; readers skip it.
func TestStartWritesNoop(t *testing.T) {
	broker := testenv.StartBroker(t, nil)
	startRegistry(t, broker, "")
	client, err := kgo.NewClient(kgo.SeedBrokers(broker.Addr), kgo.ConsumeTopics("_schemas"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	require.NoError(t, err)
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	fetches := client.PollFetches(ctx)
	require.NoError(t, fetches.Err())
	recs := fetches.Records()
	require.NotEmpty(t, recs)
	assert.Equal(t, `{"keytype":"NOOP","magic":0}`, string(recs[0].Key))
	assert.Nil(t, recs[0].Value)
}
