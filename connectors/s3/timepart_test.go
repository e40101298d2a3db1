package s3

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/connecttest"
	"github.com/sluicehq/sluice/runtime/connect"
)

// timeConfig is a TimeBasedPartitioner config of hourly directories in UTC
// reading the Kafka timestamp.
func timeConfig(url string) map[string]string {
	cfg := baseConfig(url)
	cfg["partitioner.class"] = TimeBasedPartitionerClass
	cfg["path.format"] = "'year'=YYYY/'month'=MM/'day'=dd/'hour'=HH"
	cfg["partition.duration.ms"] = "3600000"
	cfg["locale"] = "en-US"
	cfg["timezone"] = "UTC"
	cfg["timestamp.extractor"] = "Record"
	cfg["flush.size"] = "100"
	return cfg
}

// at is an order record at offset off with Kafka timestamp ts (RFC 3339).
func at(t *testing.T, off int64, ts string) *connect.Record {
	t.Helper()
	r := order(0, off, off, "eu")
	tm, err := time.Parse(time.RFC3339Nano, ts)
	require.NoError(t, err)
	r.Timestamp = tm
	return r
}

func TestJodaFormat(t *testing.T) {
	// 2024-03-05T07:08:09.045Z was a Tuesday, day 65 of the year, in ISO
	// week 10. Each expectation follows Joda's DateTimeFormat rules: the
	// letter count is the minimum digit count, yy the year modulo 100,
	// quoted text and non-letters literal.
	tm := time.Date(2024, 3, 5, 7, 8, 9, 45e6, time.UTC)
	for pattern, want := range map[string]string{
		"'year'=YYYY/'month'=MM/'day'=dd/'hour'=HH": "year=2024/month=03/day=05/hour=07",
		"yyyy-MM-dd'T'HH:mm:ss.SSS":                 "2024-03-05T07:08:09.045",
		"yy/M/d/H/m/s":                              "24/3/5/7/8/9",
		"YYYY/D/DDD/w/e/xxxx":                       "2024/65/065/10/2/2024",
		"dd-MMM-yyyy EEE":                           "05-Mar-2024 Tue",
		"MMMM EEEE a hh kk KK":                      "March Tuesday AM 07 07 07",
		"S SS SSSS":                                 "0 04 0450",
		"'it''s' ''":                                "it's '",
		"Z ZZ ZZZ G C":                              "Z Z UTC AD 20",
		"'dt'=yyyyMMdd":                             "dt=20240305",
	} {
		f, err := parseJoda(pattern, true, "UTC")
		require.NoError(t, err, pattern)
		assert.Equal(t, want, f.format(tm), pattern)
	}
	// A fixed offset is named as Joda prints it, whatever the spelling.
	india, err := loadZone("+0530")
	require.NoError(t, err)
	f, err := parseJoda("HH:mm Z ZZ ZZZ", true, india.String())
	require.NoError(t, err)
	assert.Equal(t, "12:38 +0530 +05:30 +05:30", f.format(tm.In(india)))
	utc, err := loadZone("-00:00")
	require.NoError(t, err)
	assert.Equal(t, "UTC", utc.String())

	for pattern, msg := range map[string]string{
		"'year'=YYYY/qq": "Illegal pattern component: qq",
		"YYYY/zzz":       "zzz (time zone name) is not supported",
		"dt=yyyyMMdd":    "Illegal pattern component: t", // unquoted text is read as fields
	} {
		_, err := parseJoda(pattern, true, "UTC")
		assert.ErrorContains(t, err, msg, pattern)
	}
	_, err = parseJoda("MMM", false, "UTC")
	assert.ErrorContains(t, err, "English only")
}

// TestTimeBasedEncodedPaths checks encoded partitions against what
// Confluent's TimeBasedPartitioner.getPartition and Joda print, worked out
// by hand from the Java code: local = ts + offset(ts); floored = local /
// duration * duration (Java division, towards zero); utc =
// convertLocalToUTC(floored, false); printed in the zone.
func TestTimeBasedEncodedPaths(t *testing.T) {
	for _, c := range []struct {
		name, class, zone, pathFormat string
		duration                      string
		ts                            string
		want                          string
	}{
		// 15:23:45Z in UTC, floored to the hour.
		{"hourly UTC", HourlyPartitionerClass, "UTC", "", "", "2015-12-07T15:23:45.123Z", "year=2015/month=12/day=07/hour=15"},
		// 20:00Z is 01:30 on Jan 2 in Kolkata (+05:30); the local day
		// starts at 18:30Z on Jan 1, printed in Kolkata as Jan 2.
		{"daily +05:30", DailyPartitionerClass, "Asia/Kolkata", "", "", "2024-01-01T20:00:00Z", "year=2024/month=01/day=02"},
		// -1 ms: local -1 / 3600000 = 0 in Java (towards zero), so the
		// bucket is 1970-01-01T00, not 1969-12-31T23 (Confluent's quirk).
		{"pre-epoch", HourlyPartitionerClass, "UTC", "", "", "1969-12-31T23:59:59.999Z", "year=1970/month=01/day=01/hour=00"},
		// New York on the DST start (02:00 EST -> 03:00 EDT at 07:00Z):
		// 07:07Z is 03:07 EDT, floored to 03:00 local; convertLocalToUTC
		// finds offset -4h (not in the gap): 07:00Z, printed 03:00.
		{"15 min across DST", TimeBasedPartitionerClass, "America/New_York", "'year'=YYYY/'month'=MM/'day'=dd/'hour'=HH/'minute'=mm", "900000", "2024-03-10T07:07:00Z", "year=2024/month=03/day=10/hour=03/minute=00"},
		// 07:30Z is 03:30 EDT; floored to 2 h local: 02:00, inside the
		// gap. offsetLocal = offset(02:00Z) = -5h, offset(07:00Z) = -4h;
		// the next transitions after 07:00Z (November) and after 06:00Z
		// (07:00Z) differ, so the gap rule takes -5h: 07:00Z, printed
		// 03:00 EDT.
		{"2 h in the DST gap", TimeBasedPartitionerClass, "America/New_York", "'day'=dd/'hour'=HH", "7200000", "2024-03-10T07:30:00Z", "day=10/hour=03"},
		// A path format ending with the delimiter loses it, as in
		// Confluent.
		{"trailing delimiter", TimeBasedPartitionerClass, "UTC", "'dt'=yyyyMMdd/", "86400000", "2024-02-29T23:59:59Z", "dt=20240229"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := timeConfig("http://127.0.0.1:1")
			cfg["partitioner.class"], cfg["timezone"] = c.class, c.zone
			delete(cfg, "path.format")
			delete(cfg, "partition.duration.ms")
			if c.pathFormat != "" {
				cfg["path.format"], cfg["partition.duration.ms"] = c.pathFormat, c.duration
			}
			s, err := parseSettings(cfg)
			require.NoError(t, err)
			p, err := newPartitioner(s)
			require.NoError(t, err)
			got, err := p.encode(at(t, 0, c.ts))
			require.NoError(t, err)
			assert.Equal(t, c.want, got)
		})
	}
}

func TestTimestampExtractors(t *testing.T) {
	inner := connect.NewSchemaBuilder(connect.TypeStruct).Name("Meta").
		Field("ts", connect.Int64Schema).Field("iso", connect.StringSchema).
		Field("at", connect.TimestampSchema().Build()).Build()
	schema := connect.NewSchemaBuilder(connect.TypeStruct).Name("Event").
		Field("meta", inner).Field("n", connect.Float64Schema).
		Field("attrs", connect.MapOf(connect.StringSchema, connect.Int64Schema)).Build()
	when := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	value := connect.NewStruct(schema).MustPut("n", 1.5).MustPut("attrs", map[string]any{"ts": when.UnixMilli() + 5}).MustPut("meta",
		connect.NewStruct(inner).MustPut("ts", when.UnixMilli()).MustPut("iso", "2024-05-06T09:08:09.123+02:00").MustPut("at", when.Add(time.Hour)))
	rec := &connect.Record{Topic: "ev", ValueSchema: schema, Value: value, Timestamp: when.Add(2 * time.Hour)}
	schemaless := &connect.Record{Topic: "ev", Value: map[string]any{"meta": map[string]any{"ts": "1714979289000", "f": 1714979289000.0}}}

	for _, c := range []struct {
		extractor, field string
		r                *connect.Record
		want             time.Time
	}{
		{"Record", "", rec, when.Add(2 * time.Hour)},
		{"RecordField", "meta.ts", rec, when},
		{"RecordField", "meta.iso", rec, when.Add(123 * time.Millisecond)},
		{"RecordField", "meta.at", rec, when.Add(time.Hour)},
		{"RecordField", "attrs.ts", rec, when.Add(5 * time.Millisecond)}, // a map inside a Struct
		{"RecordField", "meta.ts", schemaless, when},
		{"RecordField", "meta.f", schemaless, when},
	} {
		s := &settings{timeSettings: timeSettings{extractor: c.extractor, tsField: c.field}}
		got, err := s.timestamp(c.r)
		require.NoError(t, err, c.field)
		assert.Equal(t, c.want.UnixMilli(), got, c.field)
	}
	for _, c := range []struct{ iso, want string }{
		{"2024-05-06", "2024-05-06T00:00:00Z"},
		{"2024-05-06T07:08", "2024-05-06T07:08:00Z"},
		{"2024-05-06T07:08:09Z", "2024-05-06T07:08:09Z"},
		{"2024-05-06T07:08:09.5-0130", "2024-05-06T08:38:09.5Z"},
	} {
		got, err := parseTimestampString(c.iso)
		require.NoError(t, err, c.iso)
		want, _ := time.Parse(time.RFC3339Nano, c.want)
		assert.Equal(t, want.UnixMilli(), got, c.iso)
	}
	_, err := parseTimestampString("yesterday")
	assert.ErrorContains(t, err, "neither epoch milliseconds nor an ISO-8601")
	_, err = parseTimestampString("2024-02-30")
	assert.ErrorContains(t, err, "out of range")

	s := &settings{timeSettings: timeSettings{extractor: "RecordField", tsField: "meta.nope"}}
	_, err = s.timestamp(rec)
	assert.ErrorContains(t, err, `timestamp.field "meta.nope"`)
	s.tsField = "n"
	_, err = s.timestamp(rec)
	assert.ErrorContains(t, err, "FLOAT64")
	s.extractor = "Record"
	_, err = s.timestamp(schemaless)
	assert.ErrorContains(t, err, "no timestamp")
}

// TestRecordWithoutTimestampIsReported: a record the extractor cannot
// read goes to errors.tolerance / the DLQ, naming the record and the field.
func TestRecordWithoutTimestampIsReported(t *testing.T) {
	cfg := timeConfig(fakeS3(t))
	cfg["timestamp.extractor"] = "RecordField"
	cfg["timestamp.field"] = "created"
	cfg["flush.size"] = "1"
	sc := connecttest.NewSinkContext(t, cfg)
	sc.Tolerate = true
	task := start(t, cfg, sc, connect.TopicPartition{Topic: "orders"})
	require.NoError(t, task.Put(context.Background(), []*connect.Record{order(0, 3, 1, "eu")}))
	waitCommits(t, task)
	rep := sc.ReportedRecords()
	require.Len(t, rep, 1)
	assert.ErrorContains(t, rep[0].Err, `timestamp.field "created" of record SinkRecord{topic=orders, partition=0, offset=3}`)
	assert.Empty(t, objects(t, cfg))
}

func TestHourlyPartitionerWritesTimeDirectories(t *testing.T) {
	cfg := timeConfig(fakeS3(t))
	cfg["partitioner.class"] = HourlyPartitionerClass
	cfg["timezone"] = "Europe/Paris"
	delete(cfg, "path.format")
	delete(cfg, "partition.duration.ms")
	cfg["flush.size"] = "3"
	task := start(t, cfg, connecttest.NewSinkContext(t, cfg), connect.TopicPartition{Topic: "orders"})
	// 22:30Z and 23:10Z are 23:30 and 00:10 in Paris (+01:00 in
	// January): two directories, across the day; flush.size counts both.
	require.NoError(t, task.Put(context.Background(), []*connect.Record{
		at(t, 0, "2024-01-31T22:30:00Z"), at(t, 1, "2024-01-31T23:10:00Z"), at(t, 2, "2024-01-31T22:59:59Z"),
	}))
	waitCommits(t, task)
	assert.Equal(t, map[string][]byte{
		"topics/orders/year=2024/month=01/day=31/hour=23/orders+0+0000000000.json": []byte("{\"id\":0,\"region\":\"eu\"}\n{\"id\":2,\"region\":\"eu\"}\n"),
		"topics/orders/year=2024/month=02/day=01/hour=00/orders+0+0000000001.json": []byte("{\"id\":1,\"region\":\"eu\"}\n"),
	}, objects(t, cfg))
}

func TestTimeConfigRefusals(t *testing.T) {
	for name, c := range map[string]struct {
		set  map[string]string
		msg  string
		drop []string
	}{
		"no locale":         {drop: []string{"locale"}, msg: "Invalid value  for configuration locale: Locale cannot be empty."},
		"no timezone":       {drop: []string{"timezone"}, msg: "Invalid value  for configuration timezone: Timezone cannot be empty."},
		"unknown timezone":  {set: map[string]string{"timezone": "Mars/Olympus"}, msg: "The datetime zone id 'Mars/Olympus' is not recognised"},
		"no duration":       {drop: []string{"partition.duration.ms"}, msg: "Partition duration needs to be a positive."},
		"empty path":        {set: map[string]string{"path.format": "/"}, msg: "Path format cannot be empty."},
		"unknown letter":    {set: map[string]string{"path.format": "'y'=YYYY/qq"}, msg: "path.format: Illegal pattern component: qq"},
		"custom extractor":  {set: map[string]string{"timestamp.extractor": "com.acme.MyExtractor"}, msg: "timestamp.extractor"},
		"text in French":    {set: map[string]string{"path.format": "MMMM", "locale": "fr"}, msg: "English only"},
		"hourly own path":   {set: map[string]string{"partitioner.class": HourlyPartitionerClass, "path.format": "'y'=YYYY"}, msg: "path.format is 'year'=YYYY/'month'=MM/'day'=dd/'hour'=HH with"},
		"interval, default": {set: map[string]string{"partitioner.class": DefaultPartitionerClass, "rotate.interval.ms": "1000"}, msg: "rotate.interval.ms reads record time from a time-based partitioner"},
		"schedule without tz": {set: map[string]string{"partitioner.class": DefaultPartitionerClass, "rotate.schedule.interval.ms": "1000"}, drop: []string{"timezone"},
			msg: "timezone configuration must be set when using rotate.schedule.interval.ms"},
		"max open 0":           {set: map[string]string{"partitioner.max.open.files": "0"}, msg: "-1 (no limit) or at least 1"},
		"compatibility case":   {set: map[string]string{"schema.compatibility": "backward"}, msg: "schema.compatibility"},
		"affix":                {set: map[string]string{"s3.schema.partition.affix.type": "MIDDLE"}, msg: "s3.schema.partition.affix.type"},
		"write without keys":   {set: map[string]string{"behavior.on.null.values": "write"}, msg: "needs store.kafka.keys=true"},
		"empty tombstone path": {set: map[string]string{"tombstone.encoded.partition": ""}, msg: "tombstone.encoded.partition"},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := timeConfig("http://127.0.0.1:1")
			for _, k := range c.drop {
				delete(cfg, k)
			}
			for k, v := range c.set {
				cfg[k] = v
			}
			_, err := parseSettings(cfg)
			require.Error(t, err)
			assert.ErrorContains(t, err, c.msg)
		})
	}
	// Accepted: fixed offsets, extractors named by their class, the
	// Hourly partitioner's own path.
	cfg := timeConfig("http://127.0.0.1:1")
	cfg["timezone"] = "-08:00"
	cfg["timestamp.extractor"] = "io.confluent.connect.storage.partitioner.TimeBasedPartitioner$RecordFieldTimestampExtractor"
	s, err := parseSettings(cfg)
	require.NoError(t, err)
	assert.Equal(t, "RecordField", s.extractor)
	cfg["partitioner.class"] = HourlyPartitionerClass
	_, err = parseSettings(cfg)
	require.NoError(t, err)
}
