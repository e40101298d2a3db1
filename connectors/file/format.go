package file

import (
	"fmt"
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/runtime/connect"
)

// appendJavaString appends v as Java's String.valueOf renders the value
// Kafka's sink would hold: null as "null", strings as they are, numbers as
// Java prints them ("1.0", "1.0E10"), lists as "[a, b]", maps as
// "{k=v, k2=v2}" (keys sorted, since Java's order is a hash order), structs
// as Struct{...}. Bytes are written as they are rather than as Java's
// "[B@<hash>", which carries no data.
func appendJavaString(dst []byte, s *connect.Schema, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(dst, "null"...)
	case string:
		return append(dst, x...)
	case []byte:
		return append(dst, x...)
	case bool:
		return strconv.AppendBool(dst, x)
	case int8:
		return strconv.AppendInt(dst, int64(x), 10)
	case int16:
		return strconv.AppendInt(dst, int64(x), 10)
	case int32:
		return strconv.AppendInt(dst, int64(x), 10)
	case int64:
		return strconv.AppendInt(dst, x, 10)
	case int:
		return strconv.AppendInt(dst, int64(x), 10)
	case float32:
		return appendJavaFloat(dst, float64(x), 32)
	case float64:
		return appendJavaFloat(dst, x, 64)
	case *connect.Struct:
		return append(dst, x.String()...)
	case *big.Rat:
		return appendDecimal(dst, s, x)
	case time.Time:
		// java.util.Date.toString, in UTC.
		return x.UTC().AppendFormat(dst, "Mon Jan 02 15:04:05 UTC 2006")
	case []any:
		return appendList(dst, s, x)
	case map[string]any:
		return appendMap(dst, s, x)
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[string(appendJavaString(nil, keySchema(s), k))] = e
		}
		return appendMap(dst, s, m)
	}
	return fmt.Append(dst, v)
}

func appendList(dst []byte, s *connect.Schema, l []any) []byte {
	dst = append(dst, '[')
	for i, e := range l {
		if i > 0 {
			dst = append(dst, ", "...)
		}
		dst = appendJavaString(dst, valueSchema(s), e)
	}
	return append(dst, ']')
}

func appendMap(dst []byte, s *connect.Schema, m map[string]any) []byte {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	dst = append(dst, '{')
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ", "...)
		}
		dst = append(dst, k...)
		dst = append(dst, '=')
		dst = appendJavaString(dst, valueSchema(s), m[k])
	}
	return append(dst, '}')
}

// appendDecimal renders a Decimal with its schema's scale, as
// BigDecimal.toPlainString.
func appendDecimal(dst []byte, s *connect.Schema, v *big.Rat) []byte {
	if s != nil {
		if scale, err := connect.DecimalScale(s); err == nil {
			return append(dst, connect.DecimalString(scale, v)...)
		}
	}
	return append(dst, v.RatString()...)
}

// appendJavaFloat renders f as Java's Double.toString (bits 64) or
// Float.toString (bits 32): the shortest digits that round-trip, in plain
// notation with at least one decimal when 1e-3 <= |f| < 1e7, otherwise as
// d.dddE<exponent>.
func appendJavaFloat(dst []byte, f float64, bits int) []byte {
	switch {
	case math.IsNaN(f):
		return append(dst, "NaN"...)
	case math.IsInf(f, 1):
		return append(dst, "Infinity"...)
	case math.IsInf(f, -1):
		return append(dst, "-Infinity"...)
	case f == 0:
		if math.Signbit(f) {
			return append(dst, "-0.0"...)
		}
		return append(dst, "0.0"...)
	}
	if abs := math.Abs(f); abs >= 1e-3 && abs < 1e7 {
		s := strconv.FormatFloat(f, 'f', -1, bits)
		dst = append(dst, s...)
		if !strings.Contains(s, ".") {
			dst = append(dst, ".0"...)
		}
		return dst
	}
	s := strconv.FormatFloat(f, 'e', -1, bits) // e.g. 1.5e+07, 1e-05
	mant, exp, _ := strings.Cut(s, "e")
	dst = append(dst, mant...)
	if !strings.Contains(mant, ".") {
		dst = append(dst, ".0"...)
	}
	n, _ := strconv.Atoi(exp)
	dst = append(dst, 'E')
	return strconv.AppendInt(dst, int64(n), 10)
}

func keySchema(s *connect.Schema) *connect.Schema {
	if s == nil {
		return nil
	}
	return s.KeySchema
}

func valueSchema(s *connect.Schema) *connect.Schema {
	if s == nil {
		return nil
	}
	return s.ValueSchema
}
