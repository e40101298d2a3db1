package e2e

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// The cluster benchmarks run real processes (a broker and workers) with
// Sluice's default group settings: session.timeout.ms 10 s,
// scheduled.rebalance.max.delay.ms 10 s. Run them one at a time:
//
//	go test ./internal/e2e -run '^$' -bench BenchmarkCluster -benchtime 1x

// defaultGroup undoes the short timeouts of the cluster tests.
var defaultGroup = []string{"session.timeout.ms=10000", "heartbeat.interval.ms=3000", "scheduled.rebalance.max.delay.ms=10000"}

func benchBroker(b *testing.B) string {
	dir, addr := b.TempDir(), freeAddr(b)
	startBroker(b, &procLog{}, dir, addr)
	return addr
}

// BenchmarkClusterFailover measures the seconds from a worker's SIGKILL
// to its tasks running on the other workers.
func BenchmarkClusterFailover(b *testing.B) {
	for range b.N {
		addr := benchBroker(b)
		dir := b.TempDir()
		var ws []*clusterWorker
		for i := range 3 {
			ws = append(ws, newClusterWorker(b, dir, fmt.Sprintf("w%d", i), addr, defaultGroup...))
		}
		createGen(b, ws[0].base(), "gen", 6, "100")
		clusterStatus(b, ws[1].base(), 60*time.Second, map[string]int{"gen": 6}, "RUNNING")
		victim := ws[2]
		killed := time.Now()
		victim.p.kill()
		for {
			owners := clusterStatus(b, ws[0].base(), 120*time.Second, map[string]int{"gen": 6}, "RUNNING")
			if perWorker(owners)[victim.rest] == 0 {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		b.ReportMetric(time.Since(killed).Seconds(), "s/failover")
		for _, w := range ws[:2] {
			w.p.terminate(b, 30*time.Second)
		}
	}
}

// BenchmarkClusterRebalance measures, with 100 connectors × 4 tasks on 3
// workers, how long the cluster takes to run them all, and how long a
// fourth worker's join takes to rebalance.
func BenchmarkClusterRebalance(b *testing.B) {
	for range b.N {
		addr := benchBroker(b)
		dir := b.TempDir()
		var ws []*clusterWorker
		for i := range 3 {
			ws = append(ws, newClusterWorker(b, dir, fmt.Sprintf("w%d", i), addr, defaultGroup...))
		}
		want := map[string]int{}
		start := time.Now()
		for i := range 100 {
			name := fmt.Sprintf("gen-%03d", i)
			createGen(b, ws[i%3].base(), name, 4, "1")
			want[name] = 4
		}
		created := time.Since(start)
		clusterStatus(b, ws[0].base(), 5*time.Minute, want, "RUNNING")
		b.ReportMetric(created.Seconds(), "s/create-100")
		b.ReportMetric(time.Since(start).Seconds(), "s/all-400-running")

		joined := time.Now()
		w4 := newClusterWorker(b, dir, "w4", addr, defaultGroup...)
		for {
			owners := clusterStatus(b, w4.base(), 5*time.Minute, want, "RUNNING")
			per := perWorker(owners)
			if len(per) == 4 && per[w4.rest] >= 100 {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		b.ReportMetric(time.Since(joined).Seconds(), "s/join-rebalance")
		for _, w := range append(ws, w4) {
			w.p.terminate(b, 60*time.Second)
		}
	}
}

// BenchmarkClusterThroughput compares 6 datagen tasks (1 KiB JSON values)
// on one worker with the same tasks on three workers, on this machine.
func BenchmarkClusterThroughput(b *testing.B) {
	const perTask = 100_000
	for _, n := range []int{1, 3} {
		b.Run(fmt.Sprintf("workers=%d", n), func(b *testing.B) {
			for range b.N {
				addr := benchBroker(b)
				dir := b.TempDir()
				var ws []*clusterWorker
				for i := range n {
					ws = append(ws, newClusterWorker(b, dir, fmt.Sprintf("w%d", i), addr, defaultGroup...))
				}
				topic := "tput"
				start := time.Now()
				var resp map[string]any
				code := rest(b, "POST", ws[0].base()+"/connectors", map[string]any{"name": "gen", "config": map[string]string{
					"connector.class": "DatagenConnector", "kafka.topic": topic, "quickstart": "bench", "message.size": "1024",
					"max.interval": "0", "tasks.max": "6", "iterations": strconv.Itoa(perTask),
					"value.converter.schemas.enable": "false",
				}}, &resp)
				if code != 201 {
					b.Fatalf("create: %d %v", code, resp)
				}
				waitEnd(b, addr, topic, 6*perTask)
				secs := time.Since(start).Seconds()
				b.ReportMetric(6*perTask/secs, "records/s")
				b.ReportMetric(6*perTask*1100/secs/1e6, "MB/s") // ~1.1 KB JSON values
				for _, w := range ws {
					w.p.terminate(b, 30*time.Second)
				}
			}
		})
	}
}

func createGen(b *testing.B, base, name string, tasks int, rate string) {
	var resp map[string]any
	code := rest(b, "POST", base+"/connectors", map[string]any{"name": name, "config": map[string]string{
		"connector.class": "DatagenConnector", "kafka.topic": "bench-" + name, "quickstart": "bench", "message.size": "50",
		"rate": rate, "tasks.max": strconv.Itoa(tasks),
	}}, &resp)
	if code != 201 {
		b.Fatalf("create %s: %d %v", name, code, resp)
	}
}

// waitEnd waits until topic holds n records.
func waitEnd(b *testing.B, addr, topic string, n int64) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.MetadataMinAge(50*time.Millisecond))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	deadline := time.Now().Add(10 * time.Minute)
	for time.Now().Before(deadline) {
		ends, err := adm.ListEndOffsets(context.Background(), topic)
		if err == nil {
			var sum int64
			ends.Each(func(o kadm.ListedOffset) { sum += o.Offset })
			if sum >= n {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	b.Fatalf("topic %s never reached %d records", topic, n)
}
