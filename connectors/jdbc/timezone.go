package jdbc

import (
	"fmt"
	"time"

	dbz "github.com/sluicehq/sluice/connectors/debezium"
	"github.com/sluicehq/sluice/runtime/connect"
)

// bind converts a field's value for its column: columnValue, except for
// the temporal values a time zone other than UTC changes (use.time.zone,
// db.timezone, date.timezone).
func (s *settings) bind(sch *connect.Schema, v any) (any, error) {
	if (s.zone != nil || s.dateZone != nil) && v != nil && sch != nil {
		if out, ok, err := s.zoned(sch, v); ok || err != nil {
			if err != nil {
				return nil, fmt.Errorf("%s: %w", sch.Name, err)
			}
			return out, nil
		}
	}
	return s.target.dialect.columnValue(sch, v)
}

// zoned renders the temporal values whose text depends on the zone; ok is
// false for the others.
//
// Debezium binds a timestamp's UTC wall clock as a LocalDateTime through
// Hibernate with hibernate.jdbc.time_zone set to use.time.zone; with the
// JVM in UTC the database gets the instant's wall clock in that zone. A
// time of day goes the same way on today's date; dates are not touched.
// Confluent binds java.sql.Timestamp/Time/Date with a Calendar of
// db.timezone (date.timezone for dates): the wall clock of the instant in
// that zone, a Time being an instant on 1970-01-01.
func (s *settings) zoned(sch *connect.Schema, v any) (any, bool, error) {
	zone := s.zone
	if zone == nil {
		zone = time.UTC
	}
	var t time.Time
	var err error
	layout := timestampLayout
	switch sch.Name {
	case connect.TimestampName:
		t, err = asTime(v)
	case connect.TimeName:
		t, err = asTime(v)
		if s.front == debezium {
			t = today(t.Sub(t.Truncate(24 * time.Hour)))
		}
		layout = timeLayout
	case connect.DateName:
		if s.front == debezium || s.dateZone == nil {
			return nil, false, nil
		}
		t, err = asTime(v)
		zone, layout = s.dateZone, dateLayout
	default:
		// Under Confluent's keys only timestamp.fields.list makes a
		// MicroTimestamp (epochTimestamps); Debezium's other types are
		// Debezium's.
		if s.front != debezium && sch.Name != dbz.MicroTimestampName {
			return nil, false, nil
		}
		return s.zonedDebezium(sch, v, zone)
	}
	if err != nil {
		return nil, true, err
	}
	return t.In(zone).Format(layout), true, nil
}

// zonedDebezium renders Debezium's own temporal types in zone.
func (s *settings) zonedDebezium(sch *connect.Schema, v any, zone *time.Location) (any, bool, error) {
	var t time.Time
	layout := timestampLayout
	n, isInt := asInt(v)
	switch sch.Name {
	case dbz.TimestampName:
		t = time.UnixMilli(n)
	case dbz.MicroTimestampName:
		t = time.UnixMicro(n)
	case nanoTimestampName:
		t = time.Unix(0, n)
	case dbz.TimeName:
		t, layout = today(time.Duration(n)*time.Millisecond), timeLayout
	case dbz.MicroTimeName:
		t, layout = today(time.Duration(n)*time.Microsecond), timeLayout
	case nanoTimeName:
		t, layout = today(time.Duration(n)), timeLayout
	case dbz.ZonedTimestampName:
		str, ok := v.(string)
		if !ok {
			return nil, true, fmt.Errorf("want a string, got %T", v)
		}
		zt, err := time.Parse(time.RFC3339Nano, str)
		if err != nil {
			return nil, true, fmt.Errorf("not an ISO-8601 timestamp: %q", str)
		}
		if s.target.dialect.isMySQL() {
			return zt.In(zone).Format(timestampLayout), true, nil
		}
		return zt.In(zone).Format(time.RFC3339Nano), true, nil
	default:
		return nil, false, nil
	}
	if !isInt {
		return nil, true, fmt.Errorf("want an integer, got %T", v)
	}
	return t.In(zone).Format(layout), true, nil
}

// today is a time of day on today's UTC date, as Debezium binds times.
func today(d time.Duration) time.Time {
	return time.Now().UTC().Truncate(24 * time.Hour).Add(d)
}

func asTime(v any) (time.Time, error) {
	t, ok := v.(time.Time)
	if !ok {
		return time.Time{}, fmt.Errorf("want a time.Time, got %T", v)
	}
	return t, nil
}

func asInt(v any) (int64, bool) {
	switch n := v.(type) {
	case int32:
		return int64(n), true
	case int64:
		return n, true
	}
	return 0, false
}
