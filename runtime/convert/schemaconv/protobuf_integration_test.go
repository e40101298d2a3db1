package schemaconv

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/sr"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/sluicehq/sluice/internal/testenv"
	"github.com/sluicehq/sluice/internal/testenv/registrytest"
	"github.com/sluicehq/sluice/runtime/connect"
)

// Through the real registry: the derived .proto (with its well-known
// imports) registers, another converter reads it back by id, and
// use.latest.version writes a narrower record with the registered schema.
func TestProtobufThroughRegistry(t *testing.T) {
	url := registrytest.Start(t, testenv.StartBroker(t, nil).Addr)
	w := NewProtobufConverter()
	require.NoError(t, w.Configure(map[string]string{RegistryURLConfig: url}, false))
	data, err := w.FromConnect("orders", nil, protoEveryType, protoEveryValue())
	require.NoError(t, err)
	require.Equal(t, byte(0), data[0], "magic")
	require.Equal(t, byte(0), data[5], "message indexes [0]")

	r := NewProtobufConverter()
	require.NoError(t, r.Configure(map[string]string{RegistryURLConfig: url}, false))
	s, v, err := r.ToConnect("orders", nil, data)
	require.NoError(t, err)
	assert.Equal(t, "All", s.Name)
	st := v.(*connect.Struct)
	want := protoEveryValue()
	for _, f := range []string{"i8", "dec", "date", "time", "ts", "status", "arr", "imap", "nested"} {
		wv, _ := want.Get(f)
		assert.Equal(t, plain(wv), plain(st.GetWithoutDefault(f)), "field %s", f)
	}

	latest := NewProtobufConverter()
	require.NoError(t, latest.Configure(map[string]string{RegistryURLConfig: url,
		AutoRegisterConfig: "false", UseLatestVersionConfig: "true"}, false))
	narrow := connect.StructBuilder().Name("com.example.All").
		Field("i32", connect.Int32Schema).Field("s", connect.StringSchema).Build()
	out, err := latest.FromConnect("orders", nil, narrow, connect.NewStruct(narrow).MustPut("i32", int32(5)).MustPut("s", "x"))
	require.NoError(t, err)
	assert.Equal(t, data[:6], out[:6], "the registered schema's id and message")
	_, v, err = r.ToConnect("orders", nil, out)
	require.NoError(t, err)
	assert.Equal(t, int32(5), v.(*connect.Struct).GetWithoutDefault("i32"))
	assert.Equal(t, "x", v.(*connect.Struct).GetWithoutDefault("s"))

	// latest.compatibility.strict (the default) refuses a record the
	// latest schema cannot hold; without it, the encoder still refuses a
	// field the latest message lacks.
	wider := connect.StructBuilder().Name("com.example.All").
		Field("i32", connect.Int32Schema).Field("extra", connect.StringSchema).Build()
	_, err = latest.FromConnect("orders", nil, wider, connect.NewStruct(wider).MustPut("i32", int32(5)).MustPut("extra", "x"))
	require.ErrorIs(t, err, connect.ErrData)
	assert.Contains(t, err.Error(), "field extra is not in com.example.All")
	retyped := connect.StructBuilder().Name("com.example.All").Field("i32", connect.StringSchema).Build()
	_, err = latest.FromConnect("orders", nil, retyped, connect.NewStruct(retyped).MustPut("i32", "5"))
	require.ErrorIs(t, err, connect.ErrData)
	assert.Contains(t, err.Error(), "field i32 is int32 in com.example.All, not string")
	lax := NewProtobufConverter()
	require.NoError(t, lax.Configure(map[string]string{RegistryURLConfig: url, AutoRegisterConfig: "false",
		UseLatestVersionConfig: "true", LatestCompatStrictConfig: "false"}, false))
	_, err = lax.FromConnect("orders", nil, wider, connect.NewStruct(wider).MustPut("i32", int32(5)).MustPut("extra", "x"))
	require.ErrorIs(t, err, connect.ErrData)
	assert.Contains(t, err.Error(), "Cannot find field with name extra")

	lookup := NewProtobufConverter()
	require.NoError(t, lookup.Configure(map[string]string{RegistryURLConfig: url, AutoRegisterConfig: "false"}, false))
	_, err = lookup.FromConnect("orders", nil, narrow, connect.NewStruct(narrow).MustPut("i32", int32(5)).MustPut("s", "x"))
	require.ErrorIs(t, err, connect.ErrData, "not registered, and auto.register.schemas=false")
}

// A schema that imports another by reference (as Protobuf producers
// register them) reads, and writes with use.latest.version.
func TestProtobufReferences(t *testing.T) {
	url := registrytest.Start(t, testenv.StartBroker(t, nil).Addr)
	cl, err := sr.NewClient(sr.URLs(url))
	require.NoError(t, err)
	ctx := context.Background()
	money := `syntax = "proto3";
package shop;
message Money { string currency = 1; int64 units = 2; }
`
	order := `syntax = "proto3";
package shop;
import "money.proto";
message Order { int64 id = 1; Money total = 2; }
`
	_, err = cl.CreateSchema(ctx, "money.proto", sr.Schema{Schema: money, Type: sr.TypeProtobuf})
	require.NoError(t, err)
	got, err := cl.CreateSchema(ctx, "refs-value", sr.Schema{Schema: order, Type: sr.TypeProtobuf,
		References: []sr.SchemaReference{{Name: "money.proto", Subject: "money.proto", Version: 1}}})
	require.NoError(t, err)

	file, err := compileProto(order, map[string]string{"money.proto": money})
	require.NoError(t, err)
	md := file.Messages().Get(0)
	m := dynamicpb.NewMessage(md)
	m.Set(md.Fields().ByName("id"), protoreflect.ValueOfInt64(9))
	total := dynamicpb.NewMessage(md.Fields().ByName("total").Message())
	total.Set(total.Descriptor().Fields().ByName("currency"), protoreflect.ValueOfString("EUR"))
	total.Set(total.Descriptor().Fields().ByName("units"), protoreflect.ValueOfInt64(12))
	m.Set(md.Fields().ByName("total"), protoreflect.ValueOfMessage(total))
	body, err := proto.MarshalOptions{Deterministic: true}.Marshal(m) // by field number, as Java writes
	require.NoError(t, err)
	data := append([]byte{0, 0, 0, 0, byte(got.ID), 0}, body...)

	r := NewProtobufConverter()
	require.NoError(t, r.Configure(map[string]string{RegistryURLConfig: url}, false))
	s, v, err := r.ToConnect("refs", nil, data)
	require.NoError(t, err)
	assert.Equal(t, "Money", s.Field("total").Schema.Name)
	tot := v.(*connect.Struct).GetWithoutDefault("total").(*connect.Struct)
	assert.Equal(t, "EUR", tot.GetWithoutDefault("currency"))
	assert.Equal(t, int64(12), tot.GetWithoutDefault("units"))

	w := NewProtobufConverter()
	require.NoError(t, w.Configure(map[string]string{RegistryURLConfig: url,
		AutoRegisterConfig: "false", UseLatestVersionConfig: "true"}, false))
	out, err := w.FromConnect("refs", nil, s, v)
	require.NoError(t, err)
	assert.Equal(t, data, out, "the same bytes, written with the registered schema")
}
