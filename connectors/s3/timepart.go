package s3

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // timezone must resolve on hosts without a zoneinfo database

	"github.com/sluicehq/sluice/runtime/connect"
)

// Keys of Confluent's time-based partitioners (storage-common's
// PartitionerConfig).
const (
	PartitionDurationConfig  = "partition.duration.ms"
	PathFormatConfig         = "path.format"
	LocaleConfig             = "locale"
	TimezoneConfig           = "timezone"
	TimestampExtractorConfig = "timestamp.extractor"
	TimestampFieldConfig     = "timestamp.field"
	extractorClass           = "io.confluent.connect.storage.partitioner.TimeBasedPartitioner$"
)

// timeKeys declares the time-based partitioners' keys with Confluent's
// defaults.
var timeKeys = connect.ConfigDef{
	{Name: PartitionDurationConfig, Type: connect.ConfigLong, Default: int64(-1), Importance: connect.Medium, Group: group,
		Doc: "TimeBasedPartitioner: the duration of a partition in milliseconds; a record's timestamp is floored to it in timezone."},
	{Name: PathFormatConfig, Type: connect.ConfigString, Default: "", Importance: connect.Medium, Group: group,
		Doc: "TimeBasedPartitioner: the Joda-Time pattern of the directories, e.g. 'year'=YYYY/'month'=MM/'day'=dd/'hour'=HH."},
	{Name: LocaleConfig, Type: connect.ConfigString, Default: "", Importance: connect.Medium, Group: group,
		Doc: "Time-based partitioners (required): the locale of text fields in path.format (English only: en, en-US, ...)."},
	{Name: TimezoneConfig, Type: connect.ConfigString, Default: "", Importance: connect.Medium, Group: group,
		Validator: timezoneValidator{},
		Doc:       "Time-based partitioners and rotate.schedule.interval.ms (required there): a zone id such as UTC or Europe/Paris, or a fixed offset [+-]hh:mm."},
	{Name: TimestampExtractorConfig, Type: connect.ConfigString, Default: "Wallclock", Importance: connect.Medium, Group: group,
		Validator: connect.OneOf{Values: []string{"Wallclock", "Record", "RecordField", extractorClass + "WallclockTimestampExtractor", extractorClass + "RecordTimestampExtractor", extractorClass + "RecordFieldTimestampExtractor"}},
		Doc:       "Time-based partitioners: where a record's time comes from: Wallclock (the time it is written; not deterministic), Record (the Kafka timestamp) or RecordField (timestamp.field)."},
	{Name: TimestampFieldConfig, Type: connect.ConfigString, Default: "timestamp", Importance: connect.Medium, Group: group,
		Doc: "RecordField: the value field (nested as a.b) holding the time: epoch milliseconds, an ISO-8601 string, or a Date or Timestamp."},
}

// timeSettings are the parsed keys of the time-based partitioners.
type timeSettings struct {
	durationMs int64
	path       *jodaFormat
	zone       *time.Location
	zoneID     string
	extractor  string // Wallclock, Record or RecordField
	tsField    string
	// clock is the wall clock of Wallclock and scheduled rotation; tests
	// replace it.
	clock func() time.Time
}

// parseTime parses the time-based keys; a time-based partitioner needs
// them all, as Confluent's TimeBasedPartitioner.configure checks.
func parseTime(cfg connect.Config, s *settings) error {
	s.clock = time.Now
	s.zoneID = strings.TrimSpace(cfg.String(TimezoneConfig))
	if s.zoneID != "" {
		s.zone, _ = loadZone(s.zoneID) // the validator checked it
	}
	// The built-in extractors may also be named by their class.
	s.extractor = strings.TrimSuffix(strings.TrimPrefix(cfg.String(TimestampExtractorConfig), extractorClass), "TimestampExtractor")
	s.tsField = cfg.String(TimestampFieldConfig)
	pathFormat, duration := cfg.String(PathFormatConfig), cfg.Int(PartitionDurationConfig)
	switch s.partitionerClass {
	case HourlyPartitionerClass, DailyPartitionerClass:
		fixed, d := fixedPath(s.partitionerClass, s.dirDelim)
		// Confluent overwrites these two keys silently; a different
		// setting would be ignored, so it is refused instead.
		if pathFormat != "" && pathFormat != fixed {
			return connect.NewConfigError(PathFormatConfig, "%s is %s with %s; remove it or use %s", PathFormatConfig, fixed, s.partitionerClass, TimeBasedPartitionerClass)
		}
		if duration != -1 && duration != d {
			return connect.NewConfigError(PartitionDurationConfig, "%s is %d with %s; remove it or use %s", PartitionDurationConfig, d, s.partitionerClass, TimeBasedPartitionerClass)
		}
		pathFormat, duration = fixed, d
	case TimeBasedPartitionerClass:
	default:
		return nil
	}
	if duration <= 0 {
		return connect.NewConfigError(PartitionDurationConfig, "Invalid value %d for configuration %s: Partition duration needs to be a positive.", duration, PartitionDurationConfig)
	}
	if strings.TrimSpace(pathFormat) == "" || pathFormat == s.dirDelim {
		return connect.NewConfigError(PathFormatConfig, "Invalid value %s for configuration %s: Path format cannot be empty.", pathFormat, PathFormatConfig)
	}
	if s.dirDelim != "" {
		pathFormat = strings.TrimSuffix(pathFormat, s.dirDelim)
	}
	locale := strings.TrimSpace(cfg.String(LocaleConfig))
	if locale == "" {
		return connect.NewConfigError(LocaleConfig, "Invalid value %s for configuration %s: Locale cannot be empty.", locale, LocaleConfig)
	}
	if s.zone == nil {
		return connect.NewConfigError(TimezoneConfig, "Invalid value %s for configuration %s: Timezone cannot be empty.", s.zoneID, TimezoneConfig)
	}
	english := strings.EqualFold(strings.FieldsFunc(locale, func(r rune) bool { return r == '-' || r == '_' })[0], "en")
	f, err := parseJoda(pathFormat, english, s.zone.String())
	if err != nil {
		return connect.NewConfigError(PathFormatConfig, "Invalid value %s for configuration %s: %v", pathFormat, PathFormatConfig, err)
	}
	s.durationMs, s.path = duration, f
	if s.extractor == "RecordField" && strings.TrimSpace(s.tsField) == "" {
		return connect.NewConfigError(TimestampFieldConfig, "%s must name the field RecordField reads", TimestampFieldConfig)
	}
	return nil
}

// fixedPath is the path format and duration of the Hourly and Daily
// partitioners.
func fixedPath(class, delim string) (string, int64) {
	if class == HourlyPartitionerClass {
		return "'year'=YYYY" + delim + "'month'=MM" + delim + "'day'=dd" + delim + "'hour'=HH", int64(time.Hour / time.Millisecond)
	}
	return "'year'=YYYY" + delim + "'month'=MM" + delim + "'day'=dd", int64(24 * time.Hour / time.Millisecond)
}

var offsetZone = regexp.MustCompile(`^([+-])(\d{2})(?::?(\d{2}))?$`)

// loadZone resolves a zone as Joda's DateTimeZone.forID: a tz database
// id, UTC, or a fixed offset [+-]hh[:mm].
func loadZone(id string) (*time.Location, error) {
	if m := offsetZone.FindStringSubmatch(id); m != nil {
		h, _ := strconv.Atoi(m[2])
		mins, _ := strconv.Atoi(m[3] + "0")
		off := h*3600 + mins/10*60
		if h > 23 || mins/10 > 59 {
			return nil, fmt.Errorf("The datetime zone id '%s' is not recognised", id)
		}
		if m[1] == "-" {
			off = -off
		}
		if off == 0 {
			return time.UTC, nil // Joda's forID("+00:00") is UTC
		}
		// Joda names a fixed zone by its printed offset: +05:30.
		return time.FixedZone(fmt.Sprintf("%s%s:%02d", m[1], m[2], mins/10), off), nil
	}
	if id == "" || id == "Local" || strings.HasPrefix(id, "/") {
		return nil, fmt.Errorf("The datetime zone id '%s' is not recognised", id)
	}
	loc, err := time.LoadLocation(id)
	if err != nil {
		return nil, fmt.Errorf("The datetime zone id '%s' is not recognised", id)
	}
	return loc, nil
}

// timezoneValidator is storage-common's TimezoneValidator: blank or a zone
// Joda knows.
type timezoneValidator struct{}

// Validate implements connect.Validator.
func (timezoneValidator) Validate(_ string, v any) string {
	s, _ := v.(string)
	if s = strings.TrimSpace(s); s == "" {
		return ""
	}
	if _, err := loadZone(s); err != nil {
		return err.Error()
	}
	return ""
}

func (timezoneValidator) String() string {
	return "Any timezone accepted by: class org.joda.time.DateTimeZone"
}

// timeBasedPartitioner is Confluent's TimeBasedPartitioner (and the
// Hourly and Daily ones): the record's time, floored to the partition
// duration in the zone, printed with path.format.
type timeBasedPartitioner struct{ s *settings }

func (p timeBasedPartitioner) encode(r *connect.Record) (string, error) {
	ts, err := p.s.timestamp(r)
	if err != nil {
		return "", err
	}
	return p.encodeAt(ts), nil
}

// encodeAt is TimeBasedPartitioner.encodedPartitionForTimestamp.
func (p timeBasedPartitioner) encodeAt(ts int64) string {
	bucket := floorInZone(p.s.durationMs, ts, p.s.zone)
	return p.s.path.format(time.UnixMilli(bucket).In(p.s.zone))
}

// floorInZone is TimeBasedPartitioner.getPartition: the timestamp made
// local (UTC millis plus the zone's offset), floored to the duration with
// Java's division (towards zero), and made UTC again as Joda's
// convertLocalToUTC(local, false) does.
func floorInZone(durationMs, ts int64, zone *time.Location) int64 {
	local := ts + offsetMs(ts, zone)
	floored := (local / durationMs) * durationMs
	return localToUTC(floored, zone)
}

func offsetMs(instant int64, zone *time.Location) int64 {
	_, off := time.UnixMilli(instant).In(zone).Zone()
	return int64(off) * 1000
}

// nextTransition is Joda's DateTimeZone.nextTransition: the next instant
// the zone's offset changes, or instant itself when it never does.
func nextTransition(instant int64, zone *time.Location) int64 {
	_, end := time.UnixMilli(instant).In(zone).ZoneBounds()
	if end.IsZero() {
		return instant
	}
	return end.UnixMilli()
}

// localToUTC is Joda's DateTimeZone.convertLocalToUTC(instantLocal,
// false): in a DST gap, west of Greenwich, the offset before the gap.
func localToUTC(local int64, zone *time.Location) int64 {
	offsetLocal := offsetMs(local, zone)
	offset := offsetMs(local-offsetLocal, zone)
	if offsetLocal != offset && offsetLocal < 0 {
		nextLocal := nextTransition(local-offsetLocal, zone)
		if nextLocal == local-offsetLocal {
			nextLocal = math.MaxInt64
		}
		nextAdjusted := nextTransition(local-offset, zone)
		if nextAdjusted == local-offset {
			nextAdjusted = math.MaxInt64
		}
		if nextLocal != nextAdjusted {
			offset = offsetLocal
		}
	}
	return local - offset
}

// timestamp is the record's time in epoch milliseconds per
// timestamp.extractor, or an error naming the record and why.
func (s *settings) timestamp(r *connect.Record) (int64, error) {
	switch s.extractor {
	case "Record":
		if r.Timestamp.IsZero() {
			return 0, fmt.Errorf("Unable to determine timestamp using timestamp.extractor Record for record %s: it has no timestamp", r)
		}
		return r.Timestamp.UnixMilli(), nil
	case "RecordField":
		ts, err := fieldTimestamp(r, s.tsField)
		if err != nil {
			return 0, fmt.Errorf("timestamp.extractor RecordField, timestamp.field %q of record %s: %w", s.tsField, r, err)
		}
		return ts, nil
	}
	return s.clock().UnixMilli(), nil
}

// fieldTimestamp is Confluent's RecordFieldTimestampExtractor.
func fieldTimestamp(r *connect.Record, name string) (int64, error) {
	switch r.Value.(type) {
	case *connect.Struct, map[string]any:
	case nil:
		return 0, fmt.Errorf("the value is null")
	default:
		return 0, fmt.Errorf("the value is a %T, not a Struct or a map", r.Value)
	}
	// Each level of a.b is a Struct or a map (storage-common's
	// DataUtils.getNestedFieldValue); the schema is known through Structs.
	v, schema := r.Value, r.ValueSchema
	for _, part := range strings.Split(name, ".") {
		switch x := v.(type) {
		case *connect.Struct:
			f := x.Schema().Field(part)
			if f == nil {
				return 0, fmt.Errorf("the field %q does not exist", name)
			}
			v, schema = x.GetField(f), f.Schema
		case map[string]any:
			if v = x[part]; v == nil {
				return 0, fmt.Errorf("the field %q does not exist", name)
			}
			schema = nil
		default:
			return 0, fmt.Errorf("the field %q does not exist", name)
		}
	}
	if v == nil {
		return 0, fmt.Errorf("the field %q is null", name)
	}
	if schema != nil {
		switch schema.Type {
		case connect.TypeInt32, connect.TypeInt64, connect.TypeString:
		default:
			return 0, fmt.Errorf("the field has type %s; it must be INT32, INT64, STRING or a Timestamp", schema.Type)
		}
	}
	switch x := v.(type) {
	case time.Time: // Timestamp and Date
		return x.UnixMilli(), nil
	case int8:
		return int64(x), nil
	case int16:
		return int64(x), nil
	case int32:
		return int64(x), nil
	case int64:
		return x, nil
	case float32:
		return int64(x), nil
	case float64:
		return int64(x), nil
	case string:
		return parseTimestampString(x)
	}
	return 0, fmt.Errorf("the field holds a %T; it must be a number, a string or a Timestamp", v)
}

var numericTimestamp = regexp.MustCompile(`^-?[0-9]{1,19}$`)

// isoTimestamp is the common part of Joda's ISODateTimeFormat
// dateTimeParser: yyyy[-MM[-dd]][T]HH[:mm[:ss[.fff]]] with an optional
// Z or [+-]hh[:mm] offset.
var isoTimestamp = regexp.MustCompile(`^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?(?:T(\d{2})(?::(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?)?(Z|[+-]\d{2}(?::?\d{2})?)?$`)

// parseTimestampString is RecordFieldTimestampExtractor's
// extractTimestampFromString: digits are epoch milliseconds, anything else
// an ISO-8601 date-time. Without an offset the time is UTC (Joda takes the
// JVM's default zone, UTC on most servers).
func parseTimestampString(s string) (int64, error) {
	if numericTimestamp.MatchString(s) {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return n, nil
		}
	}
	m := isoTimestamp.FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf("Invalid format: %q is neither epoch milliseconds nor an ISO-8601 date-time", s)
	}
	num := func(i, def int) int {
		if m[i] == "" {
			return def
		}
		n, _ := strconv.Atoi(m[i])
		return n
	}
	nanos := 0
	if frac := m[7]; frac != "" {
		frac = (frac + "000000000")[:9]
		nanos, _ = strconv.Atoi(frac)
		nanos = nanos / 1e6 * 1e6 // Joda keeps milliseconds
	}
	loc := time.UTC
	if z := m[8]; z != "" && z != "Z" {
		var err error
		if loc, err = loadZone(z); err != nil {
			return 0, fmt.Errorf("Invalid format: %q has a bad offset", s)
		}
	}
	year, month, day := num(1, 0), num(2, 1), num(3, 1)
	hour, minute, sec := num(4, 0), num(5, 0), num(6, 0)
	if month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || sec > 59 {
		return 0, fmt.Errorf("Invalid format: %q has a field out of range", s)
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nanos, loc)
	if t.Day() != day {
		return 0, fmt.Errorf("Invalid format: %q has a field out of range", s)
	}
	return t.UnixMilli(), nil
}
