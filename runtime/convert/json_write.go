package convert

import (
	"encoding/base64"
	"math"
	"math/big"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/sluicehq/sluice/internal/javafmt"
	"github.com/sluicehq/sluice/runtime/connect"
)

// jsonWriter appends Connect values as JSON, byte for byte as Kafka's
// JsonConverter writes them through Jackson: compact, numbers as Java
// prints them, NaN and infinities as strings, bytes as base64.
type jsonWriter struct {
	decimalNumeric bool
	replaceNull    bool
	buf            []byte
	keys           []javafmt.StringKey
}

// value appends v described by s (nil: schemaless). Kafka's
// convertToJson.
func (w *jsonWriter) value(b []byte, s *connect.Schema, v any) ([]byte, error) {
	if v == nil {
		return w.null(b, s)
	}
	if s == nil {
		return w.schemaless(b, v)
	}
	switch s.Name {
	case connect.DecimalName, connect.DateName, connect.TimeName, connect.TimestampName:
		return w.logical(b, s, v)
	}
	switch s.Type {
	case connect.TypeArray:
		return w.array(b, s, v)
	case connect.TypeMap:
		return w.mapValue(b, s, v)
	case connect.TypeStruct:
		return w.structValue(b, s, v)
	}
	out, ok := appendPrimitive(b, s.Type, v)
	if !ok {
		return b, dataErr("Invalid type for %s: %s", s.Type, typeName(v))
	}
	return out, nil
}

// null handles a missing value: the schema's default when
// replace.null.with.default allows, JSON null when optional.
func (w *jsonWriter) null(b []byte, s *connect.Schema) ([]byte, error) {
	switch {
	case s == nil:
		return append(b, "null"...), nil
	case s.Default != nil && w.replaceNull:
		return w.value(b, s, s.Default)
	case s.Optional:
		return append(b, "null"...), nil
	}
	return b, dataErr("Conversion error: null value for field that is required and has no default value")
}

// appendPrimitive appends v when its Go type is the one schema type t
// carries; ok is false otherwise.
func appendPrimitive(b []byte, t connect.Type, v any) (_ []byte, ok bool) {
	switch t {
	case connect.TypeInt8:
		x, ok := v.(int8)
		return strconv.AppendInt(b, int64(x), 10), ok
	case connect.TypeInt16:
		x, ok := v.(int16)
		return strconv.AppendInt(b, int64(x), 10), ok
	case connect.TypeInt32:
		x, ok := v.(int32)
		return strconv.AppendInt(b, int64(x), 10), ok
	case connect.TypeInt64:
		x, ok := v.(int64)
		return strconv.AppendInt(b, x, 10), ok
	case connect.TypeFloat32:
		x, ok := v.(float32)
		return appendJSONFloat(b, float64(x), 32), ok
	case connect.TypeFloat64:
		x, ok := v.(float64)
		return appendJSONFloat(b, x, 64), ok
	case connect.TypeBoolean:
		x, ok := v.(bool)
		return strconv.AppendBool(b, x), ok
	case connect.TypeString:
		x, ok := v.(string)
		return appendJSONString(b, x), ok
	case connect.TypeBytes:
		x, ok := v.([]byte)
		return appendBase64(b, x), ok
	}
	return b, false
}

// appendJSONFloat writes a float as Jackson does: Java's toString, and the
// non-numbers quoted.
func appendJSONFloat(b []byte, f float64, bitSize int) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		b = append(b, '"')
		b = javafmt.AppendDouble(b, f)
		return append(b, '"')
	}
	if bitSize == 32 {
		return javafmt.AppendFloat(b, float32(f))
	}
	return javafmt.AppendDouble(b, f)
}

func appendBase64(b, data []byte) []byte {
	b = append(b, '"')
	b = base64.StdEncoding.AppendEncode(b, data)
	return append(b, '"')
}

// logical appends a Decimal, Date, Time or Timestamp value.
func (w *jsonWriter) logical(b []byte, s *connect.Schema, v any) ([]byte, error) {
	if s.Name == connect.DecimalName {
		r, ok := v.(*big.Rat)
		if !ok {
			return b, dataErr("Invalid type for Decimal, expected *big.Rat but was %s", typeName(v))
		}
		return w.decimal(b, s, r)
	}
	t, ok := v.(time.Time)
	if !ok {
		return b, dataErr("Invalid type for %s, expected time.Time but was %s", logicalShortName(s.Name), typeName(v))
	}
	switch s.Name {
	case connect.DateName:
		days, err := connect.DateToDays(t)
		return strconv.AppendInt(b, int64(days), 10), err
	case connect.TimeName:
		ms, err := connect.TimeToMillis(t)
		return strconv.AppendInt(b, int64(ms), 10), err
	}
	return strconv.AppendInt(b, t.UnixMilli(), 10), nil
}

func logicalShortName(name string) string {
	switch name {
	case connect.DateName:
		return "Date"
	case connect.TimeName:
		return "Time"
	case connect.TimestampName:
		return "Timestamp"
	}
	return "Decimal"
}

// decimal writes base64 of the two's complement unscaled value, or with
// decimal.format=NUMERIC a JSON number with the schema's scale.
func (w *jsonWriter) decimal(b []byte, s *connect.Schema, r *big.Rat) ([]byte, error) {
	scale, err := decimalScale(s)
	if err != nil {
		return b, err
	}
	if w.decimalNumeric {
		out, ok := javafmt.AppendDecimal(b, r, scale, true)
		if !ok {
			return b, dataErr("Decimal value %s has no exact decimal representation", r.RatString())
		}
		return out, nil
	}
	return appendDecimalBase64(b, r, scale)
}

func (w *jsonWriter) array(b []byte, s *connect.Schema, v any) ([]byte, error) {
	arr, ok := v.([]any)
	if !ok {
		return b, dataErr("Invalid type for %s: %s", s.Type, typeName(v))
	}
	return w.elements(b, s.ValueSchema, arr)
}

func (w *jsonWriter) elements(b []byte, elem *connect.Schema, arr []any) ([]byte, error) {
	b = append(b, '[')
	var err error
	for i, e := range arr {
		if i > 0 {
			b = append(b, ',')
		}
		if b, err = w.value(b, elem, e); err != nil {
			return b, err
		}
	}
	return append(b, ']'), nil
}

func (w *jsonWriter) structValue(b []byte, s *connect.Schema, v any) ([]byte, error) {
	st, ok := v.(*connect.Struct)
	if !ok || (st.Schema() != s && !st.Schema().Equal(s)) {
		return b, dataErr("Mismatching schema.")
	}
	b = append(b, '{')
	var err error
	for i := range s.Fields {
		f := &s.Fields[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, f.Name)
		b = append(b, ':')
		var fv any
		if w.replaceNull {
			fv = st.GetField(f) // the raw value, or the field default
		} else {
			fv = st.GetWithoutDefault(f.Name)
		}
		if b, err = w.value(b, f.Schema, fv); err != nil {
			return b, err
		}
	}
	return append(b, '}'), nil
}

// mapValue writes a JSON object when keys are strings, otherwise an array
// of [key, value] pairs (Kafka's two map encodings).
func (w *jsonWriter) mapValue(b []byte, s *connect.Schema, v any) ([]byte, error) {
	switch m := v.(type) {
	case map[string]any:
		if s.KeySchema == nil || s.KeySchema.Type == connect.TypeString {
			return w.stringMap(b, s.KeySchema, s.ValueSchema, m)
		}
		generic := make(map[any]any, len(m))
		for k, e := range m {
			generic[k] = e
		}
		return w.pairs(b, s.KeySchema, s.ValueSchema, generic)
	case map[any]any:
		if s.KeySchema == nil {
			return w.anyMap(b, nil, s.ValueSchema, m)
		}
		if s.KeySchema.Type == connect.TypeString {
			return w.objectFromAnyMap(b, s.KeySchema, s.ValueSchema, m)
		}
		return w.pairs(b, s.KeySchema, s.ValueSchema, m)
	}
	return b, dataErr("Invalid type for %s: %s", s.Type, typeName(v))
}

func (w *jsonWriter) stringMap(b []byte, ks, vs *connect.Schema, m map[string]any) ([]byte, error) {
	mark := len(w.keys)
	w.keys = javafmt.AppendStringKeys(w.keys, m)
	keys := w.keys[mark:]
	defer func() { w.keys = w.keys[:mark] }()
	b = append(b, '{')
	var err error
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, k.Key)
		b = append(b, ':')
		if b, err = w.value(b, vs, m[k.Key]); err != nil {
			return b, err
		}
	}
	return append(b, '}'), nil
}

// anyMap writes a schemaless map[any]any: an object when every key is a
// string.
func (w *jsonWriter) anyMap(b []byte, ks, vs *connect.Schema, m map[any]any) ([]byte, error) {
	for k := range m {
		if _, ok := k.(string); !ok {
			return w.pairs(b, ks, vs, m)
		}
	}
	return w.objectFromAnyMap(b, ks, vs, m)
}

func (w *jsonWriter) objectFromAnyMap(b []byte, ks, vs *connect.Schema, m map[any]any) ([]byte, error) {
	b = append(b, '{')
	var err error
	for i, k := range javafmt.AnyKeys(m) {
		name, ok := k.(string)
		if !ok {
			return b, dataErr("Invalid type for %s: %s", connect.TypeString, typeName(k))
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, name)
		b = append(b, ':')
		if b, err = w.value(b, vs, m[k]); err != nil {
			return b, err
		}
	}
	return append(b, '}'), nil
}

func (w *jsonWriter) pairs(b []byte, ks, vs *connect.Schema, m map[any]any) ([]byte, error) {
	b = append(b, '[')
	var err error
	for i, k := range javafmt.AnyKeys(m) {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '[')
		if b, err = w.value(b, ks, k); err != nil {
			return b, err
		}
		b = append(b, ',')
		if b, err = w.value(b, vs, m[k]); err != nil {
			return b, err
		}
		b = append(b, ']')
	}
	return append(b, ']'), nil
}

// schemaless writes a value without a schema, its type inferred from the
// Go type (Kafka's ConnectSchema.schemaType of the Java class).
func (w *jsonWriter) schemaless(b []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case int8:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int16:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int32:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int64:
		return strconv.AppendInt(b, x, 10), nil
	case int:
		return strconv.AppendInt(b, int64(x), 10), nil
	case float32:
		return appendJSONFloat(b, float64(x), 32), nil
	case float64:
		return appendJSONFloat(b, x, 64), nil
	case bool:
		return strconv.AppendBool(b, x), nil
	case string:
		return appendJSONString(b, x), nil
	case connect.RawJSON:
		return append(b, x...), nil // canonical already: see connect.RawJSON
	case []byte:
		return appendBase64(b, x), nil
	case []any:
		return w.elements(b, nil, x)
	case map[string]any:
		return w.stringMap(b, nil, nil, x)
	case map[any]any:
		return w.anyMap(b, nil, nil, x)
	case *connect.Struct:
		return b, dataErr("Mismatching schema.")
	}
	return b, dataErr("Go type %s does not have corresponding schema type.", typeName(v))
}

// jsonEscape marks the ASCII bytes Jackson escapes in strings: control
// characters, the quote and the backslash.
var jsonEscape = func() (t [utf8.RuneSelf]bool) {
	for c := 0; c < 0x20; c++ {
		t[c] = true
	}
	t['"'], t['\\'] = true, true
	return t
}()

const hexUpper = "0123456789ABCDEF"

// appendJSONString appends s quoted and escaped as Jackson does (short
// escapes for \b \t \n \f \r, \u00XX in upper case for other control
// characters, everything else raw UTF-8). Invalid UTF-8 becomes U+FFFD, as
// decoding it into a Java String would.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if !jsonEscape[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			b = appendEscape(b, c)
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, "\uFFFD"...)
			i++
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

func appendEscape(b []byte, c byte) []byte {
	switch c {
	case '"', '\\':
		return append(b, '\\', c)
	case '\b':
		return append(b, '\\', 'b')
	case '\t':
		return append(b, '\\', 't')
	case '\n':
		return append(b, '\\', 'n')
	case '\f':
		return append(b, '\\', 'f')
	case '\r':
		return append(b, '\\', 'r')
	}
	return append(b, '\\', 'u', '0', '0', hexUpper[c>>4], hexUpper[c&0xF])
}
