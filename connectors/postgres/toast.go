package postgres

import (
	"bytes"
	"crypto/md5"
	"fmt"
	"math/big"

	"github.com/sluicehq/sluice/connectors/debezium"
	"github.com/sluicehq/sluice/runtime/connect"
)

// UnavailableValue stands in for an unchanged TOASTed value the server did
// not send: unavailable.value.placeholder's default.
const UnavailableValue = "__debezium_unavailable_value"

// placeholderValue is the value standing in for column c's unchanged
// TOASTed value, which pgoutput does not send under REPLICA IDENTITY
// DEFAULT. As in Debezium, the placeholder p takes the form of the
// column's schema s:
//
//   - a string column (text, json, xml, enums, ranges, citext, ltree,
//     bytea in an encoded binary.handling.mode, …) gets p as a string;
//     hstore in json mode gets the JSON object {"p":"p"};
//   - a bytes column (bytea) gets p's bytes;
//   - hstore in map mode gets the map {p: p};
//   - an array gets p in its element type: a one-element list for text
//     and bytes elements (a name-based UUID of p for uuid elements), one
//     element per byte of p for numeric and boolean elements.
//
// It returns nil for the other schemas (numeric, bits, …), whose
// Debezium placeholder does not fit the schema; the caller fills those
// as it fills a missing value.
func placeholderValue(c Column, s *connect.Schema, p []byte) any {
	switch {
	case s.Type == connect.TypeString && c.extension() == hstoreType:
		text := javaString(p)
		return hstoreJSON([]hstorePair{{key: text, value: &text}})
	case s.Type == connect.TypeString:
		return javaString(p)
	case s.Type == connect.TypeBytes && s.Name == "":
		return bytes.Clone(p)
	case s.Type == connect.TypeMap:
		return map[string]any{javaString(p): javaString(p)}
	case s.Type == connect.TypeArray:
		return arrayPlaceholder(s.ValueSchema, p)
	}
	return nil
}

// arrayPlaceholder is the placeholder of an array column whose elements
// have schema elem, or nil when Debezium has none for them.
func arrayPlaceholder(elem *connect.Schema, p []byte) any {
	switch elem.Type {
	case connect.TypeString:
		if elem.Name == debezium.UUIDName {
			return []any{nameUUID(p)}
		}
		return []any{javaString(p)}
	case connect.TypeBytes:
		if elem.Name != connect.DecimalName {
			return []any{bytes.Clone(p)}
		}
		scale, err := connect.DecimalScale(elem)
		if err != nil {
			return nil
		}
		return perByte(p, func(b int64) any { return connect.DecimalFromUnscaled(scale, big.NewInt(b)) })
	case connect.TypeInt16:
		return perByte(p, func(b int64) any { return int16(b) })
	case connect.TypeInt32:
		return perByte(p, func(b int64) any { return int32(b) })
	case connect.TypeInt64:
		return perByte(p, func(b int64) any { return b })
	case connect.TypeFloat32:
		return perByte(p, func(b int64) any { return float32(b) })
	case connect.TypeFloat64:
		return perByte(p, func(b int64) any { return float64(b) })
	case connect.TypeBoolean:
		return perByte(p, func(b int64) any { return b != 0 })
	case connect.TypeStruct:
		if elem.Name == debezium.VariableScaleDecimalName {
			return perByte(p, func(b int64) any { return variableScaleInteger(elem, b) })
		}
	}
	return nil
}

// perByte maps each byte of p, read as a signed (Java) byte, to an array
// element.
func perByte(p []byte, element func(int64) any) []any {
	out := make([]any, len(p))
	for i, b := range p {
		out[i] = element(int64(int8(b)))
	}
	return out
}

// variableScaleInteger is the integer n as a VariableScaleDecimal of
// schema s: scale 0, n's two's-complement bytes.
func variableScaleInteger(s *connect.Schema, n int64) *connect.Struct {
	value, _ := connect.DecimalToBytes(0, new(big.Rat).SetInt64(n)) // an integer at scale 0 always fits
	st := connect.NewStruct(s)
	st.Set(s.Field("scale"), int32(0))
	st.Set(s.Field("value"), value)
	return st
}

// javaString decodes p as Java's new String(bytes) does with UTF-8: each
// byte that starts no valid sequence becomes U+FFFD.
func javaString(p []byte) string { return string([]rune(string(p))) }

// nameUUID is Java's UUID.nameUUIDFromBytes(p): a version 3 UUID, the MD5
// of p with the version and IETF variant bits set.
func nameUUID(p []byte) string {
	h := md5.Sum(p)
	h[6] = h[6]&0x0f | 0x30
	h[8] = h[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}
