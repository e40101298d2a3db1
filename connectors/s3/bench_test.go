package s3

import (
	"context"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/connectors/kit"
	"github.com/sluicehq/sluice/internal/testenv"
	"github.com/sluicehq/sluice/runtime/connect"
)

// benchServer is versitygw with its bucket, and a sink config for it.
func benchServer(tb testing.TB) map[string]string {
	srv := testenv.StartS3(tb)
	srv.CreateBucket(tb, testBucket)
	cfg := baseConfig(srv.Endpoint)
	cfg["s3.region"], cfg["aws.access.key.id"], cfg["aws.secret.access.key"] = srv.Region, srv.AccessKey, srv.SecretKey
	return cfg
}

const (
	benchFileRecords = 20000 // ≈20 MB files of 1 KiB records
	benchRecordSize  = 1024
)

// benchmarkSink: ~1 KiB records of format (see BenchOptions) through one
// task into versitygw, one file (flush.size records, uploaded) per op,
// the last one's upload included; MB/s is of the records as JSON lines
// (for JSON, the bytes written). Compare with BenchmarkUploadManager.
func benchmarkSink(b *testing.B, format string) {
	cfg, err := BenchConfig(benchServer(b), format, benchFileRecords)
	require.NoError(b, err)
	cfg["s3.part.size"] = "5242880"
	recs := benchFormats[format].records("bench", 0, 0, benchFileRecords, benchRecordSize)
	n, err := benchJSONBytes(recs)
	require.NoError(b, err)
	b.SetBytes(n)
	task := newSinkTask()
	require.NoError(b, task.Start(kit.BenchSinkContext{Cfg: cfg}, cfg))
	require.NoError(b, task.Open([]connect.TopicPartition{{Topic: "bench"}}))
	defer func() { _ = task.Stop() }()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		for j, r := range recs {
			r.Offset = int64(i*benchFileRecords + j)
		}
		b.StartTimer()
		for k := 0; k < len(recs); k += 500 {
			if err := task.Put(context.Background(), recs[k:min(k+500, len(recs))]); err != nil {
				b.Fatal(err)
			}
		}
	}
	off, err := task.Flush(context.Background(), nil)
	b.StopTimer()
	require.NoError(b, err)
	require.Equal(b, int64(b.N*benchFileRecords), off[connect.TopicPartition{Topic: "bench"}])
}

func BenchmarkSinkJSON(b *testing.B)    { benchmarkSink(b, "json") }
func BenchmarkSinkParquet(b *testing.B) { benchmarkSink(b, "parquet") }

// BenchmarkUploadManager: the same bytes as the files of BenchmarkSinkJSON
// and BenchmarkSinkParquet, uploaded with the SDK's transfer manager
// alone, same part size: the limit the sink is measured against. MB/s is
// of the file bytes.
func BenchmarkUploadManager(b *testing.B) {
	for _, format := range BenchFormats() {
		b.Run(format, func(b *testing.B) {
			cfg, err := BenchConfig(benchServer(b), format, benchFileRecords)
			require.NoError(b, err)
			cfg["s3.part.size"] = "5242880"
			files, err := benchFiles(cfg, benchFormats[format].records("bench", 0, 0, benchFileRecords, benchRecordSize), benchFileRecords)
			require.NoError(b, err)
			b.SetBytes(int64(len(files[0])))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := benchManager(context.Background(), cfg, files); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestBenchRuns runs Bench small in each format: the sink's files and the
// manager's uploads both complete, the file bytes counted are those in
// the bucket, and the record bytes are the records' JSON lines (the
// files' bytes for JSON, not for Parquet).
func TestBenchRuns(t *testing.T) {
	for _, format := range BenchFormats() {
		t.Run(format, func(t *testing.T) {
			cfg := benchServer(t)
			cfg["s3.part.size"] = "5242880"
			res, err := Bench(context.Background(), BenchOptions{Config: cfg, Format: format, Records: 12000, RecordSize: 1024, Partitions: 2, FileRecords: 3000})
			require.NoError(t, err)
			assert.Equal(t, 4, res.Files)
			full, err := BenchConfig(cfg, format, 3000)
			require.NoError(t, err)
			got := objects(t, full)
			var sink, manager int64
			for k, v := range got {
				if len(k) > 7 && k[:7] == "topics/" {
					sink += int64(len(v))
				} else {
					manager += int64(len(v))
				}
			}
			assert.Equal(t, res.FileBytes, sink)
			assert.Equal(t, res.FileBytes, manager)
			// BenchRecords' values are about 1 KiB of JSON each.
			assert.InDelta(t, 12000*1024, res.Bytes, 12000*40)
			if format == "json" {
				assert.Equal(t, res.Bytes, res.FileBytes)
			} else {
				assert.NotEqual(t, res.Bytes, res.FileBytes)
			}
			assert.Contains(t, res.Summary(), "MB/s of record JSON")
			t.Log(res.Summary())
		})
	}
	_, err := BenchConfig(map[string]string{}, "csv", 10)
	assert.ErrorContains(t, err, `format "csv" is not one of json, parquet`)
}

// TestMemoryStaysBounded: a topic far bigger than s3.part.size × open
// files streams through with the heap bounded by about that (plus the
// parts in flight and the buffers kept for reuse), not by the file or the
// topic size.
func TestMemoryStaysBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 240 MB")
	}
	cfg, err := BenchConfig(benchServer(t), "json", 40000) // 40 MB files: 8 parts each
	require.NoError(t, err)
	cfg["s3.part.size"] = "5242880"
	const partitions, perPartition = 4, 60000 // 240 MB of 1 KiB records
	task := newSinkTask()
	require.NoError(t, task.Start(kit.BenchSinkContext{Cfg: cfg}, cfg))
	var tps []connect.TopicPartition
	for p := range partitions {
		tps = append(tps, connect.TopicPartition{Topic: "bench", Partition: int32(p)})
	}
	require.NoError(t, task.Open(tps))
	defer func() { _ = task.Stop() }()
	BenchRecords("bench", 0, 0, 125, benchRecordSize) // makes the filler text before the measure
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base, peak := ms.HeapInuse, uint64(0)
	for from := 0; from < perPartition; from += 125 {
		var batch []*connect.Record
		for p := range partitions {
			batch = append(batch, BenchRecords("bench", int32(p), int64(from), 125, benchRecordSize)...)
		}
		require.NoError(t, task.Put(context.Background(), batch))
		if from%2500 == 0 {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
		}
	}
	off, err := task.Flush(context.Background(), nil)
	require.NoError(t, err)
	assert.Equal(t, int64(40000), off[tps[0]])
	// 4 open files × 5 MiB, ≤ 4 parts in flight and ≤ 4 kept buffers:
	// 60 MiB; the GC's headroom (GOGC=100) may double what is live.
	growth := (peak - min(peak, base)) >> 20
	t.Logf("heap in use: %d MiB before, %d MiB at the peak, after 240 MB through 4 partitions", base>>20, peak>>20)
	assert.Less(t, growth, uint64(150), "heap grew by %d MiB", growth)
}
