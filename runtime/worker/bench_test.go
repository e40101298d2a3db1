package worker_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/testenv"
	"github.com/sluicehq/sluice/runtime/worker"
)

// benchWorker starts a broker and a worker for a source benchmark.
func benchWorker(b *testing.B) (*testenv.Broker, *worker.Herder, *kadm.Client) {
	b.Helper()
	br := testenv.StartBroker(b, nil)
	cfg, err := worker.NewConfig(map[string]string{"bootstrap.servers": br.Addr, "listeners": "http://127.0.0.1:0", "offset.flush.interval.ms": "1000"})
	if err != nil {
		b.Fatal(err)
	}
	h, err := worker.New(worker.Options{Config: cfg, Plugins: builtinPlugins(), Offsets: worker.NewMemOffsetStore(), ClientOpts: []kgo.Opt{kgo.SeedBrokers(br.Addr)}})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx) }()
	b.Cleanup(func() { cancel(); <-done })
	for !h.Ready() {
		time.Sleep(5 * time.Millisecond)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(br.Addr), kgo.MetadataMinAge(10*time.Millisecond))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(cl.Close)
	return br, h, kadm.NewClient(cl)
}

// waitRecords waits until topic holds n records and returns their total
// value bytes (sampled from the first fetch).
func waitRecords(b *testing.B, adm *kadm.Client, topic string, n int64) {
	b.Helper()
	deadline := time.Now().Add(5 * time.Minute)
	for time.Now().Before(deadline) {
		ends, err := adm.ListEndOffsets(context.Background(), topic)
		if err == nil {
			var sum int64
			ends.Each(func(o kadm.ListedOffset) { sum += o.Offset })
			if sum >= n {
				return
			}
		}
		time.Sleep(2 * time.Millisecond)
	}
	b.Fatalf("topic %s never reached %d records", topic, n)
}

// valueSize reads one record of topic to size the benchmark's bytes.
func valueSize(b *testing.B, addr, topic string) int64 {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		f := cl.PollRecords(ctx, 1)
		if ctx.Err() != nil {
			b.Fatal("no record to size")
		}
		if rs := f.Records(); len(rs) > 0 {
			return int64(len(rs[0].Value) + len(rs[0].Key))
		}
	}
}

// BenchmarkDatagenToBroker measures one datagen task's throughput into the
// broker: generate, convert with JsonConverter, produce (acks=all),
// acknowledge. Bytes are the produced key+value bytes.
func BenchmarkDatagenToBroker(b *testing.B) {
	for _, schemas := range []bool{false, true} {
		b.Run("schemas.enable="+strconv.FormatBool(schemas), func(b *testing.B) {
			br, h, adm := benchWorker(b)
			topic := fmt.Sprintf("gen-%d", time.Now().UnixNano())
			b.ResetTimer()
			_, err := h.CreateConnector(context.Background(), "gen", map[string]string{
				"connector.class": "DatagenConnector", "kafka.topic": topic, "quickstart": "bench",
				"message.size": "1024", "max.interval": "0", "iterations": strconv.Itoa(b.N),
				"value.converter.schemas.enable": strconv.FormatBool(schemas),
				"key.converter":                  "org.apache.kafka.connect.storage.StringConverter",
			}, "")
			if err != nil {
				b.Fatal(err)
			}
			waitRecords(b, adm, topic, int64(b.N))
			b.StopTimer()
			b.SetBytes(valueSize(b, br.Addr, topic))
		})
	}
}

// BenchmarkFileSourceToBroker measures one FileStreamSource task reading
// 1 KiB lines into the broker with JsonConverter (schemas.enable=true,
// Kafka's default).
func BenchmarkFileSourceToBroker(b *testing.B) {
	br, h, adm := benchWorker(b)
	path := filepath.Join(b.TempDir(), "in.txt")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	line := strings.Repeat("x", 1000)
	for i := 0; i < b.N; i++ {
		fmt.Fprintf(w, "%08d %s\n", i, line)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	f.Close()
	topic := fmt.Sprintf("file-%d", time.Now().UnixNano())
	b.ResetTimer()
	_, err = h.CreateConnector(context.Background(), "file", map[string]string{
		"connector.class": "FileStreamSource", "file": path, "topic": topic, "batch.size": "2000",
	}, "")
	if err != nil {
		b.Fatal(err)
	}
	waitRecords(b, adm, topic, int64(b.N))
	b.StopTimer()
	b.SetBytes(valueSize(b, br.Addr, topic))
}
