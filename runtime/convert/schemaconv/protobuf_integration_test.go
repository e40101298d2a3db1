package schemaconv

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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
