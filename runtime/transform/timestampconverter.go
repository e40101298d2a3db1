package transform

import (
	"fmt"
	"maps"
	"math"
	"strings"
	"time"

	"github.com/sluicehq/sluice/runtime/connect"
)

// timestampConverter is org.apache.kafka.connect.transforms.TimestampConverter:
// it converts a field, or the whole key or value, between Unix epoch
// numbers, formatted strings and Connect's Date, Time and Timestamp types.
type timestampConverter struct {
	side        side
	field       string
	target      string
	format      *javaDateFormat
	precision   string
	replaceNull bool
	cache       schemaCache
}

const (
	tsString    = "string"
	tsUnix      = "unix"
	tsDate      = "Date"
	tsTime      = "Time"
	tsTimestamp = "Timestamp"

	precisionNanos   = "nanoseconds"
	precisionMicros  = "microseconds"
	precisionMillis  = "milliseconds"
	precisionSeconds = "seconds"

	timestampPurpose = "converting timestamp formats"
)

var timestampConverterConfig = connect.ConfigDef{
	{Name: "field", Type: connect.ConfigString, Default: "", Importance: connect.High,
		Doc: "The field holding the timestamp, or empty when the whole key or value is the timestamp."},
	{Name: "target.type", Type: connect.ConfigString, Default: connect.NoDefault,
		Validator: validString(tsString, tsUnix, tsDate, tsTime, tsTimestamp), Importance: connect.High,
		Doc: "The timestamp representation to produce: string, unix, Date, Time or Timestamp."},
	{Name: "format", Type: connect.ConfigString, Default: "", Importance: connect.Medium,
		Doc: "A SimpleDateFormat pattern, used to format the output when target.type=string and to parse string input."},
	{Name: "unix.precision", Type: connect.ConfigString, Default: precisionMillis,
		Validator: validString(precisionNanos, precisionMicros, precisionMillis, precisionSeconds), Importance: connect.Low,
		Doc: "Precision of Unix timestamps read and written: seconds, milliseconds, microseconds or nanoseconds. " +
			"Sub-millisecond parts are lost in conversions."},
	replaceNullWithDefaultKey,
}

func (t *timestampConverter) Configure(props map[string]string) error {
	cfg, err := timestampConverterConfig.Parse(props)
	if err != nil {
		return err
	}
	t.field, t.target = cfg.String("field"), cfg.String("target.type")
	t.precision = cfg.String("unix.precision")
	t.replaceNull = cfg.Bool(replaceNullWithDefaultKey.Name)
	pattern := cfg.String("format")
	if t.target == tsString && strings.TrimSpace(pattern) == "" {
		return connect.NewConfigError("format", "TimestampConverter requires format option to be specified when using string timestamps")
	}
	t.format = nil
	if strings.TrimSpace(pattern) != "" {
		if t.format, err = newJavaDateFormat(pattern); err != nil {
			return connect.NewConfigError("format", "TimestampConverter requires a SimpleDateFormat-compatible pattern for string timestamps: %s (%s)",
				pattern, err)
		}
	}
	return nil
}

func (t *timestampConverter) Apply(r *connect.Record) (*connect.Record, error) {
	s, v := t.side.schema(r), t.side.value(r)
	if s != nil {
		return t.applyWithSchema(r, s, v)
	}
	if v == nil || t.field == "" {
		out, err := t.convert(v, "")
		if err != nil {
			return nil, err
		}
		return t.side.with(r, nil, out), nil
	}
	m, err := requireMap(v, timestampPurpose)
	if err != nil {
		return nil, err
	}
	out := maps.Clone(m)
	if out[t.field], err = t.convert(m[t.field], ""); err != nil {
		return nil, err
	}
	return t.side.with(r, nil, out), nil
}

func (t *timestampConverter) applyWithSchema(r *connect.Record, s *connect.Schema, v any) (*connect.Record, error) {
	if t.field == "" {
		from, err := timestampTypeOf(s)
		if err != nil {
			return nil, err
		}
		out, err := t.convert(v, from)
		if err != nil {
			return nil, err
		}
		return t.side.with(r, targetSchema(t.target, s.Optional), out), nil
	}
	st, err := requireStructOrNull(v, timestampPurpose)
	if err != nil {
		return nil, err
	}
	updated := t.cache.get(s)
	if updated == nil {
		b := copySchemaBasics(s, connect.TypeStruct)
		for _, f := range s.Fields {
			if f.Name == t.field {
				b.Field(f.Name, targetSchema(t.target, f.Schema.Optional))
			} else {
				b.Field(f.Name, f.Schema)
			}
		}
		if s.Optional {
			b.Optional()
		}
		updated = b.Build()
		t.cache.put(s, updated)
	}
	if st == nil {
		return t.side.with(r, updated, nil), nil
	}
	out := connect.NewStruct(updated)
	for i := range st.Schema().Fields {
		f := &st.Schema().Fields[i]
		fv := fieldValue(st, f, t.replaceNull)
		if f.Name == t.field {
			from, err := timestampTypeOf(f.Schema)
			if err != nil {
				return nil, err
			}
			if fv, err = t.convert(fv, from); err != nil {
				return nil, err
			}
		}
		out.Set(&updated.Fields[i], fv)
	}
	return t.side.with(r, updated, out), nil
}

var (
	optionalDateSchema      = connect.DateSchema().Optional().Build()
	requiredDateSchema      = connect.DateSchema().Build()
	optionalTimeSchema      = connect.TimeSchema().Optional().Build()
	requiredTimeSchema      = connect.TimeSchema().Build()
	optionalTimestampSchema = connect.TimestampSchema().Optional().Build()
	requiredTimestampSchema = connect.TimestampSchema().Build()
)

func targetSchema(target string, optional bool) *connect.Schema {
	pick := func(opt, req *connect.Schema) *connect.Schema {
		if optional {
			return opt
		}
		return req
	}
	switch target {
	case tsString:
		return pick(connect.OptionalStringSchema, connect.StringSchema)
	case tsUnix:
		return pick(connect.OptionalInt64Schema, connect.Int64Schema)
	case tsDate:
		return pick(optionalDateSchema, requiredDateSchema)
	case tsTime:
		return pick(optionalTimeSchema, requiredTimeSchema)
	}
	return pick(optionalTimestampSchema, requiredTimestampSchema)
}

// timestampTypeOf names the representation a schema carries.
func timestampTypeOf(s *connect.Schema) (string, error) {
	switch {
	case s.Name == connect.TimestampName:
		return tsTimestamp, nil
	case s.Name == connect.DateName:
		return tsDate, nil
	case s.Name == connect.TimeName:
		return tsTime, nil
	case s.Type == connect.TypeString:
		return tsString, nil
	case s.Type == connect.TypeInt64:
		return tsUnix, nil
	}
	return "", fmt.Errorf("%w: Schema %s does not correspond to a known timestamp type format", connect.ErrData, s)
}

// convert turns v from representation from ("" to infer it) into the
// target representation.
func (t *timestampConverter) convert(v any, from string) (any, error) {
	if v == nil {
		return nil, nil
	}
	if from == "" {
		switch v.(type) {
		case time.Time:
			from = tsTimestamp
		case int64:
			from = tsUnix
		case string:
			from = tsString
		default:
			return nil, fmt.Errorf("%w: TimestampConverter does not support %s objects as timestamps", connect.ErrData, javaClass(v))
		}
	}
	raw, err := t.toRaw(v, from)
	if err != nil {
		return nil, err
	}
	return t.toType(raw), nil
}

func (t *timestampConverter) toRaw(v any, from string) (time.Time, error) {
	switch from {
	case tsString:
		s, ok := v.(string)
		if !ok {
			return time.Time{}, fmt.Errorf("%w: Expected string timestamp to be a String, but found %s", connect.ErrData, javaClass(v))
		}
		if t.format == nil {
			return time.Time{}, fmt.Errorf("%w: TimestampConverter requires format option to be specified when using string timestamps", connect.ErrData)
		}
		raw, err := t.format.Parse(s)
		if err != nil {
			return time.Time{}, fmt.Errorf("%w: Could not parse timestamp: value (%s) does not match pattern (%s)",
				connect.ErrData, s, t.format.pattern)
		}
		return raw, nil
	case tsUnix:
		n, ok := v.(int64)
		if !ok {
			return time.Time{}, fmt.Errorf("%w: Expected Unix timestamp to be a Long, but found %s", connect.ErrData, javaClass(v))
		}
		switch t.precision {
		case precisionSeconds:
			n = saturatingMul(n, 1000)
		case precisionMicros:
			n /= 1000
		case precisionNanos:
			n /= 1_000_000
		}
		return time.UnixMilli(n).UTC(), nil
	}
	tm, ok := v.(time.Time)
	if !ok {
		return time.Time{}, fmt.Errorf("%w: Expected %s to be a java.util.Date, but found %s", connect.ErrData, from, javaClass(v))
	}
	return time.UnixMilli(tm.UnixMilli()).UTC(), nil
}

func (t *timestampConverter) toType(raw time.Time) any {
	switch t.target {
	case tsString:
		return t.format.Format(raw)
	case tsUnix:
		ms := raw.UnixMilli()
		switch t.precision {
		case precisionSeconds:
			return ms / 1000
		case precisionMicros:
			return saturatingMul(ms, 1000)
		case precisionNanos:
			return saturatingMul(ms, 1_000_000)
		}
		return ms
	case tsDate:
		return time.Date(raw.Year(), raw.Month(), raw.Day(), 0, 0, 0, 0, time.UTC)
	case tsTime:
		return time.Date(1970, 1, 1, raw.Hour(), raw.Minute(), raw.Second(), raw.Nanosecond(), time.UTC)
	}
	return raw
}

// saturatingMul is Java's TimeUnit conversion: overflow clamps.
func saturatingMul(n, m int64) int64 {
	switch {
	case n > math.MaxInt64/m:
		return math.MaxInt64
	case n < math.MinInt64/m:
		return math.MinInt64
	}
	return n * m
}
