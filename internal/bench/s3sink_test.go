package bench

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/testenv"
)

func TestS3SinkFlags(t *testing.T) {
	var stderr strings.Builder
	_, err := parseS3SinkFlags([]string{"--records", "10", "--partitions", "3", "--part-size", "1024"}, &stderr)
	assert.ErrorContains(t, err, "must split evenly")
	assert.ErrorContains(t, err, "below S3's 5 MiB minimum")
}

// TestS3SinkRuns runs `sluice bench s3-sink` small against versitygw.
func TestS3SinkRuns(t *testing.T) {
	srv := testenv.StartS3(t)
	srv.CreateBucket(t, "bench")
	var stdout, stderr strings.Builder
	require.NoError(t, Main(context.Background(), []string{"s3-sink", "--store-url", srv.Endpoint, "--bucket", "bench",
		"--access-key", srv.AccessKey, "--secret-key", srv.SecretKey, "--records", "8000", "--file-records", "4000",
		"--part-size", "5242880"}, &stdout, &stderr), stderr.String())
	assert.Contains(t, stdout.String(), "s3-sink: 8000 JSON records")
	assert.Contains(t, stdout.String(), "ratio")
	assert.Len(t, srv.List(t, "bench", "topics/bench/partition=0/"), 2)
}
