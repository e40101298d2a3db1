package bench

import (
	"context"
	"hash/maphash"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"
)

func TestMainRejectsBadFlagsAllAtOnce(t *testing.T) {
	var stdout, stderr strings.Builder
	err := Main(context.Background(), []string{"produce", "--acks", "2", "-records", "0", "--compression", "brotli",
		"--partitions", "0"}, &stdout, &stderr)
	require.Error(t, err)
	for _, want := range []string{
		`bench produce: --records 0: want more than 0`,
		`--acks "2": want all, -1, 0 or 1`,
		`--compression "brotli"`,
		`--partitions 0: want 1 to`,
	} {
		assert.Contains(t, err.Error(), want)
	}
	assert.Empty(t, stdout.String())

	err = Main(context.Background(), []string{"consume", "--timeout", "0s", "--records", "-5"}, &stdout, &stderr)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "--timeout 0s: want more than 0")
	assert.Contains(t, err.Error(), "--records -5: want 0 (no limit) or more")
}

func TestCDCFlags(t *testing.T) {
	var stdout, stderr strings.Builder
	err := Main(context.Background(), []string{"cdc", "--rows", "0", "--converter", "avro", "--compression", "brotli"}, &stdout, &stderr)
	require.Error(t, err)
	for _, want := range []string{"--dsn is required", "--rows and --tx-rows must be positive", `--converter "avro"`, `--compression "brotli"`} {
		assert.Contains(t, err.Error(), want)
	}
	o, err := parseCDCFlags([]string{"--dsn", "postgres://u@h/db", "--compression", "lz4"}, &stderr)
	require.NoError(t, err)
	assert.Equal(t, CDCOptions{Brokers: []string{"127.0.0.1:9092"}, DSN: "postgres://u@h/db", Rows: 100000, TxRows: 1000,
		Converter: "json-schemas", Compression: "lz4"}, o)
}

func TestMainSubcommands(t *testing.T) {
	var stdout, stderr strings.Builder
	assert.ErrorContains(t, Main(context.Background(), nil, &stdout, &stderr), "want a subcommand: produce, consume, source, cdc, http-ingest, http-sink, s3-sink, jdbc, mqtt-server or mqtt-source")
	assert.ErrorContains(t, Main(context.Background(), []string{"fly"}, &stdout, &stderr), `unknown subcommand "fly"`)
	assert.ErrorContains(t, Main(context.Background(), []string{"produce", "extra"}, &stdout, &stderr), `unexpected arguments ["extra"]`)
	assert.ErrorContains(t, Main(context.Background(), []string{"produce", "--nope"}, &stdout, &stderr), "flag provided but not defined: -nope")

	stderr.Reset()
	require.NoError(t, Main(context.Background(), []string{"produce", "-h"}, &stdout, &stderr))
	assert.Contains(t, stderr.String(), "-batch-max-bytes")
	require.NoError(t, Main(context.Background(), []string{"help"}, &stdout, &stderr))
}

func TestProduceFlagsIdempotencyFollowsAcks(t *testing.T) {
	var stderr strings.Builder
	o, err := parseProduceFlags([]string{"--acks", "1", "--max-inflight", "3"}, &stderr)
	require.NoError(t, err)
	assert.False(t, o.Idempotent)
	assert.Equal(t, 3, o.MaxInflight)

	o, err = parseProduceFlags(nil, &stderr)
	require.NoError(t, err)
	assert.True(t, o.Idempotent)
	assert.Equal(t, []string{DefaultBroker}, o.Brokers)

	_, err = parseProduceFlags([]string{"--acks", "0", "--idempotent"}, &stderr)
	assert.ErrorContains(t, err, "--idempotent with --acks 0")
	_, err = parseProduceFlags([]string{"--max-inflight", "3"}, &stderr)
	assert.ErrorContains(t, err, "--max-inflight: applies only with --idempotent=false")

	o, err = parseProduceFlags([]string{"--brokers", "a:1, b:2", "--linger", "5ms"}, &stderr)
	require.NoError(t, err)
	assert.Equal(t, []string{"a:1", "b:2"}, o.Brokers)
	assert.Equal(t, 5*time.Millisecond, o.Linger)
}

func TestMainRunsAgainstKfake(t *testing.T) {
	ctx := testContext(t)
	addr := startKfake(t)
	var stdout, stderr strings.Builder
	require.NoError(t, Main(ctx, []string{"produce", "--brokers", addr, "--topic", "cli", "--records", "3000",
		"--record-size", "512", "--compression", "lz4", "--partitions", "2"}, &stdout, &stderr))
	assert.Regexp(t, `^produce: 3000 records, 512 B each \(half random, half repeated text\), acks=all, compression=lz4, 2 partitions: `+
		`[0-9.]+ records/s, [0-9.]+ MB/s \(MiB\), latency p50 [0-9.]+ ms, p99 [0-9.]+ ms, p99.9 [0-9.]+ ms, max [0-9.]+ ms, elapsed [0-9.]+s\n$`,
		stdout.String())
	t.Log(stdout.String())

	stdout.Reset()
	require.NoError(t, Main(ctx, []string{"consume", "--brokers", addr, "--topic", "cli"}, &stdout, &stderr))
	assert.Regexp(t, `^consume: 3000 records, 1.46 MB: [0-9.]+ records/s, [0-9.]+ MB/s \(MiB\), elapsed [0-9.]+s\n$`, stdout.String())
	t.Log(stdout.String())
}

// TestConsumedValuesAreTheProducedValues checks content, not just counts:
// the multiset of values read equals the multiset Produce wrote.
func TestConsumedValuesAreTheProducedValues(t *testing.T) {
	ctx := testContext(t)
	addr := startKfake(t)
	const records, size = 4000, 300
	_, err := Produce(ctx, ProduceOptions{Brokers: []string{addr}, Topic: "content", Records: records, RecordSize: size,
		Compression: "zstd", Producers: 2}, nil)
	require.NoError(t, err)

	seed := maphash.MakeSeed()
	var want, got uint64 // sums of hashes: order does not matter
	values := newPayload(size)
	for i := range records {
		want += maphash.Bytes(seed, values.value(i))
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics("content"))
	require.NoError(t, err)
	defer cl.Close()
	n := 0
	for n < records {
		fetches := cl.PollFetches(ctx)
		require.NoError(t, fetches.Err())
		fetches.EachRecord(func(r *kgo.Record) {
			assert.Nil(t, r.Key)
			got += maphash.Bytes(seed, r.Value)
			n++
		})
	}
	assert.Equal(t, records, n)
	assert.Equal(t, want, got)
}
