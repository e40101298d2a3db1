package bench

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/bench/kfakeserver"
	"github.com/sluicehq/sluice/internal/testenv"
)

// startKfake starts an in-memory broker that stops when the test ends.
func startKfake(t *testing.T, opts ...kfake.Opt) string {
	t.Helper()
	addr, stop, err := kfakeserver.StartKfake(8, opts...)
	require.NoError(t, err)
	t.Cleanup(stop)
	return addr
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// endOffsetSum is how many records the topic holds, read from the broker.
func endOffsetSum(t *testing.T, ctx context.Context, addr, topic string) int64 {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	require.NoError(t, err)
	defer cl.Close()
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	require.NoError(t, err)
	require.NoError(t, ends.Error())
	var sum int64
	ends.Each(func(o kadm.ListedOffset) { sum += o.Offset })
	return sum
}

func TestProduceThenConsumeReadsBackEverything(t *testing.T) {
	const records, size = 20_000, 1024
	cases := []struct{ acks, compression string }{
		{"all", "none"}, {"all", "gzip"}, {"all", "snappy"}, {"all", "lz4"}, {"all", "zstd"},
		{"1", "none"}, {"1", "lz4"},
		{"0", "none"}, {"0", "zstd"},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("acks=%s/%s", tc.acks, tc.compression), func(t *testing.T) {
			ctx := testContext(t)
			addr := startKfake(t)
			o := ProduceOptions{
				Brokers: []string{addr}, Topic: "t", Records: records, RecordSize: size,
				Acks: tc.acks, Compression: tc.compression, Partitions: 4, Idempotent: tc.acks == "all",
			}
			r, err := Produce(ctx, o, nil)
			require.NoError(t, err)
			assert.Equal(t, records, r.Records)
			assert.Equal(t, int64(records*size), r.Bytes)
			assert.Equal(t, 4, r.Partitions)
			assert.Positive(t, r.Elapsed)
			assert.Positive(t, r.P50)
			assert.LessOrEqual(t, r.P50, r.P99)
			assert.LessOrEqual(t, r.P99, r.P999)
			assert.LessOrEqual(t, r.P999, r.Max)
			assert.Positive(t, r.RecordsPerSec())
			assert.Positive(t, r.MBPerSec())

			// acks=0 returns once the requests are written; let the broker
			// catch up before reading the end offsets.
			require.Eventually(t, func() bool { return endOffsetSum(t, ctx, addr, "t") == records },
				10*time.Second, 10*time.Millisecond)

			c, err := Consume(ctx, ConsumeOptions{Brokers: []string{addr}, Topic: "t"}, nil)
			require.NoError(t, err)
			assert.Equal(t, records, c.Records)
			assert.Equal(t, int64(records*size), c.Bytes)
			assert.Positive(t, c.Elapsed)
		})
	}
}

func TestProduceManyProducersThenConsumeWithLimitAndGroup(t *testing.T) {
	ctx := testContext(t)
	addr := startKfake(t)
	const records = 5_001 // not divisible by the producer count
	o := ProduceOptions{Brokers: []string{addr}, Topic: "many", Records: records, RecordSize: 100, Producers: 3,
		Compression: "lz4", Linger: 2 * time.Millisecond}
	r, err := Produce(ctx, o, nil)
	require.NoError(t, err)
	require.Equal(t, records, r.Records)
	require.Equal(t, int64(records), endOffsetSum(t, ctx, addr, "many"))

	limited, err := Consume(ctx, ConsumeOptions{Brokers: []string{addr}, Topic: "many", Records: 1000}, nil)
	require.NoError(t, err)
	assert.Equal(t, 1000, limited.Records)
	assert.Equal(t, int64(1000*100), limited.Bytes)

	group := ConsumeOptions{Brokers: []string{addr}, Topic: "many", Group: "bench"}
	all, err := Consume(ctx, group, nil)
	require.NoError(t, err)
	assert.Equal(t, records, all.Records)

	// The group committed its position on the way out: nothing is left.
	again, err := Consume(ctx, group, nil)
	require.NoError(t, err)
	assert.Zero(t, again.Records)
}

func TestProduceUsesAnExistingTopicsPartitions(t *testing.T) {
	ctx := testContext(t)
	addr := startKfake(t)
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	require.NoError(t, err)
	defer cl.Close()
	_, err = kadm.NewClient(cl).CreateTopic(ctx, 3, 1, nil, "existing")
	require.NoError(t, err)

	r, err := Produce(ctx, ProduceOptions{Brokers: []string{addr}, Topic: "existing", Records: 100, RecordSize: 10, Partitions: 8}, nil)
	require.NoError(t, err)
	assert.Equal(t, 3, r.Partitions)
}

func TestProduceFailsOnARejectedRecord(t *testing.T) {
	ctx := testContext(t)
	addr := startKfake(t, kfake.BrokerConfigs(map[string]string{"message.max.bytes": "2000"}))
	_, err := Produce(ctx, ProduceOptions{Brokers: []string{addr}, Topic: "small", Records: 50, RecordSize: 4096}, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "produce to topic small partition ")
	assert.Contains(t, err.Error(), "MESSAGE_TOO_LARGE")
}

func TestConsumeMissingTopic(t *testing.T) {
	ctx := testContext(t)
	addr := startKfake(t)
	_, err := Consume(ctx, ConsumeOptions{Brokers: []string{addr}, Topic: "nope"}, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "list end offsets of topic nope")
}

func TestProgressLines(t *testing.T) {
	var c counter
	var out testenv.SyncBuffer
	stop := startProgress(&out, 20*time.Millisecond, "produce", 1000, &c)
	c.add(250, 250<<10)
	require.Eventually(t, func() bool { return strings.Contains(out.String(), "250 records (25.0%)") },
		5*time.Second, 5*time.Millisecond)
	stop()
	assert.Regexp(t, `^produce: \S+: 250 records \(25.0%\), [0-9.]+ records/s, [0-9.]+ MB/s \(MiB\)\n`, out.String())
	stop = startProgress(nil, time.Millisecond, "consume", 0, &c) // prints nothing, starts nothing
	stop()
}

func TestProduceThroughputPacesSends(t *testing.T) {
	addr := startKfake(t)
	res, err := Produce(testContext(t), ProduceOptions{
		Brokers: []string{addr}, Topic: "paced", Records: 1000, RecordSize: 100,
		Acks: "all", Idempotent: true, Producers: 2, Throughput: 2000,
	}, nil)
	require.NoError(t, err)
	require.Equal(t, 1000, res.Records)
	// 1000 records at 2000/s cannot finish in much under half a second.
	require.GreaterOrEqual(t, res.Elapsed, 450*time.Millisecond)
	require.Less(t, res.RecordsPerSec(), 2300.0)
}

func TestSourceRunsDatagenIntoTheTopic(t *testing.T) {
	addr := startKfake(t)
	ctx := testContext(t)
	r, err := Source(ctx, SourceOptions{Brokers: []string{addr}, Topic: "src-bench", Tasks: 2, RecordsPerTask: 500, MessageSize: 100, Converter: "json"}, io.Discard)
	require.NoError(t, err)
	require.Equal(t, int64(1000), r.Records)
	require.Equal(t, int64(1000), endOffsetSum(t, ctx, addr, "src-bench"))
	require.Positive(t, r.Bytes)
	require.Contains(t, r.Summary(), "1000 records (2 tasks)")
	_, err = Source(ctx, SourceOptions{Brokers: []string{addr}, Tasks: 1, RecordsPerTask: 1, MessageSize: 1, Converter: "avro"}, io.Discard)
	require.ErrorContains(t, err, "unknown converter")
}

func TestCDCSnapshotsThenStreamsEveryRow(t *testing.T) {
	pg := testenv.StartPostgres(t)
	addr := startKfake(t)
	ctx := testContext(t)
	dsn := pg.DSN("postgres")
	r, err := CDC(ctx, CDCOptions{Brokers: []string{addr}, DSN: dsn, Rows: 2500, TxRows: 300, Converter: "json"}, io.Discard)
	require.NoError(t, err)
	require.Equal(t, 2500, r.Rows)
	require.Positive(t, r.Snapshot)
	require.Positive(t, r.Stream)
	require.Contains(t, r.Summary(), "snapshot: 2500 rows")

	// Exactly the snapshot and one update per row reached the topic, and
	// the run left no slot, publication or table behind.
	conn, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	defer conn.Close(ctx)
	var leftovers int
	require.NoError(t, conn.QueryRow(ctx, `SELECT (SELECT count(*) FROM pg_replication_slots) + (SELECT count(*) FROM pg_publication)
		+ (SELECT count(*) FROM pg_tables WHERE tablename LIKE 'sluice_bench_%')`).Scan(&leftovers))
	require.Zero(t, leftovers)
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	require.NoError(t, err)
	defer cl.Close()
	adm := kadm.NewClient(cl)
	topics, err := adm.ListTopics(ctx)
	require.NoError(t, err)
	var cdc []string
	for _, name := range topics.Names() {
		if strings.HasPrefix(name, "bench.public.sluice_bench_") {
			cdc = append(cdc, name)
		}
	}
	require.Len(t, cdc, 1)
	require.Equal(t, int64(5000), endOffsetSum(t, ctx, addr, cdc[0]))
}
