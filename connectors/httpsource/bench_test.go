package httpsource

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/connecttest"
	"github.com/sluicehq/sluice/internal/testenv"
	"github.com/sluicehq/sluice/runtime/connect"
)

// The benchmarks' shape: 1 KiB NDJSON lines, 1000 per request, from
// benchSenders concurrent clients.
const (
	benchLine    = 1024
	benchBatch   = 1000
	benchSenders = 16
)

// BenchmarkIngestNDJSON posts NDJSON batches to one task through the real
// worker and the in-process broker (acks=all): each request is answered
// once its lines are acknowledged. One op is one line.
func BenchmarkIngestNDJSON(b *testing.B) {
	benchIngest(b, "/", "application/x-ndjson", ndjson(0, benchBatch, benchLine))
}

// BenchmarkIngestESBulk posts Elasticsearch _bulk requests of the same
// documents, each after a create action, as Fluent Bit's es output does.
// One op is one document.
func BenchmarkIngestESBulk(b *testing.B) {
	var body []byte
	for line := range bytes.Lines(ndjson(0, benchBatch, benchLine)) {
		body = append(body, `{"create":{"_index":"bench"}}`+"\n"...)
		body = append(body, line...)
	}
	benchIngest(b, "/_bulk", "application/x-ndjson", body)
}

// benchIngest posts body (benchBatch events) to path from benchSenders
// clients until b.N events are in.
func benchIngest(b *testing.B, path, contentType string, body []byte) {
	w := connecttest.StartWorker(b, nil, []connect.ConnectorPlugin{Plugin}, nil)
	w.Create("bench", Plugin.Class, map[string]string{
		"listeners": "127.0.0.1:0", "topic": "bench", "metadata.location": "none", "json.timestamp.field": "",
	})
	url := waitAddr(b, "bench", 0) + path
	client := &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: benchSenders}}
	defer client.CloseIdleConnections()
	requests := (b.N + benchBatch - 1) / benchBatch
	var next atomic.Int64
	var wg sync.WaitGroup
	b.SetBytes(int64(benchLine))
	b.ResetTimer()
	start, cpu := time.Now(), cpuTime()
	for range benchSenders {
		wg.Go(func() {
			for next.Add(1) <= int64(requests) {
				resp, err := client.Post(url, contentType, bytes.NewReader(body))
				if err != nil {
					b.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Errorf("status %d", resp.StatusCode)
					return
				}
			}
		})
	}
	wg.Wait()
	report(b, requests*benchBatch, benchLine*benchBatch*requests, time.Since(start), cpuTime()-cpu)
}

// BenchmarkBrokerProduce produces the same lines as records with franz-go
// directly (acks=all), in the same batches and concurrency, for the ratio
// to BenchmarkIngestNDJSON.
func BenchmarkBrokerProduce(b *testing.B) {
	br := testenv.StartBroker(b, nil)
	cl, err := kgo.NewClient(kgo.SeedBrokers(br.Addr), kgo.AllowAutoTopicCreation(), kgo.RequiredAcks(kgo.AllISRAcks()))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	lines := bytes.SplitAfter(ndjson(0, benchBatch, benchLine), []byte("\n"))[:benchBatch]
	requests := (b.N + benchBatch - 1) / benchBatch
	var next atomic.Int64
	var wg sync.WaitGroup
	b.SetBytes(int64(len(lines[0])))
	b.ResetTimer()
	start, cpu := time.Now(), cpuTime()
	for range benchSenders {
		wg.Go(func() {
			recs := make([]*kgo.Record, benchBatch)
			for next.Add(1) <= int64(requests) {
				for i, l := range lines {
					recs[i] = &kgo.Record{Topic: "bench", Value: l}
				}
				if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	report(b, requests*benchBatch, requests*benchBatch*len(lines[0]), time.Since(start), cpuTime()-cpu)
}

// report gives the rates, and the process's CPU time per line: on a
// machine shared with other work the rates vary with the load, the CPU
// time much less.
func report(b *testing.B, lines, bytes int, d, cpu time.Duration) {
	b.ReportMetric(float64(lines)/d.Seconds(), "lines/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(lines), "cpu-ns/line")
	b.ReportMetric(float64(bytes)/d.Seconds()/1e6, "MB/s")
	b.ReportMetric(0, "ns/op")
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
