package convert

import (
	"math"
	"testing"

	"github.com/sluicehq/sluice/runtime/connect"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStringConverterFromConnect(t *testing.T) {
	st := connect.StructBuilder().Field("a", connect.Int32Schema).Field("b", connect.OptionalStringSchema).Field("c", connect.Float64Schema).Build()
	cases := []struct {
		name   string
		schema *connect.Schema
		value  any
		want   string
	}{
		{"string", connect.StringSchema, "foo-bar-baz", "foo-bar-baz"},
		{"schema ignored", nil, true, "true"},
		{"int", connect.Int32Schema, int32(-12), "-12"},
		{"double", connect.Float64Schema, 1e10, "1.0E10"},
		{"float", nil, float32(0.5), "0.5"},
		{"decimal at schema scale", connect.DecimalSchema(4).Build(), dec(156, 2), "1.5600"},
		{"decimal without schema", nil, dec(156, 2), "1.56"},
		{"list", nil, []any{int64(1), "a", nil}, "[1, a, null]"},
		{"map", nil, map[string]any{"b": int32(2), "a": int32(1)}, "{a=1, b=2}"},
		{"struct", st, connect.NewStruct(st).MustPut("a", int32(1)).MustPut("c", 2.0), "Struct{a=1,c=2.0}"},
		{"date", nil, ms(0), "Thu Jan 01 00:00:00 UTC 1970"},
		{"bytes pass through", nil, []byte("raw"), "raw"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := NewStringConverter().FromConnect("topic", nil, c.schema, c.value)
			require.NoError(t, err)
			assert.Equal(t, c.want, string(out))
		})
	}
	out, err := NewStringConverter().FromConnect("topic", nil, connect.StringSchema, nil)
	require.NoError(t, err)
	assert.Nil(t, out)
}

func TestStringConverterToConnect(t *testing.T) {
	c := NewStringConverter()
	require.NoError(t, c.Configure(map[string]string{EncodingConfig: "utf8"}, true))
	s, v, err := c.ToConnect("topic", nil, []byte("foo-bar-baz"))
	require.NoError(t, err)
	assert.Same(t, connect.OptionalStringSchema, s)
	assert.Equal(t, "foo-bar-baz", v)
	s, v, err = c.ToConnect("topic", nil, nil)
	require.NoError(t, err)
	assert.Same(t, connect.OptionalStringSchema, s)
	assert.Nil(t, v)
	_, v, err = c.ToConnect("topic", nil, []byte("a\xffb"))
	require.NoError(t, err)
	assert.Equal(t, "a\uFFFDb", v)
}

func TestStringConverterRejectsOtherEncodings(t *testing.T) {
	err := NewStringConverter().Configure(map[string]string{EncodingConfig: "UTF-16"}, false)
	require.ErrorIs(t, err, connect.ErrConfig)
	assert.Equal(t, "Invalid value UTF-16 for configuration converter.encoding: Sluice supports only the UTF-8 character set", err.Error())
}

func TestByteArrayConverter(t *testing.T) {
	c := NewByteArrayConverter()
	require.NoError(t, c.Configure(nil, false))
	sample := []byte{0x74, 0x65, 0x73, 0x74}
	for _, s := range []*connect.Schema{connect.BytesSchema, connect.OptionalBytesSchema, nil} {
		out, err := c.FromConnect("topic", nil, s, sample)
		require.NoError(t, err)
		assert.Equal(t, sample, out)
	}
	out, err := c.FromConnect("topic", nil, connect.BytesSchema, nil)
	require.NoError(t, err)
	assert.Nil(t, out)

	_, err = c.FromConnect("topic", nil, connect.Int32Schema, sample)
	require.ErrorIs(t, err, connect.ErrData)
	assert.Contains(t, err.Error(), "Invalid schema type for ByteArrayConverter: INT32")
	_, err = c.FromConnect("topic", nil, nil, int32(12))
	require.ErrorIs(t, err, connect.ErrData)
	assert.Contains(t, err.Error(), "ByteArrayConverter is not compatible with objects of type int32")

	s, v, err := c.ToConnect("topic", nil, sample)
	require.NoError(t, err)
	assert.Same(t, connect.OptionalBytesSchema, s)
	assert.Equal(t, sample, v)
	s, v, err = c.ToConnect("topic", nil, nil)
	require.NoError(t, err)
	assert.Same(t, connect.OptionalBytesSchema, s)
	assert.Nil(t, v)
}

func TestNumberConverters(t *testing.T) {
	cases := []struct {
		name   string
		conv   *NumberConverter
		schema *connect.Schema
		value  any
		bytes  []byte
		wrong  any
	}{
		{"short", NewShortConverter(), connect.OptionalInt16Schema, int16(-2), []byte{0xff, 0xfe}, int32(1)},
		{"integer", NewIntegerConverter(), connect.OptionalInt32Schema, int32(0x01020304), []byte{1, 2, 3, 4}, int64(1)},
		{"long", NewLongConverter(), connect.OptionalInt64Schema, int64(math.MinInt64), []byte{0x80, 0, 0, 0, 0, 0, 0, 0}, int32(1)},
		{"float", NewFloatConverter(), connect.OptionalFloat32Schema, float32(1.5), []byte{0x3f, 0xc0, 0, 0}, 1.5},
		{"double", NewDoubleConverter(), connect.OptionalFloat64Schema, -1.5, []byte{0xbf, 0xf8, 0, 0, 0, 0, 0, 0}, float32(1.5)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			require.NoError(t, c.conv.Configure(nil, false))
			out, err := c.conv.FromConnect("topic", nil, c.schema, c.value)
			require.NoError(t, err)
			assert.Equal(t, c.bytes, out)
			s, v, err := c.conv.ToConnect("topic", nil, out)
			require.NoError(t, err)
			assert.Same(t, c.schema, s)
			assert.Equal(t, c.value, v)

			out, err = c.conv.FromConnect("topic", nil, nil, nil)
			require.NoError(t, err)
			assert.Nil(t, out)
			s, v, err = c.conv.ToConnect("topic", nil, nil)
			require.NoError(t, err)
			assert.Same(t, c.schema, s)
			assert.Nil(t, v)

			_, err = c.conv.FromConnect("topic", nil, nil, c.wrong)
			require.ErrorIs(t, err, connect.ErrData)
			assert.Contains(t, err.Error(), "Failed to serialize to "+c.name+" (was ")
			_, _, err = c.conv.ToConnect("topic", nil, append(c.bytes, 0))
			require.ErrorIs(t, err, connect.ErrData)
			assert.Contains(t, err.Error(), "Failed to deserialize "+c.name+": Size of data received by ")
		})
	}
}

func TestNumberConverterMessagesNameKafkasDeserializers(t *testing.T) {
	_, _, err := NewIntegerConverter().ToConnect("t", nil, []byte{1})
	assert.EqualError(t, err, "data error: Failed to deserialize integer: Size of data received by IntegerDeserializer is not 4")
	_, _, err = NewDoubleConverter().ToConnect("t", nil, []byte{1})
	assert.EqualError(t, err, "data error: Failed to deserialize double: Size of data received by Deserializer is not 8")
}

func TestDoubleConverterCanonicalNaN(t *testing.T) {
	out, err := NewDoubleConverter().FromConnect("t", nil, nil, math.Float64frombits(0x7ff0000000000001))
	require.NoError(t, err)
	assert.Equal(t, []byte{0x7f, 0xf8, 0, 0, 0, 0, 0, 0}, out)
}

func TestBooleanConverter(t *testing.T) {
	c := NewBooleanConverter()
	require.NoError(t, c.Configure(nil, true))
	for value, b := range map[bool]byte{true: 1, false: 0} {
		out, err := c.FromConnect("topic", nil, connect.BooleanSchema, value)
		require.NoError(t, err)
		assert.Equal(t, []byte{b}, out)
		s, v, err := c.ToConnect("topic", nil, out)
		require.NoError(t, err)
		assert.Same(t, connect.OptionalBooleanSchema, s)
		assert.Equal(t, value, v)
	}
	out, err := c.FromConnect("topic", nil, nil, nil)
	require.NoError(t, err)
	assert.Nil(t, out)
	s, v, err := c.ToConnect("topic", nil, nil)
	require.NoError(t, err)
	assert.Same(t, connect.OptionalBooleanSchema, s)
	assert.Nil(t, v)

	_, err = c.FromConnect("topic", nil, connect.Int32Schema, true)
	assert.EqualError(t, err, "data error: Invalid schema type for BooleanConverter: INT32")
	_, err = c.FromConnect("topic", nil, nil, int32(1))
	assert.EqualError(t, err, "data error: BooleanConverter is not compatible with objects of type int32")
	_, _, err = c.ToConnect("topic", nil, []byte{2})
	assert.EqualError(t, err, "data error: Failed to deserialize boolean: Unexpected byte received by BooleanDeserializer: 2")
	_, _, err = c.ToConnect("topic", nil, []byte{})
	assert.EqualError(t, err, "data error: Failed to deserialize boolean: Size of data received by BooleanDeserializer is not 1")
}

func TestConvertersNeedNoConfig(t *testing.T) {
	for _, c := range []connect.Converter{NewJSONConverter(), NewStringConverter(), NewByteArrayConverter(), NewBooleanConverter(), NewLongConverter()} {
		require.NoError(t, c.Configure(map[string]string{"unrelated": "x"}, false), "%T", c)
	}
}

func TestHeaderAdapterConfiguresAsHeader(t *testing.T) {
	h := &headerAdapter{conv: NewStringConverter()}
	require.NoError(t, h.Configure(map[string]string{ConverterTypeConfig: "key"}))
	out, err := h.FromConnectHeader("t", "k", nil, int64(5))
	require.NoError(t, err)
	assert.Equal(t, "5", string(out))
	s, v, err := h.ToConnectHeader("t", "k", out)
	require.NoError(t, err)
	assert.Same(t, connect.OptionalStringSchema, s)
	assert.Equal(t, "5", v)
	require.ErrorIs(t, (&headerAdapter{conv: NewStringConverter()}).Configure(map[string]string{EncodingConfig: "latin1"}), connect.ErrConfig)
}
