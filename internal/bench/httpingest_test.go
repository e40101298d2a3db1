package bench

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestHTTPIngestFlags(t *testing.T) {
	var stderr strings.Builder
	o, err := parseHTTPIngestFlags([]string{"--brokers", "a:1", "--topic", "t", "--lines", "3000"}, &stderr)
	require.NoError(t, err)
	assert.Equal(t, HTTPIngestOptions{Brokers: []string{"a:1"}, Topic: "t", Partitions: 1, Format: "ndjson",
		Lines: 3000, LineSize: 1024, Batch: 1000, Clients: 16, LatencyLines: 1500}, o)

	o, err = parseHTTPIngestFlags([]string{"--latency-lines", "0", "--format", "es-bulk", "--skip-produce"}, &stderr)
	require.NoError(t, err)
	assert.Zero(t, o.LatencyLines)
	assert.True(t, o.SkipProduce)
	assert.True(t, strings.HasPrefix(o.Topic, "bench-http-ingest-"), "a new topic per run")

	_, err = parseHTTPIngestFlags([]string{"--format", "syslog", "--lines", "0", "--line-size", "10", "--batch", "0",
		"--clients", "0", "--latency-lines", "-2", "--partitions", "0"}, &stderr)
	require.Error(t, err)
	for _, want := range []string{`--format "syslog": want ndjson or es-bulk`, "--lines 0", "--line-size 10: want 64 or more",
		"--batch 0", "--clients 0", "--latency-lines -2", "--partitions 0"} {
		assert.Contains(t, err.Error(), want)
	}
	var stdout strings.Builder
	assert.ErrorContains(t, Main(t.Context(), []string{"http-ingest", "--lines", "-1"}, &stdout, &stderr), "bench http-ingest: --lines -1")
}

// The generated lines are JSON objects of exactly the size asked, newline
// included; an es-bulk body puts an index action before each.
func TestIngestBodies(t *testing.T) {
	for _, size := range []int{64, 100, 1024} {
		body := ingestBody("ndjson", 3, 10, size)
		lines := bytes.SplitAfter(body, []byte("\n"))
		require.Len(t, lines, 11) // the last is empty
		for _, l := range lines[:10] {
			assert.Len(t, l, size)
			var v map[string]any
			require.NoError(t, json.Unmarshal(l, &v), "%s", l)
			assert.Contains(t, v, "date")
		}
	}
	bulk := bytes.Split(bytes.TrimSuffix(ingestBody("es-bulk", 0, 2, 100), []byte("\n")), []byte("\n"))
	require.Len(t, bulk, 4)
	assert.JSONEq(t, `{"index":{"_index":"bench"}}`, string(bulk[0]))
	assert.JSONEq(t, `{"index":{"_index":"bench"}}`, string(bulk[2]))
}

// A tiny run: every line lands in the topic, the three phases report.
func TestHTTPIngestRunsEveryPhase(t *testing.T) {
	addr := startKfake(t)
	ctx := testContext(t)
	o := HTTPIngestOptions{Brokers: []string{addr}, Topic: "http-ingest", Partitions: 1, Format: "ndjson",
		Lines: 2000, LineSize: 200, Batch: 100, Clients: 4, LatencyLines: 500}
	r, err := HTTPIngest(ctx, o, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, 2000, r.Lines)
	assert.Equal(t, int64(2000*200), r.Bytes)
	assert.Equal(t, int64(2000+500+100), endOffsetSum(t, ctx, addr, "http-ingest"), "the phases' lines and the warm-up request")
	assert.Positive(t, r.P50)
	assert.GreaterOrEqual(t, r.P99, r.P50)
	assert.Equal(t, 2000, r.Produce.Records)
	assert.Equal(t, int64(2000), endOffsetSum(t, ctx, addr, "http-ingest-produce"))
	s := r.Summary()
	for _, want := range []string{"http-ingest ndjson: 2000 lines", "at half rate", "p99", "broker/http-ingest ratio"} {
		assert.Contains(t, s, want)
	}

	o.Format, o.Topic = "es-bulk", "http-ingest-es"
	_, err = HTTPIngest(ctx, o, io.Discard)
	if err != nil {
		assert.ErrorContains(t, err, "does not serve the Elasticsearch protocol")
	}
}

func TestHTTPSinkFlags(t *testing.T) {
	var stderr strings.Builder
	o, err := parseHTTPSinkFlags([]string{"--brokers", "a:1", "--topic", "t"}, &stderr)
	require.NoError(t, err)
	assert.Equal(t, HTTPSinkOptions{Brokers: []string{"a:1"}, Topic: "t", Partitions: 1, Records: 500000, RecordSize: 1024,
		Batch: 500, Timeout: DefaultTimeout}, o)
	_, err = parseHTTPSinkFlags([]string{"--records", "0", "--record-size", "1", "--batch", "0", "--timeout", "0s", "--partitions", "0"}, &stderr)
	require.Error(t, err)
	for _, want := range []string{"--records 0", "--record-size 1: want 64 or more", "--batch 0", "--timeout 0s", "--partitions 0"} {
		assert.Contains(t, err.Error(), want)
	}
}

// A tiny run: every record reaches the server, in batches of --batch.
func TestHTTPSinkDeliversEveryRecord(t *testing.T) {
	addr := startKfake(t)
	r, err := HTTPSink(testContext(t), HTTPSinkOptions{Brokers: []string{addr}, Topic: "http-sink", Partitions: 1,
		Records: 1000, RecordSize: 100, Batch: 100, Timeout: time.Minute}, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, int64(1000), r.Records)
	assert.GreaterOrEqual(t, r.Requests, int64(10))
	assert.Contains(t, r.Summary(), "http-sink: 1000 records")
}
