package broker_test

import (
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/bench"
	"github.com/sluicehq/sluice/internal/bench/kfakeserver"
	"github.com/sluicehq/sluice/internal/testenv"
)

// benchTargets starts Sluice (on disk, acks=all answered after fsync) and
// kfake (in memory) side by side, so one run gives the ratio.
func benchTargets(b *testing.B) map[string]string {
	b.Helper()
	sluice := testenv.StartBroker(b, nil)
	kfakeAddr, stop, err := kfakeserver.StartKfake(8)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(stop)
	return map[string]string{"sluice": sluice.Addr, "kfake": kfakeAddr}
}

// BenchmarkProduce is `sluice bench produce` with 1 KiB records, acks=all,
// lz4, 8 partitions, against Sluice and kfake in the same run. One op is
// one whole run of records; MB/s, records/s and p99 latency are reported.
//
//	go test ./broker -run '^$' -bench BenchmarkProduce -benchtime 3x
func BenchmarkProduce(b *testing.B) {
	targets := benchTargets(b)
	shapes := []struct {
		name    string
		records int
		linger  time.Duration
		batch   int
		rate    float64 // records/s; 0 = as fast as possible
	}{
		{"default", 200_000, 0, 1_000_000, 0},
		{"large-batches", 400_000, 10 * time.Millisecond, 1_000_000, 0},
		// Latency below saturation: 50k records/s, about 50 MB/s.
		{"paced-50k", 100_000, 0, 1_000_000, 50_000},
	}
	for _, shape := range shapes {
		for _, target := range []string{"sluice", "kfake"} {
			b.Run(fmt.Sprintf("%s/%s", shape.name, target), func(b *testing.B) {
				var mb, rps, p50, p99 float64
				for i := 0; b.Loop(); i++ {
					res, err := bench.Produce(context.Background(), bench.ProduceOptions{
						Brokers: []string{targets[target]}, Topic: fmt.Sprintf("bench-%s-%d", shape.name, i),
						Records: shape.records, RecordSize: 1024, Acks: "all", Compression: "lz4",
						Partitions: 8, Linger: shape.linger, BatchMaxBytes: shape.batch, Idempotent: true, Throughput: shape.rate,
					}, io.Discard)
					if err != nil {
						b.Fatal(err)
					}
					mb += res.MBPerSec()
					rps += res.RecordsPerSec()
					p50 += float64(res.P50.Microseconds()) / 1000
					p99 += float64(res.P99.Microseconds()) / 1000
				}
				n := float64(b.N)
				b.ReportMetric(mb/n, "MB/s")
				b.ReportMetric(rps/n, "records/s")
				b.ReportMetric(p50/n, "p50-ms")
				b.ReportMetric(p99/n, "p99-ms")
			})
		}
	}
}

// BenchmarkConsume reads back 200k 1 KiB records from the start.
func BenchmarkConsume(b *testing.B) {
	targets := benchTargets(b)
	for _, target := range []string{"sluice", "kfake"} {
		b.Run(target, func(b *testing.B) {
			topic := "consume-bench"
			_, err := bench.Produce(context.Background(), bench.ProduceOptions{
				Brokers: []string{targets[target]}, Topic: topic, Records: 200_000, RecordSize: 1024,
				Acks: "all", Compression: "lz4", Partitions: 8, Linger: 10 * time.Millisecond, Idempotent: true,
			}, io.Discard)
			if err != nil {
				b.Fatal(err)
			}
			var mb float64
			for b.Loop() {
				res, err := bench.Consume(context.Background(), bench.ConsumeOptions{
					Brokers: []string{targets[target]}, Topic: topic, Records: 200_000, Timeout: time.Minute,
				}, io.Discard)
				if err != nil {
					b.Fatal(err)
				}
				mb += float64(res.Bytes) / (1 << 20) / res.Elapsed.Seconds()
			}
			b.ReportMetric(mb/float64(b.N), "MB/s")
		})
	}
}
