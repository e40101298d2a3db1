package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/bench/kfakeserver"
)

// clusterRebalanceDelay is the workers' scheduled.rebalance.max.delay.ms in
// these tests.
const clusterRebalanceDelay = 2 * time.Second

// clusterWorker is one `sluice worker` process of a test cluster.
type clusterWorker struct {
	name, rest, props string
	log               *procLog
	p                 *proc
}

func (w *clusterWorker) base() string { return "http://" + w.rest }

func (w *clusterWorker) start(t testing.TB) {
	t.Helper()
	w.p = startProcUntil(t, w.log, workerReady, "worker", "--config", w.props)
}

// newClusterWorker writes a worker.properties for a worker of group id on
// brokers and starts it.
func newClusterWorker(t testing.TB, dir, name, brokers string, extra ...string) *clusterWorker {
	t.Helper()
	w := &clusterWorker{name: name, rest: freeAddr(t), log: &procLog{}}
	w.props = filepath.Join(dir, name+".properties")
	props := append([]string{
		"bootstrap.servers=" + brokers,
		"group.id=e2e-cluster",
		"listeners=http://" + w.rest,
		"offset.flush.interval.ms=500",
		"session.timeout.ms=3000",
		"heartbeat.interval.ms=500",
		"scheduled.rebalance.max.delay.ms=" + strconv.Itoa(int(clusterRebalanceDelay.Milliseconds())),
		"task.shutdown.graceful.timeout.ms=2000",
	}, extra...)
	require.NoError(t, os.WriteFile(w.props, []byte(strings.Join(props, "\n")+"\n"), 0o644))
	dumpOnFailure(t, "sluice worker "+name, w.log)
	w.start(t)
	return w
}

// clusterStatus maps each task ("conn-N") to the worker id running it,
// once every task of the named connectors is RUNNING (or PAUSED when
// paused); it fails after timeout.
func clusterStatus(t testing.TB, base string, timeout time.Duration, want map[string]int, state string) map[string]string {
	t.Helper()
	var last string
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		out := map[string]string{}
		ok := true
		for name, n := range want {
			var st connectorStatus
			var raw map[string]any
			code := rest(t, "GET", base+"/connectors/"+name+"/status", nil, &raw)
			b, _ := json.Marshal(raw)
			_ = json.Unmarshal(b, &st)
			last = string(b)
			if code != 200 || len(st.Tasks) != n {
				ok = false
				break
			}
			for _, ts := range raw["tasks"].([]any) {
				m := ts.(map[string]any)
				if m["state"] != state {
					ok = false
				}
				out[fmt.Sprintf("%s-%v", name, m["id"])] = m["worker_id"].(string)
			}
		}
		if ok {
			return out
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("tasks of %v not all %s within %s; last status %s", want, state, timeout, last)
	return nil
}

// perWorker counts tasks per worker id.
func perWorker(owners map[string]string) map[string]int {
	out := map[string]int{}
	for _, w := range owners {
		out[w]++
	}
	return out
}

var taskStartLine = regexp.MustCompile(`msg="(?:source|sink) task started".*connector=(\S+) task=(\d+)`)

// taskStarts counts "task started" log lines per task across workers.
func taskStarts(workers ...*clusterWorker) map[string]int {
	out := map[string]int{}
	for _, w := range workers {
		for _, m := range taskStartLine.FindAllStringSubmatch(w.log.String(), -1) {
			out[m[1]+"-"+m[2]]++
		}
	}
	return out
}

// datagenKey identifies a generated record.
type datagenKey struct{ task, seq int64 }

// topicRecords reads every record of topic (read_committed) and counts
// each datagen (task, seq).
func topicRecords(t *testing.T, brokers, topic string) map[datagenKey]int {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	require.NoError(t, err)
	defer cl.Close()
	out := map[datagenKey]int{}
	quiet := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for time.Since(quiet) < 2*time.Second && ctx.Err() == nil {
		pctx, pcancel := context.WithTimeout(ctx, 500*time.Millisecond)
		f := cl.PollFetches(pctx)
		pcancel()
		f.EachRecord(func(r *kgo.Record) {
			quiet = time.Now()
			out[parseDatagen(t, r.Value)]++
		})
	}
	return out
}

func parseDatagen(t *testing.T, b []byte) datagenKey {
	var v struct {
		Seq  int64 `json:"seq"`
		Task int64 `json:"task"`
	}
	require.NoError(t, json.Unmarshal(b, &v), "record %s", b)
	return datagenKey{v.Task, v.Seq}
}

// sinkRecords counts each datagen (task, seq) in a file sink's output.
func sinkRecords(t *testing.T, path string) map[datagenKey]int {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	out := map[datagenKey]int{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		out[parseDatagen(t, sc.Bytes())]++
	}
	return out
}

// checkDelivered asserts every record of the topic is in the sink output
// and returns the duplicates there.
func checkDelivered(t *testing.T, inTopic, inSink map[datagenKey]int) int {
	t.Helper()
	missing, dups := 0, 0
	for k := range inTopic {
		if inSink[k] == 0 {
			missing++
		}
	}
	for _, n := range inSink {
		dups += n - 1
	}
	require.Zero(t, missing, "records in the topic missing from the sink output (of %d)", len(inTopic))
	return dups
}

// clusterFlow creates the datagen → file sink flow through base.
func clusterFlow(t *testing.T, base, topic, out string) {
	t.Helper()
	for _, c := range []map[string]any{
		{"name": "gen", "config": map[string]string{
			"connector.class": "DatagenConnector", "kafka.topic": topic, "quickstart": "bench", "message.size": "50",
			"rate": "100", "tasks.max": "6",
			"key.converter":   "org.apache.kafka.connect.storage.StringConverter",
			"value.converter": "org.apache.kafka.connect.json.JsonConverter", "value.converter.schemas.enable": "false",
		}},
		{"name": "sink", "config": map[string]string{
			"connector.class": "FileStreamSink", "file": out, "topics": topic, "tasks.max": "3",
			"key.converter":   "org.apache.kafka.connect.storage.StringConverter",
			"value.converter": "org.apache.kafka.connect.storage.StringConverter",
		}},
		{"name": "parked", "initial_state": "PAUSED", "config": map[string]string{
			"connector.class": "DatagenConnector", "kafka.topic": topic + "-parked", "tasks.max": "2",
		}},
	} {
		var resp map[string]any
		code := rest(t, "POST", base+"/connectors", c, &resp)
		require.Equal(t, 201, code, "create %v through %s: %v", c["name"], base, resp)
	}
}

// runClusterScenario is the distributed-mode proof on any broker: three
// workers share the tasks evenly, a killed worker's tasks move within the
// rebalance delay plus 10 s without losing records, a fourth worker takes
// a share without restarting the tasks that stay, and a rolling restart
// loses nothing and keeps a paused connector paused.
func runClusterScenario(t *testing.T, brokers string) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out.jsonl")
	topic := "cluster-gen"
	w1 := newClusterWorker(t, dir, "w1", brokers)
	w2 := newClusterWorker(t, dir, "w2", brokers)
	w3 := newClusterWorker(t, dir, "w3", brokers)
	workers := []*clusterWorker{w1, w2, w3}
	tasks := map[string]int{"gen": 6, "sink": 3}

	clusterFlow(t, w2.base(), topic, out)
	owners := clusterStatus(t, w1.base(), 60*time.Second, tasks, "RUNNING")
	spread := perWorker(owners)
	t.Logf("tasks per worker: %v", spread)
	require.Len(t, spread, 3, "every worker runs tasks")
	for w, n := range spread {
		assert.InDelta(t, 3, n, 1, "worker %s runs %d of 9 tasks", w, n)
	}
	clusterStatus(t, w1.base(), 20*time.Second, map[string]int{"parked": 2}, "PAUSED")
	time.Sleep(2 * time.Second)

	// kill -9 the worker running the most tasks.
	victim := w3
	for _, w := range workers {
		if spread[w.rest] > spread[victim.rest] {
			victim = w
		}
	}
	killed := time.Now()
	victim.p.kill()
	var survivors []*clusterWorker
	for _, w := range workers {
		if w != victim {
			survivors = append(survivors, w)
		}
	}
	failoverLimit := clusterRebalanceDelay + 3*time.Second /* session */ + 10*time.Second
	var moved map[string]string
	deadline := time.Now().Add(failoverLimit + 20*time.Second)
	for time.Now().Before(deadline) {
		moved = clusterStatus(t, survivors[0].base(), time.Until(deadline), tasks, "RUNNING")
		if perWorker(moved)[victim.rest] == 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	failover := time.Since(killed)
	t.Logf("tasks of the killed worker running elsewhere %s after SIGKILL (limit %s); tasks per worker now %v", failover.Round(time.Millisecond), failoverLimit, perWorker(moved))
	require.Zero(t, perWorker(moved)[victim.rest])
	require.Less(t, failover, failoverLimit)

	// A fourth worker joins: only the tasks that move to it restart.
	before := taskStarts(append(workers, nil)[:3]...)
	w4 := newClusterWorker(t, dir, "w4", brokers)
	var after map[string]string
	deadline = time.Now().Add(40 * time.Second)
	for time.Now().Before(deadline) {
		after = clusterStatus(t, w4.base(), 30*time.Second, tasks, "RUNNING")
		if perWorker(after)[w4.rest] > 0 && len(perWorker(after)) == 3 {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(time.Second)
	after = clusterStatus(t, w4.base(), 30*time.Second, tasks, "RUNNING")
	t.Logf("after the 4th worker joined: %v", perWorker(after))
	require.Positive(t, perWorker(after)[w4.rest], "the new worker took a share")
	starts := taskStarts(w1, w2, w3, w4)
	for task, owner := range after {
		restarted := starts[task] - before[task]
		if owner == moved[task] {
			assert.Zero(t, restarted, "task %s stayed on %s but was restarted", task, owner)
		} else {
			assert.Equal(t, 1, restarted, "task %s moved %s → %s", task, moved[task], owner)
		}
	}

	// Rolling restart of every live worker.
	live := append(survivors, w4)
	for _, w := range live {
		w.p.terminate(t, 30*time.Second)
		w.start(t)
		clusterStatus(t, w.base(), 60*time.Second, tasks, "RUNNING")
	}
	clusterStatus(t, live[0].base(), 30*time.Second, map[string]int{"parked": 2}, "PAUSED")
	// The connector's own status follows its tasks' after a rebalance: it
	// may read UNASSIGNED for a moment before its new owner reports it.
	var st connectorStatus
	assert.Eventually(t, func() bool {
		st = connectorStatus{}
		rest(t, "GET", live[0].base()+"/connectors/parked/status", nil, &st)
		return st.Connector.State == "PAUSED"
	}, 30*time.Second, 100*time.Millisecond, "a paused connector stays paused across restarts")
	assert.Equal(t, "PAUSED", st.Connector.State, "a paused connector stays paused across restarts")

	// Stop generating, let the sink catch up, and compare.
	require.Equal(t, 202, rest(t, "PUT", live[1].base()+"/connectors/gen/pause", nil, nil))
	clusterStatus(t, live[0].base(), 30*time.Second, map[string]int{"gen": 6}, "PAUSED")
	inTopic := topicRecords(t, brokers, topic)
	require.Eventually(t, func() bool {
		in := sinkRecords(t, out)
		for k := range inTopic {
			if in[k] == 0 {
				return false
			}
		}
		return true
	}, 60*time.Second, 200*time.Millisecond, "the sink caught up with the topic")
	dups := checkDelivered(t, inTopic, sinkRecords(t, out))
	t.Logf("%d records generated, all in the sink output; %d duplicates after a SIGKILL, a join and a rolling restart", len(inTopic), dups)
}

func TestClusterOnSluiceBroker(t *testing.T) {
	dir, addr := t.TempDir(), freeAddr(t)
	blog := &procLog{}
	dumpOnFailure(t, "sluice broker", blog)
	startBroker(t, blog, dir, addr, "group.min.session.timeout.ms=1000")
	runClusterScenario(t, addr)
}

func TestClusterOnKfake(t *testing.T) {
	c, err := kfakeserver.New("127.0.0.1:0", 1, kfake.GroupMinSessionTimeout(time.Second))
	require.NoError(t, err)
	defer c.Close()
	runClusterScenario(t, c.ListenAddrs()[0])
}

// TestClusterExactlyOnceSurvivesKill runs datagen with exactly-once
// source support on three workers, kills one with SIGKILL, and reads the
// topic read_committed: every generated record is there exactly once.
func TestClusterExactlyOnceSurvivesKill(t *testing.T) {
	dir, addr := t.TempDir(), freeAddr(t)
	blog := &procLog{}
	dumpOnFailure(t, "sluice broker", blog)
	startBroker(t, blog, filepath.Join(dir, "data"), addr, "group.min.session.timeout.ms=1000")
	eos := "exactly.once.source.support=enabled"
	w1 := newClusterWorker(t, dir, "w1", addr, eos)
	w2 := newClusterWorker(t, dir, "w2", addr, eos)
	w3 := newClusterWorker(t, dir, "w3", addr, eos)
	var resp map[string]any
	require.Equal(t, 201, rest(t, "POST", w1.base()+"/connectors", map[string]any{"name": "gen", "config": map[string]string{
		"connector.class": "DatagenConnector", "kafka.topic": "eos-gen", "quickstart": "bench", "message.size": "50",
		"rate": "300", "tasks.max": "6", "exactly.once.support": "required",
		"value.converter": "org.apache.kafka.connect.json.JsonConverter", "value.converter.schemas.enable": "false",
	}}, &resp), "%v", resp)
	owners := clusterStatus(t, w2.base(), 60*time.Second, map[string]int{"gen": 6}, "RUNNING")
	time.Sleep(2 * time.Second)
	victim := w3
	for _, w := range []*clusterWorker{w1, w2} {
		if perWorker(owners)[w.rest] > perWorker(owners)[victim.rest] {
			victim = w
		}
	}
	victim.p.kill()
	survivor := w1
	if victim == w1 {
		survivor = w2
	}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		owners = clusterStatus(t, survivor.base(), 60*time.Second, map[string]int{"gen": 6}, "RUNNING")
		if perWorker(owners)[victim.rest] == 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(2 * time.Second)
	require.Equal(t, 202, rest(t, "PUT", survivor.base()+"/connectors/gen/pause", nil, nil))
	clusterStatus(t, survivor.base(), 30*time.Second, map[string]int{"gen": 6}, "PAUSED")

	got := topicRecords(t, addr, "eos-gen")
	perTask := map[int64][]int64{}
	for k, n := range got {
		require.Equal(t, 1, n, "record task %d seq %d appears %d times", k.task, k.seq, n)
		perTask[k.task] = append(perTask[k.task], k.seq)
	}
	require.Len(t, perTask, 6)
	total := 0
	for task, seqs := range perTask {
		slices.Sort(seqs)
		for i := 1; i < len(seqs); i++ {
			require.Equal(t, seqs[i-1]+1, seqs[i], "task %d: no gap in committed sequence numbers", task)
		}
		total += len(seqs)
	}
	t.Logf("exactly-once: %d records from 6 tasks, each exactly once, no gaps, across a SIGKILL", total)
}

// TestWorkerExitsWhenTheGroupRefusesIt: a worker the broker will not let
// into its group (here: a session timeout below the broker's minimum)
// exits with the broker's error instead of serving a REST API that can
// only answer 409.
func TestWorkerExitsWhenTheGroupRefusesIt(t *testing.T) {
	dir, addr := t.TempDir(), freeAddr(t)
	blog := &procLog{}
	dumpOnFailure(t, "sluice broker", blog)
	startBroker(t, blog, filepath.Join(dir, "data"), addr)
	props := filepath.Join(dir, "w.properties")
	require.NoError(t, os.WriteFile(props, []byte("bootstrap.servers="+addr+"\nlisteners=http://"+freeAddr(t)+"\nsession.timeout.ms=100\nheartbeat.interval.ms=50\n"), 0o644))
	log := &procLog{}
	dumpOnFailure(t, "sluice worker", log)
	cmd := exec.Command(sluiceBin, "worker", "--config", props)
	cmd.Stdout, cmd.Stderr = log, log
	require.NoError(t, cmd.Start())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		require.Error(t, err, "the worker exits non-zero")
		assert.Contains(t, log.String(), "INVALID_SESSION_TIMEOUT")
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("the worker kept running outside its group")
	}
}
