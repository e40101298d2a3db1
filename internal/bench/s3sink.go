package bench

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/connectors/s3"
)

// S3SinkOptions configure [S3Sink]: records through one S3 sink task into
// a bucket, in JSON or Parquet, beside the files it wrote through the
// SDK's transfer manager alone.
type S3SinkOptions struct {
	Format                   string // json or parquet
	StoreURL, Bucket, Region string
	AccessKey, SecretKey     string // empty: the SDK's default chain
	Records, RecordSize      int
	Partitions, FileRecords  int
	PartSize                 int
	Timeout                  time.Duration
}

func parseS3SinkFlags(args []string, stderr io.Writer) (S3SinkOptions, error) {
	o := S3SinkOptions{Format: "json", Bucket: "sluice-bench", Region: "us-east-1", Records: 200000, RecordSize: 1024,
		Partitions: 1, FileRecords: 50000, PartSize: 25 << 20, Timeout: DefaultTimeout}
	fs := flag.NewFlagSet("sluice bench s3-sink", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.Format, "format", o.Format, "file format: "+strings.Join(s3.BenchFormats(), " or ")+
		" (json: schemaless records, JsonFormat; parquet: records with a Struct schema, ParquetFormat); MB/s is of the records as JSON lines in both")
	fs.StringVar(&o.StoreURL, "store-url", "", "S3 endpoint `URL` (store.url), e.g. a local versitygw or MinIO; empty means AWS")
	fs.StringVar(&o.Bucket, "bucket", o.Bucket, "existing `bucket` to write to (objects under topics/bench/ and bench-manager/)")
	fs.StringVar(&o.Region, "region", o.Region, "s3.region")
	fs.StringVar(&o.AccessKey, "access-key", "", "aws.access.key.id (empty: the SDK's default chain)")
	fs.StringVar(&o.SecretKey, "secret-key", "", "aws.secret.access.key")
	fs.IntVar(&o.Records, "records", o.Records, "records to sink")
	fs.IntVar(&o.RecordSize, "record-size", o.RecordSize, "`bytes` of JSON per record")
	fs.IntVar(&o.Partitions, "partitions", o.Partitions, "Kafka partitions the records are spread over (one open file each)")
	fs.IntVar(&o.FileRecords, "file-records", o.FileRecords, "records per file (flush.size)")
	fs.IntVar(&o.PartSize, "part-size", o.PartSize, "s3.part.size in `bytes`")
	fs.DurationVar(&o.Timeout, "timeout", o.Timeout, "give up after this long")
	if err := parseFlags(fs, args); err != nil {
		return o, err
	}
	return o, o.Validate()
}

// Validate reports every problem with o at once.
func (o S3SinkOptions) Validate() error {
	var errs []error
	if !slices.Contains(s3.BenchFormats(), o.Format) {
		errs = append(errs, fmt.Errorf("--format %q is not one of %s", o.Format, strings.Join(s3.BenchFormats(), ", ")))
	}
	if o.Bucket == "" {
		errs = append(errs, errors.New("--bucket is empty"))
	}
	if o.Records < 1 || o.RecordSize < 1 || o.Partitions < 1 || o.FileRecords < 1 {
		errs = append(errs, errors.New("--records, --record-size, --partitions and --file-records must be at least 1"))
	} else if (o.Records/o.Partitions)%o.FileRecords != 0 || o.Records%o.Partitions != 0 {
		errs = append(errs, fmt.Errorf("--records (%d) must split evenly over --partitions (%d) into files of --file-records (%d)", o.Records, o.Partitions, o.FileRecords))
	}
	if o.PartSize < 5<<20 {
		errs = append(errs, fmt.Errorf("--part-size %d is below S3's 5 MiB minimum", o.PartSize))
	}
	return errors.Join(errs...)
}

// S3Sink runs the benchmark.
func S3Sink(ctx context.Context, o S3SinkOptions, _ io.Writer) (s3.BenchResult, error) {
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	cfg := map[string]string{"s3.bucket.name": o.Bucket, "s3.region": o.Region, "s3.part.size": strconv.Itoa(o.PartSize)}
	if o.StoreURL != "" {
		cfg["store.url"] = o.StoreURL
	}
	if o.AccessKey != "" {
		cfg["aws.access.key.id"], cfg["aws.secret.access.key"] = o.AccessKey, o.SecretKey
	}
	return s3.Bench(ctx, s3.BenchOptions{Config: cfg, Format: o.Format, Records: o.Records, RecordSize: o.RecordSize,
		Partitions: o.Partitions, FileRecords: o.FileRecords})
}

func mainS3Sink(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return runSummarized(ctx, "s3-sink", args, stdout, stderr, parseS3SinkFlags, S3Sink)
}
