package schemaconv

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/runtime/connect"
)

// referenceDecode reads data as the converter does, but through Go's
// Protobuf decoder (dynamicpb) and protoreflect, following
// ProtobufData.toConnectData step by step: the reference the converter's
// direct wire reader is checked against.
func (c *protoCodec) referenceDecode(data []byte) (*connect.Schema, any, error) {
	md, data, err := c.messageAt(data)
	if err != nil {
		return nil, nil, err
	}
	s, err := c.messageSchema(md)
	if err != nil {
		return nil, nil, err
	}
	m := dynamicpb.NewMessage(md)
	if err := proto.Unmarshal(data, m); err != nil {
		return nil, nil, fmt.Errorf("read Protobuf %s: %w", md.FullName(), err)
	}
	if s.Type != connect.TypeStruct {
		fd := md.Fields().ByName("value")
		v, err := c.f.single(s, fd, m.Get(fd))
		return s, v, err
	}
	v, err := c.f.structOf(s, m)
	return s, v, err
}

// structOf converts a message to a Struct, as ProtobufData.toConnectData.
func (f protobufFormat) structOf(s *connect.Schema, m protoreflect.Message) (*connect.Struct, error) {
	st := connect.NewStruct(s)
	md := m.Descriptor()
	for i := range md.Oneofs().Len() {
		od := md.Oneofs().Get(i)
		if od.IsSynthetic() {
			continue
		}
		fd := m.WhichOneof(od)
		if fd == nil {
			continue
		}
		if f.flattenUnions {
			if err := f.setField(s, st, m, fd); err != nil {
				return nil, err
			}
			continue
		}
		uf := s.Field(f.unionFieldName(od))
		if uf == nil {
			return nil, fmt.Errorf("no field for oneof %s", od.FullName())
		}
		u := connect.NewStruct(uf.Schema)
		mf := uf.Schema.Field(string(fd.Name()))
		v, err := f.value(mf.Schema, fd, m.Get(fd))
		if err != nil {
			return nil, err
		}
		u.Set(mf, v)
		st.Set(uf, u)
	}
	for i := range md.Fields().Len() {
		fd := md.Fields().Get(i)
		if od := fd.ContainingOneof(); od != nil && !od.IsSynthetic() {
			continue
		}
		if err := f.setField(s, st, m, fd); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// setField sets a field that has a value: a scalar or repeated field
// without presence always, any other when set (or, with
// generate.struct.for.nulls, as its defaults).
func (f protobufFormat) setField(s *connect.Schema, st *connect.Struct, m protoreflect.Message, fd protoreflect.FieldDescriptor) error {
	sf := s.Field(string(fd.Name()))
	if sf == nil {
		return fmt.Errorf("no field %s", fd.Name())
	}
	optional := fd.HasOptionalKeyword() && (fd.Syntax() == protoreflect.Proto3 || f.optionalForProto2)
	primitiveOrRepeated := fd.Kind() != protoreflect.MessageKind || fd.IsList() || fd.IsMap()
	if !(primitiveOrRepeated && !optional) && !f.structForNulls && !m.Has(fd) {
		return nil
	}
	v, err := f.value(sf.Schema, fd, m.Get(fd))
	if err != nil {
		return fmt.Errorf("field %s: %w", fd.Name(), err)
	}
	st.Set(sf, v)
	return nil
}

func (f protobufFormat) value(s *connect.Schema, fd protoreflect.FieldDescriptor, v protoreflect.Value) (any, error) {
	switch {
	case fd.IsMap():
		out := map[any]any{}
		var err error
		v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
			var ck, cv any
			if ck, err = f.single(s.KeySchema, fd.MapKey(), k.Value()); err != nil {
				return false
			}
			if cv, err = f.single(s.ValueSchema, fd.MapValue(), mv); err != nil {
				return false
			}
			out[ck] = cv
			return true
		})
		return connectMap(s, out), err
	case fd.IsList() && s.Type == connect.TypeMap:
		l := v.List()
		out := make(map[any]any, l.Len())
		for i := range l.Len() {
			e := l.Get(i).Message()
			kf, vf := e.Descriptor().Fields().Get(0), e.Descriptor().Fields().Get(1)
			k, err := f.single(s.KeySchema, kf, e.Get(kf))
			if err != nil {
				return nil, err
			}
			if out[k], err = f.single(s.ValueSchema, vf, e.Get(vf)); err != nil {
				return nil, err
			}
		}
		return connectMap(s, out), nil
	case fd.IsList():
		l := v.List()
		out := make([]any, l.Len())
		for i := range out {
			var err error
			if out[i], err = f.single(s.ValueSchema, fd, l.Get(i)); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	return f.single(s, fd, v)
}

// connectMap is a MAP value in the Go type Connect uses for its key
// schema: map[string]any for STRING keys.
func connectMap(s *connect.Schema, m map[any]any) any {
	if s.KeySchema.Type != connect.TypeString {
		return m
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		ks, _ := k.(string)
		out[ks] = v
	}
	return out
}

// single converts one (non-repeated) Protobuf value to Connect's Go type
// for s.
func (f protobufFormat) single(s *connect.Schema, fd protoreflect.FieldDescriptor, v protoreflect.Value) (any, error) {
	if fd.Kind() == protoreflect.MessageKind {
		m := v.Message()
		switch s.Name {
		case connect.DecimalName:
			return decimalOf(m), nil
		case connect.DateName:
			y, mo, d := msgInt(m, "year"), msgInt(m, "month"), msgInt(m, "day")
			return time.Date(int(y), time.Month(mo), int(d), 0, 0, 0, 0, time.UTC), nil
		case connect.TimeName:
			ns := ((msgInt(m, "hours")*60+msgInt(m, "minutes"))*60+msgInt(m, "seconds"))*1e9 + msgInt(m, "nanos")
			return time.UnixMilli(ns / 1e6).UTC(), nil
		case connect.TimestampName:
			ms := msgInt(m, "seconds")*1000 + msgInt(m, "nanos")/1e6
			return time.UnixMilli(ms).UTC(), nil
		}
		if s.Type == connect.TypeStruct {
			return f.structOf(s, m)
		}
		// A wrapper read as the primitive it holds.
		fd = m.Descriptor().Fields().ByName("value")
		if fd == nil {
			return nil, fmt.Errorf("message %s is not a wrapper", m.Descriptor().FullName())
		}
		v = m.Get(fd)
	}
	switch s.Type {
	case connect.TypeInt8:
		return int8(v.Int()), nil
	case connect.TypeInt16:
		return int16(v.Int()), nil
	case connect.TypeInt32:
		if fd.Kind() == protoreflect.EnumKind {
			return int32(v.Enum()), nil
		}
		if isUnsigned(fd.Kind()) {
			return int32(v.Uint()), nil
		}
		return int32(v.Int()), nil
	case connect.TypeInt64:
		switch fd.Kind() {
		case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
			return int64(uint32(v.Uint())), nil
		case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
			return int64(v.Uint()), nil
		}
		return v.Int(), nil
	case connect.TypeFloat32:
		return float32(v.Float()), nil
	case connect.TypeFloat64:
		return v.Float(), nil
	case connect.TypeBoolean:
		return v.Bool(), nil
	case connect.TypeString:
		if fd.Kind() == protoreflect.EnumKind {
			if ev := fd.Enum().Values().ByNumber(v.Enum()); ev != nil {
				return string(ev.Name()), nil
			}
			return fmt.Sprint(int32(v.Enum())), nil
		}
		return v.String(), nil
	case connect.TypeBytes:
		return slices.Clone(v.Bytes()), nil
	}
	return nil, fmt.Errorf("cannot read Protobuf %s as Connect %s", fd.Kind(), s.Type)
}

func isUnsigned(k protoreflect.Kind) bool {
	switch k {
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind, protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return true
	}
	return false
}

// msgInt reads a scalar field of a well-known message by name (0 when
// absent).
func msgInt(m protoreflect.Message, name protoreflect.Name) int64 {
	fd := m.Descriptor().Fields().ByName(name)
	if fd == nil {
		return 0
	}
	v := m.Get(fd)
	if isUnsigned(fd.Kind()) {
		return int64(v.Uint())
	}
	return v.Int()
}

// decimalOf reads confluent.type.Decimal: the unscaled value as Java's
// BigInteger bytes, and its scale.
func decimalOf(m protoreflect.Message) *big.Rat {
	var b []byte
	if fd := m.Descriptor().Fields().ByName("value"); fd != nil {
		b = m.Get(fd).Bytes()
	}
	return connect.DecimalFromBytes(int(msgInt(m, "scale")), b)
}

// protoDiffInputs are schemas and payloads the direct reader and the
// reference must read alike.
func protoDiffInputs(t testing.TB) []struct {
	text string
	data []byte
} {
	every, err := defaultProtobufFormat.fromConnect(protoEveryType)
	require.NoError(t, err)
	cd, err := defaultProtobufFormat.parse(every)
	require.NoError(t, err)
	everyData, err := cd.encode(nil, protoEveryType, protoEveryValue())
	require.NoError(t, err)
	foreign, err := defaultProtobufFormat.parse(foreignProto)
	require.NoError(t, err)
	order := append([]byte{2, 2}, foreignOrder(t.(*testing.T), foreign.(*protoCodec).file.Messages().Get(1))...)
	out := []struct {
		text string
		data []byte
	}{
		{every, everyData},
		{foreignProto, order},
		{foreignProto, []byte{2, 2}}, // every field absent
		{foreignProto, []byte{0, 0x0a, 1, 'x'}},
		{wrappersProto, []byte{2, 14, 0x0a, 2, 'h', 'i'}},
		{wrappersProto, []byte{2, 8}},
	}
	entries, _ := filepath.Glob(filepath.Join("testdata", "protobuf", "*.input.json"))
	for _, e := range entries {
		var in protoGoldenInput
		raw, err := os.ReadFile(e)
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(raw, &in))
		golden, err := os.ReadFile(strings.Replace(e, ".input.json", ".golden.hex", 1))
		require.NoError(t, err)
		data, err := hex.DecodeString(strings.TrimSpace(string(golden)))
		require.NoError(t, err)
		text := every
		switch {
		case strings.Contains(e, "second_message"):
			text = foreignProto
		case strings.Contains(e, "string_value"):
			text = wrappersProto
		case strings.Contains(e, "record"):
			text, err = defaultProtobufFormat.fromConnect(recordSchema)
			require.NoError(t, err)
		}
		out = append(out, struct {
			text string
			data []byte
		}{text, data[headerLen:]})
	}
	return out
}

func TestProtobufReaderMatchesReference(t *testing.T) {
	configs := []map[string]string{nil,
		{WrapperForNullablesConfig: "true", IntForEnumsConfig: "true", GenerateStructForNullsConfig: "true", OptionalForNullablesConfig: "true"},
		{FlattenUnionsConfig: "true", EnhancedProtobufSchemaSupportConfig: "true", GenerateIndexForUnionsConfig: "false", WrapperForRawPrimitivesConfig: "false"},
	}
	for i, props := range configs {
		f := protoFormat(t, props)
		for j, in := range protoDiffInputs(t) {
			cd, err := f.parse(in.text)
			require.NoError(t, err)
			pc := cd.(*protoCodec)
			ws, wv, werr := pc.referenceDecode(in.data)
			gs, gv, gerr := pc.decodeWithSchema(in.data)
			require.NoError(t, werr, "config %d input %d", i, j)
			require.NoError(t, gerr, "config %d input %d", i, j)
			assert.Same(t, ws, gs)
			assert.Equal(t, plain(wv), plain(gv), "config %d input %d", i, j)
			if st, ok := gv.(*connect.Struct); ok {
				assert.NoError(t, st.Validate(), "config %d input %d", i, j)
			}
		}
	}
}

// Any bytes: the reader never panics, and reads what the reference reads.
// (The reference itself can panic: dynamicpb in google.golang.org/protobuf
// v1.34.2 does on a map entry whose key has the wrong wire type — the
// seed in testdata/fuzz — which is one reason the converter reads the
// wire directly.)
func FuzzProtobufReader(f *testing.F) {
	for _, in := range protoDiffInputs(&testing.T{}) {
		if in.text == foreignProto {
			f.Add(in.data)
		}
	}
	cd, err := defaultProtobufFormat.parse(foreignProto)
	if err != nil {
		f.Fatal(err)
	}
	pc := cd.(*protoCodec)
	f.Fuzz(func(t *testing.T, data []byte) {
		_, gv, gerr := pc.decodeWithSchema(data)
		var wv any
		werr := fmt.Errorf("reference panicked")
		func() {
			defer func() { _ = recover() }()
			_, wv, werr = pc.referenceDecode(data)
		}()
		if gerr == nil && werr == nil {
			assert.Equal(t, plain(wv), plain(gv))
		}
	})
}
