package postgres

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/sluicehq/sluice/connectors/debezium"
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
	connectMode := o.TimePrecisionMode == debezium.TimeConnect
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
		case c.timePrecision() <= 3 && o.TimePrecisionMode == debezium.TimeAdaptive:
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
// 8601 in UTC with as many fractional digits as the column's precision (6
// unless declared), as Debezium 2.2+ does (2018-06-20T15:13:16.500000Z);
// a timestamptz(0) has none.
func zonedTimestamp(c Column, s string) (string, error) {
	t, err := parseBC(pgTimestamp+"Z07:00:00", padOffset(s))
	if err != nil {
		return "", err
	}
	layout := time.RFC3339
	if p := c.timePrecision(); p > 0 {
		layout = "2006-01-02T15:04:05." + strings.Repeat("0", p) + "Z07:00"
	}
	return t.UTC().Format(layout), nil
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

// interval is an interval's text in IntervalStyle postgres
// ("1 year 2 mons -3 days +04:05:06.789") split into its fields as the
// JDBC driver's PGInterval splits it: the clock's sign applies to its
// hours, minutes and seconds alike.
type interval struct {
	years, months, days, hours, minutes int64
	// seconds is the signed seconds as written ("-6.789").
	seconds string
}

// parseInterval splits interval text in IntervalStyle postgres.
func parseInterval(s string) (interval, error) {
	var iv interval
	iv.seconds = "0"
	fields := strings.Fields(s)
	for i := 0; i < len(fields); i++ {
		f := fields[i]
		if strings.Contains(f, ":") {
			if err := iv.parseClock(f); err != nil {
				return iv, err
			}
			continue
		}
		if i+1 >= len(fields) {
			return iv, fmt.Errorf("interval number %q without unit", f)
		}
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return iv, err
		}
		i++
		switch strings.TrimSuffix(fields[i], "s") {
		case "year":
			iv.years += n
		case "mon":
			iv.months += n
		case "day":
			iv.days += n
		default:
			return iv, fmt.Errorf("unknown interval unit %q", fields[i])
		}
	}
	return iv, nil
}

// parseClock parses [-+]HH:MM:SS[.ffffff].
func (iv *interval) parseClock(f string) error {
	sign := ""
	switch f[0] {
	case '-':
		sign, f = "-", f[1:]
	case '+':
		f = f[1:]
	}
	parts := strings.Split(f, ":")
	if len(parts) != 3 {
		return fmt.Errorf("bad interval time %q", f)
	}
	h, err1 := strconv.ParseInt(sign+parts[0], 10, 64)
	m, err2 := strconv.ParseInt(sign+parts[1], 10, 64)
	_, err3 := strconv.ParseFloat(parts[2], 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return fmt.Errorf("bad interval time %q", f)
	}
	iv.hours, iv.minutes, iv.seconds = h, m, sign+parts[2]
	return nil
}

// intervalMicros converts interval text to Debezium's MicroDuration: the
// approximate microseconds, months counted as 365.25/12 days.
func intervalMicros(s string) (int64, error) {
	iv, err := parseInterval(s)
	if err != nil {
		return 0, err
	}
	sec, _ := strconv.ParseFloat(iv.seconds, 64)
	clock := (iv.hours*3600+iv.minutes*60)*1e6 + int64(math.Round(sec*1e6))
	totalDays := float64(iv.years*12+iv.months)*daysPerMonth + float64(iv.days)
	return int64(totalDays*86400*1e6) + clock, nil
}

// intervalISO converts interval text to Debezium's Interval string
// (interval.handling.mode=string): every field present, seconds without
// trailing zeros, as P1Y2M3DT4H5M6.78S or P0Y0M-1DT0H0M-1.5S.
func intervalISO(s string) (string, error) {
	iv, err := parseInterval(s)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("P%dY%dM%dDT%dH%dM%sS", iv.years, iv.months, iv.days, iv.hours, iv.minutes,
		plainSeconds(iv.seconds)), nil
}

// plainSeconds strips a decimal's leading and trailing zeros as
// BigDecimal.stripTrailingZeros().toPlainString() does ("-06.780" is
// "-6.78", "00" and "-00" are "0").
func plainSeconds(s string) string {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimLeft(strings.TrimPrefix(s, "-"), "0")
	if strings.Contains(s, ".") {
		s = strings.TrimSuffix(strings.TrimRight(s, "0"), ".")
	}
	switch {
	case s == "":
		return "0"
	case s[0] == '.':
		s = "0" + s
	}
	if neg {
		return "-" + s
	}
	return s
}
