package transform

import (
	"math"
	"math/big"
	"strings"
	"time"

	"github.com/sluicehq/sluice/runtime/connect"
)

// parseLiteral infers a schema and value from text as Kafka's
// Values.parseString does for the common cases: null, booleans, numbers
// (the narrowest integer type that holds an integral value, else FLOAT32,
// FLOAT64 or a Decimal), ISO-8601 dates, times and timestamps; anything
// else, arrays and maps included, stays a STRING.
func parseLiteral(s string) (*connect.Schema, any) {
	if s == "" {
		return connect.StringSchema, s
	}
	switch t := strings.TrimSpace(s); {
	case t == "null":
		return nil, nil
	case strings.EqualFold(t, "true"):
		return connect.BooleanSchema, true
	case strings.EqualFold(t, "false"):
		return connect.BooleanSchema, false
	}
	if schema, v, ok := parseNumberLiteral(strings.TrimSpace(s)); ok {
		return schema, v
	}
	if schema, v, ok := parseTemporalLiteral(strings.TrimSpace(s)); ok {
		return schema, v
	}
	return connect.StringSchema, s
}

func parseNumberLiteral(s string) (*connect.Schema, any, bool) {
	if s == "" || !(s[0] == '-' || s[0] == '+' || s[0] == '.' || (s[0] >= '0' && s[0] <= '9')) {
		return nil, nil, false
	}
	d, ok := new(big.Rat).SetString(s)
	if !ok || strings.ContainsAny(s, "/xXpP_") {
		return nil, nil, false
	}
	if d.IsInt() && d.Num().IsInt64() {
		n := d.Num().Int64()
		switch {
		case n >= math.MinInt8 && n <= math.MaxInt8:
			return connect.Int8Schema, int8(n), true
		case n >= math.MinInt16 && n <= math.MaxInt16:
			return connect.Int16Schema, int16(n), true
		case n >= math.MinInt32 && n <= math.MaxInt32:
			return connect.Int32Schema, int32(n), true
		}
		return connect.Int64Schema, n, true
	}
	scale := decimalScale(s)
	if scale != 0 {
		f64, _ := d.Float64()
		if f32, _ := d.Float32(); !math.IsInf(float64(f32), 0) {
			return connect.Float32Schema, f32, true
		}
		if !math.IsInf(f64, 0) {
			return connect.Float64Schema, f64, true
		}
	}
	return connect.DecimalSchema(scale).Build(), d, true
}

// decimalScale is BigDecimal's scale for a literal: digits after the point
// minus the exponent.
func decimalScale(s string) int {
	mant, exp, _ := strings.Cut(strings.ToLower(s), "e")
	scale := 0
	if _, frac, ok := strings.Cut(mant, "."); ok {
		scale = len(frac)
	}
	if exp != "" {
		var e int
		neg := strings.HasPrefix(exp, "-")
		for _, c := range strings.TrimLeft(exp, "+-") {
			e = e*10 + int(c-'0')
		}
		if neg {
			e = -e
		}
		scale -= e
	}
	return scale
}

func parseTemporalLiteral(s string) (*connect.Schema, any, bool) {
	if t, err := time.Parse("2006-01-02T15:04:05.000Z", s); err == nil {
		return connect.TimestampSchema().Build(), t.UTC(), true
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return connect.DateSchema().Build(), t.UTC(), true
	}
	if t, err := time.Parse("15:04:05.000Z", s); err == nil {
		return connect.TimeSchema().Build(), time.UnixMilli(int64(t.Hour()*3600000 + t.Minute()*60000 + t.Second()*1000 + t.Nanosecond()/1e6)).UTC(), true
	}
	return nil, nil, false
}
