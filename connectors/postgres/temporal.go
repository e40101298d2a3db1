package postgres

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
)

// Layouts of Postgres's ISO DateStyle output.
const (
	pgDate      = "2006-01-02"
	pgTime      = "15:04:05.999999"
	pgTimestamp = "2006-01-02 15:04:05.999999"
	microsPerMs = 1000
)

// convertTemporal converts date, time and timestamp text per
// time.precision.mode: Debezium's epoch counts in adaptive modes, Kafka's
// logical types (time.Time, millisecond precision) in connect mode.
func convertTemporal(c Column, s string, o TypeOptions) (any, error) {
	connectMode := o.TimePrecisionMode == "connect"
	switch c.TypeOID {
	case pgtype.DateOID:
		t, err := parseBC(pgDate, s)
		if err != nil {
			return nil, err
		}
		if connectMode {
			return t, nil
		}
		return int32(t.Unix() / 86400), nil
	case pgtype.TimeOID:
		micros, err := timeOfDayMicros(s)
		if err != nil {
			return nil, err
		}
		switch {
		case connectMode:
			return time.UnixMilli(micros / microsPerMs).UTC(), nil
		case c.timePrecision() <= 3 && o.TimePrecisionMode == "adaptive":
			return int32(micros / microsPerMs), nil
		}
		return micros, nil
	default:
		t, err := parseBC(pgTimestamp, s)
		if err != nil {
			return nil, err
		}
		switch {
		case connectMode:
			return time.UnixMilli(t.UnixMilli()).UTC(), nil
		case c.timePrecision() <= 3:
			return t.UnixMilli(), nil
		}
		return t.UnixMicro(), nil
	}
}

// parseBC parses a date or timestamp in UTC, honouring the " BC" suffix
// (year 1 BC is year 0 in Go's proleptic calendar).
func parseBC(layout, s string) (time.Time, error) {
	if s == "infinity" || s == "-infinity" {
		return time.Time{}, fmt.Errorf("infinite dates and timestamps are not supported")
	}
	bc := strings.HasSuffix(s, " BC")
	t, err := time.Parse(layout, strings.TrimSuffix(s, " BC"))
	if err != nil || !bc {
		return t, err
	}
	return t.AddDate(1-2*t.Year(), 0, 0), nil
}

// timeOfDayMicros parses HH:MM:SS[.ffffff] (24:00:00 included) into
// microseconds past midnight.
func timeOfDayMicros(s string) (int64, error) {
	if strings.HasPrefix(s, "24:00:00") {
		return 24 * 3600 * 1e6, nil
	}
	t, err := time.Parse(pgTime, s)
	if err != nil {
		return 0, err
	}
	return int64(t.Hour()*3600+t.Minute()*60+t.Second())*1e6 + int64(t.Nanosecond()/1000), nil
}

// zonedTimestamp renders timestamptz text as Debezium's ZonedTimestamp: ISO
// 8601 in UTC with the fraction's trailing zeros dropped
// (2018-06-20T15:13:16.945104Z).
func zonedTimestamp(s string) (string, error) {
	t, err := parseBC(pgTimestamp+"Z07:00:00", padOffset(s))
	if err != nil {
		return "", err
	}
	return t.UTC().Format(time.RFC3339Nano), nil
}

// zonedTime renders timetz text as Debezium's ZonedTime: the time of day in
// UTC with a Z (14:30:00.5Z).
func zonedTime(s string) (string, error) {
	t, err := time.Parse(pgTime+"Z07:00:00", padOffset(s))
	if err != nil {
		return "", err
	}
	return t.UTC().Format("15:04:05.999999999Z07:00"), nil
}

// padOffset widens Postgres's shortest UTC offset (+05, +05:30) to
// +hh:mm:ss so one layout parses every form.
func padOffset(s string) string {
	suffix := ""
	if strings.HasSuffix(s, " BC") {
		s, suffix = strings.TrimSuffix(s, " BC"), " BC"
	}
	i := strings.LastIndexAny(s, "+-")
	if i < len(s)-9 || i < 8 { // the date's dashes are not an offset
		return s + suffix
	}
	switch len(s) - i {
	case 3:
		s += ":00:00"
	case 6:
		s += ":00"
	}
	return s + suffix
}

// daysPerMonth is the month length Debezium assumes when it turns an
// interval into microseconds (MicroDuration.DAYS_PER_MONTH_AVG).
const daysPerMonth = 365.25 / 12

// intervalMicros converts interval text in IntervalStyle postgres
// ("1 year 2 mons -3 days +04:05:06.789") to Debezium's MicroDuration: the
// approximate microseconds, months counted as 365.25/12 days.
func intervalMicros(s string) (int64, error) {
	var years, months, days, micros int64
	fields := strings.Fields(s)
	for i := 0; i < len(fields); i++ {
		f := fields[i]
		if strings.Contains(f, ":") {
			m, err := clockMicros(f)
			if err != nil {
				return 0, err
			}
			micros += m
			continue
		}
		if i+1 >= len(fields) {
			return 0, fmt.Errorf("interval number %q without unit", f)
		}
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, err
		}
		i++
		switch strings.TrimSuffix(fields[i], "s") {
		case "year":
			years += n
		case "mon":
			months += n
		case "day":
			days += n
		default:
			return 0, fmt.Errorf("unknown interval unit %q", fields[i])
		}
	}
	totalDays := float64(years*12+months)*daysPerMonth + float64(days)
	return int64(totalDays*86400*1e6) + micros, nil
}

// clockMicros parses [-+]HH:MM:SS[.ffffff] into signed microseconds.
func clockMicros(f string) (int64, error) {
	sign := int64(1)
	switch f[0] {
	case '-':
		sign, f = -1, f[1:]
	case '+':
		f = f[1:]
	}
	parts := strings.Split(f, ":")
	if len(parts) != 3 {
		return 0, fmt.Errorf("bad interval time %q", f)
	}
	h, err1 := strconv.ParseInt(parts[0], 10, 64)
	m, err2 := strconv.ParseInt(parts[1], 10, 64)
	sec, err3 := strconv.ParseFloat(parts[2], 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return 0, fmt.Errorf("bad interval time %q", f)
	}
	return sign * ((h*3600+m*60)*1e6 + int64(math.Round(sec*1e6))), nil
}
