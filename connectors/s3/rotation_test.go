package s3

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/connecttest"
	"github.com/sluicehq/sluice/internal/testenv"
	"github.com/sluicehq/sluice/runtime/connect"
)

// fakeClock is the wall clock of Wallclock and scheduled rotation in tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) set(t *testing.T, ts string) {
	t.Helper()
	tm, err := time.Parse(time.RFC3339, ts)
	require.NoError(t, err)
	c.mu.Lock()
	c.t = tm
	c.mu.Unlock()
}

var tp0 = connect.TopicPartition{Topic: "orders"}

// line is the JSON line of order id in region eu.
func line(ids ...int) string {
	var s string
	for _, id := range ids {
		s += `{"id":` + strconv.Itoa(id) + `,"region":"eu"}` + "\n"
	}
	return s
}

func put(t *testing.T, task *sinkTask, recs ...*connect.Record) {
	t.Helper()
	require.NoError(t, task.Put(context.Background(), recs))
	waitCommits(t, task) // the files' objects are in the bucket
}

func flushed(t *testing.T, task *sinkTask) map[connect.TopicPartition]int64 {
	t.Helper()
	off, err := task.Flush(context.Background(), nil)
	require.NoError(t, err)
	return off
}

func TestRotateIntervalOnRecordTime(t *testing.T) {
	cfg := timeConfig(fakeS3(t))
	cfg["path.format"], cfg["partition.duration.ms"] = "'day'=dd", "86400000"
	cfg["rotate.interval.ms"] = "60000"
	task := start(t, cfg, connecttest.NewSinkContext(t, cfg), tp0)
	// The third record is 60 s after the first: the file rotates before
	// it, and only the records before it are committed.
	put(t, task, at(t, 0, "2024-05-07T10:00:00Z"), at(t, 1, "2024-05-07T10:00:30Z"),
		at(t, 2, "2024-05-07T10:01:00Z"), at(t, 3, "2024-05-07T10:01:30Z"))
	assert.Equal(t, map[string][]byte{"topics/orders/day=07/orders+0+0000000000.json": []byte(line(0, 1))}, objects(t, cfg))
	assert.Equal(t, map[connect.TopicPartition]int64{tp0: 2}, flushed(t, task))
}

func TestRotateOnPartitionChange(t *testing.T) {
	recs := func() []*connect.Record {
		return []*connect.Record{at(t, 0, "2024-05-07T10:10:00Z"), at(t, 1, "2024-05-07T10:20:00Z"),
			at(t, 2, "2024-05-07T11:05:00Z"), at(t, 3, "2024-05-07T10:50:00Z")}
	}
	cfg := timeConfig(fakeS3(t))
	cfg["rotate.interval.ms"] = "86400000"
	task := start(t, cfg, connecttest.NewSinkContext(t, cfg), tp0)
	// Hour 10, 10, 11, then a late record of hour 10: each change of
	// directory rotates (Confluent's "tiny files" from late records).
	put(t, task, recs()...)
	assert.Equal(t, map[string][]byte{
		"topics/orders/year=2024/month=05/day=07/hour=10/orders+0+0000000000.json": []byte(line(0, 1)),
		"topics/orders/year=2024/month=05/day=07/hour=11/orders+0+0000000002.json": []byte(line(2)),
	}, objects(t, cfg))
	assert.Equal(t, map[connect.TopicPartition]int64{tp0: 3}, flushed(t, task))

	cfg = timeConfig(fakeS3(t))
	cfg["rotate.interval.ms"] = "86400000"
	cfg["rotate.file.on.partition.change"] = "false"
	task = start(t, cfg, connecttest.NewSinkContext(t, cfg), tp0)
	put(t, task, recs()...)
	assert.Empty(t, objects(t, cfg))
	assert.Empty(t, flushed(t, task))
}

func TestScheduledRotationWithoutNewRecords(t *testing.T) {
	cfg := baseConfig(fakeS3(t))
	cfg["flush.size"] = "100"
	cfg["rotate.schedule.interval.ms"] = "3600000"
	cfg["timezone"] = "UTC"
	clock := &fakeClock{}
	clock.set(t, "2024-05-07T10:15:00Z")
	task := newSinkTask()
	require.NoError(t, task.Start(connecttest.NewSinkContext(t, cfg), cfg))
	task.s.clock = clock.now
	require.NoError(t, task.Open([]connect.TopicPartition{tp0}))

	put(t, task, order(0, 0, 0, "eu"), order(0, 1, 1, "eu"))
	clock.set(t, "2024-05-07T10:59:59Z")
	assert.Empty(t, flushed(t, task))
	// At 11:00, the next hour since midnight in UTC, a Flush alone
	// uploads the files of the quiet partition.
	clock.set(t, "2024-05-07T11:00:00Z")
	assert.Equal(t, map[connect.TopicPartition]int64{tp0: 2}, flushed(t, task))
	assert.Equal(t, map[string][]byte{"topics/orders/partition=0/orders+0+0000000000.json": []byte(line(0, 1))}, objects(t, cfg))

	// The next rotation is at 12:00: a record at 11:10 stays open, one
	// after 12:00 rotates the file before it is written.
	clock.set(t, "2024-05-07T11:10:00Z")
	put(t, task, order(0, 2, 2, "eu"))
	clock.set(t, "2024-05-07T12:00:01Z")
	put(t, task, order(0, 3, 3, "eu"))
	assert.Equal(t, []byte(line(2)), objects(t, cfg)["topics/orders/partition=0/orders+0+0000000002.json"])
	assert.Equal(t, map[connect.TopicPartition]int64{tp0: 3}, flushed(t, task))
}

func TestNextScheduledRotation(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	require.NoError(t, err)
	ms := func(s string) int64 {
		tm, err := time.Parse(time.RFC3339, s)
		require.NoError(t, err)
		return tm.UnixMilli()
	}
	// DateTimeUtils.getNextTimeAdjustedByDay: multiples of the period
	// since local midnight, never past the next midnight.
	assert.Equal(t, ms("2024-05-07T11:00:00Z"), nextScheduledRotation(ms("2024-05-07T10:15:00Z"), 3600000, time.UTC))
	assert.Equal(t, ms("2024-05-07T21:00:00Z"), nextScheduledRotation(ms("2024-05-07T20:00:00Z"), 7*3600000, time.UTC))
	assert.Equal(t, ms("2024-05-08T00:00:00Z"), nextScheduledRotation(ms("2024-05-07T22:00:00Z"), 7*3600000, time.UTC))
	// Midnight in New York (EDT, -4h) is 04:00Z; 5 h periods: 09:00Z,
	// 14:00Z, ...
	assert.Equal(t, ms("2024-05-07T14:00:00Z"), nextScheduledRotation(ms("2024-05-07T09:00:00Z"), 5*3600000, ny))
}

var (
	orderV1 = connect.NewSchemaBuilder(connect.TypeStruct).Name("Order").Version(1).
		Field("id", connect.Int64Schema).Field("region", connect.StringSchema).Build()
	orderV2 = connect.NewSchemaBuilder(connect.TypeStruct).Name("Order").Version(2).
		Field("id", connect.Int64Schema).Field("region", connect.StringSchema).
		Field("channel", connect.NewSchemaBuilder(connect.TypeString).Default("web").Build()).Build()
)

// versioned is an order record of schema v1 or v2 (channel "app").
func versioned(off int64, v int) *connect.Record {
	if v == 1 {
		s := connect.NewStruct(orderV1).MustPut("id", off).MustPut("region", "eu")
		return &connect.Record{Topic: "orders", Offset: off, ValueSchema: orderV1, Value: s}
	}
	s := connect.NewStruct(orderV2).MustPut("id", off).MustPut("region", "eu").MustPut("channel", "app")
	return &connect.Record{Topic: "orders", Offset: off, ValueSchema: orderV2, Value: s}
}

func TestSchemaCompatibility(t *testing.T) {
	const file = "topics/orders/partition=0/orders+0+000000000"
	for _, c := range []struct {
		mode     string
		versions []int
		want     map[string]string
	}{
		// NONE: every schema change rotates.
		{"NONE", []int{1, 1, 2, 1, 1}, map[string]string{
			file + "0.json": line(0, 1),
			file + "2.json": `{"id":2,"region":"eu","channel":"app"}` + "\n",
		}},
		// BACKWARD: a newer version rotates; an older record is projected
		// to the file's newer schema, its missing field taking the
		// default.
		{"BACKWARD", []int{1, 2, 1, 2}, map[string]string{
			file + "0.json": line(0),
			file + "1.json": `{"id":1,"region":"eu","channel":"app"}` + "\n" + `{"id":2,"region":"eu","channel":"web"}` + "\n" + `{"id":3,"region":"eu","channel":"app"}` + "\n",
		}},
		// FULL compares versions as BACKWARD does.
		{"FULL", []int{1, 2, 1, 2}, map[string]string{
			file + "0.json": line(0),
			file + "1.json": `{"id":1,"region":"eu","channel":"app"}` + "\n" + `{"id":2,"region":"eu","channel":"web"}` + "\n" + `{"id":3,"region":"eu","channel":"app"}` + "\n",
		}},
		// FORWARD: an older version rotates; a newer record is projected
		// to the file's older schema, losing the extra field.
		{"FORWARD", []int{2, 1, 2, 1}, map[string]string{
			file + "0.json": `{"id":0,"region":"eu","channel":"app"}` + "\n",
			file + "1.json": line(1, 2, 3),
		}},
	} {
		t.Run(c.mode, func(t *testing.T) {
			cfg := baseConfig(fakeS3(t))
			cfg["schema.compatibility"] = c.mode
			cfg["flush.size"] = "3"
			task := start(t, cfg, connecttest.NewSinkContext(t, cfg), tp0)
			var recs []*connect.Record
			for i, v := range c.versions {
				recs = append(recs, versioned(int64(i), v))
			}
			put(t, task, recs...)
			got := map[string]string{}
			for k, v := range objects(t, cfg) {
				got[k] = string(v)
			}
			assert.Equal(t, c.want, got)
		})
	}
}

// TestSchemaWithoutVersionIsReported: BACKWARD compares versions, so a
// changed schema without one cannot be placed (Confluent's "Schema version
// required" SchemaProjectorException goes to the DLQ).
func TestSchemaWithoutVersionIsReported(t *testing.T) {
	cfg := baseConfig(fakeS3(t))
	cfg["schema.compatibility"] = "BACKWARD"
	cfg["flush.size"] = "2"
	sc := connecttest.NewSinkContext(t, cfg)
	sc.Tolerate = true
	task := start(t, cfg, sc, tp0)
	unversioned := connect.NewSchemaBuilder(connect.TypeStruct).Name("Order").
		Field("id", connect.Int64Schema).Field("region", connect.StringSchema).Field("x", connect.OptionalStringSchema).Build()
	other := &connect.Record{Topic: "orders", Offset: 1, ValueSchema: unversioned, Value: connect.NewStruct(unversioned).MustPut("id", int64(1)).MustPut("region", "eu")}
	put(t, task, order(0, 0, 0, "eu"), other, order(0, 2, 2, "eu"))
	rep := sc.ReportedRecords()
	require.Len(t, rep, 1)
	assert.Equal(t, int64(1), rep[0].Record.Offset)
	assert.ErrorContains(t, rep[0].Err, "Schema version required for BACKWARD compatibility")
	assert.Equal(t, map[string][]byte{"topics/orders/partition=0/orders+0+0000000000.json": []byte(line(0, 2))}, objects(t, cfg))
}

// TestSchemalessThenSchemaRotates: a switch between values without and
// with a schema in one file rotates it, as a tombstone among records does.
func TestSchemalessThenSchemaRotates(t *testing.T) {
	cfg := baseConfig(fakeS3(t))
	cfg["flush.size"] = "100"
	task := start(t, cfg, connecttest.NewSinkContext(t, cfg), tp0)
	put(t, task, &connect.Record{Topic: "orders", Offset: 0, Value: map[string]any{"id": int64(7)}}, order(0, 1, 1, "eu"))
	assert.Equal(t, map[string][]byte{"topics/orders/partition=0/orders+0+0000000000.json": []byte(`{"id":7}` + "\n")}, objects(t, cfg))
}

func TestMaxOpenFilesRotatesAll(t *testing.T) {
	cfg := baseConfig(fakeS3(t))
	cfg["partitioner.class"] = FieldPartitionerClass
	cfg["partition.field.name"] = "region"
	cfg["partitioner.max.open.files"] = "2"
	cfg["flush.size"] = "100"
	task := start(t, cfg, connecttest.NewSinkContext(t, cfg), tp0)
	put(t, task, order(0, 0, 0, "eu"), order(0, 1, 1, "us"), order(0, 2, 2, "eu"), order(0, 3, 3, "asia"))
	assert.Equal(t, map[string][]byte{
		"topics/orders/region=eu/orders+0+0000000000.json": []byte(line(0, 2)),
		"topics/orders/region=us/orders+0+0000000001.json": []byte(`{"id":1,"region":"us"}` + "\n"),
	}, objects(t, cfg))
	assert.Equal(t, map[connect.TopicPartition]int64{tp0: 3}, flushed(t, task))
}

// timeStream is 24 records of one partition over five hours, some late,
// for the exactly-once tests: RecordField time, hourly directories,
// rotation on record time and on partition change.
func timeStream() []*connect.Record {
	base := time.Date(2024, 5, 7, 9, 0, 0, 0, time.UTC)
	minutes := []int{0, 5, 20, 50, 55, 61, 62, 58, 70, 100, 125, 126, 127, 119, 180, 181, 200, 240, 241, 242, 243, 290, 295, 299}
	out := make([]*connect.Record, len(minutes))
	for i, m := range minutes {
		r := order(0, int64(i), int64(i), "eu")
		r.Timestamp = base.Add(time.Duration(m) * time.Minute)
		out[i] = r
	}
	return out
}

func timeStreamConfig(url string) map[string]string {
	cfg := timeConfig(url)
	cfg["rotate.interval.ms"] = "1800000"
	cfg["flush.size"] = "4"
	return cfg
}

// TestTimeRotationRedeliveryIsDeterministic: with record time (no wall
// clock), a task restarted from any committed offset, or redelivered
// batches after failed uploads, writes the names and bytes of a clean run.
func TestTimeRotationRedeliveryIsDeterministic(t *testing.T) {
	all := timeStream()
	cleanCfg := timeStreamConfig(fakeS3(t))
	clean := start(t, cleanCfg, connecttest.NewSinkContext(t, cleanCfg), tp0)
	put(t, clean, all...)
	want := objects(t, cleanCfg)
	require.Greater(t, len(want), 5)
	end := flushed(t, clean)[tp0]

	// A crash right after each commit: the next task starts at the
	// committed offset, with the open files lost.
	for _, batch := range []int{1, 3, 5, 7} {
		cfg := timeStreamConfig(fakeS3(t))
		committed := int64(0)
		for restarts := 0; committed < end; restarts++ {
			require.Less(t, restarts, len(all), "no progress with batches of %d", batch)
			task := start(t, cfg, connecttest.NewSinkContext(t, cfg), tp0)
			for next := int(committed); next < len(all); {
				stop := min(next+batch, len(all))
				put(t, task, all[next:stop]...)
				next = stop
				if off, ok := flushed(t, task)[tp0]; ok && off > committed {
					committed = off
					break
				}
			}
			require.NoError(t, task.Stop())
		}
		assert.Equal(t, want, objects(t, cfg), "batches of %d", batch)
	}

	// Failed uploads: the partition is rewound to its last commit and read
	// again (through a simulated worker); the files come out the same.
	for _, fail := range []map[int]bool{{1: true}, {2: true, 3: true}, {5: true}, {7: true}} {
		cfg := timeStreamConfig(fakeS3(t))
		cfg["retry.backoff.ms"] = "0"
		task := newSinkTask()
		real := task.newUploader
		task.newUploader = func(ctx context.Context, s *settings) (uploader, error) {
			up, err := real(ctx, s)
			return &flakyUploader{next: up, fail: fail}, err
		}
		sc := newRewindContext(t, cfg)
		require.NoError(t, task.Start(sc, cfg))
		require.NoError(t, task.Open([]connect.TopicPartition{tp0}))
		simulateWorker(t, task, sc, map[connect.TopicPartition][]*connect.Record{tp0: all}, 5)
		assert.Equal(t, want, objects(t, cfg), "failing uploads %v", fail)
		assert.Equal(t, end, flushed(t, task)[tp0])
	}
}

// TestTimeRotationVersityGW runs hourly directories with rotation on
// record time against a real S3 server.
func TestTimeRotationVersityGW(t *testing.T) {
	srv := testenv.StartS3(t)
	srv.CreateBucket(t, testBucket)
	cfg := timeStreamConfig(srv.Endpoint)
	cfg["s3.region"], cfg["aws.access.key.id"], cfg["aws.secret.access.key"] = srv.Region, srv.AccessKey, srv.SecretKey
	task := start(t, cfg, connecttest.NewSinkContext(t, cfg), tp0)
	all := timeStream()
	put(t, task, all[:8]...)
	// Minute 50 is 30 min after minute 0: rotation on record time; 61
	// (hour 10) rotates on the partition change, 62 joins it, 58 (hour 9
	// again) rotates.
	assert.Equal(t, map[string][]byte{
		"topics/orders/year=2024/month=05/day=07/hour=09/orders+0+0000000000.json": []byte(line(0, 1, 2)),
		"topics/orders/year=2024/month=05/day=07/hour=09/orders+0+0000000003.json": []byte(line(3, 4)),
		"topics/orders/year=2024/month=05/day=07/hour=10/orders+0+0000000005.json": []byte(line(5, 6)),
	}, objects(t, cfg))
	assert.Equal(t, map[connect.TopicPartition]int64{tp0: 7}, flushed(t, task))
}

// slowUploader takes delay to commit each object.
type slowUploader struct {
	next  uploader
	delay time.Duration
}

func (u slowUploader) open(ctx context.Context, key string) (objectStream, error) {
	s, err := u.next.open(ctx, key)
	return slowObject{s, u.delay}, err
}

type slowObject struct {
	objectStream
	delay time.Duration
}

func (o slowObject) commit(ctx context.Context) error {
	time.Sleep(o.delay)
	return o.objectStream.commit(ctx)
}

// TestMaxWriteDurationHandsBackTheRest: past max.write.duration.ms a Put
// stops writing and rewinds each partition to its first unwritten record.
func TestMaxWriteDurationHandsBackTheRest(t *testing.T) {
	cfg := baseConfig(fakeS3(t))
	cfg["flush.size"] = "1"
	cfg["max.write.duration.ms"] = "120"
	sc := connecttest.NewSinkContext(t, cfg)
	task := newSinkTask()
	real := task.newUploader
	task.newUploader = func(ctx context.Context, s *settings) (uploader, error) {
		up, err := real(ctx, s)
		return slowUploader{up, 50 * time.Millisecond}, err
	}
	require.NoError(t, task.Start(sc, cfg))
	require.NoError(t, task.Open([]connect.TopicPartition{tp0}))
	var recs []*connect.Record
	for i := int64(0); i < 10; i++ {
		recs = append(recs, order(0, i, i, "eu"))
	}
	put(t, task, recs...)
	// Each record is a file taking 50 ms: the deadline passes after a
	// few; the rewind points at the first record not in a file.
	written := len(objects(t, cfg))
	require.Greater(t, written, 0)
	require.Less(t, written, 10)
	assert.Equal(t, map[connect.TopicPartition]int64{tp0: int64(written)}, sc.Rewinds())
	assert.Equal(t, int64(written), flushed(t, task)[tp0])
}
