package convert

import (
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
)

// Limits in the spirit of Jackson's StreamReadConstraints: they keep
// hostile input from exhausting the stack, the memory or the CPU.
// Decimal scales are bounded because a *big.Rat materializes 10^scale,
// where Java's BigDecimal keeps the scale apart.
const (
	maxJSONDepth    = 1000
	maxNumberLength = 1000
	maxDecimalScale = 10000
)

// syntaxError is malformed JSON (Jackson's JsonParseException), which the
// converter reports as a serialization error.
type syntaxError struct {
	msg    string
	offset int
}

func (e *syntaxError) Error() string { return fmt.Sprintf("%s at offset %d", e.msg, e.offset) }

// scanner reads strict RFC 8259 JSON from a byte slice without building a
// tree; the readers on top of it convert values as they go.
type scanner struct {
	data    []byte
	pos     int
	depth   int
	scratch []byte // decoded strings with escapes
}

func (s *scanner) errorf(format string, args ...any) error {
	return &syntaxError{msg: fmt.Sprintf(format, args...), offset: s.pos}
}

func (s *scanner) skipWS() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// peek skips whitespace and returns the next byte, 0 at the end.
func (s *scanner) peek() byte {
	s.skipWS()
	if s.pos < len(s.data) {
		return s.data[s.pos]
	}
	return 0
}

// end checks that only whitespace follows the value.
func (s *scanner) end() error {
	s.skipWS()
	if s.pos < len(s.data) {
		return s.errorf("Unexpected character %s after the JSON value", quoteByte(s.data[s.pos]))
	}
	return nil
}

func quoteByte(c byte) string {
	if c >= 0x20 && c < 0x7f {
		return fmt.Sprintf("'%c'", c)
	}
	return fmt.Sprintf("(code %d)", c)
}

// open consumes '{' or '[' and reports whether the container is empty (its
// closing byte consumed too).
func (s *scanner) open(closing byte) (empty bool, err error) {
	s.pos++
	s.depth++
	if s.depth > maxJSONDepth {
		return false, s.errorf("Document nesting depth exceeds the maximum allowed (%d)", maxJSONDepth)
	}
	if s.peek() == closing {
		s.pos++
		s.depth--
		return true, nil
	}
	return false, nil
}

// more consumes the separator after a member: ',' (true) or the closing
// byte (false).
func (s *scanner) more(closing byte) (bool, error) {
	switch s.peek() {
	case ',':
		s.pos++
		return true, nil
	case closing:
		s.pos++
		s.depth--
		return false, nil
	case 0:
		return false, s.errorf("Unexpected end-of-input: expected close marker '%c'", closing)
	}
	return false, s.errorf("Unexpected character %s: was expecting comma to separate entries", quoteByte(s.data[s.pos]))
}

// key reads an object member name and its colon. The bytes are valid
// until the next string is read.
func (s *scanner) key() ([]byte, error) {
	if s.peek() != '"' {
		if s.pos >= len(s.data) {
			return nil, s.errorf("Unexpected end-of-input: was expecting a field name")
		}
		return nil, s.errorf("Unexpected character %s: was expecting double-quote to start field name", quoteByte(s.data[s.pos]))
	}
	k, err := s.stringBytes()
	if err != nil {
		return nil, err
	}
	if s.peek() != ':' {
		return nil, s.errorf("Unexpected character: was expecting a colon to separate field name and value")
	}
	s.pos++
	s.skipWS()
	return k, nil
}

// literal consumes true, false or null.
func (s *scanner) literal(lit string) error {
	if len(s.data)-s.pos < len(lit) || string(s.data[s.pos:s.pos+len(lit)]) != lit {
		return s.errorf("Unrecognized token: was expecting %s", lit)
	}
	s.pos += len(lit)
	return nil
}

// stringBytes reads a string at '"'. Without escapes the result aliases
// the input; otherwise it is decoded into the scratch buffer. Either way
// it is valid only until the next call.
func (s *scanner) stringBytes() ([]byte, error) {
	start := s.pos + 1
	high := false
	for i := start; i < len(s.data); i++ {
		c := s.data[i]
		switch {
		case c == '"':
			seg := s.data[start:i]
			if high && !utf8.Valid(seg) {
				s.pos = start
				return nil, s.errorf("Invalid UTF-8 in string")
			}
			s.pos = i + 1
			return seg, nil
		case c == '\\':
			return s.escapedString(start, i)
		case c < 0x20:
			s.pos = i
			return nil, s.errorf("Illegal unquoted character (code %d): has to be escaped", c)
		case c >= utf8.RuneSelf:
			high = true
		}
	}
	s.pos = len(s.data)
	return nil, s.errorf("Unexpected end-of-input in a string")
}

// escapedString decodes a string whose first escape is at i.
func (s *scanner) escapedString(start, i int) ([]byte, error) {
	out := append(s.scratch[:0], s.data[start:i]...)
	for i < len(s.data) {
		c := s.data[i]
		switch {
		case c == '"':
			s.pos = i + 1
			s.scratch = out
			if !utf8.Valid(out) {
				return nil, s.errorf("Invalid UTF-8 in string")
			}
			return out, nil
		case c == '\\':
			var err error
			if out, i, err = s.unescape(out, i); err != nil {
				return nil, err
			}
			continue
		case c < 0x20:
			s.pos = i
			return nil, s.errorf("Illegal unquoted character (code %d): has to be escaped", c)
		}
		out = append(out, c)
		i++
	}
	s.pos = len(s.data)
	return nil, s.errorf("Unexpected end-of-input in a string")
}

// unescape decodes the escape at i and returns the index after it.
func (s *scanner) unescape(out []byte, i int) ([]byte, int, error) {
	if i+1 >= len(s.data) {
		s.pos = i
		return out, i, s.errorf("Unexpected end-of-input in a string")
	}
	switch c := s.data[i+1]; c {
	case '"', '\\', '/':
		return append(out, c), i + 2, nil
	case 'b':
		return append(out, '\b'), i + 2, nil
	case 'f':
		return append(out, '\f'), i + 2, nil
	case 'n':
		return append(out, '\n'), i + 2, nil
	case 'r':
		return append(out, '\r'), i + 2, nil
	case 't':
		return append(out, '\t'), i + 2, nil
	case 'u':
		r, next, err := s.unicodeEscape(i)
		return utf8.AppendRune(out, r), next, err
	default:
		s.pos = i
		return out, i, s.errorf("Unrecognized character escape %s", quoteByte(c))
	}
}

// unicodeEscape decodes \uXXXX at i, joining a surrogate pair; a lone
// surrogate becomes U+FFFD (a Go string cannot hold one).
func (s *scanner) unicodeEscape(i int) (rune, int, error) {
	r, ok := hex4(s.data, i+2)
	if !ok {
		s.pos = i
		return 0, i, s.errorf("Unexpected character in \\u escape: expected a hex-digit")
	}
	next := i + 6
	if utf16.IsSurrogate(r) {
		if next+1 < len(s.data) && s.data[next] == '\\' && s.data[next+1] == 'u' {
			if lo, ok := hex4(s.data, next+2); ok {
				if pair := utf16.DecodeRune(r, lo); pair != utf8.RuneError {
					return pair, next + 6, nil
				}
			}
		}
		return utf8.RuneError, next, nil
	}
	return r, next, nil
}

func hex4(b []byte, at int) (rune, bool) {
	if at+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[at : at+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// number reads a JSON number and reports whether it has integral syntax
// (no fraction, no exponent), as Jackson tells ints from decimals.
func (s *scanner) number() (num []byte, integral bool, err error) {
	start := s.pos
	i := start
	if i < len(s.data) && s.data[i] == '-' {
		i++
	}
	digits := countDigits(s.data, i)
	if digits == 0 {
		s.pos = i
		return nil, false, s.errorf("Unexpected character: expected a digit for number")
	}
	if s.data[i] == '0' && digits > 1 {
		s.pos = i
		return nil, false, s.errorf("Invalid numeric value: Leading zeroes not allowed")
	}
	i += digits
	integral = true
	if i < len(s.data) && s.data[i] == '.' {
		integral = false
		n := countDigits(s.data, i+1)
		if n == 0 {
			s.pos = i + 1
			return nil, false, s.errorf("Unexpected character: Decimal point not followed by a digit")
		}
		i += 1 + n
	}
	if i < len(s.data) && (s.data[i] == 'e' || s.data[i] == 'E') {
		integral = false
		i++
		if i < len(s.data) && (s.data[i] == '+' || s.data[i] == '-') {
			i++
		}
		n := countDigits(s.data, i)
		if n == 0 {
			s.pos = i
			return nil, false, s.errorf("Unexpected character: Exponent indicator not followed by a digit")
		}
		i += n
	}
	if i-start > maxNumberLength {
		return nil, false, s.errorf("Number value length (%d) exceeds the maximum allowed (%d)", i-start, maxNumberLength)
	}
	s.pos = i
	return s.data[start:i], integral, nil
}

func countDigits(b []byte, i int) int {
	n := 0
	for i+n < len(b) && b[i+n] >= '0' && b[i+n] <= '9' {
		n++
	}
	return n
}

// skip consumes one value of any kind, checking its syntax.
func (s *scanner) skip() error {
	switch c := s.peek(); c {
	case '{':
		return s.skipContainer('}', true)
	case '[':
		return s.skipContainer(']', false)
	case '"':
		_, err := s.stringBytes()
		return err
	case 't':
		return s.literal("true")
	case 'f':
		return s.literal("false")
	case 'n':
		return s.literal("null")
	case 0:
		return s.errorf("Unexpected end-of-input: expected a value")
	default:
		if c == '-' || (c >= '0' && c <= '9') {
			_, _, err := s.number()
			return err
		}
		return s.errorf("Unexpected character %s: expected a valid value", quoteByte(c))
	}
}

func (s *scanner) skipContainer(closing byte, object bool) error {
	empty, err := s.open(closing)
	if err != nil || empty {
		return err
	}
	for {
		if object {
			if _, err := s.key(); err != nil {
				return err
			}
		}
		if err := s.skip(); err != nil {
			return err
		}
		more, err := s.more(closing)
		if err != nil || !more {
			return err
		}
	}
}

// span skips one value and returns its bytes (no surrounding whitespace).
func (s *scanner) span() ([]byte, error) {
	s.skipWS()
	start := s.pos
	if err := s.skip(); err != nil {
		return nil, err
	}
	return s.data[start:s.pos], nil
}

// kind names the JSON value starting at the next byte as Jackson's
// JsonNodeType does, for error messages.
func (s *scanner) kind() string {
	switch c := s.peek(); c {
	case '{':
		return "OBJECT"
	case '[':
		return "ARRAY"
	case '"':
		return "STRING"
	case 't', 'f':
		return "BOOLEAN"
	case 'n':
		return "NULL"
	case 0:
		return "MISSING"
	}
	return "NUMBER"
}
