package s3

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"maps"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"

	"github.com/sluicehq/sluice/runtime/connect"
)

// BenchOptions configure [Bench]: JSON records through one sink task
// into a bucket, then the same bytes with the SDK's transfer manager
// alone.
type BenchOptions struct {
	// Config is the sink's config (store.url, s3.bucket.name, keys,
	// s3.part.size, ...); Bench sets format.class, flush.size and the
	// storage class.
	Config map[string]string
	// Records of about RecordSize bytes of JSON each, on Partitions
	// partitions, FileRecords per file.
	Records, RecordSize, Partitions, FileRecords int
}

// BenchResult is what [Bench] measured.
type BenchResult struct {
	Records, Files int
	Bytes          int64 // JSON bytes written, as uploaded
	Sink, Manager  time.Duration
}

// SinkMBps and ManagerMBps are the rates in MB/s (10^6 bytes).
func (r BenchResult) SinkMBps() float64    { return float64(r.Bytes) / 1e6 / r.Sink.Seconds() }
func (r BenchResult) ManagerMBps() float64 { return float64(r.Bytes) / 1e6 / r.Manager.Seconds() }

// Summary renders the result.
func (r BenchResult) Summary() string {
	return fmt.Sprintf("s3-sink: %d JSON records (%d MB) in %d files: sink task %.1f MB/s in %.2fs; transfer manager alone %.1f MB/s in %.2fs; ratio %.2f",
		r.Records, r.Bytes/1e6, r.Files, r.SinkMBps(), r.Sink.Seconds(), r.ManagerMBps(), r.Manager.Seconds(), r.SinkMBps()/r.ManagerMBps())
}

// BenchRecords builds n schemaless JSON-like records of about size bytes
// on partition p of topic, from offset from.
func BenchRecords(topic string, p int32, from int64, n, size int) []*connect.Record {
	pad := strings.Repeat("sluice-s3-bench-", max(size-120, 16)/16+1)[:max(size-120, 16)]
	out := make([]*connect.Record, n)
	for i := range out {
		off := from + int64(i)
		out[i] = &connect.Record{Topic: topic, Partition: p, Offset: off, Value: map[string]any{
			"id": off, "partition": int64(p), "ts": 1700000000000 + off, "ok": off%2 == 0,
			"name": "record-" + strconv.FormatInt(off, 10), "score": float64(off) / 7, "pad": pad,
		}}
	}
	return out
}

// benchContext is the sink context of a benchmark: a record the task
// reports fails the run.
type benchContext struct{ cfg map[string]string }

func (c benchContext) Report(r *connect.Record, err error) error {
	return fmt.Errorf("record %s-%d@%d: %w", r.Topic, r.Partition, r.Offset, err)
}
func (benchContext) Rewind(connect.TopicPartition, int64) {}
func (c benchContext) Config() map[string]string          { return c.cfg }
func (benchContext) Logger() *slog.Logger                 { return connect.OrDiscard(nil) }

// BenchConfig completes cfg for a JSON benchmark of fileRecords per file.
func BenchConfig(cfg map[string]string, fileRecords int) map[string]string {
	out := maps.Clone(cfg)
	out[StorageClassConfig] = S3StorageClass
	out[FormatClassConfig] = JSONFormatClass
	out[FlushSizeConfig] = strconv.Itoa(fileRecords)
	return out
}

// Bench runs the benchmark: the records go through Put in batches of 500
// (the worker's max.poll.records), every file is uploaded; then the same
// bytes, file by file, go through the transfer manager with the same part
// size.
func Bench(ctx context.Context, o BenchOptions) (BenchResult, error) {
	if o.Partitions < 1 || o.Records < o.Partitions || o.FileRecords < 1 || (o.Records/o.Partitions)%o.FileRecords != 0 {
		return BenchResult{}, fmt.Errorf("s3 bench: records per partition (%d/%d) must be a multiple of the records per file (%d)", o.Records, o.Partitions, o.FileRecords)
	}
	cfg := BenchConfig(o.Config, o.FileRecords)
	const topic = "bench"
	var recs []*connect.Record
	var tps []connect.TopicPartition
	for p := range o.Partitions {
		tps = append(tps, connect.TopicPartition{Topic: topic, Partition: int32(p)})
		recs = append(recs, BenchRecords(topic, int32(p), 0, o.Records/o.Partitions, o.RecordSize)...)
	}
	files, err := benchFiles(cfg, recs, o.FileRecords)
	if err != nil {
		return BenchResult{}, err
	}
	res := BenchResult{Records: len(recs), Files: len(files)}
	for _, f := range files {
		res.Bytes += int64(len(f))
	}
	if res.Sink, err = benchSink(ctx, cfg, tps, recs); err != nil {
		return res, err
	}
	res.Manager, err = benchManager(ctx, cfg, files)
	return res, err
}

// benchSink times the records through one task, interleaving partitions
// as a consumer's batches do.
func benchSink(ctx context.Context, cfg map[string]string, tps []connect.TopicPartition, recs []*connect.Record) (time.Duration, error) {
	task := newSinkTask()
	if err := task.Start(benchContext{cfg}, cfg); err != nil {
		return 0, err
	}
	defer func() { _ = task.Stop() }()
	if err := task.Open(tps); err != nil {
		return 0, err
	}
	per := len(recs) / len(tps)
	batch := make([]*connect.Record, 0, 500)
	begin := time.Now()
	for i := 0; i < per; i += 500 / len(tps) {
		batch = batch[:0]
		for p := range tps {
			end := min(i+500/len(tps), per)
			batch = append(batch, recs[p*per+i:p*per+end]...)
		}
		if err := task.Put(ctx, batch); err != nil {
			return 0, fmt.Errorf("s3 bench: put: %w", err)
		}
	}
	elapsed := time.Since(begin)
	off, err := task.Flush(ctx, nil)
	if err != nil {
		return 0, err
	}
	for _, tp := range tps {
		if off[tp] != int64(per) {
			return 0, fmt.Errorf("s3 bench: %s committed up to %d of %d records", tp, off[tp], per)
		}
	}
	return elapsed, nil
}

// benchFiles renders the files the sink writes, with its JSON format.
func benchFiles(cfg map[string]string, recs []*connect.Record, per int) ([][]byte, error) {
	s, err := parseSettings(cfg)
	if err != nil {
		return nil, err
	}
	f, err := newValueFormat(s)
	if err != nil {
		return nil, err
	}
	var files [][]byte
	for i := 0; i < len(recs); i += per {
		var b bytes.Buffer
		w, err := f.newWriter(&b, nil)
		if err != nil {
			return nil, err
		}
		for _, r := range recs[i : i+per] {
			if err := w.write(r.ValueSchema, r.Value); err != nil {
				return nil, err
			}
		}
		files = append(files, b.Bytes())
	}
	return files, nil
}

// benchManager times the files through the SDK's transfer manager, one
// after the other as a task's files are, with the sink's part size.
func benchManager(ctx context.Context, cfg map[string]string, files [][]byte) (time.Duration, error) {
	s, err := parseSettings(cfg)
	if err != nil {
		return 0, err
	}
	c, err := newClient(ctx, s)
	if err != nil {
		return 0, err
	}
	tm := transfermanager.New(c, func(o *transfermanager.Options) {
		o.PartSizeBytes = s.partSize
		o.MultipartUploadThreshold = s.partSize
	})
	begin := time.Now()
	for i, f := range files {
		_, err := tm.UploadObject(ctx, &transfermanager.UploadObjectInput{
			Bucket: aws.String(s.bucket), Key: aws.String("bench-manager/" + strconv.Itoa(i) + ".json"), Body: bytes.NewReader(f),
		})
		if err != nil {
			return 0, fmt.Errorf("s3 bench: transfer manager: %w", err)
		}
	}
	return time.Since(begin), nil
}
