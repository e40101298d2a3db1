package transform

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// javaDateFormat formats and parses times with a java.text.SimpleDateFormat
// pattern ("yyyy-MM-dd'T'HH:mm:ss.SSSZ") in UTC, as TimestampConverter and
// TimestampRouter configure theirs. It interprets the pattern itself rather
// than translating it to a Go layout, since Go layouts cannot quote literal
// text. Parsing is lenient like SimpleDateFormat's default: out-of-range
// fields roll over, trailing text is ignored, and abutting numeric fields
// ("yyyyMMdd") take exactly their pattern width.
type javaDateFormat struct {
	pattern string
	tokens  []dateToken
}

// dateToken is a run of one pattern letter, or literal text (letter 0).
type dateToken struct {
	letter byte
	count  int
	text   string
}

const patternLetters = "GyYMLdHhkKmsSEuDFwWazZX"

func newJavaDateFormat(pattern string) (*javaDateFormat, error) {
	f := &javaDateFormat{pattern: pattern}
	for i := 0; i < len(pattern); {
		c := pattern[i]
		switch {
		case c == '\'':
			lit, n, err := quoted(pattern[i:])
			if err != nil {
				return nil, err
			}
			f.literal(lit)
			i += n
		case (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'):
			if !strings.ContainsRune(patternLetters, rune(c)) {
				return nil, fmt.Errorf("Illegal pattern character '%c'", c)
			}
			n := 1
			for i+n < len(pattern) && pattern[i+n] == c {
				n++
			}
			f.tokens = append(f.tokens, dateToken{letter: c, count: n})
			i += n
		default:
			f.literal(string(c))
			i++
		}
	}
	return f, nil
}

// quoted reads a quoted section at the start of s ("'T'", "”") and returns
// its text and length.
func quoted(s string) (string, int, error) {
	if strings.HasPrefix(s, "''") {
		return "'", 2, nil
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		if s[i] != '\'' {
			b.WriteByte(s[i])
			continue
		}
		if i+1 < len(s) && s[i+1] == '\'' {
			b.WriteByte('\'')
			i++
			continue
		}
		return b.String(), i + 1, nil
	}
	return "", 0, errors.New("Unterminated quote")
}

func (f *javaDateFormat) literal(s string) {
	if n := len(f.tokens); n > 0 && f.tokens[n-1].letter == 0 {
		f.tokens[n-1].text += s
		return
	}
	f.tokens = append(f.tokens, dateToken{text: s})
}

var (
	longMonths = []string{"January", "February", "March", "April", "May", "June", "July", "August",
		"September", "October", "November", "December"}
	longDays = []string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}
)

func pad(n, width int) string {
	s := strconv.Itoa(n)
	if n < 0 {
		return "-" + pad(-n, width)
	}
	for len(s) < width {
		s = "0" + s
	}
	return s
}

func textField(name string, count int) string {
	if count >= 4 {
		return name
	}
	return name[:3]
}

// Format renders t, in UTC.
func (f *javaDateFormat) Format(t time.Time) string {
	t = t.UTC()
	var b strings.Builder
	for _, tok := range f.tokens {
		if tok.letter == 0 {
			b.WriteString(tok.text)
			continue
		}
		b.WriteString(formatField(t, tok))
	}
	return b.String()
}

func formatField(t time.Time, tok dateToken) string {
	n := tok.count
	switch tok.letter {
	case 'G':
		if t.Year() <= 0 {
			return "BC"
		}
		return "AD"
	case 'y', 'Y':
		if n == 2 {
			return pad(t.Year()%100, 2)
		}
		return pad(t.Year(), n)
	case 'M', 'L':
		if n >= 3 {
			return textField(longMonths[t.Month()-1], n)
		}
		return pad(int(t.Month()), n)
	case 'd':
		return pad(t.Day(), n)
	case 'H':
		return pad(t.Hour(), n)
	case 'k':
		if t.Hour() == 0 {
			return pad(24, n)
		}
		return pad(t.Hour(), n)
	case 'K':
		return pad(t.Hour()%12, n)
	case 'h':
		if t.Hour()%12 == 0 {
			return pad(12, n)
		}
		return pad(t.Hour()%12, n)
	case 'm':
		return pad(t.Minute(), n)
	case 's':
		return pad(t.Second(), n)
	case 'S':
		return pad(t.Nanosecond()/1e6, n)
	case 'E':
		return textField(longDays[t.Weekday()], n)
	case 'u':
		return pad((int(t.Weekday())+6)%7+1, n)
	case 'D':
		return pad(t.YearDay(), n)
	case 'F':
		return pad((t.Day()-1)/7+1, n)
	case 'w':
		jan1 := int(time.Date(t.Year(), 1, 1, 0, 0, 0, 0, time.UTC).Weekday())
		return pad((t.YearDay()-1+jan1)/7+1, n)
	case 'W':
		first := int(time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC).Weekday())
		return pad((t.Day()-1+first)/7+1, n)
	case 'a':
		if t.Hour() < 12 {
			return "AM"
		}
		return "PM"
	case 'z':
		if n >= 4 {
			return "Coordinated Universal Time"
		}
		return "UTC"
	case 'Z':
		return "+0000"
	}
	return "Z" // 'X': ISO 8601 zone, always UTC here
}
