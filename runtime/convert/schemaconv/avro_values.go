package schemaconv

import (
	"fmt"
	"math/big"
	"time"

	"github.com/hamba/avro/v2"

	"github.com/sluicehq/sluice/runtime/connect"
)

func mapLen(v any) int {
	switch m := v.(type) {
	case map[string]any:
		return len(m)
	case map[any]any:
		return len(m)
	}
	return 0
}

func encodePrimitive(w *avro.Writer, p *avro.PrimitiveSchema, v any) error {
	if l := p.Logical(); l != nil {
		if done, err := encodeLogical(w, p, l, v); done {
			return err
		}
	}
	switch p.Type() {
	case avro.Null:
		if v != nil {
			return typeErr(p, v)
		}
	case avro.Int:
		switch n := v.(type) {
		case int8:
			w.WriteInt(int32(n))
		case int16:
			w.WriteInt(int32(n))
		case int32:
			w.WriteInt(n)
		default:
			return typeErr(p, v)
		}
	case avro.Long:
		n, ok := v.(int64)
		if !ok {
			return typeErr(p, v)
		}
		w.WriteLong(n)
	case avro.Float:
		f, ok := v.(float32)
		if !ok {
			return typeErr(p, v)
		}
		w.WriteFloat(f)
	case avro.Double:
		f, ok := v.(float64)
		if !ok {
			return typeErr(p, v)
		}
		w.WriteDouble(f)
	case avro.Boolean:
		b, ok := v.(bool)
		if !ok {
			return typeErr(p, v)
		}
		w.WriteBool(b)
	case avro.String:
		s, ok := v.(string)
		if !ok {
			return typeErr(p, v)
		}
		w.WriteString(s)
	case avro.Bytes:
		b, ok := v.([]byte)
		if !ok {
			return typeErr(p, v)
		}
		w.WriteBytes(b)
	default:
		return typeErr(p, v)
	}
	return nil
}

// encodeLogical writes the logical types Connect has; done is false for a
// logical type Connect carries as its physical type.
func encodeLogical(w *avro.Writer, p *avro.PrimitiveSchema, l avro.LogicalSchema, v any) (done bool, err error) {
	switch l.Type() {
	case avro.Decimal:
		r, ok := v.(*big.Rat)
		if !ok {
			return false, nil
		}
		b, err := connect.DecimalToBytes(l.(*avro.DecimalLogicalSchema).Scale(), r)
		if err != nil {
			return true, err
		}
		w.WriteBytes(b)
		return true, nil
	case avro.Date, avro.TimeMillis, avro.TimestampMillis:
		t, ok := v.(time.Time)
		if !ok {
			return false, nil
		}
		switch l.Type() {
		case avro.Date:
			d, err := connect.DateToDays(t)
			w.WriteInt(d)
			return true, err
		case avro.TimeMillis:
			ms, err := connect.TimeToMillis(t)
			w.WriteInt(ms)
			return true, err
		default:
			w.WriteLong(t.UnixMilli())
			return true, nil
		}
	}
	return false, nil
}

// decodeAvro reads a value of Avro schema as into the Go type of its
// Connect schema cs (derived from as by connectBuilder).
func decodeAvro(r *avro.Reader, as avro.Schema, cs *connect.Schema) (any, error) {
	if as.Type() == avro.Null {
		return nil, nil
	}
	switch t := as.(type) {
	case *avro.RefSchema:
		return decodeAvro(r, t.Schema(), cs)
	case *avro.UnionSchema:
		return decodeUnion(r, t, cs)
	case *avro.RecordSchema:
		st := connect.NewStruct(cs)
		for i, f := range t.Fields() {
			v, err := decodeAvro(r, f.Type(), cs.Fields[i].Schema)
			if err != nil {
				return nil, fmt.Errorf("field %s: %w", f.Name(), err)
			}
			st.Set(&cs.Fields[i], v)
		}
		return st, nil
	case *avro.ArraySchema:
		return decodeArray(r, t, cs)
	case *avro.MapSchema:
		m := map[string]any{}
		for {
			n, _ := r.ReadBlockHeader()
			if n == 0 || r.Error != nil {
				return m, r.Error
			}
			for range n {
				k := r.ReadString()
				v, err := decodeAvro(r, t.Values(), cs.ValueSchema)
				if err != nil {
					return nil, err
				}
				m[k] = v
			}
		}
	case *avro.EnumSchema:
		i := r.ReadInt()
		sym, ok := t.Symbol(int(i))
		if !ok {
			return nil, fmt.Errorf("enum %s has no symbol %d", t.FullName(), i)
		}
		return sym, nil
	case *avro.FixedSchema:
		b := make([]byte, t.Size())
		r.Read(b)
		return b, r.Error
	case *avro.PrimitiveSchema:
		return decodePrimitive(r, t, cs), r.Error
	}
	return nil, fmt.Errorf("unsupported Avro type %s", as.Type())
}

func decodeUnion(r *avro.Reader, u *avro.UnionSchema, cs *connect.Schema) (any, error) {
	i := int(r.ReadLong())
	types := u.Types()
	if i < 0 || i >= len(types) {
		return nil, fmt.Errorf("union index %d out of range", i)
	}
	branch := types[i]
	if branch.Type() == avro.Null {
		return nil, nil
	}
	if u.Nullable() {
		return decodeAvro(r, branch, cs)
	}
	field := 0
	for _, t := range types[:i] {
		if t.Type() != avro.Null {
			field++
		}
	}
	f := &cs.Fields[field]
	v, err := decodeAvro(r, branch, f.Schema)
	if err != nil {
		return nil, err
	}
	st := connect.NewStruct(cs)
	st.Set(f, v)
	return st, nil
}

func decodeArray(r *avro.Reader, a *avro.ArraySchema, cs *connect.Schema) (any, error) {
	var entry *avro.RecordSchema
	if cs.Type == connect.TypeMap {
		items := a.Items()
		if ref, ok := items.(*avro.RefSchema); ok {
			items = ref.Schema()
		}
		entry = items.(*avro.RecordSchema)
	}
	xs := []any{}
	var m map[any]any
	if entry != nil {
		m = map[any]any{}
	}
	for {
		n, _ := r.ReadBlockHeader()
		if n == 0 || r.Error != nil {
			break
		}
		for range n {
			if entry == nil {
				v, err := decodeAvro(r, a.Items(), cs.ValueSchema)
				if err != nil {
					return nil, err
				}
				xs = append(xs, v)
				continue
			}
			k, err := decodeAvro(r, entry.Fields()[0].Type(), cs.KeySchema)
			if err != nil {
				return nil, err
			}
			v, err := decodeAvro(r, entry.Fields()[1].Type(), cs.ValueSchema)
			if err != nil {
				return nil, err
			}
			m[k] = v
		}
	}
	if entry == nil {
		return xs, r.Error
	}
	return m, r.Error
}

func decodePrimitive(r *avro.Reader, p *avro.PrimitiveSchema, cs *connect.Schema) any {
	switch cs.Name {
	case connect.DecimalName:
		scale, _ := connect.DecimalScale(cs)
		return connect.DecimalFromBytes(scale, r.ReadBytes())
	case connect.DateName:
		return connect.DateFromDays(r.ReadInt())
	case connect.TimeName:
		return connect.TimeFromMillis(r.ReadInt())
	case connect.TimestampName:
		return connect.TimestampFromMillis(r.ReadLong())
	}
	switch p.Type() {
	case avro.Int:
		n := r.ReadInt()
		switch cs.Type {
		case connect.TypeInt8:
			return int8(n)
		case connect.TypeInt16:
			return int16(n)
		}
		return n
	case avro.Long:
		return r.ReadLong()
	case avro.Float:
		return r.ReadFloat()
	case avro.Double:
		return r.ReadDouble()
	case avro.Boolean:
		return r.ReadBool()
	case avro.String:
		return r.ReadString()
	case avro.Bytes:
		return r.ReadBytes()
	}
	return nil
}
