package jdbc

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"

	dbz "github.com/sluicehq/sluice/connectors/debezium"
	"github.com/sluicehq/sluice/runtime/connect"
)

// Layouts of the temporal values bound as text: both databases parse them
// in the column's type, so no session time zone gets involved.
const (
	dateLayout      = "2006-01-02"
	timeLayout      = "15:04:05.999999"
	timestampLayout = "2006-01-02 15:04:05.999999"
)

// columnValue converts a Connect value of schema s into what database/sql
// binds to the column columnType(s) made: int64, float64, bool, string,
// []byte or nil. Temporal values become text in UTC; Decimals their plain
// digits; JSON-ish values their JSON text. An error says what did not fit.
func (d dialect) columnValue(s *connect.Schema, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	if s == nil {
		return nil, fmt.Errorf("value %T has no schema", v)
	}
	if out, ok, err := d.namedValue(s, v); ok || err != nil {
		return out, err
	}
	switch x := v.(type) {
	case int8:
		return int64(x), nil
	case int16:
		return int64(x), nil
	case int32:
		return int64(x), nil
	case float32:
		return float64(x), nil
	case int64, float64, bool, string, []byte:
		return v, nil // v, not x: boxing x again would allocate per value
	}
	switch s.Type {
	case connect.TypeMap:
		return d.jsonText(s, v)
	case connect.TypeArray:
		return d.arrayValue(s, v)
	}
	return nil, fmt.Errorf("a %T does not fit a %s column", v, s)
}

// namedValue converts the values of logical and semantic types; ok is false
// for a schema name the sink does not know.
func (d dialect) namedValue(s *connect.Schema, v any) (any, bool, error) {
	var out any
	var err error
	switch s.Name {
	case connect.DecimalName:
		out, err = decimalValue(s, v)
	case connect.DateName, connect.TimeName, connect.TimestampName:
		out, err = kafkaTemporal(s.Name, v)
	case dbz.DateName:
		out, err = withInt(v, func(n int64) any { return time.Unix(n*86400, 0).UTC().Format(dateLayout) })
	case dbz.TimeName:
		out, err = withInt(v, func(n int64) any { return clock(time.Duration(n) * time.Millisecond) })
	case dbz.MicroTimeName:
		out, err = withInt(v, func(n int64) any { return clock(time.Duration(n) * time.Microsecond) })
	case nanoTimeName:
		out, err = withInt(v, func(n int64) any { return clock(time.Duration(n)) })
	case dbz.TimestampName:
		out, err = withInt(v, func(n int64) any { return time.UnixMilli(n).UTC().Format(timestampLayout) })
	case dbz.MicroTimestampName:
		out, err = withInt(v, func(n int64) any { return time.UnixMicro(n).UTC().Format(timestampLayout) })
	case nanoTimestampName:
		out, err = withInt(v, func(n int64) any { return time.Unix(0, n).UTC().Format(timestampLayout) })
	case dbz.ZonedTimestampName:
		out, err = d.zonedTimestamp(v)
	case dbz.ZonedTimeName:
		out, err = d.zonedTime(v)
	case dbz.MicroDurationName:
		out, err = withInt(v, func(n int64) any {
			if d.isMySQL() {
				return n
			}
			return strconv.FormatInt(n, 10) + " microseconds"
		})
	case dbz.VariableScaleDecimalName:
		out, err = d.variableScale(v)
	case dbz.BitsName:
		out, err = d.bitsValue(s, v)
	case dbz.PointName:
		out, err = d.pointValue(v)
	case yearName:
		out, err = withInt(v, func(n int64) any { return n })
	default:
		return nil, false, nil
	}
	if err != nil {
		return nil, true, fmt.Errorf("%s: %w", s.Name, err)
	}
	return out, true, nil
}

func withInt(v any, f func(int64) any) (any, error) {
	switch n := v.(type) {
	case int32:
		return f(int64(n)), nil
	case int64:
		return f(n), nil
	}
	return nil, fmt.Errorf("want an integer, got %T", v)
}

// clock renders a time of day; Postgres's 24:00:00 survives.
func clock(d time.Duration) string {
	us := d.Microseconds()
	s := fmt.Sprintf("%02d:%02d:%02d", us/3_600_000_000, us/60_000_000%60, us/1_000_000%60)
	if frac := us % 1_000_000; frac != 0 {
		s += strings.TrimRight(fmt.Sprintf(".%06d", frac), "0")
	}
	return s
}

func kafkaTemporal(name string, v any) (any, error) {
	t, ok := v.(time.Time)
	if !ok {
		return nil, fmt.Errorf("want a time.Time, got %T", v)
	}
	t = t.UTC()
	switch name {
	case connect.DateName:
		return t.Format(dateLayout), nil
	case connect.TimeName:
		return t.Format(timeLayout), nil
	}
	return t.Format(timestampLayout), nil
}

func decimalValue(s *connect.Schema, v any) (any, error) {
	r, ok := v.(*big.Rat)
	if !ok {
		return nil, fmt.Errorf("want a *big.Rat, got %T", v)
	}
	scale, err := connect.DecimalScale(s)
	if err != nil {
		return nil, err
	}
	return connect.DecimalString(scale, r), nil
}

// zonedTimestamp: Postgres parses the ISO form itself; MySQL gets the UTC
// wall clock for its DATETIME.
func (d dialect) zonedTimestamp(v any) (any, error) {
	str, ok := v.(string)
	if !ok {
		return nil, fmt.Errorf("want a string, got %T", v)
	}
	t, err := time.Parse(time.RFC3339Nano, str)
	if err != nil {
		return nil, fmt.Errorf("not an ISO-8601 timestamp: %q", str)
	}
	if d.isMySQL() {
		return t.UTC().Format(timestampLayout), nil
	}
	return t.Format(time.RFC3339Nano), nil
}

func (d dialect) zonedTime(v any) (any, error) {
	str, ok := v.(string)
	if !ok {
		return nil, fmt.Errorf("want a string, got %T", v)
	}
	t, err := time.Parse("15:04:05.999999999Z07:00", str)
	if err != nil {
		return nil, fmt.Errorf("not an ISO-8601 time with offset: %q", str)
	}
	if d.isMySQL() {
		return t.UTC().Format(timeLayout), nil
	}
	return t.Format("15:04:05.999999-07:00"), nil
}

// variableScale decodes io.debezium.data.VariableScaleDecimal {scale,
// value}: digits for Postgres's numeric, a float for MySQL's double.
func (d dialect) variableScale(v any) (any, error) {
	st, ok := v.(*connect.Struct)
	if !ok {
		return nil, fmt.Errorf("want a struct, got %T", v)
	}
	scale, _ := st.Get("scale")
	raw, _ := st.Get("value")
	sc, ok1 := scale.(int32)
	b, ok2 := raw.([]byte)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("want {scale int32, value bytes}, got {%T, %T}", scale, raw)
	}
	r := connect.DecimalFromBytes(int(sc), b)
	if d.isMySQL() {
		f, _ := r.Float64()
		return f, nil
	}
	return connect.DecimalString(int(sc), r), nil
}

// bitsValue decodes io.debezium.data.Bits, whose bytes are little-endian
// (Java's BitSet.toByteArray): a bit string for Postgres, the number for
// MySQL's BIT(n), the big-endian bytes beyond 64 bits. Without a declared
// length the string drops the leading zeros the bytes cannot tell apart.
func (d dialect) bitsValue(s *connect.Schema, v any) (any, error) {
	b, ok := v.([]byte)
	if !ok {
		return nil, fmt.Errorf("want bytes, got %T", v)
	}
	be := make([]byte, len(b))
	for i := range b {
		be[len(b)-1-i] = b[i]
	}
	n := new(big.Int).SetBytes(be)
	length, _ := strconv.Atoi(s.Parameters[dbz.BitsLengthParam])
	if d.isMySQL() {
		if length > 0 && length <= mysqlMaxBits {
			return n.Uint64(), nil
		}
		return be, nil
	}
	bits := n.Text(2)
	if length > 0 && length <= pgMaxBits && len(bits) < length {
		bits = strings.Repeat("0", length-len(bits)) + bits
	}
	return bits, nil
}

// pointValue: Postgres's point "(x,y)"; MySQL's geometry internal form, a
// little-endian SRID before the WKB.
func (d dialect) pointValue(v any) (any, error) {
	st, ok := v.(*connect.Struct)
	if !ok {
		return nil, fmt.Errorf("want a struct, got %T", v)
	}
	xv, _ := st.Get("x")
	yv, _ := st.Get("y")
	x, ok1 := xv.(float64)
	y, ok2 := yv.(float64)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("want float64 x and y, got %T and %T", xv, yv)
	}
	if !d.isMySQL() {
		return "(" + strconv.FormatFloat(x, 'g', -1, 64) + "," + strconv.FormatFloat(y, 'g', -1, 64) + ")", nil
	}
	var srid uint32
	if sv, _ := st.Get("srid"); sv != nil {
		if n, ok := sv.(int32); ok {
			srid = uint32(n)
		}
	}
	out := binary.LittleEndian.AppendUint32(nil, srid)
	out = append(out, 1) // WKB little-endian
	out = binary.LittleEndian.AppendUint32(out, 1)
	out = binary.LittleEndian.AppendUint64(out, math.Float64bits(x))
	out = binary.LittleEndian.AppendUint64(out, math.Float64bits(y))
	return out, nil
}

// arrayValue: a Postgres array literal, or a JSON array for MySQL's json.
func (d dialect) arrayValue(s *connect.Schema, v any) (any, error) {
	items, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("want an array, got %T", v)
	}
	if d.isMySQL() {
		return d.jsonText(s, v)
	}
	conv := make([]any, len(items))
	for i, it := range items {
		c, err := d.columnValue(s.ValueSchema, it)
		if err != nil {
			return nil, fmt.Errorf("array element %d: %w", i, err)
		}
		conv[i] = c
	}
	parts := make([]string, len(conv))
	for i, c := range conv {
		switch x := c.(type) {
		case nil:
			parts[i] = "NULL"
		case []byte:
			parts[i] = `"\\x` + fmt.Sprintf("%x", x) + `"`
		case string:
			parts[i] = `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(x) + `"`
		case float64:
			parts[i] = strconv.FormatFloat(x, 'g', -1, 64)
		default:
			parts[i] = fmt.Sprint(x)
		}
	}
	return "{" + strings.Join(parts, ",") + "}", nil
}

// jsonText renders a map or array as JSON text. Its elements go through
// columnValue first (a Decimal becomes its digits, a date its ISO text,
// bytes base64 as Kafka's JsonConverter writes them); maps with non-string
// keys get their keys' text.
func (d dialect) jsonText(s *connect.Schema, v any) (any, error) {
	j, err := d.jsonValue(s, v)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(j)
	if err != nil {
		return nil, fmt.Errorf("render as JSON: %w", err)
	}
	return string(b), nil
}

func (d dialect) jsonValue(s *connect.Schema, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			j, err := d.jsonValue(elemSchema(s), e)
			if err != nil {
				return nil, fmt.Errorf("map value %q: %w", k, err)
			}
			m[k] = j
		}
		return m, nil
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			j, err := d.jsonValue(elemSchema(s), e)
			if err != nil {
				return nil, fmt.Errorf("map value %v: %w", k, err)
			}
			m[fmt.Sprint(k)] = j
		}
		return m, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			j, err := d.jsonValue(elemSchema(s), e)
			if err != nil {
				return nil, fmt.Errorf("array element %d: %w", i, err)
			}
			out[i] = j
		}
		return out, nil
	}
	if s == nil {
		return v, nil // schemaless map values: JSON as they are
	}
	return d.columnValue(s, v)
}

// elemSchema is a MAP's value or an ARRAY's element schema (nil: none).
func elemSchema(s *connect.Schema) *connect.Schema {
	if s == nil {
		return nil
	}
	return s.ValueSchema
}
