package storage

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/sluicehq/sluice/internal/javafmt"
)

// The encoder below writes JSON byte for byte as Kafka's JsonConverter
// (Jackson underneath) does with schemas.enable=false, so records written by
// Sluice and by Kafka Connect look the same: compact, struct fields in
// schema order (object), maps with sorted keys (Java's HashMap order cannot
// be reproduced, and readers must not depend on it), only '"', '\' and
// control characters escaped (\u00XX in upper case), doubles as Java's
// Double.toString prints them.

// field is one struct field; object keeps its fields in schema order.
type field struct {
	name  string
	value any
}

type object []field

// appendJSON appends v, which must be nil, bool, string, int64, float64,
// object, map[string]string, map[string]any or []any (values that went
// through normalizeValue, or built by this package).
func appendJSON(b []byte, v any) []byte {
	switch v := v.(type) {
	case nil:
		return append(b, "null"...)
	case bool:
		return strconv.AppendBool(b, v)
	case string:
		return appendJSONString(b, v)
	case int64:
		return strconv.AppendInt(b, v, 10)
	case float64:
		return appendJavaDouble(b, v)
	case object:
		b = append(b, '{')
		for i, f := range v {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, f.name)
			b = append(b, ':')
			b = appendJSON(b, f.value)
		}
		return append(b, '}')
	case map[string]string:
		b = append(b, '{')
		var buf [16]string
		for i, k := range sortedKeys(buf[:0], v) {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, k)
			b = append(b, ':')
			b = appendJSONString(b, v[k])
		}
		return append(b, '}')
	case map[string]any:
		b = append(b, '{')
		var buf [16]string
		for i, k := range sortedKeys(buf[:0], v) {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, k)
			b = append(b, ':')
			b = appendJSON(b, v[k])
		}
		return append(b, '}')
	case []any:
		b = append(b, '[')
		for i, e := range v {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSON(b, e)
		}
		return append(b, ']')
	default:
		panic(fmt.Sprintf("storage: cannot encode %T as JSON", v))
	}
}

// sortedKeys appends m's keys to buf and sorts them; a stack buffer saves
// the allocation for small maps.
func sortedKeys[V any](buf []string, m map[string]V) []string {
	for k := range m {
		buf = append(buf, k)
	}
	slices.Sort(buf)
	return buf
}

const upperHex = "0123456789ABCDEF"

// appendJSONString escapes as Jackson does by default. Invalid UTF-8 (a
// Java string cannot hold it) becomes U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				b = append(b, "\uFFFD"...)
			} else {
				b = append(b, s[i:i+size]...)
			}
			i += size
			continue
		}
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '\b':
			b = append(b, '\\', 'b')
		case c == '\t':
			b = append(b, '\\', 't')
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\f':
			b = append(b, '\\', 'f')
		case c == '\r':
			b = append(b, '\\', 'r')
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', upperHex[c>>4], upperHex[c&0xF])
		default:
			b = append(b, c)
		}
		i++
	}
	return append(b, '"')
}

// appendJavaDouble prints f as Java's Double.toString; Jackson quotes the
// non-finite values.
func appendJavaDouble(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		b = append(b, '"')
		b = javafmt.AppendDouble(b, f)
		return append(b, '"')
	}
	return javafmt.AppendDouble(b, f)
}

// decodeJSON parses one JSON value as JsonConverter does without schemas:
// objects become map[string]any, arrays []any, integer literals int64 and
// other numbers float64.
func decodeJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("decode JSON: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("decode JSON: data after the top-level value")
	}
	return fromDecoded(v), nil
}

func fromDecoded(v any) any {
	switch v := v.(type) {
	case json.Number:
		return numberValue(string(v))
	case map[string]any:
		for k, e := range v {
			v[k] = fromDecoded(e)
		}
		return v
	case []any:
		for i, e := range v {
			v[i] = fromDecoded(e)
		}
		return v
	default:
		return v
	}
}

// numberValue follows Jackson: a literal without '.', 'e' or 'E' is an
// integer (int64; one too large for it falls back to float64), anything
// else a double.
func numberValue(s string) any {
	if !strings.ContainsAny(s, ".eE") {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return n
		}
	}
	f, _ := strconv.ParseFloat(s, 64)
	return f
}
