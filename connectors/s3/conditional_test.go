package s3

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/connecttest"
	"github.com/sluicehq/sluice/internal/testenv"
	"github.com/sluicehq/sluice/runtime/connect"
)

// versityConfig is baseConfig against a fresh versitygw with its bucket.
func versityConfig(t *testing.T) (map[string]string, *testenv.S3) {
	srv := testenv.StartS3(t)
	srv.CreateBucket(t, testBucket)
	cfg := baseConfig(srv.Endpoint)
	cfg["s3.region"], cfg["aws.access.key.id"], cfg["aws.secret.access.key"] = srv.Region, srv.AccessKey, srv.SecretKey
	return cfg, srv
}

// conditionalTask starts a task with conditional writes in force, as
// enable.conditional.writes=true with rotate.schedule.interval.ms set
// makes them (that key is the time-based rotation's).
func conditionalTask(t *testing.T, cfg map[string]string, sc connect.SinkTaskContext, tps ...connect.TopicPartition) *sinkTask {
	task := newSinkTask()
	real := task.newUploader
	task.newUploader = func(ctx context.Context, s *settings) (uploader, error) {
		require.True(t, cfg[ConditionalWritesConfig] != "false")
		s.conditional = true
		return real(ctx, s)
	}
	require.NoError(t, task.Start(sc, cfg))
	require.NoError(t, task.Open(tps))
	return task
}

func putObject(t *testing.T, srv *testenv.S3, key string, body []byte) {
	_, err := srv.Client(t).PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(testBucket), Key: aws.String(key), Body: bytes.NewReader(body)})
	require.NoError(t, err)
}

// TestConditionalWriteMovesToNextFreeStartOffset: with conditional writes,
// a file whose name is taken is neither replaced nor committed; as
// Confluent's findNextAvailableFile does, the partition is read again
// from the first offset after the taken file's start whose file is free,
// whether the file is one PutObject or a multipart upload (whose
// CompleteMultipartUpload carries If-None-Match).
func TestConditionalWriteMovesToNextFreeStartOffset(t *testing.T) {
	for name, size := range map[string]int{"put": 10, "multipart": 2 << 20} {
		t.Run(name, func(t *testing.T) {
			cfg, srv := versityConfig(t)
			cfg["retry.backoff.ms"] = "0"
			cfg["flush.size"] = "3"
			cfg["s3.http.send.expect.continue"] = "false"
			cfg["s3.part.size"] = "5242880"
			tp := connect.TopicPartition{Topic: "big"}
			// Files of an earlier run with other rotation times hold
			// offsets 0 and 1 on.
			old0, old1 := []byte("earlier file at 0\n"), []byte("earlier file at 1\n")
			putObject(t, srv, "topics/big/partition=0/big+0+0000000000.json", old0)
			putObject(t, srv, "topics/big/partition=0/big+0+0000000001.json", old1)
			sc := newRewindContext(t, cfg)
			task := conditionalTask(t, cfg, sc, tp)
			recs := bigRecords(0, 8, size)
			failures := simulateWorker(t, task, sc, map[connect.TopicPartition][]*connect.Record{tp: recs}, 4)
			assert.Equal(t, 1, failures)
			assert.Equal(t, map[connect.TopicPartition]int64{tp: 2}, sc.Rewinds())
			off, err := task.Flush(context.Background(), nil)
			require.NoError(t, err)
			assert.Equal(t, int64(8), off[tp])
			got := objects(t, cfg)
			assert.Equal(t, []string{
				"topics/big/partition=0/big+0+0000000000.json",
				"topics/big/partition=0/big+0+0000000001.json",
				"topics/big/partition=0/big+0+0000000002.json",
				"topics/big/partition=0/big+0+0000000005.json",
			}, keys(got))
			assert.Equal(t, old0, got["topics/big/partition=0/big+0+0000000000.json"], "a conditional write replaced a file")
			assert.Equal(t, old1, got["topics/big/partition=0/big+0+0000000001.json"])
			lines := strings.Split(strings.TrimSuffix(string(got["topics/big/partition=0/big+0+0000000002.json"]), "\n"), "\n")
			require.Len(t, lines, 3)
			assert.True(t, strings.HasSuffix(lines[0], `"i":2}`), "the file at 2 starts with record 2")
			assert.True(t, strings.HasSuffix(lines[2], `"i":4}`), "the file at 2 ends with record 4")
			assert.Empty(t, srv.ListMultipartUploads(t, testBucket))
		})
	}
}

// TestWithoutConditionalWritesAFileIsReplaced: where Confluent does not
// apply conditional writes (no scheduled rotation: names are
// deterministic), a file of the same name is replaced, as a restart from
// the committed offset rewrites it.
func TestWithoutConditionalWritesAFileIsReplaced(t *testing.T) {
	cfg, srv := versityConfig(t)
	putObject(t, srv, "topics/orders/partition=0/orders+0+0000000000.json", []byte("stale\n"))
	task := start(t, cfg, connecttest.NewSinkContext(t, cfg), connect.TopicPartition{Topic: "orders"})
	require.NoError(t, task.Put(context.Background(), []*connect.Record{order(0, 0, 1, "eu"), order(0, 1, 2, "eu"), order(0, 2, 3, "eu")}))
	waitCommits(t, task)
	assert.Equal(t, "{\"id\":1,\"region\":\"eu\"}\n{\"id\":2,\"region\":\"eu\"}\n{\"id\":3,\"region\":\"eu\"}\n",
		string(srv.Get(t, testBucket, "topics/orders/partition=0/orders+0+0000000000.json")))
}

func tagsOf(t *testing.T, srv *testenv.S3, key string) map[string]string {
	out, err := srv.Client(t).GetObjectTagging(context.Background(), &s3.GetObjectTaggingInput{Bucket: aws.String(testBucket), Key: aws.String(key)})
	require.NoError(t, err)
	tags := map[string]string{}
	for _, tg := range out.TagSet {
		tags[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
	}
	return tags
}

// TestTagging: s3.object.tagging tags each file with its offsets and
// record count (Confluent's tagFile), plus the configured pairs; the
// objects stay intact.
func TestTagging(t *testing.T) {
	cfg, srv := versityConfig(t)
	cfg["s3.object.tagging"] = "true"
	cfg["s3.object.tagging.key.value.pairs"] = "team:data,env:prod"
	cfg["partitioner.class"] = FieldPartitionerClass
	cfg["partition.field.name"] = "region"
	task := start(t, cfg, connecttest.NewSinkContext(t, cfg), connect.TopicPartition{Topic: "orders"})
	require.NoError(t, task.Put(context.Background(), []*connect.Record{
		order(0, 10, 1, "eu"), order(0, 11, 2, "us"), order(0, 12, 3, "eu"),
	}))
	waitCommits(t, task)
	assert.Equal(t, map[string]string{"startOffset": "10", "endOffset": "12", "recordCount": "2", "team": "data", "env": "prod"},
		tagsOf(t, srv, "topics/orders/region=eu/orders+0+0000000010.json"))
	assert.Equal(t, map[string]string{"startOffset": "11", "endOffset": "11", "recordCount": "1", "team": "data", "env": "prod"},
		tagsOf(t, srv, "topics/orders/region=us/orders+0+0000000011.json"))
	assert.Equal(t, "{\"id\":1,\"region\":\"eu\"}\n{\"id\":3,\"region\":\"eu\"}\n",
		string(srv.Get(t, testBucket, "topics/orders/region=eu/orders+0+0000000010.json")))
}

// TestTaggingErrors: a tag the store refuses (a key over S3's 128
// characters) is logged and skipped with ignore, and stops the task with
// fail; the file is uploaded either way.
func TestTaggingErrors(t *testing.T) {
	for _, behavior := range []string{"ignore", "fail"} {
		t.Run(behavior, func(t *testing.T) {
			cfg, srv := versityConfig(t)
			cfg["flush.size"] = "1"
			cfg["s3.object.tagging"] = "true"
			cfg["s3.object.tagging.key.value.pairs"] = strings.Repeat("k", 200) + ":v"
			cfg["s3.object.behavior.on.tagging.error"] = behavior
			task := start(t, cfg, connecttest.NewSinkContext(t, cfg), connect.TopicPartition{Topic: "orders"})
			err := putSettled(context.Background(), t, task, []*connect.Record{order(0, 0, 1, "eu")})
			if behavior == "ignore" {
				require.NoError(t, err)
			} else {
				require.Error(t, err)
				assert.NotErrorIs(t, err, connect.ErrRetriable)
				assert.ErrorContains(t, err, "tag s3://sink/topics/orders/partition=0/orders+0+0000000000.json")
				assert.ErrorContains(t, err, "s3.object.behavior.on.tagging.error=fail")
			}
			assert.Equal(t, []string{"topics/orders/partition=0/orders+0+0000000000.json"}, srv.List(t, testBucket, ""))
		})
	}
}

func TestUploadConfigRefusals(t *testing.T) {
	for _, tc := range []struct {
		set  map[string]string
		want string
	}{
		{map[string]string{"s3.sse.kms.key.id": "k"}, "set s3.ssea.name=aws:kms"},
		{map[string]string{"s3.sse.customer.key": "a2V5"}, "SSE-C needs s3.ssea.name=AES256"},
		{map[string]string{"s3.ssea.name": "AES256", "s3.sse.customer.key": "a2V5"}, "32-byte"},
		{map[string]string{"s3.ssea.name": "DES"}, "s3.ssea.name"},
		{map[string]string{"s3.acl.canned": "everyone"}, "bucket-owner-full-control"},
		{map[string]string{"s3.compression.level": "10"}, "s3.compression.level"},
		{map[string]string{"s3.object.tagging.key.value.pairs": "novalue"}, `"novalue" is not a key:value pair`},
		{map[string]string{"s3.object.behavior.on.tagging.error": "warn"}, "s3.object.behavior.on.tagging.error"},
		{map[string]string{"s3.elastic.buffer.init.capacity": "10"}, "s3.elastic.buffer.init.capacity"},
		{map[string]string{"retry.backoff.ms": "-1"}, "retry.backoff.ms"},
	} {
		t.Run(fmt.Sprint(tc.set), func(t *testing.T) {
			cfg := baseConfig("http://127.0.0.1:1")
			for k, v := range tc.set {
				cfg[k] = v
			}
			_, err := parseSettings(cfg)
			assert.ErrorContains(t, err, tc.want)
		})
	}
}
