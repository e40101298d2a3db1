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
	_, err := parseS3SinkFlags([]string{"--records", "10", "--partitions", "3", "--part-size", "1024", "--format", "csv"}, &stderr)
	assert.ErrorContains(t, err, `--format "csv" is not one of json, parquet`)
	assert.ErrorContains(t, err, "must split evenly")
	assert.ErrorContains(t, err, "below S3's 5 MiB minimum")
}

// TestS3SinkRuns runs `sluice bench s3-sink` small against versitygw, in
// each format.
func TestS3SinkRuns(t *testing.T) {
	for format, ext := range map[string]string{"json": ".json", "parquet": ".snappy.parquet"} {
		t.Run(format, func(t *testing.T) {
			srv := testenv.StartS3(t)
			srv.CreateBucket(t, "bench")
			var stdout, stderr strings.Builder
			require.NoError(t, Main(context.Background(), []string{"s3-sink", "--store-url", srv.Endpoint, "--bucket", "bench",
				"--access-key", srv.AccessKey, "--secret-key", srv.SecretKey, "--records", "8000", "--file-records", "4000",
				"--part-size", "5242880", "--format", format}, &stdout, &stderr), stderr.String())
			assert.Contains(t, stdout.String(), "s3-sink "+format+": 8000 records")
			assert.Contains(t, stdout.String(), "MB/s of record JSON")
			assert.Contains(t, stdout.String(), "ratio")
			files := srv.List(t, "bench", "topics/bench/partition=0/")
			require.Len(t, files, 2)
			for _, f := range files {
				assert.True(t, strings.HasSuffix(f, ext), f)
			}
		})
	}
}
