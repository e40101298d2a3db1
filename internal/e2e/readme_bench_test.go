package e2e

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/bench"
	"github.com/sluicehq/sluice/internal/testenv"
)

// BenchmarkREADMESourceTask measures the source-task figure the README
// quotes, as a ratio to an anchor measured in the same run: one datagen
// task (`sluice bench source`: datagen, JsonConverter without schemas,
// acks=all, offset commits, 1 KiB payloads) against a bare franz-go
// producer writing as many records of the same size to the same broker
// (`sluice bench produce`: acks=all, idempotent, no compression, one
// partition, like the task's topic). The two alternate, so a machine
// that slows down slows both.
//
//	go test ./internal/e2e -run '^$' -bench READMESourceTask -benchtime 3x
func BenchmarkREADMESourceTask(b *testing.B) {
	br := testenv.StartBroker(b, nil)
	var source, produce time.Duration
	var records, bytes int64
	for i := 0; b.Loop(); i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		s, err := bench.Source(ctx, bench.SourceOptions{Brokers: []string{br.Addr}, Topic: fmt.Sprintf("source-%d", i),
			Tasks: 1, RecordsPerTask: 200_000, MessageSize: 1024, Converter: "json"}, io.Discard)
		if err != nil || s.Records == 0 || s.Bytes == 0 {
			cancel()
			b.Fatalf("source run: %v (%d records, %d bytes)", err, s.Records, s.Bytes)
		}
		p, err := bench.Produce(ctx, bench.ProduceOptions{Brokers: []string{br.Addr}, Topic: fmt.Sprintf("produce-%d", i),
			Records: int(s.Records), RecordSize: int(s.Bytes / s.Records), Acks: "all", Compression: "none",
			Partitions: 1, Idempotent: true}, io.Discard)
		cancel()
		if err != nil {
			b.Fatalf("produce run: %v", err)
		}
		source += s.Elapsed
		produce += p.Elapsed
		records += s.Records
		bytes += s.Bytes
	}
	b.ReportMetric(float64(records)/source.Seconds(), "source-records/s")
	b.ReportMetric(float64(bytes)/(1<<20)/source.Seconds(), "source-MB/s")
	b.ReportMetric(float64(records)/produce.Seconds(), "produce-records/s")
	b.ReportMetric(float64(bytes)/float64(records), "record-bytes")
	b.ReportMetric(produce.Seconds()/source.Seconds(), "source/produce")
}

// BenchmarkREADMECDC measures the Postgres CDC figures the README quotes,
// as ratios to an anchor measured in the same run: `sluice bench cdc`
// (a 100k-row snapshot, then one update of every row, 1000 rows per
// transaction, through a worker with JsonConverter without schemas,
// acks=all) against a bare franz-go producer writing as many records of
// the snapshot's record size to the same broker (`sluice bench produce`:
// acks=all, idempotent, no compression, one partition).
//
//	go test ./internal/e2e -run '^$' -bench READMECDC -benchtime 3x
func BenchmarkREADMECDC(b *testing.B) {
	pg := testenv.StartPostgres(b)
	br := testenv.StartBroker(b, nil)
	// kgo answers a metadata request from its cache for MetadataMinAge.
	cl, err := kgo.NewClient(kgo.SeedBrokers(br.Addr), kgo.MetadataMinAge(10*time.Millisecond))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	const rows = 100_000
	var snapshot, stream, produce time.Duration
	size := 0
	seen := map[string]bool{}
	for i := 0; b.Loop(); i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		r, err := bench.CDC(ctx, bench.CDCOptions{Brokers: []string{br.Addr}, DSN: pg.DSN("postgres"),
			Rows: rows, TxRows: 1000, Converter: "json"}, io.Discard)
		if err != nil {
			cancel()
			b.Fatalf("cdc run: %v", err)
		}
		size = newTopicRecordSize(ctx, b, adm, br.Addr, "bench.public.", seen)
		p, err := bench.Produce(ctx, bench.ProduceOptions{Brokers: []string{br.Addr}, Topic: fmt.Sprintf("produce-%d", i),
			Records: rows, RecordSize: size, Acks: "all", Compression: "none", Partitions: 1, Idempotent: true}, io.Discard)
		cancel()
		if err != nil {
			b.Fatalf("produce run: %v", err)
		}
		snapshot += r.Snapshot
		stream += r.Stream
		produce += p.Elapsed
	}
	n := float64(b.N * rows)
	b.ReportMetric(n/snapshot.Seconds(), "snapshot-rows/s")
	b.ReportMetric(n/stream.Seconds(), "stream-events/s")
	b.ReportMetric(n/produce.Seconds(), "produce-records/s")
	b.ReportMetric(float64(size), "record-bytes")
	b.ReportMetric(produce.Seconds()/snapshot.Seconds(), "snapshot/produce")
	b.ReportMetric(produce.Seconds()/stream.Seconds(), "stream/produce")
}

// newTopicRecordSize finds the one topic named prefix… not in seen, marks
// it seen, and returns the key+value size of its first record.
func newTopicRecordSize(ctx context.Context, b *testing.B, adm *kadm.Client, addr, prefix string, seen map[string]bool) int {
	b.Helper()
	topics, err := adm.ListTopics(ctx)
	if err != nil {
		b.Fatalf("list topics: %v", err)
	}
	var topic string
	for _, name := range topics.Names() {
		if strings.HasPrefix(name, prefix) && !seen[name] {
			topic = name
		}
	}
	if topic == "" {
		b.Fatalf("no new topic %s… in %v", prefix, topics.Names())
	}
	seen[topic] = true
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	for ctx.Err() == nil {
		if rs := cl.PollRecords(ctx, 1).Records(); len(rs) > 0 {
			return len(rs[0].Key) + len(rs[0].Value)
		}
	}
	b.Fatalf("read a record of %s: %v", topic, ctx.Err())
	return 0
}
