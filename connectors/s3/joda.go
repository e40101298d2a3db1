package s3

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// jodaFormat prints times as Joda-Time's DateTimeFormat.forPattern does,
// for the path.format of Confluent's TimeBasedPartitioner.
//
// Pattern rules (Joda's, not Java's SimpleDateFormat): a run of one ASCII
// letter is a field, its length the minimum number of digits (numbers are
// zero-padded, never truncated, except yy, which prints the year modulo
// 100); text between single quotes is literal, two quotes are one quote; every other
// character is literal as it stands. So 'year'=YYYY/'month'=MM prints
// year=2024/month=03.
//
// Supported fields: G era, C century of era, Y year of era, y year, x
// weekyear, w week of weekyear, e day of week (1 = Monday), E day of week
// text, D day of year, M month (MMM and MMMM as text), d day of month, a
// halfday text, K hour of halfday (0-11), h clockhour of halfday (1-12),
// H hour of day (0-23), k clockhour of day (1-24), m minute, s second, S
// fraction of second, Z offset (Z: +0100, ZZ: +01:00, "Z" for UTC; ZZZ:
// the zone id). Text fields are printed in English, so they need an
// English locale; z (zone names) is refused, as Go's zone abbreviations
// are not Java's.
type jodaFormat struct {
	tokens []jodaToken
	zoneID string // for ZZZ
}

type jodaToken struct {
	field   byte   // 0 for a literal
	n       int    // letters in the run
	literal string // when field == 0
}

// parseJoda parses a Joda pattern; english says whether the locale's
// language is English, which text fields need.
func parseJoda(pattern string, english bool, zoneID string) (*jodaFormat, error) {
	f := &jodaFormat{zoneID: zoneID}
	for i := 0; i < len(pattern); {
		c := pattern[i]
		if isASCIILetter(c) {
			j := i
			for j < len(pattern) && pattern[j] == c {
				j++
			}
			n := j - i
			if err := checkJodaField(c, n, english); err != nil {
				return nil, err
			}
			f.tokens = append(f.tokens, jodaToken{field: c, n: n})
			i = j
			continue
		}
		// A literal: quoted text and any non-letters, up to the next
		// unquoted letter (Joda's parseToken). An unclosed quote runs to
		// the end, as in Joda.
		var b strings.Builder
		quoted := false
		for ; i < len(pattern); i++ {
			c = pattern[i]
			if c == '\'' {
				if i+1 < len(pattern) && pattern[i+1] == '\'' {
					b.WriteByte('\'')
					i++
				} else {
					quoted = !quoted
				}
				continue
			}
			if !quoted && isASCIILetter(c) {
				break
			}
			b.WriteByte(c)
		}
		f.tokens = append(f.tokens, jodaToken{literal: b.String()})
	}
	return f, nil
}

func isASCIILetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// checkJodaField refuses what Joda refuses (an unknown letter) and what
// this formatter cannot print as Joda would.
func checkJodaField(c byte, n int, english bool) error {
	run := strings.Repeat(string(c), n)
	switch c {
	case 'G', 'C', 'Y', 'y', 'x', 'w', 'e', 'D', 'd', 'K', 'h', 'H', 'k', 'm', 's', 'S', 'Z':
		return nil
	case 'M':
		if n >= 3 && !english {
			return fmt.Errorf("%s (month text) is printed in English only; set locale to en or use MM", run)
		}
		return nil
	case 'E', 'a':
		if !english {
			return fmt.Errorf("%s (text) is printed in English only; set locale to en", run)
		}
		return nil
	case 'z':
		return fmt.Errorf("%s (time zone name) is not supported; use Z, ZZ or ZZZ", run)
	}
	return fmt.Errorf("Illegal pattern component: %s", run)
}

// format prints t, which is in the partitioner's zone.
func (f *jodaFormat) format(t time.Time) string {
	var b []byte
	for _, tok := range f.tokens {
		if tok.field == 0 {
			b = append(b, tok.literal...)
			continue
		}
		b = f.appendField(b, tok, t)
	}
	return string(b)
}

func (f *jodaFormat) appendField(b []byte, tok jodaToken, t time.Time) []byte {
	n := tok.n
	switch tok.field {
	case 'G':
		if t.Year() <= 0 {
			return append(b, "BC"...)
		}
		return append(b, "AD"...)
	case 'C':
		return appendPadded(b, int64(yearOfEra(t)/100), n)
	case 'Y':
		if n == 2 {
			return appendPadded(b, int64(yearOfEra(t)%100), 2)
		}
		return appendPadded(b, int64(yearOfEra(t)), n)
	case 'y':
		if n == 2 {
			return appendPadded(b, int64(abs(t.Year())%100), 2)
		}
		return appendPadded(b, int64(t.Year()), n)
	case 'x':
		wy, _ := t.ISOWeek()
		if n == 2 {
			return appendPadded(b, int64(abs(wy)%100), 2)
		}
		return appendPadded(b, int64(wy), n)
	case 'w':
		_, w := t.ISOWeek()
		return appendPadded(b, int64(w), n)
	case 'e':
		return appendPadded(b, int64(isoWeekday(t)), n)
	case 'E':
		if n >= 4 {
			return append(b, t.Weekday().String()...)
		}
		return append(b, t.Weekday().String()[:3]...)
	case 'D':
		return appendPadded(b, int64(t.YearDay()), n)
	case 'M':
		switch {
		case n >= 4:
			return append(b, t.Month().String()...)
		case n == 3:
			return append(b, t.Month().String()[:3]...)
		}
		return appendPadded(b, int64(t.Month()), n)
	case 'd':
		return appendPadded(b, int64(t.Day()), n)
	case 'a':
		if t.Hour() < 12 {
			return append(b, "AM"...)
		}
		return append(b, "PM"...)
	case 'K':
		return appendPadded(b, int64(t.Hour()%12), n)
	case 'h':
		h := t.Hour() % 12
		if h == 0 {
			h = 12
		}
		return appendPadded(b, int64(h), n)
	case 'H':
		return appendPadded(b, int64(t.Hour()), n)
	case 'k':
		h := t.Hour()
		if h == 0 {
			h = 24
		}
		return appendPadded(b, int64(h), n)
	case 'm':
		return appendPadded(b, int64(t.Minute()), n)
	case 's':
		return appendPadded(b, int64(t.Second()), n)
	case 'S':
		// Joda keeps milliseconds: S is tenths, SSS milliseconds, more
		// letters add zeros.
		ms := int64(t.Nanosecond() / 1e6)
		if n <= 3 {
			div := int64(1)
			for i := n; i < 3; i++ {
				div *= 10
			}
			return appendPadded(b, ms/div, n)
		}
		b = appendPadded(b, ms, 3)
		return append(b, strings.Repeat("0", n-3)...)
	case 'Z':
		if n >= 3 {
			return append(b, f.zoneID...)
		}
		_, off := t.Zone()
		if off == 0 {
			return append(b, 'Z')
		}
		sign := byte('+')
		if off < 0 {
			sign, off = '-', -off
		}
		b = append(b, sign)
		b = appendPadded(b, int64(off/3600), 2)
		if n == 2 {
			b = append(b, ':')
		}
		return appendPadded(b, int64(off%3600/60), 2)
	}
	return b
}

// appendPadded appends v zero-padded to at least width digits, as Joda's
// FormatUtils.appendPaddedInteger.
func appendPadded(b []byte, v int64, width int) []byte {
	if v < 0 {
		b = append(b, '-')
		v = -v
	}
	s := strconv.FormatInt(v, 10)
	for i := len(s); i < width; i++ {
		b = append(b, '0')
	}
	return append(b, s...)
}

func yearOfEra(t time.Time) int {
	if y := t.Year(); y <= 0 {
		return 1 - y
	}
	return t.Year()
}

func isoWeekday(t time.Time) int {
	if d := int(t.Weekday()); d != 0 {
		return d
	}
	return 7
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
