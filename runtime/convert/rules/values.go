package rules

import (
	"fmt"
	"math"
	"math/big"
	"reflect"
	"time"

	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/common/types/traits"

	"github.com/sluicehq/sluice/runtime/connect"
)

// How Connect values look to CEL. A Struct is a map of its fields, read
// lazily (a rule that reads one field of a 1 KiB record converts one
// field). Logical types are shown in their physical form, as Confluent's
// clients show an Avro record: Timestamp and Time as int milliseconds, Date
// as int days, Decimal as the unscaled two's-complement bytes.

// toCEL converts a Connect value of schema s (nil: schemaless) for CEL.
func toCEL(s *connect.Schema, v any) ref.Val {
	if v == nil {
		return types.NullValue
	}
	if s != nil && s.Name != "" {
		switch s.Name {
		case connect.TimestampName, connect.TimeName:
			if t, ok := v.(time.Time); ok {
				return types.Int(t.UnixMilli())
			}
		case connect.DateName:
			if t, ok := v.(time.Time); ok {
				return types.Int(t.Unix() / 86400)
			}
		case connect.DecimalName:
			if r, ok := v.(*big.Rat); ok {
				scale, err := connect.DecimalScale(s)
				if err != nil {
					return types.WrapErr(err)
				}
				b, err := connect.DecimalToBytes(scale, r)
				if err != nil {
					return types.WrapErr(err)
				}
				return types.Bytes(b)
			}
		}
	}
	switch x := v.(type) {
	case *connect.Struct:
		return structVal{x}
	case string:
		return types.String(x)
	case int64:
		return types.Int(x)
	case int32:
		return types.Int(x)
	case int16:
		return types.Int(x)
	case int8:
		return types.Int(x)
	case float64:
		return types.Double(x)
	case float32:
		return types.Double(x)
	case bool:
		return types.Bool(x)
	case []byte:
		return types.Bytes(x)
	case time.Time:
		return types.Timestamp{Time: x}
	case *big.Rat:
		return types.String(x.RatString())
	case []any:
		return &listVal{s: s, elems: x}
	case map[string]any:
		ks, vs := mapSchemas(s)
		m := make(map[ref.Val]ref.Val, len(x))
		for k, e := range x {
			m[toCEL(ks, k)] = toCEL(vs, e)
		}
		return types.NewRefValMap(types.DefaultTypeAdapter, m)
	case map[any]any:
		ks, vs := mapSchemas(s)
		m := make(map[ref.Val]ref.Val, len(x))
		for k, e := range x {
			m[toCEL(ks, k)] = toCEL(vs, e)
		}
		return types.NewRefValMap(types.DefaultTypeAdapter, m)
	}
	return types.DefaultTypeAdapter.NativeToValue(v)
}

func mapSchemas(s *connect.Schema) (key, value *connect.Schema) {
	if s == nil {
		return nil, nil
	}
	return s.KeySchema, s.ValueSchema
}

// listVal shows a Connect list to CEL. Its size needs no conversion (a
// rule such as size(message.tags) < 10 converts no element); anything else
// converts the whole list once, to CEL's own list, and asks it.
type listVal struct {
	s     *connect.Schema
	elems []any
	conv  traits.Lister
}

var _ traits.Lister = (*listVal)(nil)

func (l *listVal) list() traits.Lister {
	if l.conv == nil {
		var es *connect.Schema
		if l.s != nil {
			es = l.s.ValueSchema
		}
		elems := make([]ref.Val, len(l.elems))
		for i, e := range l.elems {
			elems[i] = toCEL(es, e)
		}
		l.conv = types.NewRefValList(types.DefaultTypeAdapter, elems)
	}
	return l.conv
}

func (l *listVal) Size() ref.Val  { return types.Int(len(l.elems)) }
func (l *listVal) Type() ref.Type { return types.ListType }
func (l *listVal) Value() any     { return l.list().Value() }
func (l *listVal) ConvertToNative(t reflect.Type) (any, error) {
	return l.list().ConvertToNative(t)
}
func (l *listVal) ConvertToType(t ref.Type) ref.Val  { return l.list().ConvertToType(t) }
func (l *listVal) Equal(o ref.Val) ref.Val           { return l.list().Equal(o) }
func (l *listVal) Add(o ref.Val) ref.Val             { return l.list().Add(o) }
func (l *listVal) Contains(e ref.Val) ref.Val        { return l.list().Contains(e) }
func (l *listVal) Get(i ref.Val) ref.Val             { return l.list().Get(i) }
func (l *listVal) Iterator() traits.Iterator         { return l.list().Iterator() }
func (l *listVal) IsZeroValue() bool                 { return len(l.elems) == 0 }
func (l *listVal) String() string                    { return fmt.Sprint(l.list()) }
func (l *listVal) Fold(f traits.Folder)              { l.list().(traits.Foldable).Fold(f) }
func (l *listVal) GetInt64Index(i int64) (any, bool) { return l.list().(int64Indexer).GetInt64Index(i) }
func (l *listVal) AggregateSize(sizer types.AggregateSizer) uint32 {
	return l.list().(types.AggregateSizeVisitor).AggregateSize(sizer)
}

// int64Indexer is the fast index CEL's interpreter uses when a list has
// it, as its own lists do.
type int64Indexer interface {
	GetInt64Index(int64) (any, bool)
}

// structVal shows a *connect.Struct to CEL as a map from field name to
// value.
type structVal struct{ st *connect.Struct }

var (
	_ traits.Mapper = structVal{}
	_ ref.Val       = (*fieldIter)(nil)
)

func (v structVal) Type() ref.Type { return types.MapType }
func (v structVal) Value() any     { return v.st }

func (v structVal) ConvertToNative(t reflect.Type) (any, error) {
	if reflect.TypeOf(v.st).AssignableTo(t) {
		return v.st, nil
	}
	return nil, fmt.Errorf("a Connect struct does not convert to %v", t)
}

func (v structVal) ConvertToType(t ref.Type) ref.Val {
	switch t {
	case types.MapType:
		return v
	case types.TypeType:
		return types.MapType
	}
	return types.NewErr("type conversion error from map to %s", t.TypeName())
}

func (v structVal) Equal(o ref.Val) ref.Val {
	other, ok := o.(structVal)
	return types.Bool(ok && connect.ValuesEqual(v.st, other.st))
}

func (v structVal) Find(key ref.Val) (ref.Val, bool) {
	name, ok := key.(types.String)
	if !ok {
		return nil, false
	}
	f := v.st.Schema().Field(string(name))
	if f == nil {
		return nil, false
	}
	return toCEL(f.Schema, v.st.GetField(f)), true
}

func (v structVal) Get(key ref.Val) ref.Val {
	if val, ok := v.Find(key); ok {
		return val
	}
	return types.NewErr("no such key: %v", key)
}

func (v structVal) Contains(key ref.Val) ref.Val {
	_, ok := v.Find(key)
	return types.Bool(ok)
}

func (v structVal) Size() ref.Val { return types.Int(len(v.st.Schema().Fields)) }

func (v structVal) Iterator() traits.Iterator {
	return &fieldIter{fields: v.st.Schema().Fields}
}

// fieldIter iterates over a struct's field names, as a map's keys.
type fieldIter struct {
	fields []connect.Field
	i      int
}

func (it *fieldIter) HasNext() ref.Val { return types.Bool(it.i < len(it.fields)) }
func (it *fieldIter) Next() ref.Val {
	if it.i >= len(it.fields) {
		return nil
	}
	it.i++
	return types.String(it.fields[it.i-1].Name)
}
func (it *fieldIter) Type() ref.Type { return types.IteratorType }
func (it *fieldIter) Value() any     { return nil }
func (it *fieldIter) ConvertToNative(reflect.Type) (any, error) {
	return nil, fmt.Errorf("an iterator does not convert")
}
func (it *fieldIter) ConvertToType(ref.Type) ref.Val {
	return types.NewErr("an iterator does not convert")
}
func (it *fieldIter) Equal(ref.Val) ref.Val { return types.False }

// fromCEL converts a CEL result back to a Connect value of schema s
// (nil: schemaless, the result's natural Go value).
func fromCEL(s *connect.Schema, v ref.Val) (any, error) {
	if v == nil || v == types.NullValue {
		return nil, nil
	}
	if sv, ok := v.(structVal); ok {
		return sv.st, nil
	}
	if s == nil {
		return v.ConvertToNative(reflect.TypeFor[any]())
	}
	switch s.Name {
	case connect.TimestampName, connect.TimeName, connect.DateName:
		return logicalTimeFromCEL(s, v)
	case connect.DecimalName:
		return decimalFromCEL(s, v)
	}
	switch s.Type {
	case connect.TypeStruct:
		return structFromCEL(s, v)
	case connect.TypeArray:
		l, ok := v.(traits.Lister)
		if !ok {
			return nil, fmt.Errorf("want a list for %s, got %s", s, v.Type().TypeName())
		}
		n := int(l.Size().(types.Int))
		out := make([]any, n)
		for i := range n {
			e, err := fromCEL(s.ValueSchema, l.Get(types.Int(i)))
			if err != nil {
				return nil, fmt.Errorf("element %d: %w", i, err)
			}
			out[i] = e
		}
		return out, nil
	case connect.TypeMap:
		return mapFromCEL(s, v)
	case connect.TypeInt8, connect.TypeInt16, connect.TypeInt32, connect.TypeInt64:
		return intFromCEL(s.Type, v)
	case connect.TypeFloat32, connect.TypeFloat64:
		var f float64
		switch x := v.(type) {
		case types.Double:
			f = float64(x)
		case types.Int:
			f = float64(x)
		case types.Uint:
			f = float64(x)
		default:
			return nil, fmt.Errorf("want a number for %s, got %s", s.Type, v.Type().TypeName())
		}
		if s.Type == connect.TypeFloat32 {
			return float32(f), nil
		}
		return f, nil
	case connect.TypeBoolean:
		if b, ok := v.(types.Bool); ok {
			return bool(b), nil
		}
	case connect.TypeString:
		if str, ok := v.(types.String); ok {
			return string(str), nil
		}
	case connect.TypeBytes:
		switch x := v.(type) {
		case types.Bytes:
			return []byte(x), nil
		case types.String:
			return []byte(x), nil
		}
	}
	return nil, fmt.Errorf("want %s, got %s", s.Type, v.Type().TypeName())
}

func intFromCEL(t connect.Type, v ref.Val) (any, error) {
	var n int64
	switch x := v.(type) {
	case types.Int:
		n = int64(x)
	case types.Uint:
		if uint64(x) > math.MaxInt64 {
			return nil, fmt.Errorf("%d overflows %s", uint64(x), t)
		}
		n = int64(x)
	case types.Double:
		if float64(x) != math.Trunc(float64(x)) || math.Abs(float64(x)) > 1<<53 {
			return nil, fmt.Errorf("%v is not an integer of %s", float64(x), t)
		}
		n = int64(x)
	default:
		return nil, fmt.Errorf("want an int for %s, got %s", t, v.Type().TypeName())
	}
	switch t {
	case connect.TypeInt8:
		if n < math.MinInt8 || n > math.MaxInt8 {
			return nil, fmt.Errorf("%d overflows %s", n, t)
		}
		return int8(n), nil
	case connect.TypeInt16:
		if n < math.MinInt16 || n > math.MaxInt16 {
			return nil, fmt.Errorf("%d overflows %s", n, t)
		}
		return int16(n), nil
	case connect.TypeInt32:
		if n < math.MinInt32 || n > math.MaxInt32 {
			return nil, fmt.Errorf("%d overflows %s", n, t)
		}
		return int32(n), nil
	}
	return n, nil
}

func logicalTimeFromCEL(s *connect.Schema, v ref.Val) (any, error) {
	switch x := v.(type) {
	case types.Timestamp:
		return x.Time.UTC(), nil
	case types.Int:
		if s.Name == connect.DateName {
			return time.Unix(int64(x)*86400, 0).UTC(), nil
		}
		return time.UnixMilli(int64(x)).UTC(), nil
	}
	return nil, fmt.Errorf("want an int for %s, got %s", s.Name, v.Type().TypeName())
}

func decimalFromCEL(s *connect.Schema, v ref.Val) (any, error) {
	scale, err := connect.DecimalScale(s)
	if err != nil {
		return nil, err
	}
	switch x := v.(type) {
	case types.Bytes:
		return connect.DecimalFromBytes(scale, x), nil
	case types.String:
		r, ok := new(big.Rat).SetString(string(x))
		if !ok {
			return nil, fmt.Errorf("%q is not a decimal", string(x))
		}
		return r, nil
	case types.Int:
		return new(big.Rat).SetInt64(int64(x)), nil
	case types.Double:
		return new(big.Rat).SetFloat64(float64(x)), nil
	}
	return nil, fmt.Errorf("want bytes for %s, got %s", s.Name, v.Type().TypeName())
}

func structFromCEL(s *connect.Schema, v ref.Val) (any, error) {
	m, ok := v.(traits.Mapper)
	if !ok {
		return nil, fmt.Errorf("want a map for %s, got %s", s, v.Type().TypeName())
	}
	st := connect.NewStruct(s)
	for i := range s.Fields {
		f := &s.Fields[i]
		e, found := m.Find(types.String(f.Name))
		if !found {
			continue
		}
		fv, err := fromCEL(f.Schema, e)
		if err != nil {
			return nil, fmt.Errorf("field %s: %w", f.Name, err)
		}
		st.Set(f, fv)
	}
	return st, nil
}

func mapFromCEL(s *connect.Schema, v ref.Val) (any, error) {
	m, ok := v.(traits.Mapper)
	if !ok {
		return nil, fmt.Errorf("want a map for %s, got %s", s, v.Type().TypeName())
	}
	stringKeys := s.KeySchema != nil && s.KeySchema.Type == connect.TypeString
	outS := map[string]any{}
	outA := map[any]any{}
	for it := m.Iterator(); it.HasNext() == types.True; {
		k := it.Next()
		key, err := fromCEL(s.KeySchema, k)
		if err != nil {
			return nil, fmt.Errorf("map key: %w", err)
		}
		val, err := fromCEL(s.ValueSchema, m.Get(k))
		if err != nil {
			return nil, fmt.Errorf("map value for %v: %w", key, err)
		}
		if stringKeys {
			outS[key.(string)] = val
		} else {
			outA[key] = val
		}
	}
	if stringKeys {
		return outS, nil
	}
	return outA, nil
}

var typeNameVals = map[string]ref.Val{}

func init() {
	for _, n := range []string{"NULL", "INT", "LONG", "FLOAT", "DOUBLE", "RECORD", "BOOLEAN", "STRING", "BYTES", "ARRAY", "MAP"} {
		typeNameVals[n] = types.String(n)
	}
}

// typeNameVal is typeName as a CEL value, without allocating.
func typeNameVal(s *connect.Schema, v any) ref.Val {
	if t, ok := typeNameVals[typeName(s, v)]; ok {
		return t
	}
	return types.String(typeName(s, v))
}

// typeName is the typeName a CEL_FIELD rule sees for a primitive field:
// Confluent's names for the Avro type the Connect type maps to.
func typeName(s *connect.Schema, v any) string {
	if v == nil {
		return "NULL"
	}
	switch s.Type {
	case connect.TypeInt8, connect.TypeInt16, connect.TypeInt32:
		return "INT"
	case connect.TypeInt64:
		return "LONG"
	case connect.TypeFloat32:
		return "FLOAT"
	case connect.TypeFloat64:
		return "DOUBLE"
	case connect.TypeStruct:
		return "RECORD"
	}
	return string(s.Type) // BOOLEAN, STRING, BYTES, ARRAY, MAP
}
