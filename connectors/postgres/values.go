package postgres

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math/big"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgtype"

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
		pgtype.UUIDOID, pgtype.JSONOID, pgtype.JSONBOID:
		return s, nil
	case pgtype.ByteaOID:
		return convertBytea(s, o.BinaryMode)
	case pgtype.NumericOID:
		return convertNumeric(c, s, o.DecimalMode)
	case pgtype.IntervalOID:
		return intervalMicros(s)
	case pgtype.TimestamptzOID:
		return zonedTimestamp(s)
	case pgtype.TimetzOID:
		return zonedTime(s)
	case pgtype.DateOID, pgtype.TimeOID, pgtype.TimestampOID:
		return convertTemporal(c, s, o)
	}
	return nil, ErrUnsupportedType
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
	switch mode {
	case "base64":
		return base64.StdEncoding.EncodeToString(b), nil
	case "base64-url-safe":
		return base64.URLEncoding.EncodeToString(b), nil
	case "hex":
		return hex.EncodeToString(b), nil
	}
	return b, nil
}

// convertNumeric renders numeric per decimal.handling.mode. NaN has no
// Decimal form and becomes null in precise mode, as in Debezium.
func convertNumeric(c Column, s, mode string) (any, error) {
	switch mode {
	case "double":
		return strconv.ParseFloat(s, 64)
	case "string":
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
	scale := 0
	if i := strings.IndexByte(s, '.'); i >= 0 {
		scale = len(s) - i - 1
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
	variableScaleSchema         = numericSchema(Column{TypeMod: -1}, TypeOptions{DecimalMode: "precise"}).Build()
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
