package schemaconv

import (
	"fmt"
	"math"
	"slices"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/sluicehq/sluice/runtime/connect"
)

// The reader walks the wire bytes with the message descriptor and the
// Connect schema derived from it, building Connect values directly (no
// intermediate dynamic message). It reads as ProtobufData.toConnectData:
// scalar and repeated fields without presence are always set (their zero
// value when absent), other fields only when present, a oneof member
// inside its Union struct. A singular message field that occurs more than
// once takes the last occurrence (Protobuf would merge them).

// readField is where the values of one Protobuf field go.
type readField struct {
	f      *connect.Field  // the field of the struct being read
	member *connect.Field  // for a oneof member: its field in the Union struct
	vs     *connect.Schema // the schema of one value (an ARRAY's element)
	fd     protoreflect.FieldDescriptor
	list   bool // an ARRAY
	mapped bool // a MAP of entry messages
}

// accepts reports whether typ is a wire type field rf can be read from:
// its own, or length-delimited (packed) for a repeated scalar.
func (rf *readField) accepts(typ protowire.Type) bool {
	want := wireType(rf.fd.Kind())
	if rf.mapped {
		want = protowire.BytesType
	}
	return typ == want || rf.list && typ == protowire.BytesType
}

// readPlan is how the fields of one message map onto one struct schema.
type readPlan struct {
	byNumber map[protoreflect.FieldNumber]*readField
	// always are set even when absent: those without presence, or (with
	// generate.struct.for.nulls) every field not in a oneof.
	always []*readField
}

func (c *protoCodec) readPlan(s *connect.Schema, md protoreflect.MessageDescriptor) (*readPlan, error) {
	key := planKey{s, md}
	if p, ok := c.readPlans.Load(key); ok {
		return p.(*readPlan), nil
	}
	p := &readPlan{byNumber: map[protoreflect.FieldNumber]*readField{}}
	for i := range md.Fields().Len() {
		fd := md.Fields().Get(i)
		rf := &readField{fd: fd, list: fd.IsList(), mapped: fd.IsMap()}
		if od := fd.ContainingOneof(); od != nil && !od.IsSynthetic() && !c.f.flattenUnions {
			rf.f = s.Field(c.f.unionFieldName(od))
			if rf.f == nil {
				return nil, fmt.Errorf("no field for oneof %s", od.FullName())
			}
			rf.member = rf.f.Schema.Field(string(fd.Name()))
			if rf.member == nil {
				return nil, fmt.Errorf("no field for %s in %s", fd.Name(), rf.f.Name)
			}
			rf.vs = rf.member.Schema
		} else {
			if rf.f = s.Field(string(fd.Name())); rf.f == nil {
				return nil, fmt.Errorf("no field %s", fd.Name())
			}
			rf.vs = rf.f.Schema
			if rf.f.Schema.Type == connect.TypeMap && rf.list {
				rf.list, rf.mapped = false, true
			}
			if rf.list {
				rf.vs = rf.f.Schema.ValueSchema
			}
			inOneof := fd.ContainingOneof() != nil && !fd.ContainingOneof().IsSynthetic()
			optional := fd.HasOptionalKeyword() && (fd.Syntax() == protoreflect.Proto3 || c.f.optionalForProto2)
			primitiveOrRepeated := fd.Kind() != protoreflect.MessageKind || fd.IsList() || fd.IsMap()
			if !inOneof && (primitiveOrRepeated && !optional || c.f.structForNulls) {
				p.always = append(p.always, rf)
			}
		}
		p.byNumber[fd.Number()] = rf
	}
	c.readPlans.Store(key, p)
	return p, nil
}

// readStruct reads the message bytes b of md as a struct of schema s.
func (c *protoCodec) readStruct(s *connect.Schema, md protoreflect.MessageDescriptor, b []byte) (*connect.Struct, error) {
	p, err := c.readPlan(s, md)
	if err != nil {
		return nil, err
	}
	st := connect.NewStruct(s)
	for _, rf := range p.always {
		var zero any
		switch {
		case rf.mapped:
			zero = emptyMap(rf.f.Schema)
		case rf.list:
			zero = []any{}
		default:
			if zero, err = c.zeroValue(rf.vs, rf.fd); err != nil {
				return nil, err
			}
		}
		st.Set(rf.f, zero)
	}
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, fmt.Errorf("read %s: %w", md.FullName(), protowire.ParseError(n))
		}
		b = b[n:]
		rf := p.byNumber[num]
		if rf == nil || !rf.accepts(typ) { // unknown, as Protobuf's decoders take a field of the wrong wire type
			if n = protowire.ConsumeFieldValue(num, typ, b); n < 0 {
				return nil, fmt.Errorf("read %s: %w", md.FullName(), protowire.ParseError(n))
			}
			b = b[n:]
			continue
		}
		if n, err = c.readInto(st, rf, typ, b); err != nil {
			return nil, fmt.Errorf("field %s: %w", rf.fd.Name(), err)
		}
		b = b[n:]
	}
	return st, nil
}

// readInto reads one occurrence of field rf into st and returns the bytes
// it took.
func (c *protoCodec) readInto(st *connect.Struct, rf *readField, typ protowire.Type, b []byte) (int, error) {
	switch {
	case rf.mapped:
		e, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return 0, protowire.ParseError(n)
		}
		k, v, err := c.readEntry(rf.f.Schema, rf.fd.Message(), e)
		if err != nil {
			return 0, err
		}
		switch m := st.GetWithoutDefault(rf.f.Name).(type) {
		case map[string]any:
			ks, _ := k.(string)
			m[ks] = v
		case map[any]any:
			m[k] = v
		}
		return n, nil
	case rf.list:
		xs, _ := st.GetWithoutDefault(rf.f.Name).([]any)
		if typ == protowire.BytesType && wireType(rf.fd.Kind()) != protowire.BytesType {
			packed, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return 0, protowire.ParseError(n)
			}
			for len(packed) > 0 {
				v, m, err := c.readValue(rf.vs, rf.fd, wireType(rf.fd.Kind()), packed)
				if err != nil {
					return 0, err
				}
				xs = append(xs, v)
				packed = packed[m:]
			}
			st.Set(rf.f, xs)
			return n, nil
		}
		v, n, err := c.readValue(rf.vs, rf.fd, typ, b)
		if err != nil {
			return 0, err
		}
		st.Set(rf.f, append(xs, v))
		return n, nil
	}
	v, n, err := c.readValue(rf.vs, rf.fd, typ, b)
	if err != nil {
		return 0, err
	}
	if rf.member != nil {
		u := connect.NewStruct(rf.f.Schema)
		u.Set(rf.member, v)
		v = u
	}
	st.Set(rf.f, v)
	return n, nil
}

func emptyMap(s *connect.Schema) any {
	if s.KeySchema.Type == connect.TypeString {
		return map[string]any{}
	}
	return map[any]any{}
}

// readEntry reads a map entry message; an absent key or value is its zero.
func (c *protoCodec) readEntry(s *connect.Schema, md protoreflect.MessageDescriptor, b []byte) (k, v any, err error) {
	kf, vf := md.Fields().ByName("key"), md.Fields().ByName("value")
	var kset, vset bool
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, nil, protowire.ParseError(n)
		}
		b = b[n:]
		switch {
		case num == kf.Number() && typ == wireType(kf.Kind()):
			k, n, err = c.readFieldValue(s.KeySchema, kf, typ, b)
			kset = true
		case num == vf.Number() && typ == wireType(vf.Kind()):
			v, n, err = c.readFieldValue(s.ValueSchema, vf, typ, b)
			vset = true
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if err != nil {
			return nil, nil, err
		}
		if n < 0 {
			return nil, nil, protowire.ParseError(n)
		}
		b = b[n:]
	}
	if !kset {
		if k, err = c.zeroValue(s.KeySchema, kf); err != nil {
			return nil, nil, err
		}
	}
	if !vset {
		if v, err = c.zeroValue(s.ValueSchema, vf); err != nil {
			return nil, nil, err
		}
	}
	return k, v, nil
}

// readFieldValue reads a map entry's key or value: a whole ARRAY is not
// possible there (Confluent reads such entries as structs), so one value.
func (c *protoCodec) readFieldValue(s *connect.Schema, fd protoreflect.FieldDescriptor, typ protowire.Type, b []byte) (any, int, error) {
	if fd.IsList() {
		return nil, 0, fmt.Errorf("repeated %s in a map entry", fd.Name())
	}
	return c.readValue(s, fd, typ, b)
}

// zeroValue is what an absent field without presence reads as.
func (c *protoCodec) zeroValue(s *connect.Schema, fd protoreflect.FieldDescriptor) (any, error) {
	if fd.IsList() {
		return []any{}, nil
	}
	if fd.Kind() == protoreflect.MessageKind {
		v, _, err := c.readValue(s, fd, protowire.BytesType, []byte{0})
		return v, err
	}
	if fd.Kind() == protoreflect.EnumKind {
		var n protoreflect.EnumNumber
		if vals := fd.Enum().Values(); vals.ByNumber(0) == nil && vals.Len() > 0 {
			n = vals.Get(0).Number()
		}
		return c.scalar(s, fd, uint64(int64(n)), nil)
	}
	return c.scalar(s, fd, 0, []byte{})
}

// readValue reads one value of field fd (wire type typ) from the start of
// b and returns it and the bytes it took.
func (c *protoCodec) readValue(s *connect.Schema, fd protoreflect.FieldDescriptor, typ protowire.Type, b []byte) (any, int, error) {
	var x uint64
	var raw []byte
	n := 0
	switch typ {
	case protowire.VarintType:
		x, n = protowire.ConsumeVarint(b)
	case protowire.Fixed32Type:
		var v uint32
		v, n = protowire.ConsumeFixed32(b)
		x = uint64(v)
	case protowire.Fixed64Type:
		x, n = protowire.ConsumeFixed64(b)
	case protowire.BytesType:
		raw, n = protowire.ConsumeBytes(b)
	default:
		return nil, 0, fmt.Errorf("unexpected wire type %d", typ)
	}
	if n < 0 {
		return nil, 0, protowire.ParseError(n)
	}
	if typ != wireType(fd.Kind()) {
		return nil, 0, fmt.Errorf("wire type %d for a %s field", typ, fd.Kind())
	}
	if fd.Kind() == protoreflect.MessageKind {
		v, err := c.message(s, fd.Message(), raw)
		return v, n, err
	}
	v, err := c.scalar(s, fd, x, raw)
	return v, n, err
}

// message converts the bytes of a message-typed value: a logical type, a
// struct, or a wrapper read as its primitive.
func (c *protoCodec) message(s *connect.Schema, md protoreflect.MessageDescriptor, b []byte) (any, error) {
	switch s.Name {
	case connect.DecimalName, connect.DateName, connect.TimeName, connect.TimestampName:
		return readWellKnown(s.Name, b)
	}
	if s.Type == connect.TypeStruct {
		return c.readStruct(s, md, b)
	}
	vf := md.Fields().ByName("value")
	if vf == nil {
		return nil, fmt.Errorf("message %s is not a wrapper", md.FullName())
	}
	var v any
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, protowire.ParseError(n)
		}
		b = b[n:]
		if num == vf.Number() {
			var err error
			if v, n, err = c.readValue(s, vf, typ, b); err != nil {
				return nil, err
			}
		} else if n = protowire.ConsumeFieldValue(num, typ, b); n < 0 {
			return nil, protowire.ParseError(n)
		}
		b = b[n:]
	}
	if v == nil {
		return c.zeroValue(s, vf)
	}
	return v, nil
}

// readWellKnown reads confluent.type.Decimal, google.type.Date,
// google.type.TimeOfDay or google.protobuf.Timestamp, whose fields are all
// varints but Decimal's value.
func readWellKnown(name string, b []byte) (any, error) {
	var f [5]int64
	var value []byte
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, protowire.ParseError(n)
		}
		b = b[n:]
		switch {
		case typ == protowire.VarintType && num < 5:
			v, m := protowire.ConsumeVarint(b)
			if m < 0 {
				return nil, protowire.ParseError(m)
			}
			f[num], n = int64(v), m
		case typ == protowire.BytesType && num == 1:
			v, m := protowire.ConsumeBytes(b)
			if m < 0 {
				return nil, protowire.ParseError(m)
			}
			value, n = v, m
		default:
			if n = protowire.ConsumeFieldValue(num, typ, b); n < 0 {
				return nil, protowire.ParseError(n)
			}
		}
		b = b[n:]
	}
	switch name {
	case connect.DecimalName:
		return connect.DecimalFromBytes(int(int32(f[3])), value), nil
	case connect.DateName:
		return time.Date(int(int32(f[1])), time.Month(int32(f[2])), int(int32(f[3])), 0, 0, 0, 0, time.UTC), nil
	case connect.TimeName:
		ns := ((int64(int32(f[1]))*60+int64(int32(f[2])))*60+int64(int32(f[3])))*1e9 + int64(int32(f[4]))
		return time.UnixMilli(ns / 1e6).UTC(), nil
	}
	return time.UnixMilli(f[1]*1000 + int64(int32(f[2]))/1e6).UTC(), nil
}

// scalar converts a scalar wire value (x for numbers, raw for strings and
// bytes) of field fd to Connect's Go type for s.
func (c *protoCodec) scalar(s *connect.Schema, fd protoreflect.FieldDescriptor, x uint64, raw []byte) (any, error) {
	var i int64 // the value as Protobuf's Java API hands it: int for 32-bit kinds, long for 64-bit
	switch fd.Kind() {
	case protoreflect.StringKind:
		if s.Type == connect.TypeString {
			return string(raw), nil
		}
	case protoreflect.BytesKind:
		if s.Type == connect.TypeBytes {
			return slices.Clone(raw), nil
		}
	case protoreflect.BoolKind:
		if s.Type == connect.TypeBoolean {
			return x != 0, nil
		}
	case protoreflect.FloatKind:
		switch s.Type {
		case connect.TypeFloat32:
			return math.Float32frombits(uint32(x)), nil
		case connect.TypeFloat64:
			return float64(math.Float32frombits(uint32(x))), nil
		}
	case protoreflect.DoubleKind:
		switch s.Type {
		case connect.TypeFloat64:
			return math.Float64frombits(x), nil
		case connect.TypeFloat32:
			return float32(math.Float64frombits(x)), nil
		}
	case protoreflect.EnumKind:
		switch s.Type {
		case connect.TypeString:
			if ev := fd.Enum().Values().ByNumber(protoreflect.EnumNumber(int32(x))); ev != nil {
				return string(ev.Name()), nil
			}
			return fmt.Sprint(int32(x)), nil
		case connect.TypeInt32:
			return int32(x), nil
		}
	case protoreflect.Sint32Kind:
		i = int64(int32(protowire.DecodeZigZag(x & math.MaxUint32)))
	case protoreflect.Sint64Kind:
		i = protowire.DecodeZigZag(x)
	case protoreflect.Int32Kind, protoreflect.Sfixed32Kind, protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		i = int64(int32(x))
	default: // the 64-bit kinds
		i = int64(x)
	}
	switch s.Type {
	case connect.TypeInt8:
		return int8(i), nil
	case connect.TypeInt16:
		return int16(i), nil
	case connect.TypeInt32:
		return int32(i), nil
	case connect.TypeInt64:
		if k := fd.Kind(); k == protoreflect.Uint32Kind || k == protoreflect.Fixed32Kind {
			return int64(uint32(i)), nil // Integer.toUnsignedLong
		}
		return i, nil
	}
	return nil, fmt.Errorf("cannot read Protobuf %s as Connect %s", fd.Kind(), s.Type)
}
