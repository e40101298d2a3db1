package convert

import (
	"math/big"
	"time"

	"github.com/sluicehq/sluice/runtime/connect"
)

// array parses the elements after '['. The element schema is the one
// all elements share (numbers widen to the largest type seen); elements
// of unrelated types leave it nil.
func (p *valuesParser) array() (*parsedValue, error) {
	var vals []any
	var common schemaUnion
	for p.at < len(p.toks) {
		if p.canConsume("]") {
			es := common.result()
			return &parsedValue{connect.ArrayOf(es), alignList(es, vals)}, nil
		}
		if p.canConsume(",") {
			return nil, errNotParsed
		}
		e, err := p.parse(true)
		if err != nil {
			return nil, err
		}
		common.add(e)
		vals = append(vals, e.valueOrNil())
		mark := p.at
		if p.canConsume("]") {
			p.at = mark
		} else if !p.canConsume(",") {
			return nil, errNotParsed
		}
	}
	return nil, errNotParsed
}

// mapValue parses the entries after '{'; keys may not be null.
func (p *valuesParser) mapValue() (*parsedValue, error) {
	var keys, vals []any
	var ks, vs schemaUnion
	for p.at < len(p.toks) {
		if p.canConsume("}") {
			return buildMap(ks.result(), vs.result(), keys, vals)
		}
		if p.canConsume(",") {
			return nil, errNotParsed
		}
		k, err := p.parse(true)
		if err != nil || k == nil || k.value == nil || !hashable(k.value) || !p.canConsume(":") {
			return nil, errNotParsed
		}
		v, err := p.parse(true)
		if err != nil {
			return nil, err
		}
		keys, vals = append(keys, k.value), append(vals, v.valueOrNil())
		p.canConsume(",")
		ks.add(k)
		vs.add(v)
	}
	return nil, errNotParsed
}

func (r *parsedValue) valueOrNil() any {
	if r == nil {
		return nil
	}
	return r.value
}

func buildMap(ks, vs *connect.Schema, keys, vals []any) (*parsedValue, error) {
	schema := connect.MapOf(ks, vs)
	if ks == nil || ks.Type == connect.TypeString {
		m := make(map[string]any, len(keys))
		for i, k := range keys {
			s, ok := k.(string)
			if !ok {
				return buildAnyMap(schema, keys, vals), nil
			}
			m[s] = alignValue(vs, vals[i])
		}
		return &parsedValue{schema, m}, nil
	}
	return buildAnyMap(schema, keys, vals), nil
}

func buildAnyMap(schema *connect.Schema, keys, vals []any) *parsedValue {
	m := make(map[any]any, len(keys))
	for i, k := range keys {
		m[alignValue(schema.KeySchema, k)] = alignValue(schema.ValueSchema, vals[i])
	}
	return &parsedValue{schema, m}
}

// schemaUnion finds the schema common to a series of parsed values, as
// Kafka's Values.commonSchemaFor; once two are unrelated there is none.
// Nulls among values of one type make that type optional (Kafka gives up
// on such an array and keeps the string).
type schemaUnion struct {
	schema   *connect.Schema
	mismatch bool
	sawNull  bool
}

func (u *schemaUnion) add(v *parsedValue) {
	switch {
	case v == nil:
		u.sawNull = true
	case u.mismatch:
	case u.schema == nil:
		u.schema = v.schema
	case u.schema.Type == v.schema.Type:
		u.schema = v.schema
	default:
		wider, ok := widerNumber(u.schema, v.schema)
		u.schema, u.mismatch = wider, !ok
	}
}

func (u *schemaUnion) result() *connect.Schema {
	if u.mismatch || u.schema == nil {
		return nil
	}
	if u.sawNull && !u.schema.Optional {
		optional := *u.schema
		optional.Optional = true
		return &optional
	}
	return u.schema
}

// numericRank orders the types a number widens through.
var numericRank = map[connect.Type]int{
	connect.TypeInt8: 1, connect.TypeInt16: 2, connect.TypeInt32: 3,
	connect.TypeInt64: 4, connect.TypeFloat32: 5, connect.TypeFloat64: 6,
}

func widerNumber(a, b *connect.Schema) (*connect.Schema, bool) {
	ra, okA := numericRank[a.Type]
	rb, okB := numericRank[b.Type]
	if !okA || !okB {
		return nil, false
	}
	if rb > ra {
		return b, true
	}
	return a, true
}

func alignList(es *connect.Schema, vals []any) []any {
	out := make([]any, len(vals))
	for i, v := range vals {
		out[i] = alignValue(es, v)
	}
	return out
}

// alignValue converts a parsed value to the common schema: numbers widen
// (Java's casts), numbers under a temporal schema become days or
// milliseconds; anything else is kept.
func alignValue(s *connect.Schema, v any) any {
	if s == nil || v == nil {
		return v
	}
	if _, isTime := v.(time.Time); isTime {
		return v
	}
	i, n, ok := numberParts(v)
	if !ok {
		return v
	}
	switch s.Name {
	case connect.DateName:
		return connect.DateFromDays(int32(i))
	case connect.TimeName:
		return connect.TimeFromMillis(int32(i))
	case connect.TimestampName:
		return connect.TimestampFromMillis(i)
	}
	return castNumber(s.Type, v, i, n)
}

func castNumber(t connect.Type, v any, i int64, f float64) any {
	switch t {
	case connect.TypeInt8:
		return int8(i)
	case connect.TypeInt16:
		return int16(i)
	case connect.TypeInt32:
		return int32(i)
	case connect.TypeInt64:
		return i
	case connect.TypeFloat32:
		return float32(f)
	case connect.TypeFloat64:
		return f
	}
	return v
}

// numberParts returns a number as Java's longValue() and doubleValue().
func numberParts(v any) (int64, float64, bool) {
	switch x := v.(type) {
	case int8:
		return int64(x), float64(x), true
	case int16:
		return int64(x), float64(x), true
	case int32:
		return int64(x), float64(x), true
	case int64:
		return x, float64(x), true
	case float32:
		return int64(x), float64(x), true
	case float64:
		return int64(x), x, true
	case *big.Rat:
		f, _ := x.Float64()
		return new(big.Int).Quo(x.Num(), x.Denom()).Int64(), f, true
	}
	return 0, 0, false
}
