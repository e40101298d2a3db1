package schemaconv

import (
	"cmp"
	"fmt"
	"math"
	"math/big"
	"slices"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/sluicehq/sluice/runtime/connect"
)

// encode appends the message indexes and the message for v: a struct as
// the message of its name, a primitive in its wrapper message.
func (c *protoCodec) encode(dst []byte, s *connect.Schema, v any) ([]byte, error) {
	md, err := c.rootOf(s)
	if err != nil {
		return nil, err
	}
	dst = appendMessageIndexes(dst, md)
	if s.Type != connect.TypeStruct {
		return c.appendMessageValue(dst, md, s, v)
	}
	st, ok := v.(*connect.Struct)
	if !ok {
		return nil, dataErr("Invalid type for STRUCT: %T", v)
	}
	return c.appendMessage(dst, s, st, md)
}

// rootOf is the message a record of schema s is written as, cached by
// the schema pointer.
func (c *protoCodec) rootOf(s *connect.Schema) (protoreflect.MessageDescriptor, error) {
	if md, ok := c.roots.Load(s); ok {
		return md.(protoreflect.MessageDescriptor), nil
	}
	var name string
	if s.Type == connect.TypeStruct {
		g := &protoGen{f: c.f}
		pkg, simple := g.split(g.nameOrDefault(s.Name))
		if name = simple; pkg != "" {
			name = pkg + "." + simple
		}
	} else {
		var err error
		if name, err = rootWrapper(s); err != nil {
			return nil, err
		}
	}
	md := c.root(name)
	if s.Type != connect.TypeStruct && md.FullName() != protoreflect.FullName(name) {
		return nil, dataErr("schema %s has no message %s for a %s value", c.file.Path(), name, s.Type)
	}
	c.roots.Store(s, md)
	return md, nil
}

// planKey identifies how a Connect struct schema maps onto a message.
type planKey struct {
	s  *connect.Schema
	md protoreflect.MessageDescriptor
}

// planField is one Connect field and the Protobuf field (or, for a
// union, the message whose fields its members are) it is written as.
type planField struct {
	f     *connect.Field
	fd    protoreflect.FieldDescriptor // nil for a union or a field the message lacks
	union bool
	order protoreflect.FieldNumber
}

// plan returns the fields of s in the order Confluent's serializer
// writes them: by field number (a union by its first member's).
func (c *protoCodec) plan(s *connect.Schema, md protoreflect.MessageDescriptor) []planField {
	if p, ok := c.plans.Load(planKey{s, md}); ok {
		return p.([]planField)
	}
	g := &protoGen{f: c.f}
	out := make([]planField, 0, len(s.Fields))
	for i := range s.Fields {
		f := &s.Fields[i]
		p := planField{f: f, fd: md.Fields().ByName(protoreflect.Name(g.scrub(f.Name))), order: math.MaxInt32}
		switch {
		case p.fd != nil:
			p.order = p.fd.Number()
		case isProtoUnion(f.Schema):
			p.union = true
			for _, mf := range f.Schema.Fields {
				if fd := md.Fields().ByName(protoreflect.Name(g.scrub(mf.Name))); fd != nil {
					p.order = min(p.order, fd.Number())
				}
			}
		}
		out = append(out, p)
	}
	slices.SortStableFunc(out, func(a, b planField) int { return cmp.Compare(a.order, b.order) })
	c.plans.Store(planKey{s, md}, out)
	return out
}

func (c *protoCodec) appendMessage(dst []byte, s *connect.Schema, st *connect.Struct, md protoreflect.MessageDescriptor) ([]byte, error) {
	if !st.Schema().Equal(s) {
		return nil, dataErr("Mismatching struct schema")
	}
	var err error
	for _, p := range c.plan(s, md) {
		v := st.GetField(p.f)
		if c.f.ignoreDefaultForNullables {
			v = st.GetWithoutDefault(p.f.Name)
		}
		if v == nil {
			continue
		}
		fs, fd := p.f.Schema, p.fd
		if p.union {
			if fs, fd, v, err = c.unionMember(p.f, v, md); err != nil {
				return nil, err
			}
		}
		if fd == nil {
			return nil, dataErr("Cannot find field with name %s in message %s", p.f.Name, md.FullName())
		}
		if dst, err = c.appendField(dst, fd, fs, v); err != nil {
			return nil, fmt.Errorf("field %s: %w", p.f.Name, err)
		}
	}
	return dst, nil
}

// unionMember returns the first set member of a Union struct.
func (c *protoCodec) unionMember(f *connect.Field, v any, md protoreflect.MessageDescriptor) (*connect.Schema, protoreflect.FieldDescriptor, any, error) {
	u, ok := v.(*connect.Struct)
	if !ok {
		return nil, nil, nil, dataErr("Invalid type for union %s: %T", f.Name, v)
	}
	for i := range u.Schema().Fields {
		mf := &u.Schema().Fields[i]
		mv := u.GetField(mf)
		if c.f.ignoreDefaultForNullables {
			mv = u.GetWithoutDefault(mf.Name)
		}
		if mv != nil {
			g := &protoGen{f: c.f}
			return mf.Schema, md.Fields().ByName(protoreflect.Name(g.scrub(mf.Name))), mv, nil
		}
	}
	return nil, nil, nil, dataErr("Cannot find non-null field in union %s", f.Name)
}

func (c *protoCodec) appendField(dst []byte, fd protoreflect.FieldDescriptor, fs *connect.Schema, v any) ([]byte, error) {
	if fs.Type == connect.TypeMap {
		return c.appendMap(dst, fd, fs, v)
	}
	if fs.Type != connect.TypeArray {
		return c.appendSingle(dst, fd, fs, v, fd.HasPresence())
	}
	xs, ok := v.([]any)
	if !ok {
		return nil, dataErr("Invalid type for ARRAY: %T", v)
	}
	if len(xs) == 0 {
		return dst, nil
	}
	if !fd.IsPacked() {
		var err error
		for _, x := range xs {
			if x == nil {
				return nil, dataErr("null element in repeated field %s", fd.Name())
			}
			if dst, err = c.appendSingle(dst, fd, fs.ValueSchema, x, true); err != nil {
				return nil, err
			}
		}
		return dst, nil
	}
	dst = protowire.AppendTag(dst, fd.Number(), protowire.BytesType)
	return appendLenPrefixed(dst, func(dst []byte) ([]byte, error) {
		var err error
		for _, x := range xs {
			if x == nil {
				return nil, dataErr("null element in repeated field %s", fd.Name())
			}
			if dst, _, err = appendScalar(dst, fd, fs.ValueSchema, x); err != nil {
				return nil, err
			}
		}
		return dst, nil
	})
}

// appendMap writes a MAP as repeated entry messages (key = 1, value = 2).
func (c *protoCodec) appendMap(dst []byte, fd protoreflect.FieldDescriptor, fs *connect.Schema, v any) ([]byte, error) {
	entry := fd.Message()
	if entry == nil || entry.Fields().Len() != 2 {
		return nil, dataErr("field %s is not a map", fd.Name())
	}
	kf, vf := entry.Fields().Get(0), entry.Fields().Get(1)
	one := func(dst []byte, k, x any) ([]byte, error) {
		dst = protowire.AppendTag(dst, fd.Number(), protowire.BytesType)
		return appendLenPrefixed(dst, func(dst []byte) ([]byte, error) {
			var err error
			if k != nil {
				if dst, err = c.appendField(dst, kf, fs.KeySchema, k); err != nil {
					return nil, err
				}
			}
			if x != nil {
				return c.appendField(dst, vf, fs.ValueSchema, x)
			}
			return dst, nil
		})
	}
	var err error
	switch m := v.(type) {
	case map[string]any:
		for k, x := range m {
			if dst, err = one(dst, k, x); err != nil {
				return nil, err
			}
		}
	case map[any]any:
		for k, x := range m {
			if dst, err = one(dst, k, x); err != nil {
				return nil, err
			}
		}
	default:
		return nil, dataErr("Invalid type for MAP: %T", v)
	}
	return dst, nil
}

// appendLenPrefixed appends what body appends, preceded by its length.
func appendLenPrefixed(dst []byte, body func([]byte) ([]byte, error)) ([]byte, error) {
	start := len(dst)
	dst, err := body(dst)
	if err != nil {
		return nil, err
	}
	n := len(dst) - start
	w := protowire.SizeVarint(uint64(n))
	dst = append(dst, make([]byte, w)...)
	copy(dst[start+w:], dst[start:start+n])
	protowire.AppendVarint(dst[start:start], uint64(n))
	return dst, nil
}

// appendSingle writes one value of field fd with its tag; a scalar equal
// to its zero value is left out unless force (fields with presence and
// repeated elements), as proto3 serializers do.
func (c *protoCodec) appendSingle(dst []byte, fd protoreflect.FieldDescriptor, fs *connect.Schema, v any, force bool) ([]byte, error) {
	if fd.Kind() == protoreflect.MessageKind {
		dst = protowire.AppendTag(dst, fd.Number(), protowire.BytesType)
		return appendLenPrefixed(dst, func(dst []byte) ([]byte, error) { return c.appendMessageValue(dst, fd.Message(), fs, v) })
	}
	start := len(dst)
	dst = protowire.AppendTag(dst, fd.Number(), wireType(fd.Kind()))
	dst, zero, err := appendScalar(dst, fd, fs, v)
	if err != nil {
		return nil, err
	}
	if zero && !force {
		return dst[:start], nil
	}
	return dst, nil
}

// appendMessageValue writes the body of a message-typed field: a logical
// type as its well-known message, a primitive in its wrapper, or a
// struct.
func (c *protoCodec) appendMessageValue(dst []byte, md protoreflect.MessageDescriptor, fs *connect.Schema, v any) ([]byte, error) {
	switch fs.Name {
	case connect.DecimalName:
		return appendDecimal(dst, fs, v)
	case connect.DateName, connect.TimeName, connect.TimestampName:
		t, ok := v.(time.Time)
		if !ok {
			return nil, dataErr("Invalid type for %s: %T", fs.Name, v)
		}
		return appendTime(dst, fs.Name, t)
	}
	if fs.Type == connect.TypeStruct {
		st, ok := v.(*connect.Struct)
		if !ok {
			return nil, dataErr("Invalid type for STRUCT: %T", v)
		}
		return c.appendMessage(dst, fs, st, md)
	}
	vf := md.Fields().ByName("value")
	if vf == nil {
		return nil, dataErr("cannot write %s as message %s", fs.Type, md.FullName())
	}
	return c.appendSingle(dst, vf, fs, v, false)
}

func appendVarintField(dst []byte, n protowire.Number, v uint64) []byte {
	if v == 0 {
		return dst
	}
	dst = protowire.AppendTag(dst, n, protowire.VarintType)
	return protowire.AppendVarint(dst, v)
}

// appendTime writes google.type.Date {year, month, day},
// google.type.TimeOfDay {hours, minutes, seconds, nanos} or
// google.protobuf.Timestamp {seconds, nanos}.
func appendTime(dst []byte, name string, t time.Time) ([]byte, error) {
	t = t.UTC()
	switch name {
	case connect.DateName:
		if _, err := connect.DateToDays(t); err != nil {
			return nil, err
		}
		dst = appendVarintField(dst, 1, uint64(int64(t.Year())))
		dst = appendVarintField(dst, 2, uint64(t.Month()))
		return appendVarintField(dst, 3, uint64(t.Day())), nil
	case connect.TimeName:
		ms := t.UnixMilli()
		if ms < 0 || ms > msPerDay {
			return nil, dataErr("Time values must use number of millis greater than 0 and less than 86400000")
		}
		dst = appendVarintField(dst, 1, uint64(t.Hour()))
		dst = appendVarintField(dst, 2, uint64(t.Minute()))
		dst = appendVarintField(dst, 3, uint64(t.Second()))
		return appendVarintField(dst, 4, uint64((ms%1000)*1e6)), nil
	}
	ms := t.UnixMilli()
	secs, rem := ms/1000, ms%1000
	if rem < 0 {
		secs, rem = secs-1, rem+1000
	}
	dst = appendVarintField(dst, 1, uint64(secs))
	return appendVarintField(dst, 2, uint64(rem*1e6)), nil
}

const msPerDay = 24 * 60 * 60 * 1000

// appendDecimal writes confluent.type.Decimal as DecimalUtils does: the
// unscaled value as BigInteger bytes, its precision (digits) and scale.
func appendDecimal(dst []byte, fs *connect.Schema, v any) ([]byte, error) {
	r, ok := v.(*big.Rat)
	if !ok {
		return nil, dataErr("Invalid type for Decimal: %T", v)
	}
	scale, err := connect.DecimalScale(fs)
	if err != nil {
		return nil, err
	}
	b, err := connect.DecimalToBytes(scale, r)
	if err != nil {
		return nil, err
	}
	dst = protowire.AppendTag(dst, 1, protowire.BytesType)
	dst = protowire.AppendBytes(dst, b)
	digits := decimalDigits(b)
	dst = appendVarintField(dst, 2, uint64(digits))
	return appendVarintField(dst, 3, uint64(int64(int32(scale)))), nil
}

// decimalDigits is BigDecimal.precision of an unscaled value given as
// two's complement bytes: its number of decimal digits (1 for zero).
func decimalDigits(b []byte) int {
	if len(b) > 8 {
		return len(new(big.Int).Abs(connect.DecimalFromBytes(0, b).Num()).String())
	}
	var n int64
	if len(b) > 0 && b[0]&0x80 != 0 {
		n = -1 // sign-extend
	}
	for _, x := range b {
		n = n<<8 | int64(x)
	}
	u := uint64(n)
	if n < 0 {
		u = uint64(-n) // -MinInt64 wraps to itself, whose uint64 is its magnitude
	}
	d := 1
	for ; u >= 10; u /= 10 {
		d++
	}
	return d
}

func wireType(k protoreflect.Kind) protowire.Type {
	switch k {
	case protoreflect.Fixed32Kind, protoreflect.Sfixed32Kind, protoreflect.FloatKind:
		return protowire.Fixed32Type
	case protoreflect.Fixed64Kind, protoreflect.Sfixed64Kind, protoreflect.DoubleKind:
		return protowire.Fixed64Type
	case protoreflect.StringKind, protoreflect.BytesKind, protoreflect.MessageKind:
		return protowire.BytesType
	}
	return protowire.VarintType
}

// appendScalar appends a scalar value of fd's kind (no tag) and reports
// whether it is the kind's zero value.
func appendScalar(dst []byte, fd protoreflect.FieldDescriptor, fs *connect.Schema, v any) ([]byte, bool, error) {
	switch k := fd.Kind(); k {
	case protoreflect.StringKind:
		s, ok := v.(string)
		if !ok {
			return nil, false, dataErr("Invalid type for STRING: %T", v)
		}
		return protowire.AppendString(dst, s), s == "", nil
	case protoreflect.BytesKind:
		b, ok := v.([]byte)
		if !ok {
			return nil, false, dataErr("Invalid type for BYTES: %T", v)
		}
		return protowire.AppendBytes(dst, b), len(b) == 0, nil
	case protoreflect.BoolKind:
		b, ok := v.(bool)
		if !ok {
			return nil, false, dataErr("Invalid type for BOOLEAN: %T", v)
		}
		return protowire.AppendVarint(dst, protowire.EncodeBool(b)), !b, nil
	case protoreflect.FloatKind:
		f, err := toFloat64(v)
		if err != nil {
			return nil, false, dataErrCause(err, "Invalid type for FLOAT32")
		}
		bits := math.Float32bits(float32(f))
		return protowire.AppendFixed32(dst, bits), bits == 0, nil
	case protoreflect.DoubleKind:
		f, err := toFloat64(v)
		if err != nil {
			return nil, false, dataErrCause(err, "Invalid type for FLOAT64")
		}
		bits := math.Float64bits(f)
		return protowire.AppendFixed64(dst, bits), bits == 0, nil
	case protoreflect.EnumKind:
		n, err := enumNumber(fd, fs, v)
		if err != nil {
			return nil, false, err
		}
		return protowire.AppendVarint(dst, uint64(int64(n))), n == 0, nil
	}
	n, err := toInt64(v)
	if err != nil {
		return nil, false, dataErrCause(err, "Invalid type for %s", fd.Kind())
	}
	switch fd.Kind() {
	case protoreflect.Int32Kind:
		dst = protowire.AppendVarint(dst, uint64(int64(int32(n))))
	case protoreflect.Sint32Kind:
		dst = protowire.AppendVarint(dst, protowire.EncodeZigZag(int64(int32(n))))
	case protoreflect.Uint32Kind:
		dst = protowire.AppendVarint(dst, uint64(uint32(n)))
	case protoreflect.Sfixed32Kind, protoreflect.Fixed32Kind:
		dst = protowire.AppendFixed32(dst, uint32(n))
	case protoreflect.Int64Kind, protoreflect.Uint64Kind:
		dst = protowire.AppendVarint(dst, uint64(n))
	case protoreflect.Sint64Kind:
		dst = protowire.AppendVarint(dst, protowire.EncodeZigZag(n))
	case protoreflect.Sfixed64Kind, protoreflect.Fixed64Kind:
		dst = protowire.AppendFixed64(dst, uint64(n))
	default:
		return nil, false, dataErr("cannot write %T as Protobuf %s", v, fd.Kind())
	}
	return dst, n == 0, nil
}

// enumNumber is the number of an enum value given as its symbol (the
// Connect schema's io.confluent.connect.protobuf.Enum.<symbol> parameter,
// else the enum's own value of that name) or as a number.
func enumNumber(fd protoreflect.FieldDescriptor, fs *connect.Schema, v any) (int32, error) {
	s, ok := v.(string)
	if !ok {
		n, err := toInt64(v)
		if err != nil {
			return 0, dataErrCause(err, "Invalid type for enum %s", fd.Enum().FullName())
		}
		return int32(n), nil
	}
	if t, ok := fs.Parameters[protoEnumParam+"."+s]; ok {
		var n int32
		if _, err := fmt.Sscan(t, &n); err == nil {
			return n, nil
		}
	}
	if ev := fd.Enum().Values().ByName(protoreflect.Name(s)); ev != nil {
		return int32(ev.Number()), nil
	}
	return 0, dataErr("%q is not a value of enum %s", s, fd.Enum().FullName())
}
