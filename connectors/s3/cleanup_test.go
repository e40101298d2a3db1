package s3

import (
	"bytes"
	"context"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/connecttest"
	"github.com/sluicehq/sluice/internal/testenv"
	"github.com/sluicehq/sluice/runtime/connect"
)

// startUpload begins a multipart upload of key with one part uploaded, as
// a task killed during the upload leaves it.
func startUpload(t *testing.T, srv *testenv.S3, key string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := srv.Client(t)
	up, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(testBucket), Key: aws.String(key)})
	require.NoError(t, err)
	_, err = c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(testBucket), Key: aws.String(key),
		UploadId: up.UploadId, PartNumber: aws.Int32(1), Body: bytes.NewReader([]byte("part one"))})
	require.NoError(t, err)
}

// openUploads returns the keys of the bucket's incomplete multipart
// uploads, sorted.
func openUploads(t *testing.T, srv *testenv.S3) []string {
	t.Helper()
	var out []string
	for _, u := range srv.ListMultipartUploads(t, testBucket) {
		out = append(out, aws.ToString(u.Key))
	}
	slices.Sort(out)
	return out
}

// afterSecond waits until the clock is past the second after start's, so
// that a store's whole-second Initiated time of an upload begun then is
// surely after start.
func afterSecond(start time.Time) {
	time.Sleep(time.Until(start.Truncate(time.Second).Add(time.Second + 10*time.Millisecond)))
}

// TestOpenAbortsStaleUploads: when a task is given partitions, the
// multipart uploads of their files that a killed owner left are aborted,
// even those of the same second (versitygw's Initiated times are whole
// seconds, and a worker may restart within one), whatever directory the
// partitioner chose; uploads of other partitions, other topics, other
// prefixes and keys that are not files of the sink stay.
func TestOpenAbortsStaleUploads(t *testing.T) {
	cfg, srv := versityConfig(t)
	stale := []string{
		"topics/orders/partition=0/orders+0+0000000000.json",
		"topics/orders/partition=0/orders+0+0000000000.keys.json",
		"topics/orders/region=eu/shard=7/orders+1+0000000042.json.gz",
	}
	kept := []string{
		"other/orders/partition=0/orders+0+0000000000.json",
		"topics/orders/partition=0/notes.txt",
		"topics/orders/partition=0/orders+0+.json",
		"topics/orders/partition=10/orders+10+0000000000.json",
		"topics/orders/partition=2/orders+2+0000000000.json",
		"topics/orders2/partition=0/orders2+0+0000000000.json",
		"topics/ordersx/partition=0/orders+0+0000000000.json",
	}
	for _, k := range append(slices.Clone(stale), kept...) {
		startUpload(t, srv, k)
	}

	sc := connecttest.NewSinkContext(t, cfg)
	start(t, cfg, sc, connect.TopicPartition{Topic: "orders", Partition: 0}, connect.TopicPartition{Topic: "orders", Partition: 1})
	assert.Equal(t, kept, openUploads(t, srv))
}

// TestStartAbortsStaleUploadsOfPartitionsOpenedBefore: the worker's
// consumer may join its group and Open partitions before the task starts;
// Start then cleans up for them.
func TestStartAbortsStaleUploadsOfPartitionsOpenedBefore(t *testing.T) {
	cfg, srv := versityConfig(t)
	startUpload(t, srv, "topics/orders/partition=0/orders+0+0000000000.json")
	startUpload(t, srv, "topics/orders/partition=1/orders+1+0000000000.json")
	task := newSinkTask()
	require.NoError(t, task.Open([]connect.TopicPartition{{Topic: "orders", Partition: 1}}))
	assert.Len(t, openUploads(t, srv), 2, "nothing to clean with before Start")
	require.NoError(t, task.Start(connecttest.NewSinkContext(t, cfg), cfg))
	assert.Equal(t, []string{"topics/orders/partition=0/orders+0+0000000000.json"}, openUploads(t, srv))
}

// TestStaleCleanupSparesLaterUploads: an upload begun after the partition
// was assigned (a live task's) is never aborted.
func TestStaleCleanupSparesLaterUploads(t *testing.T) {
	cfg, srv := versityConfig(t)
	startUpload(t, srv, "topics/orders/partition=0/orders+0+0000000000.json")
	cutoff := time.Now()
	afterSecond(cutoff)
	startUpload(t, srv, "topics/orders/partition=0/orders+0+0000000100.json")

	task := start(t, cfg, connecttest.NewSinkContext(t, cfg))
	aborted, err := task.staleFor(t).abort(context.Background(), []connect.TopicPartition{{Topic: "orders", Partition: 0}}, cutoff)
	require.NoError(t, err)
	assert.Equal(t, []string{"topics/orders/partition=0/orders+0+0000000000.json"}, aborted)
	assert.Equal(t, []string{"topics/orders/partition=0/orders+0+0000000100.json"}, openUploads(t, srv))
}

// TestStaleCleanupPages: more uploads than a listing page holds are all
// aborted, with pages of other partitions' uploads before, between and
// after them, and several uploads of one key (a file whose upload was
// killed more than once).
func TestStaleCleanupPages(t *testing.T) {
	cfg, srv := versityConfig(t)
	for _, off := range []string{"00", "10", "20"} {
		startUpload(t, srv, "topics/orders/k=0/orders+4+00000000"+off+".json")
		startUpload(t, srv, "topics/orders/k=1/orders+3+00000000"+off+".json")
		startUpload(t, srv, "topics/orders/k=2/orders+4+00000000"+off+".json")
	}
	startUpload(t, srv, "topics/orders/k=1/orders+3+0000000010.json")
	startUpload(t, srv, "topics/orders/k=1/orders+3+0000000010.json")
	task := start(t, cfg, connecttest.NewSinkContext(t, cfg))
	u := task.staleFor(t)
	u.pageSize = 2
	aborted, err := u.abort(context.Background(), []connect.TopicPartition{{Topic: "orders", Partition: 3}}, time.Now())
	require.NoError(t, err)
	assert.Len(t, aborted, 5)
	assert.Len(t, openUploads(t, srv), 6)
	for _, k := range openUploads(t, srv) {
		assert.Contains(t, k, "orders+4+")
	}
}

// staleFor returns the task's cleaner, built as Open builds it.
func (t *sinkTask) staleFor(tb *testing.T) *staleUploads {
	tb.Helper()
	c, err := newClient(context.Background(), t.s)
	require.NoError(tb, err)
	return &staleUploads{client: c, s: t.s}
}

func TestIsFileOf(t *testing.T) {
	s := &settings{topicsDir: "out", dirDelim: "_", fileDelim: "#"}
	u := &staleUploads{s: s}
	prefix := "out_t_"
	for key, want := range map[string]bool{
		"out_t_partition=5_t#5#0000000007.json":  true,
		"out_t_a_b_c_t#5#12.avro":                true,
		"out_t_t#5#0.bin":                        true,
		"out_t_partition=5_t#55#0000000007.json": false,
		"out_t_partition=5_t#5#x.json":           false,
		"out_t_partition=5_t+5+0000000007.json":  false,
		"out_t_partition=5_u#5#0000000007.json":  false,
	} {
		assert.Equal(t, want, u.isFileOf(key, prefix, "t", []int32{5, 6}), key)
	}
}

func TestBegunBy(t *testing.T) {
	cutoff := time.Date(2026, 1, 1, 12, 0, 0, 500_000_000, time.UTC)
	at := func(sec, nsec int) *time.Time {
		x := time.Date(2026, 1, 1, 12, 0, sec, nsec, time.UTC)
		return &x
	}
	assert.False(t, begunBy(nil, cutoff))
	assert.True(t, begunBy(at(0, 400_000_000), cutoff), "a precise time before")
	assert.False(t, begunBy(at(0, 600_000_000), cutoff), "a precise time after")
	assert.True(t, begunBy(at(0, 0), cutoff), "a whole second may stand for 12:00:00.1")
	assert.False(t, begunBy(at(1, 0), cutoff), "the whole second after")
}
