package postgres

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/sluicehq/sluice/connectors/debezium"
	"github.com/sluicehq/sluice/runtime/connect"
)

// ConvertText converts a value in Postgres's text output format (what
// pgoutput sends for a tuple column, and what SELECT col::text returns) into
// the Connect value for ColumnSchema(c, opts). A nil text is SQL NULL and
// converts to nil. The server must use DateStyle ISO and IntervalStyle
// postgres, its defaults.
func ConvertText(c Column, text *string, opts TypeOptions) (any, error) {
	if text == nil {
		return nil, nil
	}
	v, err := convertText(c, *text, opts.withDefaults())
	if err != nil {
		return nil, fmt.Errorf("convert column %s of type %s from %q: %w", c.Name, c.TypeName, *text, err)
	}
	return v, nil
}

func convertText(c Column, s string, o TypeOptions) (any, error) {
	if c.isEnum() {
		return s, nil
	}
	if elem, ok := c.element(); ok {
		return convertArray(elem, s, o)
	}
	if c.extension() != "" {
		return convertExtension(c, s, o)
	}
	return convertBuiltin(c, s, o)
}

// convertBuiltin converts the text of a built-in scalar type; the cases
// follow builtinSchema's.
func convertBuiltin(c Column, s string, o TypeOptions) (any, error) {
	switch c.TypeOID {
	case pgtype.Int2OID:
		n, err := strconv.ParseInt(s, 10, 16)
		return int16(n), err
	case pgtype.Int4OID:
		n, err := strconv.ParseInt(s, 10, 32)
		return int32(n), err
	case pgtype.Int8OID, pgtype.OIDOID:
		return strconv.ParseInt(s, 10, 64)
	case pgtype.Float4OID:
		f, err := strconv.ParseFloat(s, 32)
		return float32(f), err
	case pgtype.Float8OID:
		return strconv.ParseFloat(s, 64)
	case pgtype.BoolOID:
		return parseBool(s)
	case pgtype.TextOID, pgtype.VarcharOID, pgtype.BPCharOID, pgtype.NameOID,
		pgtype.UUIDOID, pgtype.JSONOID, pgtype.JSONBOID, pgtype.XMLOID, pgtype.TSVectorOID,
		pgtype.InetOID, pgtype.CIDROID, pgtype.MacaddrOID, pgtype.Macaddr8OID,
		pgtype.Int4rangeOID, pgtype.Int8rangeOID, pgtype.NumrangeOID,
		pgtype.TsrangeOID, pgtype.TstzrangeOID, pgtype.DaterangeOID:
		return s, nil
	case pgtype.ByteaOID:
		return convertBytea(s, o.BinaryMode)
	case pgtype.BitOID, pgtype.VarbitOID:
		return convertBits(c, s)
	case pgtype.PointOID:
		return convertPoint(c, s)
	case pgtype.NumericOID:
		return convertNumeric(c, s, o.DecimalMode)
	case moneyOID:
		return convertMoney(s, o)
	case pgtype.IntervalOID:
		if o.IntervalMode == "string" {
			return intervalISO(s)
		}
		return intervalMicros(s)
	case pgtype.TimestamptzOID:
		return zonedTimestamp(c, s)
	case pgtype.TimetzOID:
		return zonedTime(s)
	case pgtype.DateOID, pgtype.TimeOID, pgtype.TimestampOID:
		return convertTemporal(c, s, o)
	}
	return convertUnknown(c, s, o)
}

// convertUnknown converts the text of a column whose type has no mapping
// as unknownSchema describes it: the text's bytes (of each element, for
// an array) per binary.handling.mode, as Debezium takes the text pgoutput
// sends for such a column.
func convertUnknown(c Column, s string, o TypeOptions) (any, error) {
	if unknownSchema(c, o) == nil {
		return nil, ErrUnsupportedType
	}
	if !c.isArray() {
		return debezium.BinaryValue([]byte(s), o.BinaryMode), nil
	}
	items, err := parseArray(s)
	if err != nil {
		return nil, err
	}
	out := make([]any, len(items))
	for i, it := range items {
		if it != nil {
			out[i] = debezium.BinaryValue([]byte(*it), o.BinaryMode)
		}
	}
	return out, nil
}

// convertExtension converts the text of an extension type column.
func convertExtension(c Column, s string, o TypeOptions) (any, error) {
	if c.extension() != hstoreType {
		return s, nil // citext, ltree
	}
	pairs, err := parseHstore(s)
	if err != nil {
		return nil, err
	}
	if o.HStoreMode == "map" {
		m := make(map[string]any, len(pairs))
		for _, p := range pairs {
			var v any
			if p.value != nil {
				v = *p.value
			}
			m[p.key] = v
		}
		return m, nil
	}
	return hstoreJSON(pairs), nil
}

func parseBool(s string) (bool, error) {
	switch s {
	case "t", "true":
		return true, nil
	case "f", "false":
		return false, nil
	}
	return false, fmt.Errorf("not a boolean")
}

// convertBytea decodes bytea's hex output (\x…) and renders it per
// binary.handling.mode.
func convertBytea(s, mode string) (any, error) {
	if !strings.HasPrefix(s, `\x`) {
		return nil, fmt.Errorf("bytea is not in hex format (bytea_output must be hex)")
	}
	b, err := hex.DecodeString(s[2:])
	if err != nil {
		return nil, err
	}
	return debezium.BinaryValue(b, mode), nil
}

// convertNumeric renders numeric per decimal.handling.mode. NaN has no
// Decimal form and becomes null in precise mode, as in Debezium. A
// numeric without declared scale becomes a VariableScaleDecimal at the
// value's scale without trailing zeros (-0.00120 has scale 4).
func convertNumeric(c Column, s, mode string) (any, error) {
	switch mode {
	case debezium.DecimalDouble:
		return strconv.ParseFloat(s, 64)
	case debezium.DecimalString:
		return s, nil
	}
	if s == "NaN" || strings.HasSuffix(s, "Infinity") {
		return nil, nil
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return nil, fmt.Errorf("not a decimal number")
	}
	if _, _, fixed := c.numericPrecisionScale(); fixed {
		return r, nil
	}
	scale := 0 // Debezium strips trailing zeros, and keeps the scale >= 0
	if i := strings.IndexByte(s, '.'); i >= 0 {
		scale = len(strings.TrimRight(s[i+1:], "0"))
	}
	unscaled, err := connect.DecimalToBytes(scale, r)
	if err != nil {
		return nil, err
	}
	schema := variableScaleSchema
	if c.Nullable {
		schema = optionalVariableScaleSchema
	}
	st := connect.NewStruct(schema)
	st.Set(st.Schema().Field("scale"), int32(scale))
	st.Set(st.Schema().Field("value"), unscaled)
	return st, nil
}

// The struct schemas of a VariableScaleDecimal; a struct value must carry
// its field's schema exactly, optional or not.
var (
	variableScaleSchema         = numericSchema(Column{TypeMod: -1}, TypeOptions{DecimalMode: debezium.DecimalPrecise}).Build()
	optionalVariableScaleSchema = optional(variableScaleSchema)
)

// convertArray parses a one-dimensional array literal and converts each
// element as a column of the element type.
func convertArray(elem Column, s string, o TypeOptions) (any, error) {
	items, err := parseArray(s)
	if err != nil {
		return nil, err
	}
	out := make([]any, len(items))
	for i, it := range items {
		if it == nil {
			continue
		}
		if out[i], err = convertText(elem, *it, o); err != nil {
			return nil, fmt.Errorf("array element %d: %w", i+1, err)
		}
	}
	return out, nil
}

// parseArray splits a Postgres array literal {a,"b c",NULL} into its
// elements (nil for NULL). Multi-dimensional arrays and explicit bounds
// ([1:2]={…}) are not supported.
func parseArray(s string) ([]*string, error) {
	if len(s) < 2 || s[0] != '{' || s[len(s)-1] != '}' {
		return nil, fmt.Errorf("not an array literal")
	}
	body := s[1 : len(s)-1]
	if body == "" {
		return []*string{}, nil
	}
	var out []*string
	for i := 0; i <= len(body); {
		item, next, err := arrayItem(body, i)
		if err != nil {
			return nil, err
		}
		out = append(out, item)
		i = next + 1
	}
	return out, nil
}

// arrayItem reads the element starting at body[i]; next is the index of
// the comma after it (or len(body)).
func arrayItem(body string, i int) (item *string, next int, err error) {
	if i < len(body) && body[i] == '{' {
		return nil, 0, fmt.Errorf("multi-dimensional arrays are not supported")
	}
	if i < len(body) && body[i] == '"' {
		var b strings.Builder
		for j := i + 1; j < len(body); j++ {
			switch c := body[j]; c {
			case '\\':
				j++
				if j < len(body) {
					b.WriteByte(body[j])
				}
			case '"':
				v := b.String()
				if j+1 < len(body) && body[j+1] != ',' {
					return nil, 0, fmt.Errorf("unexpected %q after quoted array element", body[j+1])
				}
				return &v, j + 1, nil
			default:
				b.WriteByte(c)
			}
		}
		return nil, 0, fmt.Errorf("unterminated quoted array element")
	}
	end := strings.IndexByte(body[i:], ',')
	if end < 0 {
		end = len(body) - i
	}
	v := strings.TrimSpace(body[i : i+end])
	if v == "NULL" {
		return nil, i + end, nil
	}
	return &v, i + end, nil
}

// convertBits converts bit and bit varying text ("1011"): a boolean for a
// one-bit column, else Debezium's Bits, the bits as a little-endian
// java.util.BitSet byte array (the rightmost character is bit 0) sized to
// the highest set bit, as Debezium sizes it from the content.
func convertBits(c Column, s string) (any, error) {
	if c.bitLength() <= 1 {
		switch s {
		case "1":
			return true, nil
		case "0":
			return false, nil
		}
		return nil, fmt.Errorf("not a bit")
	}
	out := make([]byte, (len(s)+7)/8)
	for i := 0; i < len(s); i++ {
		bit := len(s) - 1 - i
		switch s[i] {
		case '1':
			out[bit/8] |= 1 << (bit % 8)
		case '0':
		default:
			return nil, fmt.Errorf("not a bit string")
		}
	}
	for len(out) > 0 && out[len(out)-1] == 0 {
		out = out[:len(out)-1]
	}
	return out, nil
}

// The struct schemas of a Point; a struct value must carry its field's
// schema exactly, optional or not.
var optionalPointSchema = optional(pointSchema)

// convertPoint converts point text "(x,y)" into Debezium's Point: the
// coordinates and the point as OGC WKB (little-endian, type 1), SRID
// unset.
func convertPoint(c Column, s string) (any, error) {
	inner, ok := strings.CutPrefix(s, "(")
	inner, ok2 := strings.CutSuffix(inner, ")")
	xs, ys, ok3 := strings.Cut(inner, ",")
	if !ok || !ok2 || !ok3 {
		return nil, fmt.Errorf("not a point")
	}
	x, err := strconv.ParseFloat(strings.TrimSpace(xs), 64)
	if err != nil {
		return nil, err
	}
	y, err := strconv.ParseFloat(strings.TrimSpace(ys), 64)
	if err != nil {
		return nil, err
	}
	wkb := make([]byte, 21)
	wkb[0] = 1 // little-endian
	binary.LittleEndian.PutUint32(wkb[1:], 1)
	binary.LittleEndian.PutUint64(wkb[5:], math.Float64bits(x))
	binary.LittleEndian.PutUint64(wkb[13:], math.Float64bits(y))
	schema := pointSchema
	if c.Nullable {
		schema = optionalPointSchema
	}
	return connect.NewStruct(schema).MustPut("x", x).MustPut("y", y).MustPut("wkb", wkb), nil
}
