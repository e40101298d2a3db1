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
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/testenv"
)

// post registers schema under subject on in, waiting as long as a paused
// primary may take; forwarded marks the request as a follower's forward.
func (in *instance) post(subject, schema string, forwarded bool) answer {
	start := time.Now()
	body, _ := json.Marshal(schemaBody(schema))
	req, err := http.NewRequest("POST", in.url+"/subjects/"+subject+"/versions", strings.NewReader(string(body)))
	if err != nil {
		return answer{err: err}
	}
	req.Header.Set("Content-Type", contentType)
	if forwarded {
		req.Header.Set(forwardHeader, "1")
	}
	resp, err := (&http.Client{Timeout: time.Minute}).Do(req)
	if err != nil {
		return answer{err: err, took: time.Since(start)}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, body: strings.TrimSpace(string(b)), took: time.Since(start), err: err}
}

// requireFenced checks that a write answered 50004 naming the fence.
func requireFenced(t *testing.T, a answer, what string) {
	t.Helper()
	require.NoError(t, a.err, what)
	require.Equal(t, 500, a.status, "%s: %s", what, a.body)
	require.Equal(t, codeUnknownLeader, errorCode(t, a.body), "%s: %s", what, a.body)
	assert.Contains(t, a.body, "no longer the primary", what)
}

// TestFencedPrimaryNeverReusesIDs forces a split: the primary is paused
// past its session in the middle of a register (it has read the topic
// and chosen id 2 and version 2, not yet written), the other instance is
// elected and registers another schema, taking id 2 and version 2 too,
// then the old primary resumes while both register concurrently. The old
// primary's writes are refused by the broker (its producer is fenced), it
// answers 50004, its record never reaches the topic, and every id names
// one schema. Without the fence its record lands after the new primary's
// and takes over version 2 and id 2, which the new primary handed out
// for another schema.
func TestFencedPrimaryNeverReusesIDs(t *testing.T) {
	broker := testenv.StartBroker(t, nil)
	a, _ := startStoppable(t, broker, "")
	b, _ := startStoppable(t, broker, "")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	primary, err := a.srv.elector.Load().current(ctx)
	require.NoError(t, err)
	old, next := a, b
	if primary == b.url {
		old, next = b, a
	}
	require.Equal(t, 200, old.post("s", userV1, false).status)

	// Pause the primary: no more heartbeats, and its next write stops
	// after reading the topic and choosing its id, before producing.
	freeze := make(chan struct{})
	old.srv.elector.Load().frozen.Store(&freeze)
	paused, resume := make(chan struct{}), make(chan struct{})
	var once sync.Once
	hold := func() { once.Do(func() { close(paused); <-resume }) }
	old.srv.store.fence.beforeProduce.Store(&hold)
	late := make(chan answer, 1)
	go func() { late <- old.post("s", userV2, false) }()
	select {
	case <-paused:
	case <-ctx.Done():
		t.Fatal("the old primary's write never reached the produce step")
	}

	// Its session expires and the group elects the other instance.
	require.Eventually(t, func() bool {
		p, err := next.srv.elector.Load().current(ctx)
		return err == nil && p == next.url
	}, 40*time.Second, 50*time.Millisecond)
	// Elected, it claims the term's producer before any write, fencing
	// the old primary at once.
	require.Eventually(t, func() bool { return next.srv.store.writer() != nil }, 10*time.Second, 20*time.Millisecond)
	got := next.post("s", userV3, false)
	require.Equal(t, 200, got.status, got.body)
	require.Equal(t, `{"id":2}`, got.body, "the new primary takes the id the paused one chose")

	// The old primary resumes, still believing it is primary, while both
	// take writes.
	close(resume)
	type outcome struct {
		schema string
		answer answer
	}
	var (
		mu       sync.Mutex
		fromOld  []outcome
		fromNext []outcome
		wg       sync.WaitGroup
	)
	for i := range 4 {
		oldSchema := fmt.Sprintf(`{"type":"record","name":"Old%d","fields":[]}`, i)
		nextSchema := fmt.Sprintf(`{"type":"record","name":"Next%d","fields":[]}`, i)
		wg.Go(func() {
			a := old.post(fmt.Sprintf("c%d", i), oldSchema, i%2 == 1)
			mu.Lock()
			fromOld = append(fromOld, outcome{oldSchema, a})
			mu.Unlock()
		})
		wg.Go(func() {
			a := next.post(fmt.Sprintf("c%d", i), nextSchema, false)
			mu.Lock()
			fromNext = append(fromNext, outcome{nextSchema, a})
			mu.Unlock()
		})
	}
	wg.Wait()
	pausedAnswer := <-late
	t.Logf("the paused write: %s", pausedAnswer.body)
	requireFenced(t, pausedAnswer, "the paused write")
	for _, o := range fromOld {
		requireFenced(t, o.answer, "a write to the old primary")
	}
	given := map[int]string{1: userV1, 2: userV3}
	for _, o := range fromNext {
		require.Equal(t, 200, o.answer.status, o.answer.body)
		var r struct{ ID int }
		require.NoError(t, json.Unmarshal([]byte(o.answer.body), &r))
		require.NotContains(t, given, r.ID, "id %d handed out twice", r.ID)
		given[r.ID] = o.schema
	}

	// The topic holds no record of the fenced writes, committed or not.
	for id, schema := range topicIDs(t, broker.Addr) {
		require.Equal(t, given[id], schema, "id %d in the topic", id)
	}

	// Resumed, the old primary learns of the new one and forwards to it.
	close(freeze)
	require.Eventually(t, func() bool {
		p, err := old.srv.elector.Load().current(ctx)
		return err == nil && p == next.url
	}, 40*time.Second, 50*time.Millisecond)
	after := old.post("after", `"string"`, false)
	require.Equal(t, 200, after.status, after.body)
	var r struct{ ID int }
	require.NoError(t, json.Unmarshal([]byte(after.body), &r))
	require.NotContains(t, given, r.ID)
	given[r.ID] = `"string"`

	for _, in := range []*instance{old, next} {
		for id, schema := range given {
			path := fmt.Sprintf("/schemas/ids/%d", id)
			want := fmt.Sprintf(`{"schema":%q}`, schema)
			require.Eventually(t, func() bool {
				_, body := in.call(t, "GET", path, nil)
				return body == want
			}, 10*time.Second, 20*time.Millisecond, "%s on %s", path, in.url)
		}
		runSteps(t, in, []step{{"version 2 is the new primary's", "GET", "/subjects/s/versions/2/schema", nil, 200, userV3, 0}})
	}
}

// topicIDs reads every SCHEMA record of _schemas, aborted ones included
// (as a reader of uncommitted records would), and returns each id's
// schema, failing when an id names two.
func topicIDs(t *testing.T, addr string) map[int]string {
	t.Helper()
	client, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics("_schemas"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.KeepControlRecords())
	require.NoError(t, err)
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ends, err := kadm.NewClient(client).ListEndOffsets(ctx, "_schemas")
	require.NoError(t, err)
	listed, ok := ends.Lookup("_schemas", 0)
	require.True(t, ok)
	end := listed.Offset
	ids := map[int]string{}
	for read := int64(0); read < end; {
		fetches := client.PollFetches(ctx)
		require.NoError(t, fetches.Err())
		fetches.EachRecord(func(r *kgo.Record) {
			read = r.Offset + 1
			var k recordKey
			if r.Attrs.IsControl() || json.Unmarshal(r.Key, &k) != nil || k.KeyType != keySchema || r.Value == nil {
				return
			}
			var v schemaValue
			require.NoError(t, json.Unmarshal(r.Value, &v))
			if prev, ok := ids[v.ID]; ok {
				require.Equal(t, prev, v.Schema, "id %d names two schemas in the topic", v.ID)
			}
			ids[v.ID] = v.Schema
		})
	}
	return ids
}

// TestAbortedWritesAreNotApplied: the registry reads committed records
// only, so the records of a transaction the broker aborted (as it aborts
// a fenced primary's) never become state, nor move the next id.
func TestAbortedWritesAreNotApplied(t *testing.T) {
	broker := testenv.StartBroker(t, nil)
	in := startRegistry(t, broker, "")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	zombie, err := kgo.NewClient(kgo.SeedBrokers(broker.Addr), kgo.DefaultProduceTopic("_schemas"), kgo.TransactionalID("zombie"))
	require.NoError(t, err)
	defer zombie.Close()
	ghost, err := record(schemaKey("ghost", 1), &schemaValue{Subject: "ghost", Version: 1, ID: 7, Schema: `"string"`})
	require.NoError(t, err)
	require.NoError(t, zombie.BeginTransaction())
	require.NoError(t, zombie.ProduceSync(ctx, ghost).FirstErr())
	require.NoError(t, zombie.EndTransaction(ctx, kgo.TryAbort))

	runSteps(t, in, []step{
		{"a write after the aborted one", "POST", "/subjects/real/versions", schemaBody(`"long"`), 200, `{"id":1}`, 0},
		{"the aborted record is not applied", "GET", "/subjects", nil, 200, `["real"]`, 0},
		{"nor its id", "GET", "/schemas/ids/7", nil, 404, "", codeSchemaNotFound},
	})
}
