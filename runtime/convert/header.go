package convert

import (
	"encoding/base64"
	"math/big"
	"strings"
	"time"

	"github.com/sluicehq/sluice/internal/javafmt"
	"github.com/sluicehq/sluice/internal/javafmt/javavalue"
	"github.com/sluicehq/sluice/runtime/connect"
)

// SimpleHeaderConverter is Kafka's
// org.apache.kafka.connect.storage.SimpleHeaderConverter, the default
// header.converter: header values are written as strings (Kafka's
// Values.convertToString) and read back as the most specific value they
// parse as (Values.parseString): booleans, the smallest integer type that
// holds a number, floats, decimals, ISO-8601 dates and times, arrays
// "[1,2]" and maps {"a":1}; anything else stays a string. Safe for
// concurrent use.
type SimpleHeaderConverter struct{}

// NewSimpleHeaderConverter returns a SimpleHeaderConverter.
func NewSimpleHeaderConverter() *SimpleHeaderConverter { return &SimpleHeaderConverter{} }

// Configure implements connect.HeaderConverter; there is nothing to
// configure.
func (c *SimpleHeaderConverter) Configure(map[string]string) error { return nil }

// FromConnectHeader implements connect.HeaderConverter.
func (c *SimpleHeaderConverter) FromConnectHeader(_, _ string, s *connect.Schema, v any) ([]byte, error) {
	if v == nil {
		return nil, nil
	}
	return appendValuesString(nil, s, v, false)
}

// ToConnectHeader implements connect.HeaderConverter.
func (c *SimpleHeaderConverter) ToConnectHeader(_, _ string, data []byte) (*connect.Schema, any, error) {
	if data == nil {
		return nil, nil, nil
	}
	s, v := parseValuesString(decodeUTF8(data))
	return s, v, nil
}

// Formats Values uses for temporal values (java.text.SimpleDateFormat
// patterns yyyy-MM-dd, HH:mm:ss.SSS'Z' and their combination), in UTC.
const (
	isoDate      = "2006-01-02"
	isoTime      = "15:04:05.000Z"
	isoTimestamp = "2006-01-02T15:04:05.000Z"
	msPerDay     = 24 * 60 * 60 * 1000
)

// appendValuesString renders v as Kafka's Values.convertToString: strings
// bare at the top and quoted (with \ and " escaped) inside arrays, maps
// and structs; bytes as base64; dates by the same millisecond rules.
func appendValuesString(b []byte, s *connect.Schema, v any, embedded bool) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case string:
		if !embedded {
			return append(b, x...), nil
		}
		return appendQuoted(b, escapeValuesString(x)), nil
	case []byte:
		if !embedded {
			return base64.StdEncoding.AppendEncode(b, x), nil
		}
		return appendQuoted(b, base64.StdEncoding.EncodeToString(x)), nil
	case *big.Rat:
		return javavalue.Append(b, s, x), nil
	case time.Time:
		return appendValuesTime(b, x), nil
	case []any:
		return appendValuesList(b, elemSchema(s), x)
	case map[string]any:
		return appendValuesStringMap(b, s, x)
	case map[any]any:
		return appendValuesAnyMap(b, s, x)
	case *connect.Struct:
		return appendValuesStruct(b, x)
	}
	if out, ok := javavalue.AppendScalar(b, v); ok {
		return out, nil
	}
	return b, dataErr("Failed to serialize unexpected value type %s: %v", typeName(v), v)
}

func appendQuoted(b []byte, s string) []byte {
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

func escapeValuesString(s string) string {
	if !strings.ContainsAny(s, `\"`) {
		return s
	}
	s = strings.ReplaceAll(s, `\`, `\\`)
	return strings.ReplaceAll(s, `"`, `\"`)
}

// appendValuesTime picks the format by the milliseconds as Kafka does: a
// time of day before the first day's end, a date at midnight, otherwise
// a timestamp.
func appendValuesTime(b []byte, t time.Time) []byte {
	ms := t.UnixMilli()
	t = t.UTC()
	switch {
	case ms < msPerDay:
		return t.AppendFormat(b, isoTime)
	case ms%msPerDay == 0:
		return t.AppendFormat(b, isoDate)
	}
	return t.AppendFormat(b, isoTimestamp)
}

func appendValuesList(b []byte, es *connect.Schema, l []any) ([]byte, error) {
	b = append(b, '[')
	var err error
	for i, e := range l {
		if i > 0 {
			b = append(b, ',')
		}
		if b, err = appendValuesString(b, es, e, true); err != nil {
			return b, err
		}
	}
	return append(b, ']'), nil
}

func appendValuesStringMap(b []byte, s *connect.Schema, m map[string]any) ([]byte, error) {
	b = append(b, '{')
	var err error
	for i, k := range javafmt.AppendStringKeys(nil, m) {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendQuoted(b, escapeValuesString(k.Key))
		b = append(b, ':')
		if b, err = appendValuesString(b, elemSchema(s), m[k.Key], true); err != nil {
			return b, err
		}
	}
	return append(b, '}'), nil
}

func appendValuesAnyMap(b []byte, s *connect.Schema, m map[any]any) ([]byte, error) {
	var ks *connect.Schema
	if s != nil {
		ks = s.KeySchema
	}
	b = append(b, '{')
	var err error
	for i, k := range javafmt.AnyKeys(m) {
		if i > 0 {
			b = append(b, ',')
		}
		if b, err = appendValuesString(b, ks, k, true); err != nil {
			return b, err
		}
		b = append(b, ':')
		if b, err = appendValuesString(b, elemSchema(s), m[k], true); err != nil {
			return b, err
		}
	}
	return append(b, '}'), nil
}

// appendValuesStruct writes {"field":value,…} for every field, defaults
// applied (Struct.get).
func appendValuesStruct(b []byte, st *connect.Struct) ([]byte, error) {
	b = append(b, '{')
	var err error
	fields := st.Schema().Fields
	for i := range fields {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendQuoted(b, escapeValuesString(fields[i].Name))
		b = append(b, ':')
		if b, err = appendValuesString(b, fields[i].Schema, st.GetField(&fields[i]), true); err != nil {
			return b, err
		}
	}
	return append(b, '}'), nil
}

// elemSchema returns the value schema of an array or map schema, or nil.
func elemSchema(s *connect.Schema) *connect.Schema {
	if s == nil {
		return nil
	}
	return s.ValueSchema
}
