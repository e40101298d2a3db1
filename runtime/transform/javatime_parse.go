package transform

import (
	"errors"
	"strings"
	"time"
)

// dateFields collects the fields a parse found.
type dateFields struct {
	year, month, day, hour, minute, second, milli int
	hour12, pm, shortYear                         bool
	offset                                        int // seconds east of UTC
}

var errNoMatch = errors.New("no match")

// Parse reads a time from the start of s, ignoring trailing text.
func (f *javaDateFormat) Parse(s string) (time.Time, error) {
	d := dateFields{year: 1970, month: 1, day: 1}
	pos := 0
	for i, tok := range f.tokens {
		if tok.letter == 0 {
			if !strings.HasPrefix(s[pos:], tok.text) {
				return time.Time{}, errNoMatch
			}
			pos += len(tok.text)
			continue
		}
		abutting := i+1 < len(f.tokens) && isNumericToken(f.tokens[i+1])
		n, err := d.parseField(s[pos:], tok, abutting)
		if err != nil {
			return time.Time{}, err
		}
		pos += n
	}
	return d.time(), nil
}

func isNumericToken(t dateToken) bool {
	switch t.letter {
	case 0, 'G', 'E', 'a', 'z', 'Z', 'X':
		return false
	case 'M', 'L':
		return t.count < 3
	}
	return true
}

// parseField consumes one field at the start of s and returns its length.
func (d *dateFields) parseField(s string, tok dateToken, abutting bool) (int, error) {
	switch tok.letter {
	case 'G':
		return matchText(s, []string{"AD", "BC"}, nil)
	case 'E':
		return matchText(s, longDays, nil)
	case 'a':
		n, err := matchText(s, []string{"AM", "PM"}, &d.pm)
		d.hour12 = true
		return n, err
	case 'M', 'L':
		if tok.count >= 3 {
			idx := -1
			n, err := matchIndex(s, longMonths, &idx)
			d.month = idx + 1
			return n, err
		}
	case 'z', 'Z', 'X':
		return d.parseZone(s)
	}
	width := 0
	if abutting {
		width = tok.count
	}
	v, n := leadingInt(s, width)
	if n == 0 {
		return 0, errNoMatch
	}
	d.setNumber(tok, v, n)
	return n, nil
}

func (d *dateFields) setNumber(tok dateToken, v, digits int) {
	switch tok.letter {
	case 'y', 'Y':
		d.year = v
		d.shortYear = tok.count <= 2 && digits == 2
	case 'M', 'L':
		d.month = v
	case 'd':
		d.day = v
	case 'H':
		d.hour = v
	case 'k':
		d.hour = v % 24
	case 'K', 'h':
		d.hour, d.hour12 = v%12, true
	case 'm':
		d.minute = v
	case 's':
		d.second = v
	case 'S':
		d.milli = v
	case 'D':
		d.month, d.day = 1, v
	}
}

// leadingInt reads up to width digits (all of them when width is 0).
func leadingInt(s string, width int) (int, int) {
	v, n := 0, 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' && (width == 0 || n < width) && n < 10 {
		v = v*10 + int(s[n]-'0')
		n++
	}
	return v, n
}

func matchText(s string, names []string, second *bool) (int, error) {
	idx := -1
	n, err := matchIndex(s, names, &idx)
	if second != nil {
		*second = idx == 1
	}
	return n, err
}

// matchIndex matches a full or three-letter name, ignoring case.
func matchIndex(s string, names []string, idx *int) (int, error) {
	for i, name := range names {
		if len(s) >= len(name) && strings.EqualFold(s[:len(name)], name) {
			*idx = i
			return len(name), nil
		}
	}
	for i, name := range names {
		if len(name) > 3 && len(s) >= 3 && strings.EqualFold(s[:3], name[:3]) {
			*idx = i
			return 3, nil
		}
	}
	return 0, errNoMatch
}

// parseZone reads "Z", "UTC", "GMT", an optional GMT prefix and ±hh, ±hhmm
// or ±hh:mm.
func (d *dateFields) parseZone(s string) (int, error) {
	for _, name := range []string{"UTC", "GMT"} {
		if strings.HasPrefix(s, name) {
			if len(s) > 3 && (s[3] == '+' || s[3] == '-') {
				n, err := d.parseOffset(s[3:])
				return 3 + n, err
			}
			return 3, nil
		}
	}
	if strings.HasPrefix(s, "Z") {
		return 1, nil
	}
	return d.parseOffset(s)
}

func (d *dateFields) parseOffset(s string) (int, error) {
	if s == "" || (s[0] != '+' && s[0] != '-') {
		return 0, errNoMatch
	}
	hh, n := leadingInt(s[1:], 2)
	if n == 0 {
		return 0, errNoMatch
	}
	pos := 1 + n
	mm := 0
	if pos < len(s) && s[pos] == ':' {
		if m, k := leadingInt(s[pos+1:], 2); k == 2 {
			mm, pos = m, pos+3
		}
	} else if m, k := leadingInt(s[pos:], 2); k == 2 {
		mm, pos = m, pos+2
	}
	d.offset = hh*3600 + mm*60
	if s[0] == '-' {
		d.offset = -d.offset
	}
	return pos, nil
}

func (d *dateFields) time() time.Time {
	year := d.year
	if d.shortYear {
		// SimpleDateFormat reads two-digit years within 80 years before and
		// 20 after now.
		start := time.Now().UTC().Year() - 80
		year = start - start%100 + d.year
		if year < start {
			year += 100
		}
	}
	hour := d.hour
	if d.hour12 && d.pm {
		hour = d.hour%12 + 12
	}
	t := time.Date(year, time.Month(d.month), d.day, hour, d.minute, d.second, 0, time.UTC)
	return t.Add(time.Duration(d.milli)*time.Millisecond - time.Duration(d.offset)*time.Second)
}
