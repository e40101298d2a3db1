package convert

import (
	"encoding/base64"
	"math/big"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sluicehq/sluice/runtime/connect"
)

// StringConverter is Kafka's org.apache.kafka.connect.storage.StringConverter:
// it writes any value as its string form (Java's toString) in UTF-8 and
// reads every value back as an optional string. Safe for concurrent use.
type StringConverter struct{}

// NewStringConverter returns a StringConverter.
func NewStringConverter() *StringConverter { return &StringConverter{} }

// Configure implements connect.Converter. converter.encoding must name
// UTF-8: Sluice has no other character sets, and refuses rather than
// garble.
func (c *StringConverter) Configure(config map[string]string, isKey bool) error {
	return c.configure(config, converterType(isKey))
}

func (c *StringConverter) configure(config map[string]string, typ string) error {
	cfg, err := parseConverterConfig(stringConfigDef(), config, typ)
	if err != nil {
		return err
	}
	if enc := cfg.String(EncodingConfig); !isUTF8(enc) {
		return configErr(EncodingConfig, enc, "Sluice supports only the UTF-8 character set")
	}
	return nil
}

func isUTF8(name string) bool {
	return strings.EqualFold(name, "UTF-8") || strings.EqualFold(name, "UTF8")
}

// FromConnect implements connect.Converter. The schema is ignored except
// to give a Decimal its scale; a null value is a null record.
func (c *StringConverter) FromConnect(_ string, _ connect.Headers, s *connect.Schema, v any) ([]byte, error) {
	if v == nil {
		return nil, nil
	}
	switch x := v.(type) {
	case string:
		return []byte(x), nil
	case []byte:
		// Java would print the array's identity ("[B@1b6d3586"); the
		// bytes themselves are the useful reading.
		return append([]byte(nil), x...), nil
	}
	return appendJavaString(nil, s, v), nil
}

// ToConnect implements connect.Converter. Invalid UTF-8 is replaced by
// U+FFFD, as Java's decoder does.
func (c *StringConverter) ToConnect(_ string, _ connect.Headers, data []byte) (*connect.Schema, any, error) {
	if data == nil {
		return connect.OptionalStringSchema, nil, nil
	}
	return connect.OptionalStringSchema, decodeUTF8(data), nil
}

func decodeUTF8(data []byte) string {
	if utf8.Valid(data) {
		return string(data)
	}
	return strings.ToValidUTF8(string(data), "\uFFFD")
}

// appendJavaString appends v as Java's toString renders the Java value a
// Connect value stands for: collections as "[a, b]" and "{k=v}", structs
// as "Struct{a=1,b=x}", dates as java.util.Date prints them in UTC.
func appendJavaString(b []byte, s *connect.Schema, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...)
	case string:
		return append(b, x...)
	case []byte:
		return base64.StdEncoding.AppendEncode(b, x)
	case *big.Rat:
		scale, err := decimalScaleOf(s)
		out, ok := appendDecimal(b, x, scale, err == nil)
		if !ok {
			return append(b, x.RatString()...)
		}
		return out
	case time.Time:
		return x.UTC().AppendFormat(b, "Mon Jan 02 15:04:05 UTC 2006")
	case []any:
		return appendJavaList(b, elemSchema(s), x)
	case map[string]any:
		return appendJavaStringMap(b, s, x)
	case map[any]any:
		return appendJavaAnyMap(b, s, x)
	case *connect.Struct:
		return appendJavaStruct(b, x)
	}
	if out, ok := appendJavaScalar(b, v); ok {
		return out
	}
	return append(b, typeName(v)...)
}

// appendJavaScalar appends numbers and booleans as Java prints them.
func appendJavaScalar(b []byte, v any) ([]byte, bool) {
	switch x := v.(type) {
	case int8:
		return strconv.AppendInt(b, int64(x), 10), true
	case int16:
		return strconv.AppendInt(b, int64(x), 10), true
	case int32:
		return strconv.AppendInt(b, int64(x), 10), true
	case int64:
		return strconv.AppendInt(b, x, 10), true
	case int:
		return strconv.AppendInt(b, int64(x), 10), true
	case float32:
		return appendJavaFloat(b, x), true
	case float64:
		return appendJavaDouble(b, x), true
	case bool:
		return strconv.AppendBool(b, x), true
	}
	return b, false
}

func decimalScaleOf(s *connect.Schema) (int, error) {
	if s == nil || s.Name != connect.DecimalName {
		return 0, errNotExact
	}
	return decimalScale(s)
}

func elemSchema(s *connect.Schema) *connect.Schema {
	if s == nil {
		return nil
	}
	return s.ValueSchema
}

func appendJavaList(b []byte, es *connect.Schema, l []any) []byte {
	b = append(b, '[')
	for i, e := range l {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = appendJavaString(b, es, e)
	}
	return append(b, ']')
}

func appendJavaStringMap(b []byte, s *connect.Schema, m map[string]any) []byte {
	b = append(b, '{')
	for i, k := range orderStringKeys(nil, m) {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = append(b, k.key...)
		b = append(b, '=')
		b = appendJavaString(b, elemSchema(s), m[k.key])
	}
	return append(b, '}')
}

func appendJavaAnyMap(b []byte, s *connect.Schema, m map[any]any) []byte {
	var ks *connect.Schema
	if s != nil {
		ks = s.KeySchema
	}
	b = append(b, '{')
	for i, k := range orderAnyKeys(m) {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = appendJavaString(b, ks, k)
		b = append(b, '=')
		b = appendJavaString(b, elemSchema(s), m[k])
	}
	return append(b, '}')
}

// appendJavaStruct renders Kafka's Struct.toString: the fields that hold a
// value (defaults not applied), comma-separated without spaces.
func appendJavaStruct(b []byte, st *connect.Struct) []byte {
	b = append(b, "Struct{"...)
	first := true
	for i := range st.Schema().Fields {
		f := &st.Schema().Fields[i]
		v := st.GetWithoutDefault(f.Name)
		if v == nil {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, f.Name...)
		b = append(b, '=')
		b = appendJavaString(b, f.Schema, v)
	}
	return append(b, '}')
}
