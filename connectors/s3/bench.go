package s3

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"

	"github.com/sluicehq/sluice/connectors/kit"
	"github.com/sluicehq/sluice/runtime/connect"
	"github.com/sluicehq/sluice/runtime/convert"
)

// BenchOptions configure [Bench]: records through one sink task into a
// bucket, then the files it wrote with the SDK's transfer manager alone.
type BenchOptions struct {
	// Config is the sink's config (store.url, s3.bucket.name, keys,
	// s3.part.size, ...); Bench sets format.class, flush.size and the
	// storage class.
	Config map[string]string
	// Format is "json" (schemaless records, JsonFormat) or "parquet"
	// (records with a Struct schema, ParquetFormat); "" is json.
	Format string
	// Records of about RecordSize bytes of JSON each, on Partitions
	// partitions, FileRecords per file.
	Records, RecordSize, Partitions, FileRecords int
}

// BenchResult is what [Bench] measured.
type BenchResult struct {
	Format         string
	Records, Files int
	// Bytes is the size of the records as JSON lines (each record as the
	// JsonConverter writes it without schemas, and a newline): the bytes
	// of records consumed, whatever the format. For JSON it is also the
	// size of the files.
	Bytes int64
	// FileBytes is the size of the files the sink wrote, which the
	// transfer manager uploads.
	FileBytes     int64
	Sink, Manager time.Duration
}

// SinkMBps is the rate of records consumed, in MB/s (10^6 bytes) of
// their JSON; ManagerMBps the rate of the transfer manager uploading the
// sink's files; Ratio the sink's speed over the manager's on the same
// files (the manager's time over the sink's).
func (r BenchResult) SinkMBps() float64    { return float64(r.Bytes) / 1e6 / r.Sink.Seconds() }
func (r BenchResult) ManagerMBps() float64 { return float64(r.FileBytes) / 1e6 / r.Manager.Seconds() }
func (r BenchResult) Ratio() float64       { return r.Manager.Seconds() / r.Sink.Seconds() }

// Summary renders the result.
func (r BenchResult) Summary() string {
	return fmt.Sprintf("s3-sink %s: %d records (%.1f MB as JSON lines) in %d files (%.1f MB): "+
		"sink task %.1f MB/s of record JSON in %.2fs; transfer manager alone %.1f MB/s of file bytes in %.2fs; "+
		"ratio (manager time / sink time, same files) %.2f",
		r.Format, r.Records, float64(r.Bytes)/1e6, r.Files, float64(r.FileBytes)/1e6,
		r.SinkMBps(), r.Sink.Seconds(), r.ManagerMBps(), r.Manager.Seconds(), r.Ratio())
}

// benchPads returns filler text of about size-120 bytes per record, so
// that a record is about size bytes of JSON, for records records: one of
// as many pieces of a pseudo-random text (at least 1024, at most 65536),
// which repeat that many records apart (a Parquet column of repeated
// texts, or of text a compressor squeezes to nothing, would measure
// nothing real). The text is made once per size.
func benchPads(size, records int) func(off int64) string {
	n := max(size-120, 16)
	pieces := 1024
	for pieces < records && pieces < 1<<16 {
		pieces *= 2
	}
	benchText.Lock()
	defer benchText.Unlock()
	key := [2]int{n, pieces}
	s, ok := benchText.bySize[key]
	if !ok {
		text := make([]byte, n*pieces)
		x := uint32(2463534242)
		for i := range text {
			x ^= x << 13
			x ^= x >> 17
			x ^= x << 5
			text[i] = "abcdefghijklmnopqrstuvwxyz0123456789 -_ABCDEFGHIJKLMNOPQRSTUVWXYZ"[x%64]
		}
		s = string(text)
		if benchText.bySize == nil {
			benchText.bySize = map[[2]int]string{}
		}
		benchText.bySize[key] = s
	}
	return func(off int64) string {
		at := int(off%int64(pieces)) * n
		return s[at : at+n]
	}
}

// benchText holds the filler texts of benchPads by piece size and count.
var benchText struct {
	sync.Mutex
	bySize map[[2]int]string
}

// BenchRecords builds n schemaless JSON-like records of about size bytes
// on partition p of topic, from offset from.
func BenchRecords(topic string, p int32, from int64, n, size int) []*connect.Record {
	pad := benchPads(size, n)
	out := make([]*connect.Record, n)
	for i := range out {
		off := from + int64(i)
		out[i] = &connect.Record{Topic: topic, Partition: p, Offset: off, Value: map[string]any{
			"id": off, "partition": int64(p), "ts": 1700000000000 + off, "ok": off%2 == 0,
			"name": "record-" + strconv.FormatInt(off, 10), "score": float64(off) / 7, "pad": pad(off),
		}}
	}
	return out
}

// benchSchema is the value schema of [BenchStructRecords]: the fields of
// [BenchRecords], typed.
var benchSchema = connect.StructBuilder().Name("sluice.bench.Record").
	Field("id", connect.Int64Schema).Field("partition", connect.Int64Schema).Field("ts", connect.Int64Schema).
	Field("ok", connect.BooleanSchema).Field("name", connect.StringSchema).Field("score", connect.Float64Schema).
	Field("pad", connect.StringSchema).Build()

// BenchStructRecords builds n records of [BenchRecords]' values as
// Structs of one schema.
func BenchStructRecords(topic string, p int32, from int64, n, size int) []*connect.Record {
	pad := benchPads(size, n)
	out := make([]*connect.Record, n)
	for i := range out {
		off := from + int64(i)
		v := connect.NewStruct(benchSchema).MustPut("id", off).MustPut("partition", int64(p)).
			MustPut("ts", 1700000000000+off).MustPut("ok", off%2 == 0).MustPut("name", "record-"+strconv.FormatInt(off, 10)).
			MustPut("score", float64(off)/7).MustPut("pad", pad(off))
		out[i] = &connect.Record{Topic: topic, Partition: p, Offset: off, ValueSchema: benchSchema, Value: v}
	}
	return out
}

// benchFormats are the formats of [Bench]: the format class and the
// records it is measured with.
var benchFormats = map[string]struct {
	class   string
	records func(topic string, p int32, from int64, n, size int) []*connect.Record
}{
	"json":    {JSONFormatClass, BenchRecords},
	"parquet": {ParquetFormatClass, BenchStructRecords},
}

// BenchFormats lists the formats [Bench] measures.
func BenchFormats() []string { return slices.Sorted(maps.Keys(benchFormats)) }

// BenchConfig completes cfg for a benchmark of format (see [BenchOptions])
// with fileRecords per file.
func BenchConfig(cfg map[string]string, format string, fileRecords int) (map[string]string, error) {
	f, ok := benchFormats[cmp.Or(format, "json")]
	if !ok {
		return nil, fmt.Errorf("s3 bench: format %q is not one of %s", format, strings.Join(BenchFormats(), ", "))
	}
	out := maps.Clone(cfg)
	out[StorageClassConfig] = S3StorageClass
	out[FormatClassConfig] = f.class
	out[FlushSizeConfig] = strconv.Itoa(fileRecords)
	return out, nil
}

// benchJSONBytes is the size of recs as JSON lines: each value as the
// JsonConverter writes it without schemas, and a newline.
func benchJSONBytes(recs []*connect.Record) (int64, error) {
	c := convert.NewJSONConverter()
	if err := c.Configure(map[string]string{"schemas.enable": "false"}, false); err != nil {
		return 0, err
	}
	var n int64
	for _, r := range recs {
		b, err := c.FromConnect(r.Topic, nil, r.ValueSchema, r.Value)
		if err != nil {
			return 0, fmt.Errorf("s3 bench: record %d as JSON: %w", r.Offset, err)
		}
		n += int64(len(b)) + 1
	}
	return n, nil
}

// Bench runs the benchmark: the records go through Put in batches of 500
// (the worker's max.poll.records), every file is uploaded; then the same
// bytes, file by file, go through the transfer manager with the same part
// size.
func Bench(ctx context.Context, o BenchOptions) (BenchResult, error) {
	if o.Partitions < 1 || o.Records < o.Partitions || o.FileRecords < 1 || (o.Records/o.Partitions)%o.FileRecords != 0 {
		return BenchResult{}, fmt.Errorf("s3 bench: records per partition (%d/%d) must be a multiple of the records per file (%d)", o.Records, o.Partitions, o.FileRecords)
	}
	format := cmp.Or(o.Format, "json")
	cfg, err := BenchConfig(o.Config, format, o.FileRecords)
	if err != nil {
		return BenchResult{}, err
	}
	const topic = "bench"
	var recs []*connect.Record
	var tps []connect.TopicPartition
	for p := range o.Partitions {
		tps = append(tps, connect.TopicPartition{Topic: topic, Partition: int32(p)})
		recs = append(recs, benchFormats[format].records(topic, int32(p), 0, o.Records/o.Partitions, o.RecordSize)...)
	}
	files, err := benchFiles(cfg, recs, o.FileRecords)
	if err != nil {
		return BenchResult{}, err
	}
	res := BenchResult{Format: format, Records: len(recs), Files: len(files)}
	for _, f := range files {
		res.FileBytes += int64(len(f))
	}
	if res.Bytes, err = benchJSONBytes(recs); err != nil {
		return res, err
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
	if err := task.Start(kit.BenchSinkContext{Cfg: cfg}, cfg); err != nil {
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

// benchFiles renders the files the sink writes, with its format.
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
		w, err := f.newWriter(&b, recs[i].ValueSchema)
		if err != nil {
			return nil, err
		}
		for _, r := range recs[i : i+per] {
			if err := w.write(r.ValueSchema, r.Value); err != nil {
				return nil, err
			}
		}
		if err := w.close(); err != nil {
			return nil, err
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
			Bucket: aws.String(s.bucket), Key: aws.String("bench-manager/" + strconv.Itoa(i)), Body: bytes.NewReader(f),
		})
		if err != nil {
			return 0, fmt.Errorf("s3 bench: transfer manager: %w", err)
		}
	}
	return time.Since(begin), nil
}
