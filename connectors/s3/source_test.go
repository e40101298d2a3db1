package s3

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/connecttest"
	"github.com/sluicehq/sluice/internal/testenv"
	"github.com/sluicehq/sluice/runtime/connect"
)

// The source's tests write objects by hand, byte for byte as Confluent's
// sink lays them out (§3.2–3.3 of the reference), so they do not depend
// on this package's sink.

const srcBucket = "backup"

// srcServer is an S3 server with srcBucket: gofakes3 for fast tests.
type srcServer struct {
	url string
	c   *s3.Client
	// region and keys, when not gofakes3's (which checks none).
	region, access, secret string
}

func srcFake(t *testing.T) *srcServer {
	t.Helper()
	backend := s3mem.New()
	require.NoError(t, backend.CreateBucket(srcBucket))
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(srv.Close)
	c := s3.New(s3.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider("AKIAEXAMPLE", "secret", ""),
		// No idle connection left behind: the leak checks count goroutines.
		HTTPClient: &http.Client{Transport: &http.Transport{DisableKeepAlives: true}},
	})
	return &srcServer{url: srv.URL, c: c}
}

// put writes one object.
func (s *srcServer) put(t testing.TB, key string, data []byte) {
	t.Helper()
	_, err := s.c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(srcBucket), Key: aws.String(key), Body: bytes.NewReader(data)})
	require.NoError(t, err, "put %s", key)
}

// config is a restore config for the server.
func (s *srcServer) config(backupFormat string) map[string]string {
	cfg := map[string]string{
		"format.class":          backupFormat,
		"s3.bucket.name":        srcBucket,
		"s3.region":             "us-east-1",
		"store.url":             s.url,
		"aws.access.key.id":     "AKIAEXAMPLE",
		"aws.secret.access.key": "secret",
		"s3.poll.interval.ms":   "50",
	}
	if s.access != "" {
		cfg["s3.region"], cfg["aws.access.key.id"], cfg["aws.secret.access.key"] = s.region, s.access, s.secret
	}
	return cfg
}

// lines joins lines each followed by "\n", as the JSON format writes them.
func jsonLines(ls ...string) []byte { return []byte(strings.Join(ls, "\n") + "\n") }

// gz compresses b.
func gz(t *testing.T, b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	_, err := w.Write(b)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return buf.Bytes()
}

// srcStart starts a source task on config with ctx's offsets.
func srcStart(t *testing.T, config map[string]string, ctx *connecttest.SourceContext) *sourceTask {
	t.Helper()
	task := newSourceTask()
	task.idleWait = 10 * time.Millisecond
	require.NoError(t, task.Start(ctx, config))
	t.Cleanup(func() { _ = task.Stop() })
	return task
}

// pollN polls until n records came (failing after 10s), committing each
// batch when commit is set.
func pollN(t *testing.T, task *sourceTask, ctx *connecttest.SourceContext, n int) []*connect.Record {
	t.Helper()
	var out []*connect.Record
	deadline := time.Now().Add(10 * time.Second)
	for len(out) < n {
		require.True(t, time.Now().Before(deadline), "got %d records of %d within 10s", len(out), n)
		recs, err := task.Poll(context.Background())
		require.NoError(t, err)
		if ctx != nil && len(recs) > 0 {
			require.NoError(t, ctx.Commit(task, recs))
		}
		out = append(out, recs...)
	}
	require.Len(t, out, n, "more records than expected")
	return out
}

// pollErr polls until an error comes (failing after 10s) and returns it.
func pollErr(t *testing.T, task *sourceTask) error {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := task.Poll(context.Background()); err != nil {
			return err
		}
	}
	t.Fatal("no error within 10s")
	return nil
}

// values returns the records' values.
func values(recs []*connect.Record) []any {
	out := make([]any, len(recs))
	for i, r := range recs {
		out[i] = r.Value
	}
	return out
}

func TestRestoreJSONOrderPartitionsAndOffsets(t *testing.T) {
	srv := srcFake(t)
	// A field partitioner spread partition 0 over two folders: the files
	// are read by start offset (0, 3, 5), not by folder (eu before us).
	srv.put(t, "topics/orders/region=eu/orders+0+0000000000.json", jsonLines(`{"id":0}`, `{"id":1}`, `{"id":2}`))
	srv.put(t, "topics/orders/region=us/orders+0+0000000003.json", jsonLines(`{"id":3}`, `{"id":4}`))
	srv.put(t, "topics/orders/region=eu/orders+0+0000000005.json", jsonLines(`{"id":5,"n":1.5,"s":"x"}`))
	srv.put(t, "topics/orders/partition=1/orders+1+0000000000.json", jsonLines(`{"id":100}`))
	srv.put(t, "topics/orders/region=eu/notes.txt", []byte("not a backup object: ignored"))
	srv.put(t, "elsewhere/orders+0+0000000000.json", jsonLines(`{"id":-1}`)) // outside topics.dir
	cfg := srv.config(JSONFormatClass)
	task := srcStart(t, cfg, connecttest.NewSourceContext(t, cfg))
	recs := pollN(t, task, nil, 7)
	byPartition := map[int32][]any{}
	for _, r := range recs {
		assert.Equal(t, "orders", r.Topic)
		assert.Nil(t, r.Key)
		assert.True(t, r.Timestamp.IsZero(), "the sink stores no timestamp")
		byPartition[r.Partition] = append(byPartition[r.Partition], r.Value)
	}
	assert.Equal(t, []any{
		map[string]any{"id": int64(0)}, map[string]any{"id": int64(1)}, map[string]any{"id": int64(2)},
		map[string]any{"id": int64(3)}, map[string]any{"id": int64(4)},
		map[string]any{"id": int64(5), "n": 1.5, "s": "x"},
	}, byPartition[0])
	assert.Equal(t, []any{map[string]any{"id": int64(100)}}, byPartition[1])
	last := recs[0]
	for _, r := range recs {
		if r.Partition == 0 {
			last = r
		}
	}
	assert.Equal(t, map[string]any{"folder": "topics/orders", "topic": "orders", "partition": int64(0)}, last.SourcePartition)
	assert.Equal(t, map[string]any{"key": "topics/orders/region=eu/orders+0+0000000005.json", "index": int64(1)}, last.SourceOffset)
}

func TestRestoreResumesMidObjectAndPicksUpNewFiles(t *testing.T) {
	srv := srcFake(t)
	srv.put(t, "topics/t/partition=0/t+0+0000000000.json", jsonLines("0", "1", "2", "3", "4"))
	cfg := srv.config(JSONFormatClass)
	cfg["record.batch.max.size"] = "2"
	ctx := connecttest.NewSourceContext(t, cfg)
	task := srcStart(t, cfg, ctx)
	recs, err := task.Poll(context.Background())
	require.NoError(t, err)
	require.Equal(t, []any{int64(0), int64(1)}, values(recs), "a batch is bounded by record.batch.max.size")
	require.NoError(t, ctx.Commit(task, recs))
	require.NoError(t, task.Stop())

	// A restart resumes after record 1 of the object.
	restarted := ctx.Restarted()
	task = srcStart(t, cfg, restarted)
	got := pollN(t, task, restarted, 3)
	assert.Equal(t, []any{int64(2), int64(3), int64(4)}, values(got))
	// A file written later is picked up by polling.
	srv.put(t, "topics/t/partition=0/t+0+0000000005.json", jsonLines("5"))
	got = pollN(t, task, restarted, 1)
	assert.Equal(t, []any{int64(5)}, values(got))
	assert.Equal(t, map[string]any{"key": "topics/t/partition=0/t+0+0000000005.json", "index": int64(1)}, got[0].SourceOffset)
	require.NoError(t, task.Stop())

	// Restarted after the last record of the last file: nothing again.
	again := restarted.Restarted()
	task = srcStart(t, cfg, again)
	for range 5 {
		recs, err := task.Poll(context.Background())
		require.NoError(t, err)
		require.Empty(t, recs)
	}
}

func TestRestoreByteArrayGzipSeparatorAndDelims(t *testing.T) {
	srv := srcFake(t)
	srv.put(t, "backup/raw/partition=3/raw-3-0007.bin.gz", gz(t, []byte("a|bc||")))
	srv.put(t, "backup/raw/partition=3/raw-3-0010.bin", []byte("not gzip: another extension, ignored"))
	cfg := srv.config(ByteArrayFormatClass)
	cfg["s3.compression.type"] = "gzip"
	cfg["topics.dir"] = "backup"
	cfg["file.delim"] = "-"
	cfg["format.bytearray.separator"] = "|"
	task := srcStart(t, cfg, connecttest.NewSourceContext(t, cfg))
	recs := pollN(t, task, nil, 3)
	assert.Equal(t, []any{[]byte("a"), []byte("bc"), []byte("")}, values(recs))
	for _, r := range recs {
		assert.Equal(t, "raw", r.Topic)
		assert.Equal(t, int32(3), r.Partition)
		assert.Equal(t, connect.OptionalBytesSchema, r.ValueSchema)
	}
}

func TestRestoreJSONKeysAndHeadersSidecars(t *testing.T) {
	srv := srcFake(t)
	dir := "topics/orders/partition=0/"
	srv.put(t, dir+"orders+0+0000000000.json", jsonLines(`{"id":1}`, `{"id":2}`))
	srv.put(t, dir+"orders+0+0000000000.keys.json", jsonLines(`"k1"`, `"k2"`))
	srv.put(t, dir+"orders+0+0000000000.headers.json", jsonLines(
		`{"headers":[{"key":"a","value":"1"},{"key":"b","value":null}]}`, `{"headers":[]}`))
	cfg := srv.config(JSONFormatClass)
	cfg["keys.format.class"] = JSONFormatClass
	cfg["headers.format.class"] = JSONFormatClass
	task := srcStart(t, cfg, connecttest.NewSourceContext(t, cfg))
	recs := pollN(t, task, nil, 2)
	assert.Equal(t, "k1", recs[0].Key)
	assert.Equal(t, "k2", recs[1].Key)
	assert.Equal(t, connect.Headers{
		{Key: "a", Schema: connect.OptionalStringSchema, Value: "1"},
		{Key: "b", Schema: connect.OptionalStringSchema, Value: nil},
	}, recs[0].Headers)
	assert.Empty(t, recs[1].Headers)
}

func TestRestoreSidecarCountMismatchNamesTheObjects(t *testing.T) {
	srv := srcFake(t)
	dir := "topics/orders/partition=0/"
	srv.put(t, dir+"orders+0+0000000000.json", jsonLines(`1`, `2`, `3`))
	srv.put(t, dir+"orders+0+0000000000.keys.json", jsonLines(`"k1"`, `"k2"`))
	cfg := srv.config(JSONFormatClass)
	cfg["keys.format.class"] = JSONFormatClass
	task := srcStart(t, cfg, connecttest.NewSourceContext(t, cfg))
	err := pollErr(t, task)
	assert.ErrorContains(t, err, dir+"orders+0+0000000000.keys.json")
	assert.ErrorContains(t, err, dir+"orders+0+0000000000.json")
}

func TestRestoreBadNameFailsNamingTheKey(t *testing.T) {
	srv := srcFake(t)
	srv.put(t, "topics/orders/partition=0/orders+zero+0000000000.json", jsonLines(`1`))
	cfg := srv.config(JSONFormatClass)
	task := srcStart(t, cfg, connecttest.NewSourceContext(t, cfg))
	err := pollErr(t, task)
	assert.ErrorContains(t, err, "topics/orders/partition=0/orders+zero+0000000000.json")
	assert.ErrorContains(t, err, "partition")
	// The connector, which lists the backup at start, fails the same way.
	c := SourcePlugin.NewConnector()
	err = c.Start(connecttest.NewConnectorContext(t), cfg)
	assert.ErrorContains(t, err, "orders+zero+0000000000.json")
}

func TestRestoreLongLineFailsNamingTheObject(t *testing.T) {
	srv := srcFake(t)
	srv.put(t, "topics/t/partition=0/t+0+0000000000.bin", []byte(strings.Repeat("x", 100)+"\n"))
	cfg := srv.config(ByteArrayFormatClass)
	cfg["record.max.bytes"] = "10"
	task := srcStart(t, cfg, connecttest.NewSourceContext(t, cfg))
	err := pollErr(t, task)
	assert.ErrorContains(t, err, "topics/t/partition=0/t+0+0000000000.bin")
	assert.ErrorContains(t, err, "record.max.bytes=10")
}

func TestRestoreCorruptOffsetKey(t *testing.T) {
	srv := srcFake(t)
	srv.put(t, "topics/t/partition=0/t+0+0000000000.json", jsonLines("1"))
	cfg := srv.config(JSONFormatClass)
	ctx := connecttest.NewSourceContext(t, cfg)
	require.NoError(t, ctx.Offsets.Put(
		map[string]any{"folder": "topics/t", "topic": "t", "partition": int64(0)},
		map[string]any{"key": "topics/u/partition=0/u+0+0000000000.json", "index": int64(0)}))
	task := srcStart(t, cfg, ctx)
	err := pollErr(t, task)
	assert.ErrorIs(t, err, connect.ErrOffset)
	assert.ErrorContains(t, err, "topics/u/partition=0/u+0+0000000000.json")
}

func TestSourceTaskConfigsRoundRobin(t *testing.T) {
	srv := srcFake(t)
	for _, tp := range []string{"a+0", "a+1", "a+2", "b+0", "b+1"} {
		topic, _, _ := strings.Cut(tp, "+")
		srv.put(t, "topics/"+topic+"/x/"+tp+"+0000000000.json", jsonLines("1"))
	}
	cfg := srv.config(JSONFormatClass)
	c := SourcePlugin.NewConnector()
	cc := connecttest.NewConnectorContext(t)
	require.NoError(t, c.Start(cc, cfg))
	defer func() { require.NoError(t, c.Stop()) }()
	got, err := c.TaskConfigs(2)
	require.NoError(t, err)
	require.Len(t, got, 2)
	assert.Equal(t, "a\t0\na\t2\nb\t1\n", got[0][taskPartitionsConfig])
	assert.Equal(t, "a\t1\nb\t0\n", got[1][taskPartitionsConfig])
	got, err = c.TaskConfigs(10)
	require.NoError(t, err)
	assert.Len(t, got, 5, "never more tasks than partitions")
	got, err = c.TaskConfigs(1)
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.NotContains(t, got[0], taskPartitionsConfig, "a single task reads every partition")

	// A task reads only its partitions.
	two, err := c.TaskConfigs(2)
	require.NoError(t, err)
	task := srcStart(t, two[1], connecttest.NewSourceContext(t, two[1]))
	recs := pollN(t, task, nil, 2)
	var tps []string
	for _, r := range recs {
		tps = append(tps, r.Topic+"-"+strconv.Itoa(int(r.Partition)))
	}
	assert.ElementsMatch(t, []string{"a-1", "b-0"}, tps)

	// A new partition asks for new task configs.
	srv.put(t, "topics/c/partition=0/c+0+0000000000.json", jsonLines("1"))
	require.Eventually(t, func() bool { return cc.Reconfigurations() > 0 }, 10*time.Second, 20*time.Millisecond)
}

func TestSourceMissingBucketFailsStartAndValidate(t *testing.T) {
	srv := srcFake(t)
	cfg := srv.config(JSONFormatClass)
	cfg["s3.bucket.name"] = "nope"
	err := newSourceTask().Start(connecttest.NewSourceContext(t, cfg), cfg)
	assert.ErrorContains(t, err, `S3 bucket "nope" does not exist (s3.bucket.name)`)
	err = SourcePlugin.NewConnector().Start(connecttest.NewConnectorContext(t), cfg)
	assert.ErrorContains(t, err, `S3 bucket "nope" does not exist`)
	v := SourcePlugin.NewConnector().(connect.ConnectorValidator)
	results := v.Validate(context.Background(), cfg, SourcePlugin.Config.Validate(cfg))
	assert.Contains(t, srcErrors(results)["s3.bucket.name"], `S3 bucket "nope" does not exist (s3.bucket.name)`)

	// An endpoint nothing listens on is reported on store.url.
	cfg["s3.bucket.name"], cfg["store.url"], cfg["s3.part.retries"] = srcBucket, testenv.ClosedEndpoint(t), "0"
	results = v.Validate(context.Background(), cfg, SourcePlugin.Config.Validate(cfg))
	assert.Contains(t, srcErrors(results)["store.url"], "S3 endpoint unreachable")
}

// srcErrors returns the first error of each key that has one.
func srcErrors(results []connect.ConfigValue) map[string]string {
	out := map[string]string{}
	for _, r := range results {
		if len(r.Errors) > 0 {
			out[r.Name] = r.Errors[0]
		}
	}
	return out
}

func TestSourceConfigRefusals(t *testing.T) {
	srv := srcFake(t)
	for name, tc := range map[string]struct {
		set  map[string]string
		want string
	}{
		"generic without routes": {map[string]string{"mode": "GENERIC"}, "topic.regex.list"},
		"generic avro":           {map[string]string{"mode": "GENERIC", "topic.regex.list": "t:.*", "format.class": AvroFormatClass}, "GENERIC mode reads"},
		"bad pair":               {map[string]string{"topic.regex.list": "no-colon"}, "topic:regex"},
		"bad regex":              {map[string]string{"topic.regex.list": "t:("}, "regex"},
		"unsupported key":        {map[string]string{"task.batch.size": "10"}, "task.batch.size"},
		"bad mode":               {map[string]string{"mode": "BACKUP"}, "mode"},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := srv.config(JSONFormatClass)
			for k, v := range tc.set {
				cfg[k] = v
			}
			_, err := parseSourceSettings(cfg)
			assert.ErrorContains(t, err, tc.want)
		})
	}
}

// TestRestoreBoundedQueueListsAgain: a stream remembers at most queueMax
// files of a listing, and lists again once it read them.
func TestRestoreBoundedQueueListsAgain(t *testing.T) {
	srv := srcFake(t)
	for i := range 7 {
		// Folders in the reverse order of the offsets.
		srv.put(t, "topics/t/f="+strconv.Itoa(9-i)+"/t+0+"+fmt.Sprintf("%010d", i)+".json", jsonLines(strconv.Itoa(i)))
	}
	cfg := srv.config(JSONFormatClass)
	cfg["s3.poll.interval.ms"] = "600000" // lists again because it read its queue, not by polling
	task := srcStart(t, cfg, connecttest.NewSourceContext(t, cfg))
	task.rd.(*restorer).queueMax = 2
	recs := pollN(t, task, nil, 7)
	assert.Equal(t, []any{int64(0), int64(1), int64(2), int64(3), int64(4), int64(5), int64(6)}, values(recs))
}

// TestSourceAcceptsAPastedSinkConfig: the sink's layout keys parse and
// are declared (so /config/validate shows them), unused.
func TestSourceAcceptsAPastedSinkConfig(t *testing.T) {
	srv := srcFake(t)
	srv.put(t, "topics/t/year=2026/month=12/t+0+0000000000.json", jsonLines("1"))
	cfg := srv.config(JSONFormatClass)
	for k, v := range map[string]string{
		"connector.class": "io.confluent.connect.s3.source.S3SourceConnector", "storage.class": S3StorageClass,
		"flush.size": "1000", "partitioner.class": TimeBasedPartitionerClass, "path.format": "'year'=YYYY/'month'=MM",
		"partition.duration.ms": "3600000", "locale": "en-US", "timezone": "UTC", "timestamp.extractor": "Record",
	} {
		cfg[k] = v
	}
	for _, r := range SourcePlugin.Config.Validate(cfg) {
		assert.Empty(t, r.Errors, r.Name)
	}
	task := srcStart(t, cfg, connecttest.NewSourceContext(t, cfg))
	assert.Equal(t, []any{int64(1)}, values(pollN(t, task, nil, 1)))
}
