package s3

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/connecttest"
	"github.com/sluicehq/sluice/runtime/connect"
	"github.com/sluicehq/sluice/runtime/convert"
)

const testBucket = "sink"

// fakeS3 starts gofakes3 with an empty bucket and returns its URL.
func fakeS3(t *testing.T) string {
	t.Helper()
	backend := s3mem.New()
	require.NoError(t, backend.CreateBucket(testBucket))
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(srv.Close)
	return srv.URL
}

// baseConfig is a JSON sink config pointing at url.
func baseConfig(url string) map[string]string {
	return map[string]string{
		"connector.class":       "io.confluent.connect.s3.S3SinkConnector",
		"storage.class":         S3StorageClass,
		"format.class":          JSONFormatClass,
		"flush.size":            "3",
		"s3.bucket.name":        testBucket,
		"s3.region":             "us-east-1",
		"store.url":             url,
		"aws.access.key.id":     "AKIAEXAMPLE",
		"aws.secret.access.key": "secret",
	}
}

// objects reads every object of the bucket back, by key.
func objects(t *testing.T, config map[string]string) map[string][]byte {
	t.Helper()
	s, err := parseSettings(config)
	require.NoError(t, err)
	c, err := newClient(context.Background(), s)
	require.NoError(t, err)
	out := map[string][]byte{}
	list, err := c.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String(testBucket)})
	require.NoError(t, err)
	for _, o := range list.Contents {
		got, err := c.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(testBucket), Key: o.Key})
		require.NoError(t, err)
		b, err := io.ReadAll(got.Body)
		require.NoError(t, err)
		_ = got.Body.Close()
		out[*o.Key] = b
	}
	return out
}

// keys returns the sorted keys of m.
func keys(m map[string][]byte) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// start starts a task on config with one open partition per tp.
func start(t *testing.T, config map[string]string, sc *connecttest.SinkContext, tps ...connect.TopicPartition) *sinkTask {
	t.Helper()
	task := newSinkTask()
	require.NoError(t, task.Start(sc, config))
	require.NoError(t, task.Open(tps))
	return task
}

var orderSchema = connect.NewSchemaBuilder(connect.TypeStruct).Name("Order").
	Field("id", connect.Int64Schema).Field("region", connect.StringSchema).Build()

// order is a Struct record at offset off of partition p.
func order(p int32, off, id int64, region string) *connect.Record {
	v := connect.NewStruct(orderSchema).MustPut("id", id).MustPut("region", region)
	return &connect.Record{Topic: "orders", Partition: p, Offset: off, ValueSchema: orderSchema, Value: v}
}

func TestJSONDefaultPartitionerNamesContentsAndCommits(t *testing.T) {
	cfg := baseConfig(fakeS3(t))
	tp0 := connect.TopicPartition{Topic: "orders", Partition: 0}
	tp1 := connect.TopicPartition{Topic: "orders", Partition: 1}
	task := start(t, cfg, connecttest.NewSinkContext(t, cfg), tp0, tp1)
	var recs []*connect.Record
	for i := int64(0); i < 7; i++ {
		recs = append(recs, order(0, 40+i, i, "eu"))
	}
	recs = append(recs, order(1, 5, 100, "us"))
	require.NoError(t, task.Put(context.Background(), recs))
	waitCommits(t, task)
	got := objects(t, cfg)
	assert.Equal(t, []string{
		"topics/orders/partition=0/orders+0+0000000040.json",
		"topics/orders/partition=0/orders+0+0000000043.json",
	}, keys(got))
	assert.Equal(t, "{\"id\":0,\"region\":\"eu\"}\n{\"id\":1,\"region\":\"eu\"}\n{\"id\":2,\"region\":\"eu\"}\n",
		string(got["topics/orders/partition=0/orders+0+0000000040.json"]))
	// Offset 46 and partition 1 are in open files: not committed.
	off, err := task.Flush(context.Background(), map[connect.TopicPartition]int64{tp0: 47, tp1: 6})
	require.NoError(t, err)
	assert.Equal(t, map[connect.TopicPartition]int64{tp0: 46}, off)
}

func TestFieldPartitionerAndRotationAcrossEncodedPartitions(t *testing.T) {
	cfg := baseConfig(fakeS3(t))
	cfg["partitioner.class"] = FieldPartitionerClass
	cfg["partition.field.name"] = "region"
	tp := connect.TopicPartition{Topic: "orders", Partition: 2}
	task := start(t, cfg, connecttest.NewSinkContext(t, cfg), tp)
	// flush.size counts records of the Kafka partition across its files:
	// the third record rotates both open files.
	require.NoError(t, task.Put(context.Background(), []*connect.Record{
		order(2, 0, 1, "eu"), order(2, 1, 2, "us"), order(2, 2, 3, "eu"), order(2, 3, 4, "us"),
	}))
	waitCommits(t, task)
	got := objects(t, cfg)
	assert.Equal(t, map[string][]byte{
		"topics/orders/region=eu/orders+2+0000000000.json": []byte("{\"id\":1,\"region\":\"eu\"}\n{\"id\":3,\"region\":\"eu\"}\n"),
		"topics/orders/region=us/orders+2+0000000001.json": []byte("{\"id\":2,\"region\":\"us\"}\n"),
	}, got)
	off, err := task.Flush(context.Background(), nil)
	require.NoError(t, err)
	assert.Equal(t, map[connect.TopicPartition]int64{tp: 3}, off)
}

func TestByteArrayGzipAndConfigNames(t *testing.T) {
	cfg := baseConfig(fakeS3(t))
	cfg["format.class"] = ByteArrayFormatClass
	cfg["s3.compression.type"] = "gzip"
	cfg["flush.size"] = "2"
	cfg["topics.dir"] = "backup"
	cfg["file.delim"] = "-"
	cfg["filename.offset.zero.pad.width"] = "4"
	cfg["format.bytearray.separator"] = "|"
	task := start(t, cfg, connecttest.NewSinkContext(t, cfg), connect.TopicPartition{Topic: "raw", Partition: 0})
	require.NoError(t, task.Put(context.Background(), []*connect.Record{
		{Topic: "raw", Offset: 7, Value: []byte("a")}, {Topic: "raw", Offset: 8, Value: []byte("bc")},
	}))
	waitCommits(t, task)
	got := objects(t, cfg)
	require.Equal(t, []string{"backup/raw/partition=0/raw-0-0007.bin.gz"}, keys(got))
	zr, err := gzip.NewReader(bytes.NewReader(got["backup/raw/partition=0/raw-0-0007.bin.gz"]))
	require.NoError(t, err)
	plain, err := io.ReadAll(zr)
	require.NoError(t, err)
	assert.Equal(t, "a|bc|", string(plain))
}

func TestByteArrayRefusesNonBytesThroughReport(t *testing.T) {
	cfg := baseConfig(fakeS3(t))
	cfg["format.class"] = ByteArrayFormatClass
	sc := connecttest.NewSinkContext(t, cfg)
	sc.Tolerate = true
	task := start(t, cfg, sc, connect.TopicPartition{Topic: "raw", Partition: 0})
	require.NoError(t, task.Put(context.Background(), []*connect.Record{{Topic: "raw", Offset: 0, Value: "text"}}))
	waitCommits(t, task)
	rep := sc.ReportedRecords()
	require.Len(t, rep, 1)
	assert.ErrorContains(t, rep[0].Err, "ByteArrayFormat needs a BYTES value")
}

// flakyUploader fails the commits whose numbers (from 1) are in fail.
type flakyUploader struct {
	mu   sync.Mutex
	next uploader
	n    int
	fail map[int]bool
}

func (f *flakyUploader) open(ctx context.Context, key string) (objectStream, error) {
	s, err := f.next.open(ctx, key)
	return &flakyObject{objectStream: s, f: f}, err
}

type flakyObject struct {
	objectStream
	f *flakyUploader
}

func (o *flakyObject) commit(ctx context.Context) error {
	o.f.mu.Lock()
	o.f.n++
	n := o.f.n
	o.f.mu.Unlock()
	if o.f.fail[n] {
		return &uploadError{testBucket, "", errors.New("injected upload failure")}
	}
	return o.objectStream.commit(ctx)
}

func TestRedeliveryAfterFailedUploadWritesIdenticalObjects(t *testing.T) {
	batch := func() []*connect.Record {
		var recs []*connect.Record
		for i := int64(0); i < 9; i++ {
			region := []string{"eu", "us"}[i%2]
			recs = append(recs, order(0, i, i, region))
		}
		return recs
	}
	run := func(fail map[int]bool) map[string][]byte {
		cfg := baseConfig(fakeS3(t))
		cfg["partitioner.class"] = FieldPartitionerClass
		cfg["partition.field.name"] = "region"
		task := newSinkTask()
		real := task.newUploader
		task.newUploader = func(ctx context.Context, s *settings) (uploader, error) {
			up, err := real(ctx, s)
			return &flakyUploader{next: up, fail: fail}, err
		}
		tp := connect.TopicPartition{Topic: "orders", Partition: 0}
		cfg["retry.backoff.ms"] = "0"
		sc := newRewindContext(t, cfg)
		require.NoError(t, task.Start(sc, cfg))
		require.NoError(t, task.Open([]connect.TopicPartition{tp}))
		// Batches of 4 make a rotation fail while records of the previous
		// batch are in the files; the worker redelivers the failed batch,
		// then reads again from the rewound offset.
		simulateWorker(t, task, sc, map[connect.TopicPartition][]*connect.Record{tp: batch()}, 4)
		off, err := task.Flush(context.Background(), nil)
		require.NoError(t, err)
		assert.Equal(t, int64(9), off[tp])
		return objects(t, cfg)
	}
	clean := run(nil)
	require.Len(t, clean, 6)
	// Uploads 1-2 are the files of the rotation at offset 2, 3-4 those of
	// the rotation at offset 5 (in the second batch, with records of the
	// first in its files): the retries must produce the same names and
	// bytes.
	for _, fail := range []map[int]bool{{2: true}, {4: true}, {4: true, 5: true}, {1: true, 3: true}} {
		assert.Equal(t, clean, run(fail), "failing uploads %v", fail)
	}
}

func TestRestartFromCommittedOffsetRewritesSameObjects(t *testing.T) {
	cfg := baseConfig(fakeS3(t))
	tp := connect.TopicPartition{Topic: "orders", Partition: 0}
	var recs []*connect.Record
	for i := int64(0); i < 5; i++ {
		recs = append(recs, order(0, i, i, "eu"))
	}
	first := start(t, cfg, connecttest.NewSinkContext(t, cfg), tp)
	require.NoError(t, first.Put(context.Background(), recs))
	off, err := first.Flush(context.Background(), nil)
	require.NoError(t, err)
	require.Equal(t, int64(3), off[tp])
	before := objects(t, cfg)
	require.NoError(t, first.Stop())
	// A new task resumes at the committed offset 3 and gets one more record.
	second := start(t, cfg, connecttest.NewSinkContext(t, cfg), tp)
	require.NoError(t, second.Put(context.Background(), append(recs[3:], order(0, 5, 5, "eu"))))
	after := objects(t, cfg)
	for k, v := range before {
		assert.Equal(t, v, after[k], k)
	}
	assert.Contains(t, after, "topics/orders/partition=0/orders+0+0000000003.json")
}

func TestNullValues(t *testing.T) {
	cfg := baseConfig(fakeS3(t))
	tomb := &connect.Record{Topic: "orders", Partition: 0, Offset: 9}
	task := start(t, cfg, connecttest.NewSinkContext(t, cfg), connect.TopicPartition{Topic: "orders"})
	err := task.Put(context.Background(), []*connect.Record{tomb})
	require.ErrorContains(t, err, "orders-0@9 has a null value and behavior.on.null.values is fail")

	cfg["behavior.on.null.values"] = "ignore"
	cfg["flush.size"] = "1"
	task = start(t, cfg, connecttest.NewSinkContext(t, cfg), connect.TopicPartition{Topic: "orders"})
	require.NoError(t, task.Put(context.Background(), []*connect.Record{tomb, order(0, 10, 1, "eu")}))
	waitCommits(t, task)
	assert.Equal(t, []string{"topics/orders/partition=0/orders+0+0000000010.json"}, keys(objects(t, cfg)))
}

func TestMissingPartitionFieldIsReported(t *testing.T) {
	cfg := baseConfig(fakeS3(t))
	cfg["partitioner.class"] = FieldPartitionerClass
	cfg["partition.field.name"] = "country"
	sc := connecttest.NewSinkContext(t, cfg)
	sc.Tolerate = true
	task := start(t, cfg, sc, connect.TopicPartition{Topic: "orders"})
	require.NoError(t, task.Put(context.Background(), []*connect.Record{order(0, 0, 1, "eu")}))
	waitCommits(t, task)
	rep := sc.ReportedRecords()
	require.Len(t, rep, 1)
	assert.ErrorContains(t, rep[0].Err, `no field "country"`)
	assert.Empty(t, objects(t, cfg))

	// Under errors.tolerance=none the report fails the task.
	task = start(t, cfg, connecttest.NewSinkContext(t, cfg), connect.TopicPartition{Topic: "orders"})
	assert.ErrorContains(t, task.Put(context.Background(), []*connect.Record{order(0, 0, 1, "eu")}), "country")
}

func TestConfigRefusals(t *testing.T) {
	for key, tc := range map[string]struct{ value, msg string }{
		"format.class":                  {"io.confluent.connect.s3.format.Other", "must be one of"},
		"partitioner.class":             {"io.confluent.connect.storage.partitioner.Custom", "custom partitioner classes cannot be loaded"},
		"rotate.interval.ms":            {"60000", "TimeBased"},
		"storage.class":                 {"io.confluent.connect.s3.storage.Other", "S3Storage"},
		"shutdown.timeout.ms":           {"5000", "not supported"},
		"s3.credentials.provider.class": {"x", "DefaultCredentialsProvider"},
		"s3.part.size":                  {"1024", "at least"},
		"s3.compression.type":           {"snappy", "none, gzip"},
	} {
		t.Run(key, func(t *testing.T) {
			cfg := baseConfig("http://127.0.0.1:1")
			cfg[key] = tc.value
			_, err := parseSettings(cfg)
			require.Error(t, err)
			assert.ErrorContains(t, err, key)
			assert.ErrorContains(t, err, tc.msg)
		})
	}
	cfg := baseConfig("http://127.0.0.1:1")
	delete(cfg, "flush.size")
	_, err := parseSettings(cfg)
	assert.ErrorContains(t, err, "flush.size")
	cfg = baseConfig("http://127.0.0.1:1")
	cfg["partitioner.class"] = FieldPartitionerClass
	_, err = parseSettings(cfg)
	assert.ErrorContains(t, err, "partition.field.name")
}

func TestFileLargerThanPartSizeIsUploadedWhole(t *testing.T) {
	cfg := baseConfig(fakeS3(t))
	cfg["format.class"] = ByteArrayFormatClass
	cfg["flush.size"] = "2"
	cfg["s3.part.size"] = "5242880"
	task := start(t, cfg, connecttest.NewSinkContext(t, cfg), connect.TopicPartition{Topic: "raw"})
	big := bytes.Repeat([]byte("0123456789abcdef"), 256<<10) // 4 MiB per record: 8 MiB file, two parts
	require.NoError(t, task.Put(context.Background(), []*connect.Record{
		{Topic: "raw", Offset: 0, Value: big}, {Topic: "raw", Offset: 1, Value: big},
	}))
	waitCommits(t, task)
	want := append(append(append(append([]byte{}, big...), '\n'), big...), '\n')
	got := objects(t, cfg)
	require.Len(t, got, 1)
	assert.True(t, bytes.Equal(want, got["topics/raw/partition=0/raw+0+0000000000.bin"]))
}

func TestCloseDropsBuffersOfRevokedPartitions(t *testing.T) {
	cfg := baseConfig(fakeS3(t))
	cfg["flush.size"] = "2"
	tp := connect.TopicPartition{Topic: "orders", Partition: 0}
	task := start(t, cfg, connecttest.NewSinkContext(t, cfg), tp)
	require.NoError(t, task.Put(context.Background(), []*connect.Record{order(0, 0, 0, "eu"), order(0, 1, 1, "eu"), order(0, 2, 2, "eu")}))
	waitCommits(t, task)
	require.NoError(t, task.Close([]connect.TopicPartition{tp}))
	// A revoked partition is neither committed nor kept.
	off, err := task.Flush(context.Background(), nil)
	require.NoError(t, err)
	assert.Empty(t, off)
	// Reassigned, the partition is delivered again from its committed
	// offset 2: the next file starts at 2, with each record once.
	require.NoError(t, task.Open([]connect.TopicPartition{tp}))
	require.NoError(t, task.Put(context.Background(), []*connect.Record{order(0, 2, 2, "eu"), order(0, 3, 3, "eu")}))
	waitCommits(t, task)
	got := objects(t, cfg)
	assert.Equal(t, []byte("{\"id\":2,\"region\":\"eu\"}\n{\"id\":3,\"region\":\"eu\"}\n"),
		got["topics/orders/partition=0/orders+0+0000000002.json"])
	assert.Len(t, got, 2)
}

func TestFieldPartitionerOnSchemalessJSON(t *testing.T) {
	cfg := baseConfig(fakeS3(t))
	cfg["partitioner.class"] = FieldPartitionerClass
	cfg["partition.field.name"] = "region,shard"
	cfg["flush.size"] = "1"
	conv := convert.NewJSONConverter()
	require.NoError(t, conv.Configure(map[string]string{"schemas.enable": "false"}, false))
	s, v, err := conv.ToConnect("orders", nil, []byte(`{"region":"eu","shard":7,"x":[1]}`))
	require.NoError(t, err)
	task := start(t, cfg, connecttest.NewSinkContext(t, cfg), connect.TopicPartition{Topic: "orders"})
	require.NoError(t, task.Put(context.Background(), []*connect.Record{{Topic: "orders", Offset: 4, ValueSchema: s, Value: v}}))
	waitCommits(t, task)
	// A schemaless value is a map; its fields come out in Java HashMap
	// order, as Jackson writes the HashMap Kafka's JsonConverter reads,
	// the same on every run.
	assert.Equal(t, map[string][]byte{
		"topics/orders/region=eu/shard=7/orders+0+0000000004.json": []byte(`{"x":[1],"shard":7,"region":"eu"}` + "\n"),
	}, objects(t, cfg))
}

func TestUnreachableStoreIsARetriableErrorNamingTheObject(t *testing.T) {
	backend := s3mem.New()
	require.NoError(t, backend.CreateBucket(testBucket))
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	cfg := baseConfig(srv.URL)
	cfg["flush.size"] = "1"
	task := start(t, cfg, connecttest.NewSinkContext(t, cfg), connect.TopicPartition{Topic: "orders"})
	srv.Close() // the store goes away after the start
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := putSettled(ctx, t, task, []*connect.Record{order(0, 0, 0, "eu")})
	require.ErrorIs(t, err, connect.ErrRetriable)
	assert.ErrorContains(t, err, "upload s3://sink/topics/orders/partition=0/orders+0+0000000000.json")
	off, err := task.Flush(ctx, nil)
	require.NoError(t, err)
	assert.Empty(t, off)
}

// TestStartChecksTheBucket: a missing bucket or an unreachable store fails
// the task's start with what to fix (kit.CheckBucket), as Confluent's sink
// checks its bucket at start, rather than the first upload.
func TestStartChecksTheBucket(t *testing.T) {
	for name, c := range map[string]struct{ url, bucket, want string }{
		"missing bucket": {fakeS3(t), "nope", "does not exist"},
		"unreachable":    {"http://127.0.0.1:1", testBucket, "unreachable"},
	} {
		cfg := baseConfig(c.url)
		cfg["s3.bucket.name"] = c.bucket
		cfg["s3.part.retries"] = "0"
		err := newSinkTask().Start(connecttest.NewSinkContext(t, cfg), cfg)
		require.Error(t, err, name)
		assert.Contains(t, err.Error(), c.want, name)
	}
}
