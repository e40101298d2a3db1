package transform

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/runtime/connect"
)

var (
	datePlusTime       = time.UnixMilli(86401000).UTC() // 1970-01-02 00:00:01
	dateOnly           = time.UnixMilli(86400000).UTC()
	timeOnly           = time.UnixMilli(1000).UTC()
	dateFmt            = "yyyy MM dd HH mm ss SSS z"
	datePlusTimeString = "1970 01 02 00 00 01 000 UTC"
)

func TestTimestampConverterConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		props map[string]string
		msg   string
	}{
		{map[string]string{}, `Missing required configuration "target.type"`},
		{map[string]string{"target.type": "invalid"}, "Invalid value invalid for configuration target.type: String must be one of: string, unix, Date, Time, Timestamp"},
		{map[string]string{"target.type": "string"}, "TimestampConverter requires format option to be specified when using string timestamps"},
		{map[string]string{"target.type": "unix", "format": "bad-format"}, "TimestampConverter requires a SimpleDateFormat-compatible pattern for string timestamps: bad-format"},
		{map[string]string{"target.type": "unix", "unix.precision": "minutes"}, "Invalid value minutes for configuration unix.precision: String must be one of: nanoseconds, microseconds, milliseconds, seconds"},
	} {
		assert.Contains(t, configureErr(t, "TimestampConverter$Value", tc.props).Error(), tc.msg)
	}
}

func TestTimestampConverterSchemaless(t *testing.T) {
	for _, tc := range []struct {
		name  string
		props map[string]string
		in    any
		want  any
	}{
		{"timestamp to date", map[string]string{"target.type": "Date"}, datePlusTime, dateOnly},
		{"timestamp to time", map[string]string{"target.type": "Time"}, datePlusTime, timeOnly},
		{"timestamp to unix", map[string]string{"target.type": "unix"}, datePlusTime, int64(86401000)},
		{"timestamp to string", map[string]string{"target.type": "string", "format": dateFmt}, datePlusTime, datePlusTimeString},
		{"unix to timestamp", map[string]string{"target.type": "Timestamp"}, int64(86401000), datePlusTime},
		{"string to timestamp", map[string]string{"target.type": "Timestamp", "format": dateFmt}, datePlusTimeString, datePlusTime},
		{"string to unix", map[string]string{"target.type": "unix", "format": "yyyyMMddHHmmss"}, "19700102000001", int64(86401000)},
		{"unix seconds in", map[string]string{"target.type": "Timestamp", "unix.precision": "seconds"}, int64(86401), datePlusTime},
		{"unix micros in", map[string]string{"target.type": "Timestamp", "unix.precision": "microseconds"}, int64(86401000123), datePlusTime},
		{"unix nanos in", map[string]string{"target.type": "Timestamp", "unix.precision": "nanoseconds"}, int64(86401000123456), datePlusTime},
		{"unix seconds out", map[string]string{"target.type": "unix", "unix.precision": "seconds"}, datePlusTime.Add(999 * time.Millisecond), int64(86401)},
		{"unix micros out", map[string]string{"target.type": "unix", "unix.precision": "microseconds"}, datePlusTime, int64(86401000000)},
		{"unix nanos out", map[string]string{"target.type": "unix", "unix.precision": "nanoseconds"}, datePlusTime, int64(86401000000000)},
		{"null", map[string]string{"target.type": "unix"}, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := apply(t, newTransform(t, "TimestampConverter$Value", tc.props), valueRecord(nil, tc.in))
			assert.Equal(t, tc.want, out.Value)
			out = apply(t, newTransform(t, "TimestampConverter$Key", tc.props), keyRecord(nil, tc.in))
			assert.Equal(t, tc.want, out.Key)
		})
	}
}

func TestTimestampConverterWithSchema(t *testing.T) {
	for _, tc := range []struct {
		name       string
		props      map[string]string
		schema     *connect.Schema
		in         any
		want       any
		wantSchema *connect.Schema
	}{
		{"timestamp to date", map[string]string{"target.type": "Date"}, connect.TimestampSchema().Build(), datePlusTime, dateOnly, requiredDateSchema},
		{"timestamp to time", map[string]string{"target.type": "Time"}, connect.TimestampSchema().Build(), datePlusTime, timeOnly, requiredTimeSchema},
		{"date to timestamp", map[string]string{"target.type": "Timestamp"}, connect.DateSchema().Build(), dateOnly, dateOnly, requiredTimestampSchema},
		{"unix to string", map[string]string{"target.type": "string", "format": dateFmt}, connect.Int64Schema, int64(86401000), datePlusTimeString, connect.StringSchema},
		{"string to unix", map[string]string{"target.type": "unix", "format": dateFmt}, connect.OptionalStringSchema, datePlusTimeString, int64(86401000), connect.OptionalInt64Schema},
		{"optional null", map[string]string{"target.type": "Date"}, connect.TimestampSchema().Optional().Build(), nil, nil, optionalDateSchema},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := apply(t, newTransform(t, "TimestampConverter$Value", tc.props), valueRecord(tc.schema, tc.in))
			assert.Equal(t, tc.want, out.Value)
			assert.True(t, tc.wantSchema.Equal(out.ValueSchema), "%v", out.ValueSchema)
		})
	}
	err := applyErr(t, newTransform(t, "TimestampConverter$Value", map[string]string{"target.type": "Date"}), valueRecord(connect.Int32Schema, int32(1)))
	assert.Contains(t, err.Error(), "Schema Schema{INT32} does not correspond to a known timestamp type format")
}

func TestTimestampConverterField(t *testing.T) {
	schema := connect.StructBuilder().Name("s").Field("ts", connect.TimestampSchema().Build()).
		Field("other", connect.StringSchema).
		Field("optTs", connect.NewSchemaBuilder(connect.TypeInt64).Optional().Default(int64(1000)).Build()).Build()
	value := structOf(schema, "ts", datePlusTime, "other", "x")
	for _, class := range []string{"TimestampConverter$Key", "TimestampConverter$Value"} {
		tr := newTransform(t, class, map[string]string{"field": "ts", "target.type": "unix"})
		var s *connect.Schema
		var v any
		if class == "TimestampConverter$Key" {
			out := apply(t, tr, keyRecord(schema, value))
			s, v = out.KeySchema, out.Key
		} else {
			out := apply(t, tr, valueRecord(schema, value))
			s, v = out.ValueSchema, out.Value
		}
		assert.Equal(t, connect.Int64Schema, s.Field("ts").Schema)
		assert.Equal(t, "s", s.Name)
		got, _ := v.(*connect.Struct).Get("ts")
		assert.Equal(t, int64(86401000), got)
		got, _ = v.(*connect.Struct).Get("other")
		assert.Equal(t, "x", got)
	}
	for replace, want := range map[string]any{"true": time.UnixMilli(1000).UTC(), "false": nil} {
		tr := newTransform(t, "TimestampConverter$Value", map[string]string{"field": "optTs", "target.type": "Timestamp", "replace.null.with.default": replace})
		out := apply(t, tr, valueRecord(schema, value))
		assert.Equal(t, want, out.Value.(*connect.Struct).GetWithoutDefault("optTs"), replace)
	}

	in := map[string]any{"ts": int64(86401000), "other": "x"}
	out := apply(t, newTransform(t, "TimestampConverter$Value", map[string]string{"field": "ts", "target.type": "Timestamp"}), valueRecord(nil, in))
	assert.Equal(t, map[string]any{"ts": datePlusTime, "other": "x"}, out.Value)
	assert.Equal(t, int64(86401000), in["ts"])

	out = apply(t, newTransform(t, "TimestampConverter$Value", map[string]string{"field": "ts", "target.type": "Timestamp"}), valueRecord(schema, nil))
	assert.Nil(t, out.Value)
}

func TestTimestampConverterDataErrors(t *testing.T) {
	for _, tc := range []struct {
		props  map[string]string
		schema *connect.Schema
		in     any
		msg    string
	}{
		{map[string]string{"target.type": "Timestamp", "format": "yyyy-MM-dd"}, nil, "not a date",
			"Could not parse timestamp: value (not a date) does not match pattern (yyyy-MM-dd)"},
		{map[string]string{"target.type": "Timestamp"}, nil, int32(5), "TimestampConverter does not support class java.lang.Integer objects as timestamps"},
		{map[string]string{"target.type": "Timestamp"}, connect.Int64Schema, int32(5), "Expected Unix timestamp to be a Long, but found class java.lang.Integer"},
		{map[string]string{"target.type": "unix"}, connect.DateSchema().Build(), int32(5), "Expected Date to be a java.util.Date, but found class java.lang.Integer"},
		{map[string]string{"target.type": "unix"}, nil, "2024", "TimestampConverter requires format option"},
		{map[string]string{"target.type": "unix", "field": "f"}, nil, "x", "Only Map objects supported in absence of schema for [converting timestamp formats]"},
	} {
		err := applyErr(t, newTransform(t, "TimestampConverter$Value", tc.props), valueRecord(tc.schema, tc.in))
		require.ErrorIs(t, err, connect.ErrData)
		assert.Contains(t, err.Error(), tc.msg)
	}
}

func TestJavaDateFormat(t *testing.T) {
	ts := time.Date(2017, 1, 5, 13, 4, 5, 7_000_000, time.UTC)
	for pattern, want := range map[string]string{
		"yyyy-MM-dd'T'HH:mm:ss.SSS'Z'": "2017-01-05T13:04:05.007Z",
		"yyyyMMdd":                     "20170105",
		"yy/M/d h:m:s a":               "17/1/5 1:4:5 PM",
		"EEE, d MMM yyyy HH:mm:ss Z":   "Thu, 5 Jan 2017 13:04:05 +0000",
		"EEEE MMMM D":                  "Thursday January 5",
		"yyyy-MM-dd'T'HH:mm:ssXXX":     "2017-01-05T13:04:05Z",
		"k K S":                        "13 1 7",
		"'o''clock' ''":                "o'clock '",
	} {
		f, err := newJavaDateFormat(pattern)
		require.NoError(t, err, pattern)
		assert.Equal(t, want, f.Format(ts), pattern)
		if pattern == "EEEE MMMM D" || pattern == "k K S" || pattern == "'o''clock' ''" {
			continue
		}
		back, err := f.Parse(want)
		require.NoError(t, err, pattern)
		assert.Equal(t, ts.Truncate(timeUnit(pattern)), back, pattern)
	}
	f, _ := newJavaDateFormat("yyyy-MM-dd HH:mm:ssZ")
	got, err := f.Parse("2017-01-05 13:04:05+0130 trailing text")
	require.NoError(t, err)
	assert.Equal(t, time.Date(2017, 1, 5, 11, 34, 5, 0, time.UTC), got, "offset applied, trailing text ignored")
	f, _ = newJavaDateFormat("yyyy-MM-dd")
	got, err = f.Parse("2017-13-32")
	require.NoError(t, err)
	assert.Equal(t, time.Date(2018, 2, 1, 0, 0, 0, 0, time.UTC), got, "lenient roll-over")
	_, err = f.Parse("2017/01/05")
	assert.Error(t, err)
	_, err = newJavaDateFormat("yyyy-'MM")
	assert.ErrorContains(t, err, "Unterminated quote")
}

func timeUnit(pattern string) time.Duration {
	switch {
	case len(pattern) == 8: // yyyyMMdd
		return 24 * time.Hour
	case pattern == "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'":
		return time.Millisecond
	}
	return time.Second
}
