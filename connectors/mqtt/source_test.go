package mqtt

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/connecttest"
	"github.com/sluicehq/sluice/internal/testenv"
	"github.com/sluicehq/sluice/runtime/connect"
)

// sourceProps is a task config subscribing to <prefix>/# with QoS 1.
func sourceProps(server, prefix, version string) map[string]string {
	return map[string]string{
		"name": "src-" + prefix, "mqtt.server.uri": server, "mqtt.topics": prefix + "/#", "mqtt.qos": "1",
		"kafka.topic": "mqtt-" + prefix, "mqtt.version": version, "max.retry.time.ms": "20000",
		"records.buffer.queue.size": "1000", taskIDKey: "0", taskCountKey: "1",
	}
}

func startTask(t *testing.T, props map[string]string) *SourceTask {
	t.Helper()
	task := &SourceTask{}
	require.NoError(t, task.Start(connecttest.NewSourceContext(t, props), props))
	t.Cleanup(func() { _ = task.Stop() })
	select { // a fresh session's messages published before the SUBACK are not kept
	case <-task.client.Subscribed():
	case <-time.After(10 * time.Second):
		t.Fatal("no SUBACK within 10s")
	}
	return task
}

// pollIDs polls until want distinct ids were seen or the time is up,
// committing each record when commit says so; it returns every id in
// poll order (duplicates included) and the records left uncommitted.
func pollIDs(t *testing.T, task *SourceTask, want int, wait time.Duration, commit func(id int) bool) ([]int, []*connect.Record) {
	t.Helper()
	var ids []int
	var held []*connect.Record
	seen := map[int]bool{}
	deadline := time.Now().Add(wait)
	for len(seen) < want && time.Now().Before(deadline) {
		recs, err := task.Poll(context.Background())
		require.NoError(t, err)
		for _, r := range recs {
			var v struct{ ID int }
			require.NoError(t, json.Unmarshal(r.Value.([]byte), &v), "record %s", r)
			ids = append(ids, v.ID)
			seen[v.ID] = true
			if commit(v.ID) {
				require.NoError(t, task.CommitRecord(r))
			} else {
				held = append(held, r)
			}
		}
	}
	return ids, held
}

func distinct(ids []int) map[int]int {
	m := map[int]int{}
	for _, id := range ids {
		m[id]++
	}
	return m
}

// TestSourceStopWithoutCommitRedelivers proves a task stopped before
// its records were committed acknowledges none of them, and that
// acknowledgements go in receive order: with only the later records
// committed, the next task of the session gets every message again;
// once all are committed, nothing comes again.
func TestSourceStopWithoutCommitRedelivers(t *testing.T) {
	m := testenv.StartMosquitto(t)
	for _, version := range []string{version5, version311} {
		t.Run(version, func(t *testing.T) {
			prefix := "redeliver" + map[string]string{version5: "5", version311: "3"}[version]
			props := sourceProps(m.URL(), prefix, version)
			task := startTask(t, props)
			publish(t, m.URL(), prefix+"/a", 0, 20)
			// Commit all but the first: in-order acking must hold back every ack.
			ids, held := pollIDs(t, task, 20, 20*time.Second, func(id int) bool { return id != 0 })
			require.Len(t, distinct(ids), 20)
			require.Len(t, held, 1)
			time.Sleep(300 * time.Millisecond) // acks would have been sent by now
			require.NoError(t, task.Stop())

			task2 := startTask(t, props)
			ids, _ = pollIDs(t, task2, 20, 20*time.Second, func(int) bool { return true })
			require.Len(t, distinct(ids), 20, "the next task must get every unacknowledged message again: %v", ids)
			require.Equal(t, "20", task2.Info()["mqtt.duplicates"], "redeliveries carry the duplicate flag")
			time.Sleep(300 * time.Millisecond)
			require.NoError(t, task2.Stop())

			task3 := startTask(t, props)
			ids, _ = pollIDs(t, task3, 1, 2*time.Second, func(int) bool { return true })
			require.Empty(t, ids, "committed and acknowledged messages came again")
		})
	}
}

// TestSourceSurvivesBrokerRestart proves the task reconnects with
// backoff when Mosquitto stops and comes back mid-stream, and loses no
// message: every id published arrives (duplicates allowed).
func TestSourceSurvivesBrokerRestart(t *testing.T) {
	m := testenv.StartMosquitto(t)
	for _, version := range []string{version5, version311} {
		t.Run(version, func(t *testing.T) {
			prefix := "restart" + map[string]string{version5: "5", version311: "3"}[version]
			task := startTask(t, sourceProps(m.URL(), prefix, version))
			const n = 2000
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				publish(t, m.URL(), prefix+"/a", 0, n/2)
				m.Stop(t)
				time.Sleep(time.Second)
				m.Start(t)
				publish(t, m.URL(), prefix+"/a", n/2, n/2)
			}()
			ids, _ := pollIDs(t, task, n, 60*time.Second, func(int) bool { return true })
			wg.Wait()
			got := distinct(ids)
			for i := range n {
				require.Contains(t, got, i, "message %d lost (%d of %d arrived)", i, len(got), n)
			}
			t.Logf("%s: %d records for %d messages, %s duplicates flagged", version, len(ids), n, task.Info()["mqtt.duplicates"])
		})
	}
}

// TestSourceSharedSubscription proves two tasks of one connector share
// the messages through $share: each message reaches exactly one task,
// and all reach one.
func TestSourceSharedSubscription(t *testing.T) {
	m := testenv.StartMosquitto(t)
	conn := &sourceConnector{}
	cfg := sourceProps(m.URL(), "shared", version5)
	delete(cfg, taskIDKey)
	delete(cfg, taskCountKey)
	require.NoError(t, conn.Start(connecttest.NewConnectorContext(t), cfg))
	taskCfgs, err := conn.TaskConfigs(2)
	require.NoError(t, err)
	require.Len(t, taskCfgs, 2)
	t1, t2 := startTask(t, taskCfgs[0]), startTask(t, taskCfgs[1])
	require.NotEqual(t, t1.Info()["mqtt.client.id"], t2.Info()["mqtt.client.id"])
	const n = 1000
	publish(t, m.URL(), "shared/a", 0, n)
	var mu sync.Mutex
	var all [2][]int
	var wg sync.WaitGroup
	for i, task := range []*SourceTask{t1, t2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			deadline := time.Now().Add(15 * time.Second)
			for time.Now().Before(deadline) {
				mu.Lock()
				total := len(all[0]) + len(all[1])
				mu.Unlock()
				if total >= n {
					return
				}
				ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
				recs, err := task.Poll(ctx)
				cancel()
				if err != nil {
					t.Error(err)
					return
				}
				for _, r := range recs {
					var v struct{ ID int }
					if err := json.Unmarshal(r.Value.([]byte), &v); err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					all[i] = append(all[i], v.ID)
					mu.Unlock()
					_ = task.CommitRecord(r)
				}
			}
		}()
	}
	wg.Wait()
	require.NotEmpty(t, all[0], "task 0 got nothing")
	require.NotEmpty(t, all[1], "task 1 got nothing")
	a, b := distinct(all[0]), distinct(all[1])
	for id := range a {
		require.NotContains(t, b, id, "message %d reached both tasks", id)
	}
	require.Len(t, a, len(all[0]))
	require.Len(t, b, len(all[1]))
	require.Equal(t, n, len(a)+len(b))
}

// TestSourceValidate proves /config/validate connects and names the key
// at fault: wrong credentials on mqtt.username and mqtt.password, an
// unreachable server on mqtt.server.uri, a JKS key on itself.
func TestSourceValidate(t *testing.T) {
	m := testenv.StartMosquitto(t, testenv.MosquittoUsers(map[string]string{"alice": "secret"}))
	base := map[string]string{"mqtt.server.uri": m.URL(), "mqtt.topics": "v/#", "mqtt.username": "alice", "mqtt.password": "secret"}
	errorsOf := func(cfg map[string]string) map[string][]string {
		results := SourceConfig.Validate(cfg)
		results = (&sourceConnector{}).Validate(context.Background(), cfg, results)
		out := map[string][]string{}
		for _, r := range results {
			if len(r.Errors) > 0 {
				out[r.Name] = r.Errors
			}
		}
		return out
	}
	require.Empty(t, errorsOf(base))

	wrong := with(base, "mqtt.password", "nope")
	got := errorsOf(wrong)
	require.Contains(t, got, "mqtt.username")
	require.Contains(t, got, "mqtt.password")
	require.Contains(t, got["mqtt.password"][0], "refused these credentials")
	require.NotContains(t, got, "mqtt.server.uri")

	got = errorsOf(with(base, "mqtt.server.uri", "tcp://127.0.0.1:1", "mqtt.connect.timeout.seconds", "2"))
	require.Contains(t, got, "mqtt.server.uri")
	require.Contains(t, got["mqtt.server.uri"][0], "cannot connect")

	got = errorsOf(with(base, "mqtt.ssl.trust.store.path", "/etc/ts.jks"))
	require.Contains(t, got, "mqtt.ssl.trust.store.path")
	require.Contains(t, got["mqtt.ssl.trust.store.path"][0], "mqtt.ssl.ca")
}

func with(m map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

// TestSourceTLS proves the source reads over TLS with a PEM CA given in
// mqtt.ssl.ca and a client certificate in mqtt.ssl.cert / mqtt.ssl.key.
func TestSourceTLS(t *testing.T) {
	m := testenv.StartMosquitto(t, testenv.MosquittoClientCerts())
	props := sourceProps(m.TLSURL(), "tls", versionAuto)
	props["mqtt.ssl.ca"], props["mqtt.ssl.cert"], props["mqtt.ssl.key"] = m.CAFile, m.ClientCert, m.ClientKey
	task := startTask(t, props)
	u := m.URL()
	publish(t, u, "tls/a", 0, 5)
	ids, _ := pollIDs(t, task, 5, 10*time.Second, func(int) bool { return true })
	require.Len(t, distinct(ids), 5)
}
