// Package javavalue renders a Connect value as Java's toString renders the
// Java value it stands for — what Kafka's StringConverter and
// FileStreamSink write. It is apart from internal/javafmt, whose number
// and hash helpers the broker uses too, because it needs runtime/connect,
// which the broker may not import.
package javavalue

import (
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"time"

	"github.com/sluicehq/sluice/internal/javafmt"
	"github.com/sluicehq/sluice/runtime/connect"
)

// Append appends v as Java's toString renders the Java value a
// Connect value stands for, as Kafka's StringConverter and FileStreamSink
// print a record: null as "null", numbers as Double.toString and friends
// do, collections as "[a, b]" and "{k=v}" (map entries in HashMap
// order), structs as "Struct{a=1,b=x}", decimals as BigDecimal.toString
// at the schema's scale, dates (Date, Time, Timestamp) as java.util.Date
// prints them in UTC.
//
// Two departures, since Java's rendering carries no data: a []byte at the
// top level is written as it is, and nested in a collection or struct as
// base64 (Java prints "[B@1b6d3586"). A type with no Java counterpart is
// written as its Go type name.
func Append(b []byte, s *connect.Schema, v any) []byte {
	if x, ok := v.([]byte); ok {
		return append(b, x...)
	}
	return appendValue(b, s, v)
}

func appendValue(b []byte, s *connect.Schema, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...)
	case string:
		return append(b, x...)
	case []byte:
		return base64.StdEncoding.AppendEncode(b, x)
	case *big.Rat:
		scale, err := decimalScaleOf(s)
		out, ok := javafmt.AppendDecimal(b, x, scale, err == nil)
		if !ok {
			return append(b, x.RatString()...)
		}
		return out
	case time.Time:
		return x.UTC().AppendFormat(b, "Mon Jan 02 15:04:05 UTC 2006")
	case []any:
		return appendList(b, elemSchema(s), x)
	case map[string]any:
		return AppendValueMap(b, s, x)
	case map[any]any:
		return appendAnyMap(b, s, x)
	case *connect.Struct:
		return appendStruct(b, x)
	}
	if out, ok := AppendScalar(b, v); ok {
		return out
	}
	return append(b, fmt.Sprintf("%T", v)...)
}

// AppendScalar appends numbers and booleans as Java prints them; ok is
// false for any other value.
func AppendScalar(b []byte, v any) ([]byte, bool) {
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
		return javafmt.AppendFloat(b, x), true
	case float64:
		return javafmt.AppendDouble(b, x), true
	case bool:
		return strconv.AppendBool(b, x), true
	}
	return b, false
}

// decimalScaleOf returns the scale of a Decimal schema.
func decimalScaleOf(s *connect.Schema) (int, error) {
	if s == nil || s.Name != connect.DecimalName {
		return 0, errNoScale
	}
	scale, err := connect.DecimalScale(s)
	if err == nil && (scale > javafmt.MaxExactScale || scale < -javafmt.MaxExactScale) {
		return 0, errNoScale
	}
	return scale, err
}

var errNoScale = errors.New("not a Decimal schema with a usable scale")

func elemSchema(s *connect.Schema) *connect.Schema {
	if s == nil {
		return nil
	}
	return s.ValueSchema
}

func appendList(b []byte, es *connect.Schema, l []any) []byte {
	b = append(b, '[')
	for i, e := range l {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = appendValue(b, es, e)
	}
	return append(b, ']')
}

func AppendValueMap(b []byte, s *connect.Schema, m map[string]any) []byte {
	b = append(b, '{')
	for i, k := range javafmt.AppendStringKeys(nil, m) {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = append(b, k.Key...)
		b = append(b, '=')
		b = appendValue(b, elemSchema(s), m[k.Key])
	}
	return append(b, '}')
}

func appendAnyMap(b []byte, s *connect.Schema, m map[any]any) []byte {
	var ks *connect.Schema
	if s != nil {
		ks = s.KeySchema
	}
	b = append(b, '{')
	for i, k := range javafmt.AnyKeys(m) {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = appendValue(b, ks, k)
		b = append(b, '=')
		b = appendValue(b, elemSchema(s), m[k])
	}
	return append(b, '}')
}

// appendStruct renders Kafka's Struct.toString: the fields that hold a
// value (defaults not applied), comma-separated without spaces.
func appendStruct(b []byte, st *connect.Struct) []byte {
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
		b = appendValue(b, f.Schema, v)
	}
	return append(b, '}')
}
