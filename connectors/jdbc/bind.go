package jdbc

import (
	"encoding/json"
	"fmt"
	"math/big"
	"strconv"
	"time"

	"github.com/sluicehq/sluice/runtime/connect"
)

// bind turns one Connect value into what the driver is given for a column
// of the type columnType chose for its schema. Temporal values are bound
// as text in UTC, which both databases parse into DATE, TIME and
// TIMESTAMP columns, so that no driver guesses a time zone.
func bind(d dialect, s *connect.Schema, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch s.Name {
	case connect.DecimalName:
		r, ok := v.(*big.Rat)
		if !ok {
			return nil, fmt.Errorf("a Decimal must be a *big.Rat, got %T", v)
		}
		scale, err := connect.DecimalScale(s)
		if err != nil {
			return nil, err
		}
		return connect.DecimalString(scale, r), nil
	case connect.DateName, "io.debezium.time.Date":
		if t, ok := v.(time.Time); ok {
			return t.UTC().Format(time.DateOnly), nil
		}
		if n, ok := v.(int32); ok {
			return connect.DateFromDays(n).Format(time.DateOnly), nil
		}
	case connect.TimeName:
		if t, ok := v.(time.Time); ok {
			return t.UTC().Format("15:04:05.000"), nil
		}
	case connect.TimestampName:
		if t, ok := v.(time.Time); ok {
			return t.UTC().Format("2006-01-02 15:04:05.000"), nil
		}
	case "io.debezium.time.Timestamp":
		if n, ok := v.(int64); ok {
			return time.UnixMilli(n).UTC().Format("2006-01-02 15:04:05.000"), nil
		}
	case "io.debezium.time.MicroTimestamp":
		if n, ok := v.(int64); ok {
			return time.UnixMicro(n).UTC().Format("2006-01-02 15:04:05.000000"), nil
		}
	case "io.debezium.time.NanoTimestamp":
		if n, ok := v.(int64); ok {
			return time.Unix(0, n).UTC().Format("2006-01-02 15:04:05.000000"), nil
		}
	case "io.debezium.time.Time":
		if n, ok := v.(int32); ok {
			return clock(int64(n) * 1e6), nil
		}
	case "io.debezium.time.MicroTime":
		if n, ok := v.(int64); ok {
			return clock(n * 1e3), nil
		}
	case "io.debezium.time.NanoTime":
		if n, ok := v.(int64); ok {
			return clock(n), nil
		}
	case "io.debezium.time.ZonedTimestamp":
		if str, ok := v.(string); ok && d != postgresDialect {
			t, err := time.Parse(time.RFC3339Nano, str)
			if err != nil {
				return nil, fmt.Errorf("ZonedTimestamp %q: %w", str, err)
			}
			return t.UTC().Format("2006-01-02 15:04:05.000000"), nil
		}
	case "io.debezium.time.MicroDuration":
		if n, ok := v.(int64); ok {
			if d == postgresDialect {
				return strconv.FormatInt(n, 10) + " microseconds", nil
			}
			return clock(n * 1e3), nil
		}
	case "io.debezium.data.VariableScaleDecimal":
		if st, ok := v.(*connect.Struct); ok {
			scale, _ := st.Get("scale")
			raw, _ := st.Get("value")
			sc, ok1 := scale.(int32)
			b, ok2 := raw.([]byte)
			if !ok1 || !ok2 {
				return nil, fmt.Errorf("VariableScaleDecimal needs scale (int32) and value (bytes)")
			}
			return connect.DecimalString(int(sc), connect.DecimalFromBytes(int(sc), b)), nil
		}
	}
	switch x := v.(type) {
	case int8, int16, int32, int64, float32, float64, string, []byte:
		return x, nil
	case bool:
		if d != postgresDialect {
			if x {
				return int64(1), nil
			}
			return int64(0), nil
		}
		return x, nil
	case time.Time:
		return x.UTC().Format("2006-01-02 15:04:05.000000"), nil
	case map[string]any, map[any]any, []any:
		return toJSON(s, x)
	case *connect.Struct:
		return toJSON(s, x)
	}
	return nil, fmt.Errorf("cannot bind a %T for a %s column", v, s.Type)
}

// clock formats nanoseconds since midnight as HH:MM:SS.ffffff.
func clock(ns int64) string {
	return time.Unix(0, ns).UTC().Format("15:04:05.000000")
}

// toJSON renders a MAP, ARRAY or STRUCT as JSON text.
func toJSON(s *connect.Schema, v any) (any, error) {
	plain, err := plainValue(v)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(plain)
	if err != nil {
		return nil, fmt.Errorf("render a %s as JSON: %w", s.Type, err)
	}
	return string(b), nil
}

func plainValue(v any) (any, error) {
	switch x := v.(type) {
	case *connect.Struct:
		out := map[string]any{}
		for _, f := range x.Schema().Fields {
			p, err := plainValue(x.GetField(&f))
			if err != nil {
				return nil, err
			}
			out[f.Name] = p
		}
		return out, nil
	case map[any]any:
		out := map[string]any{}
		for k, e := range x {
			p, err := plainValue(e)
			if err != nil {
				return nil, err
			}
			out[fmt.Sprint(k)] = p
		}
		return out, nil
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			p, err := plainValue(e)
			if err != nil {
				return nil, err
			}
			out[k] = p
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			p, err := plainValue(e)
			if err != nil {
				return nil, err
			}
			out[i] = p
		}
		return out, nil
	case *big.Rat:
		return json.Number(x.FloatString(10)), nil
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano), nil
	}
	return v, nil
}
