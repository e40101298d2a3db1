package schemaconv

import (
	"bytes"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/sluicehq/sluice/runtime/connect"
)

// protoFormat returns the Protobuf format configured by props.
func protoFormat(t testing.TB, props map[string]string) protobufFormat {
	t.Helper()
	all := map[string]string{RegistryURLConfig: "http://127.0.0.1:1"}
	for k, v := range props {
		all[k] = v
	}
	cfg, err := protobufConfigDef().Parse(all)
	require.NoError(t, err)
	return defaultProtobufFormat.configured(cfg).(protobufFormat)
}

var (
	statusSchema = connect.NewSchemaBuilder(connect.TypeString).Name("Status").Optional().
			Param(protoEnumParam, "Status").Param(protoEnumParam+".ACTIVE", "0").Param(protoEnumParam+".INACTIVE", "1").Build()
	paySchema = connect.StructBuilder().Name(protoUnionPrefix+"payment").Optional().
			Field("card", connect.NewSchemaBuilder(connect.TypeString).Optional().Param(protoTagParam, "40").Build()).
			Field("voucher", connect.NewSchemaBuilder(connect.TypeInt32).Optional().Param(protoTagParam, "41").Build()).Build()
	// shapeSchema exercises ProtobufData's naming: an unnamed root, an
	// unnamed map, a nested struct named as its field, an enum, a union.
	shapeSchema = connect.StructBuilder().
			Field("small", connect.Int16Schema).
			Field("attrs", connect.MapOf(connect.StringSchema, connect.Int64Schema)).
			Field("inner", connect.StructBuilder().Name("x.inner").Optional().Field("n", connect.Int32Schema).Build()).
			Field("status", statusSchema).
			Field("payment", paySchema).
			Field("amount", connect.DecimalSchema(2).Param(DecimalPrecisionParam, "10").Build()).
			Field("note", connect.OptionalStringSchema).
			Field("tags", connect.ArrayOf(connect.StringSchema)).Build()
)

func TestProtobufSchemaGolden(t *testing.T) {
	meta := func(k, v string) string {
		return ` [(confluent.field_meta) = { params: [{ key: "` + k + `", value: "` + v + `" }] }]`
	}
	cases := []struct {
		name  string
		props map[string]string
		want  string
	}{
		{"defaults", nil, `syntax = "proto3";

import "confluent/meta.proto";
import "confluent/type/decimal.proto";

message ConnectDefault1 {
  int32 small = 1` + meta("connect.type", "int16") + `;
  repeated ConnectDefault2Entry attrs = 2;
  innerMessage inner = 3;
  Status status = 4;
  confluent.type.Decimal amount = 6 [(confluent.field_meta) = { params: [{ key: "precision", value: "10" }, { key: "scale", value: "2" }] }];
  string note = 7;
  repeated string tags = 8;
  oneof payment {
    string card = 40;
    int32 voucher = 41;
  }

  message ConnectDefault2Entry {
    string key = 1;
    int64 value = 2;
  }

  message innerMessage {
    int32 n = 1;
  }

  enum Status {
    ACTIVE = 0;
    INACTIVE = 1;
  }
}
`},
		{"optional and wrappers", map[string]string{OptionalForNullablesConfig: "true", WrapperForNullablesConfig: "true"}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := protoFormat(t, c.props)
			got, err := f.fromConnect(shapeSchema)
			require.NoError(t, err)
			if c.want != "" {
				assert.Equal(t, c.want, got)
			}
			_, err = f.parse(got)
			require.NoError(t, err, got)
			if f.optionalForNullables {
				// wrapper.for.nullables wins over optional: the wrapper already has presence.
				assert.Contains(t, got, "optional google.protobuf.StringValue note = 7;")
				assert.Contains(t, got, `import "google/protobuf/wrappers.proto";`)
				assert.Contains(t, got, "    string card = 40;", "oneof members are never wrapped")
			}
		})
	}
}

func TestProtobufSchemaNames(t *testing.T) {
	s := connect.StructBuilder().Name("com.ex-ample.My Rec").Field("1st", connect.Int32Schema).Build()
	got, err := protoFormat(t, map[string]string{ScrubInvalidNamesConfig: "true"}).fromConnect(s)
	require.NoError(t, err)
	assert.Contains(t, got, "package com.ex_ample;")
	assert.Contains(t, got, "message My_Rec {")
	assert.Contains(t, got, "int32 x1st = 1;")

	assert.Equal(t, "ConnectDefault2Entry", protoMapEntry("connect_default2"))
	assert.Equal(t, "connect_default2", protoMapField("ConnectDefault2Entry"))
	assert.Equal(t, "a.b.my_map", protoMapField("a.b.MyMapEntry"))
}

// protoEveryType is every Connect type the Protobuf mapping carries.
var protoEveryType = connect.StructBuilder().Name("com.example.All").
	Field("i8", connect.Int8Schema).
	Field("i16", connect.Int16Schema).
	Field("i32", connect.Int32Schema).
	Field("i64", connect.Int64Schema).
	Field("f32", connect.Float32Schema).
	Field("f64", connect.Float64Schema).
	Field("b", connect.BooleanSchema).
	Field("s", connect.StringSchema).
	Field("bytes", connect.BytesSchema).
	Field("dec", connect.DecimalSchema(2).Build()).
	Field("date", connect.DateSchema().Build()).
	Field("time", connect.TimeSchema().Build()).
	Field("ts", connect.TimestampSchema().Build()).
	Field("opt", connect.OptionalInt64Schema).
	Field("status", statusSchema).
	Field("payment", paySchema).
	Field("arr", connect.ArrayOf(innerSchema)).
	Field("ints", connect.ArrayOf(connect.Int32Schema)).
	Field("smap", connect.MapOf(connect.StringSchema, connect.StringSchema)).
	Field("imap", connect.MapOf(connect.Int32Schema, innerSchema)).
	Field("nested", innerSchema).
	Field("optnested", connect.StructBuilder().Optional().Field("x", connect.Float64Schema).Build()).Build()

func protoEveryValue() *connect.Struct {
	in := func(n int32, s any) *connect.Struct {
		return connect.NewStruct(innerSchema).MustPut("n", n).MustPut("s", s)
	}
	return connect.NewStruct(protoEveryType).
		MustPut("i8", int8(-8)).MustPut("i16", int16(1600)).MustPut("i32", int32(-320000)).
		MustPut("i64", int64(1)<<40).MustPut("f32", float32(1.5)).MustPut("f64", 2.25).
		MustPut("b", true).MustPut("s", "héllo").MustPut("bytes", []byte{0, 1, 0xff}).
		MustPut("dec", dec(-12345, 2)).
		MustPut("date", time.Date(2024, 6, 10, 0, 0, 0, 0, time.UTC)).
		MustPut("time", time.UnixMilli(12*3600*1000+5).UTC()).
		MustPut("ts", time.UnixMilli(-1718000000123).UTC()).
		MustPut("status", "INACTIVE").
		MustPut("payment", connect.NewStruct(paySchema).MustPut("voucher", int32(77))).
		MustPut("arr", []any{in(1, "a"), in(2, "")}).
		MustPut("ints", []any{int32(-1), int32(0), int32(300)}).
		MustPut("smap", map[string]any{"x": "1", "": "empty key"}).
		MustPut("imap", map[any]any{int32(1): in(5, "five"), int32(0): in(0, "")}).
		MustPut("nested", in(3, "c")).
		MustPut("optnested", connect.NewStruct(protoEveryType.Field("optnested").Schema).MustPut("x", 0.5))
}

// Every value comes back as it went in; the schema comes back as
// Confluent's ProtobufData derives it: every field optional with its
// Tag, structs and enums named by their simple names.
func TestProtobufRoundTripEveryType(t *testing.T) {
	for _, props := range []map[string]string{nil, {EnhancedProtobufSchemaSupportConfig: "true"}} {
		f := protoFormat(t, props)
		text, err := f.fromConnect(protoEveryType)
		require.NoError(t, err)
		cd, err := f.parse(text)
		require.NoError(t, err)
		data, err := cd.encode(nil, protoEveryType, protoEveryValue())
		require.NoError(t, err)
		require.Equal(t, byte(0), data[0], "message indexes [0] are one zero byte")
		s, v, err := cd.(*protoCodec).decodeWithSchema(data)
		require.NoError(t, err)
		st := v.(*connect.Struct)
		require.NoError(t, st.Validate())

		want := protoEveryValue()
		for _, fld := range protoEveryType.Fields {
			w, _ := want.Get(fld.Name)
			g, _ := st.Get(fld.Name)
			if fld.Name == "opt" {
				w = int64(0) // a proto3 scalar has no null: unset reads as zero, as in Confluent's
			}
			if fld.Name == "payment" {
				g = st.GetWithoutDefault("payment_0")
				gu := g.(*connect.Struct)
				assert.Equal(t, int32(77), gu.GetWithoutDefault("voucher"))
				assert.Nil(t, gu.GetWithoutDefault("card"))
				continue
			}
			assert.Equal(t, plain(w), plain(g), "field %s", fld.Name)

			gs := s.Field(fld.Name).Schema
			assert.Equal(t, fld.Schema.Type, gs.Type, "field %s", fld.Name)
			assert.True(t, gs.Optional, "field %s", fld.Name)
			assert.NotEmpty(t, gs.Parameters[protoTagParam], "field %s", fld.Name)
		}
		if f.enhanced {
			assert.Equal(t, "com.example.All", s.Name)
			assert.Equal(t, "com.example.All.Inner", s.Field("nested").Schema.Name)
		} else {
			assert.Equal(t, "All", s.Name)
			assert.Equal(t, "Inner", s.Field("nested").Schema.Name)
		}
		assert.Equal(t, "INACTIVE", st.GetWithoutDefault("status"))
		assert.Equal(t, "1", s.Field("status").Schema.Parameters[protoEnumParam+".INACTIVE"])
		union := protoUnionPrefix + "payment"
		if f.enhanced {
			union = protoUnionPrefix + "com.example.All.payment"
		}
		assert.Equal(t, union, s.Field("payment_0").Schema.Name)

		// What was read writes the same bytes again (the sink → source path).
		again, err := cd.encode(nil, s, st)
		require.NoError(t, err)
		assertSameMessage(t, cd.(*protoCodec), data, again)
	}
}

// assertSameMessage compares two encodings as messages, read with
// Go's Protobuf decoder (map entries may come in any order).
func assertSameMessage(t *testing.T, cd *protoCodec, a, b []byte) {
	t.Helper()
	ma, _, err := cd.messageAt(a)
	require.NoError(t, err)
	mb, _, err := cd.messageAt(b)
	require.NoError(t, err)
	require.Equal(t, ma.FullName(), mb.FullName())
	_, x, err := cd.decodeWithSchema(a)
	require.NoError(t, err)
	_, y, err := cd.decodeWithSchema(b)
	require.NoError(t, err)
	assert.Equal(t, plain(x), plain(y))
}

// plain is a Connect value with structs as maps of their set fields and
// decimals as strings, for comparing values whose schemas differ.
func plain(v any) any {
	switch x := v.(type) {
	case *connect.Struct:
		out := map[string]any{}
		for _, f := range x.Schema().Fields {
			if fv := x.GetWithoutDefault(f.Name); fv != nil {
				out[f.Name] = plain(fv)
			}
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = plain(e)
		}
		return out
	case map[string]any:
		out := map[any]any{}
		for k, e := range x {
			out[k] = plain(e)
		}
		return out
	case map[any]any:
		out := map[any]any{}
		for k, e := range x {
			out[k] = plain(e)
		}
		return out
	case *big.Rat:
		return x.RatString()
	}
	return v
}

// foreignProto is a schema written by hand, as a Protobuf producer's.
const foreignProto = `syntax = "proto3";
package shop;
import "google/protobuf/wrappers.proto";

message Other { string x = 1; }
message Order {
  int64 id = 1;
  oneof payment { string card = 2; int32 voucher = 3; }
  Status status = 4;
  map<string, int32> counts = 5;
  optional string note = 6;
  uint32 u32 = 7;
  sint64 s64 = 8;
  fixed64 f64 = 9;
  google.protobuf.StringValue nick = 10;
  repeated int64 nums = 11;
  repeated Line lines = 12;
  Line first = 13;
  message Line { string sku = 1; }
  enum Status { UNKNOWN = 0; PAID = 1; }
}
`

func foreignOrder(t *testing.T, md protoreflect.MessageDescriptor) []byte {
	m := dynamicpb.NewMessage(md)
	fd := md.Fields().ByName
	m.Set(fd("id"), protoreflect.ValueOfInt64(42))
	m.Set(fd("voucher"), protoreflect.ValueOfInt32(7))
	m.Set(fd("status"), protoreflect.ValueOfEnum(1))
	m.Mutable(fd("counts")).Map().Set(protoreflect.ValueOfString("a").MapKey(), protoreflect.ValueOfInt32(3))
	m.Set(fd("note"), protoreflect.ValueOfString(""))
	m.Set(fd("u32"), protoreflect.ValueOfUint32(4000000000))
	m.Set(fd("s64"), protoreflect.ValueOfInt64(-5))
	m.Set(fd("f64"), protoreflect.ValueOfUint64(9))
	nick := dynamicpb.NewMessage(fd("nick").Message())
	nick.Set(nick.Descriptor().Fields().ByName("value"), protoreflect.ValueOfString("bob"))
	m.Set(fd("nick"), protoreflect.ValueOfMessage(nick))
	nums := m.Mutable(fd("nums")).List()
	nums.Append(protoreflect.ValueOfInt64(1))
	nums.Append(protoreflect.ValueOfInt64(-1))
	line := dynamicpb.NewMessage(fd("lines").Message())
	line.Set(line.Descriptor().Fields().ByName("sku"), protoreflect.ValueOfString("s1"))
	m.Mutable(fd("lines")).List().Append(protoreflect.ValueOfMessage(line))
	out, err := proto.Marshal(m)
	require.NoError(t, err)
	return out
}

// Data written by another Protobuf producer reads as Confluent's
// ProtobufData reads it, and writes back to the same message.
func TestProtobufForeignSchema(t *testing.T) {
	cd, err := defaultProtobufFormat.parse(foreignProto)
	require.NoError(t, err)
	pc := cd.(*protoCodec)
	md := pc.file.Messages().Get(1)
	body := foreignOrder(t, md)
	data := append([]byte{2, 2}, body...) // one index, 1: the file's second message

	s, v, err := pc.decodeWithSchema(data)
	require.NoError(t, err)
	st := v.(*connect.Struct)
	names := []string{}
	for _, f := range s.Fields {
		names = append(names, f.Name)
	}
	assert.Equal(t, []string{"payment_0", "id", "status", "counts", "note", "u32", "s64", "f64", "nick", "nums", "lines", "first"}, names)
	assert.Equal(t, "Order", s.Name)
	assert.Equal(t, int32(7), st.GetWithoutDefault("payment_0").(*connect.Struct).GetWithoutDefault("voucher"))
	assert.Equal(t, "PAID", st.GetWithoutDefault("status"))
	assert.Equal(t, map[string]any{"a": int32(3)}, st.GetWithoutDefault("counts"))
	assert.Equal(t, "", st.GetWithoutDefault("note"), "proto3 optional set to empty is present")
	assert.Equal(t, int64(4000000000), st.GetWithoutDefault("u32"))
	assert.Equal(t, "uint32", s.Field("u32").Schema.Parameters[protoTypeParam])
	assert.Equal(t, int64(-5), st.GetWithoutDefault("s64"))
	assert.Equal(t, "bob", st.GetWithoutDefault("nick").(*connect.Struct).GetWithoutDefault("value"))
	assert.Equal(t, []any{int64(1), int64(-1)}, st.GetWithoutDefault("nums"))
	assert.Nil(t, st.GetWithoutDefault("first"), "an unset message is null")
	assert.Equal(t, connect.TypeMap, s.Field("counts").Schema.Type)
	assert.Equal(t, "counts", s.Field("counts").Schema.Name)

	again, err := cd.encode(nil, s, st)
	require.NoError(t, err)
	assert.Equal(t, []byte{2, 2}, again[:2], "written as the message it was read from")
	assertSameMessage(t, pc, data, again)

	// The options Confluent's ProtobufData has for the same data.
	f := protoFormat(t, map[string]string{WrapperForNullablesConfig: "true", IntForEnumsConfig: "true",
		GenerateIndexForUnionsConfig: "false", GenerateStructForNullsConfig: "true", OptionalForNullablesConfig: "true"})
	cd2, err := f.parse(foreignProto)
	require.NoError(t, err)
	s2, v2, err := cd2.(*protoCodec).decodeWithSchema(data)
	require.NoError(t, err)
	st2 := v2.(*connect.Struct)
	assert.Equal(t, "bob", st2.GetWithoutDefault("nick"))
	assert.Equal(t, int32(1), st2.GetWithoutDefault("status"))
	assert.NotNil(t, st2.GetWithoutDefault("payment"))
	assert.False(t, s2.Field("id").Schema.Optional, "only fields declared optional are optional")
	assert.True(t, s2.Field("note").Schema.Optional)
	assert.NotNil(t, st2.GetWithoutDefault("first"), "generate.struct.for.nulls")
	again2, err := cd2.encode(nil, s2, st2)
	require.NoError(t, err)
	want := foreignOrder(t, md)
	m := dynamicpb.NewMessage(md)
	require.NoError(t, proto.Unmarshal(want, m))
	m.Set(md.Fields().ByName("first"), protoreflect.ValueOfMessage(dynamicpb.NewMessage(md.Fields().ByName("first").Message())))
	want, err = proto.Marshal(m)
	require.NoError(t, err)
	assertSameMessage(t, pc, append([]byte{2, 2}, want...), again2)

	flat := protoFormat(t, map[string]string{FlattenUnionsConfig: "true"})
	cd3, err := flat.parse(foreignProto)
	require.NoError(t, err)
	s3, v3, err := cd3.(*protoCodec).decodeWithSchema(data)
	require.NoError(t, err)
	assert.Equal(t, "card", s3.Fields[0].Name)
	assert.Equal(t, int32(7), v3.(*connect.Struct).GetWithoutDefault("voucher"))
}

func TestProtobufMessageIndexes(t *testing.T) {
	cd, err := defaultProtobufFormat.parse(`syntax = "proto3"; package p;
message A { message B { message C { int32 x = 1; } } }
message D { int32 y = 1; }`)
	require.NoError(t, err)
	pc := cd.(*protoCodec)
	a := pc.file.Messages().Get(0)
	c := a.Messages().Get(0).Messages().Get(0)
	d := pc.file.Messages().Get(1)
	assert.Equal(t, []byte{0}, appendMessageIndexes(nil, a))
	// zig-zag: count 3 → 6, indexes 0, 0, 0
	assert.Equal(t, []byte{6, 0, 0, 0}, appendMessageIndexes(nil, c))
	assert.Equal(t, []byte{2, 2}, appendMessageIndexes(nil, d))
	for _, md := range []protoreflect.MessageDescriptor{a, c, d} {
		got, rest, err := pc.messageAt(append(appendMessageIndexes(nil, md), 9))
		require.NoError(t, err)
		assert.Equal(t, md.FullName(), got.FullName())
		assert.Equal(t, []byte{9}, rest)
	}
	// The record's schema name picks the message it is written as.
	ds := connect.StructBuilder().Name("p.D").Field("y", connect.Int32Schema).Build()
	out, err := cd.encode(nil, ds, connect.NewStruct(ds).MustPut("y", int32(1)))
	require.NoError(t, err)
	assert.Equal(t, []byte{2, 2, 0x08, 1}, out)

	for _, bad := range [][]byte{{}, {4, 2}, {2, 8}, {1}} {
		_, _, err := pc.messageAt(bad)
		assert.Error(t, err, "% x", bad)
	}
}

func TestProtobufEncodeErrors(t *testing.T) {
	f := defaultProtobufFormat
	text, err := f.fromConnect(protoEveryType)
	require.NoError(t, err)
	cd, err := f.parse(text)
	require.NoError(t, err)
	v := protoEveryValue()
	v.MustPut("status", "GONE")
	_, err = cd.encode(nil, protoEveryType, v)
	require.ErrorIs(t, err, connect.ErrData)
	assert.Contains(t, err.Error(), `"GONE" is not a value of enum`)

	v = protoEveryValue()
	v.Set(protoEveryType.Field("ints"), []any{int32(1), nil})
	_, err = cd.encode(nil, protoEveryType, v)
	require.ErrorIs(t, err, connect.ErrData)

	other := connect.StructBuilder().Name("com.example.All").Field("zz", connect.Int32Schema).Build()
	_, err = cd.encode(nil, other, connect.NewStruct(other).MustPut("zz", int32(1)))
	require.ErrorIs(t, err, connect.ErrData)
	assert.Contains(t, err.Error(), "Cannot find field with name zz")
}

func TestProtobufConfig(t *testing.T) {
	c := NewProtobufConverter()
	err := c.Configure(map[string]string{RegistryURLConfig: "http://127.0.0.1:1", GeneralizedSumTypeSupportConfig: "true"}, false)
	require.ErrorIs(t, err, connect.ErrConfig)
	assert.Contains(t, err.Error(), "generalized.sum.type.support is not supported by Sluice")

	require.NoError(t, c.Configure(map[string]string{RegistryURLConfig: "http://127.0.0.1:1", IntForEnumsConfig: "true"}, false))
	assert.True(t, c.fmt.(protobufFormat).intForEnums)
	assert.True(t, c.fmt.(protobufFormat).indexForUnions, "Confluent's default")

	var found bool
	for _, p := range Plugins() {
		if p.Class == ProtobufConverterClass {
			found = true
			require.NoError(t, p.Check())
			assert.NotNil(t, p.Config.Key(WrapperForNullablesConfig))
			assert.IsType(t, &Converter{}, p.NewConverter())
		}
	}
	assert.True(t, found)
}

// The timestamp before the epoch and the Date/TimeOfDay fields as
// Confluent's Timestamps.fromMillis and Calendar produce them.
func TestProtobufTimeEncoding(t *testing.T) {
	got, err := appendTime(nil, connect.TimestampName, time.UnixMilli(-1500).UTC())
	require.NoError(t, err)
	// seconds = floor(-1.5) = -2 (10-byte varint), nanos = 500000000
	minus2 := int64(-2)
	want := protowire.AppendVarint([]byte{0x08}, uint64(minus2))
	want = protowire.AppendVarint(append(want, 0x10), 500000000)
	assert.Equal(t, want, got)

	got, err = appendTime(nil, connect.TimeName, time.UnixMilli(3723004).UTC())
	require.NoError(t, err)
	assert.Equal(t, []byte{0x08, 1, 0x10, 2, 0x18, 3, 0x20, 0x80, 0x92, 0xf4, 0x01}, got) // 01:02:03.004

	_, err = appendTime(nil, connect.DateName, time.UnixMilli(5).UTC())
	require.ErrorIs(t, err, connect.ErrData)
}

// A primitive key or value is written as Confluent's converter writes it:
// the wrappers.proto file, the index of the wrapper message, and the
// wrapper; and it reads back as the primitive.
func TestProtobufPrimitiveRoot(t *testing.T) {
	text, err := defaultProtobufFormat.fromConnect(connect.StringSchema)
	require.NoError(t, err)
	cd, err := defaultProtobufFormat.parse(text)
	require.NoError(t, err)
	cases := []struct {
		s    *connect.Schema
		v    any
		want []byte
		back any
	}{
		// [7]: StringValue is the 8th message; field 1, length 2.
		{connect.StringSchema, "hi", []byte{2, 14, 0x0a, 2, 'h', 'i'}, "hi"},
		{connect.Int64Schema, int64(300), []byte{2, 4, 0x08, 0xac, 0x02}, int64(300)},
		// [4]: Int32Value; -1 as a 10-byte varint; read back as INT32.
		{connect.Int16Schema, int16(-1), append(append([]byte{2, 8, 0x08}, bytes.Repeat([]byte{0xff}, 9)...), 0x01), int32(-1)},
		{connect.BooleanSchema, false, []byte{2, 12}, false}, // a zero value is left out
		{connect.BytesSchema, []byte{1}, []byte{2, 16, 0x0a, 1, 1}, []byte{1}},
	}
	for _, c := range cases {
		got, err := cd.encode(nil, c.s, c.v)
		require.NoError(t, err, "%s", c.s.Type)
		assert.Equal(t, c.want, got, "%s", c.s.Type)
		s, v, err := cd.(*protoCodec).decodeWithSchema(got)
		require.NoError(t, err)
		assert.Equal(t, c.back, v)
		assert.False(t, s.Type == connect.TypeStruct)
	}
	_, err = defaultProtobufFormat.fromConnect(connect.DateSchema().Build())
	require.ErrorIs(t, err, connect.ErrData)

	raw := protoFormat(t, map[string]string{WrapperForRawPrimitivesConfig: "false"})
	cd2, err := raw.parse(text)
	require.NoError(t, err)
	s, v, err := cd2.(*protoCodec).decodeWithSchema([]byte{2, 14, 0x0a, 2, 'h', 'i'})
	require.NoError(t, err)
	assert.Equal(t, "StringValue", s.Name)
	assert.Equal(t, "hi", v.(*connect.Struct).GetWithoutDefault("value"))
}

func TestDecimalDigits(t *testing.T) {
	for _, n := range []string{"0", "1", "-1", "9", "10", "-12345", "127", "128", "-128", "-129",
		"9223372036854775807", "-9223372036854775808", "99999999999999999999999", "-100000000000000000000000"} {
		x, ok := new(big.Int).SetString(n, 10)
		require.True(t, ok)
		b, err := connect.DecimalToBytes(0, new(big.Rat).SetInt(x))
		require.NoError(t, err)
		assert.Equal(t, len(strings.TrimPrefix(n, "-")), decimalDigits(b), n)
	}
}

func TestProtobufIgnoreDefaultForNullables(t *testing.T) {
	s := connect.StructBuilder().Name("d.R").
		Field("n", connect.NewSchemaBuilder(connect.TypeInt32).Optional().Default(int32(7)).Build()).Build()
	v := connect.NewStruct(s) // n unset: its default is 7
	for _, c := range []struct {
		props map[string]string
		want  []byte
	}{
		{nil, []byte{0, 0x08, 7}},
		{map[string]string{IgnoreDefaultForNullablesConfig: "true"}, []byte{0}},
	} {
		f := protoFormat(t, c.props)
		text, err := f.fromConnect(s)
		require.NoError(t, err)
		cd, err := f.parse(text)
		require.NoError(t, err)
		got, err := cd.encode(nil, s, v)
		require.NoError(t, err)
		assert.Equal(t, c.want, got)
	}
}

// RecordNameStrategy names a primitive's subject after its wrapper
// message, as Confluent's ProtobufSchema of that descriptor is named.
func TestProtobufRecordNameOfPrimitive(t *testing.T) {
	c := testConverter(defaultProtobufFormat, "google.protobuf.StringValue", wrappersProto, 3)
	c.strategy = subjectStrategy(RecordNameStrategy, false)
	got, err := c.FromConnect("t", nil, connect.StringSchema, "x")
	require.NoError(t, err)
	assert.Equal(t, []byte{0, 0, 0, 0, 3, 2, 14, 0x0a, 1, 'x'}, got)

	// Read back from the cached schema, without the registry.
	s, v, err := c.ToConnect("t", nil, got)
	require.NoError(t, err)
	assert.Equal(t, connect.TypeString, s.Type)
	assert.Equal(t, "x", v)
}
