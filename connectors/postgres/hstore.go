package postgres

import (
	"fmt"
	"strings"
)

// hstorePair is one hstore entry; a nil value is SQL NULL.
type hstorePair struct {
	key   string
	value *string
}

// parseHstore reads hstore's text output ("a"=>"1", "b"=>NULL), keys and
// values double-quoted with \" and \\ escaped, in the server's order.
func parseHstore(s string) ([]hstorePair, error) {
	var out []hstorePair
	for i := skipSpace(s, 0); i < len(s); i = skipSpace(s, i) {
		key, next, err := hstoreToken(s, i)
		if err != nil {
			return nil, err
		}
		if key == nil {
			return nil, fmt.Errorf("hstore key is NULL")
		}
		i = skipSpace(s, next)
		if !strings.HasPrefix(s[i:], "=>") {
			return nil, fmt.Errorf("hstore entry lacks =>")
		}
		value, next, err := hstoreToken(s, skipSpace(s, i+2))
		if err != nil {
			return nil, err
		}
		out = append(out, hstorePair{key: *key, value: value})
		if i = skipSpace(s, next); i < len(s) {
			if s[i] != ',' {
				return nil, fmt.Errorf("unexpected %q after hstore entry", s[i])
			}
			i++
		}
	}
	return out, nil
}

func skipSpace(s string, i int) int {
	for i < len(s) && s[i] == ' ' {
		i++
	}
	return i
}

// hstoreToken reads the quoted string or bare word at s[i] and returns it
// (nil for a bare NULL) and the index after it.
func hstoreToken(s string, i int) (*string, int, error) {
	if i < len(s) && s[i] == '"' {
		var b strings.Builder
		for j := i + 1; j < len(s); j++ {
			switch s[j] {
			case '\\':
				if j++; j < len(s) {
					b.WriteByte(s[j])
				}
			case '"':
				v := b.String()
				return &v, j + 1, nil
			default:
				b.WriteByte(s[j])
			}
		}
		return nil, 0, fmt.Errorf("unterminated quoted hstore string")
	}
	j := i
	for j < len(s) && !strings.ContainsRune(" ,=", rune(s[j])) {
		j++
	}
	if j == i {
		return nil, 0, fmt.Errorf("empty hstore token")
	}
	if w := s[i:j]; !strings.EqualFold(w, "NULL") {
		return &w, j, nil
	}
	return nil, j, nil
}

// hstoreJSON renders hstore entries as Debezium's json mode does (Jackson,
// compact): {"a":"1","b":null}.
func hstoreJSON(pairs []hstorePair) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, p := range pairs {
		if i > 0 {
			b.WriteByte(',')
		}
		writeJSONString(&b, p.key)
		b.WriteByte(':')
		if p.value == nil {
			b.WriteString("null")
		} else {
			writeJSONString(&b, *p.value)
		}
	}
	b.WriteByte('}')
	return b.String()
}

// writeJSONString writes s as a JSON string with Jackson's escapes: quote,
// backslash, the short forms of \b \t \n \f \r, and \u00XX (upper-case hex)
// for the other control characters; nothing else.
func writeJSONString(b *strings.Builder, s string) {
	const hexDigits = "0123456789ABCDEF"
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\b':
			b.WriteString(`\b`)
		case '\t':
			b.WriteString(`\t`)
		case '\n':
			b.WriteString(`\n`)
		case '\f':
			b.WriteString(`\f`)
		case '\r':
			b.WriteString(`\r`)
		default:
			if c < 0x20 {
				b.WriteString(`\u00`)
				b.WriteByte(hexDigits[c>>4])
				b.WriteByte(hexDigits[c&0xf])
			} else {
				b.WriteByte(c)
			}
		}
	}
	b.WriteByte('"')
}
