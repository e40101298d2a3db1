package transform

import (
	"math"
	"math/big"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/runtime/connect"
)

func TestCastConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		spec, msg string
	}{
		{"", "Must specify at least one field to cast."},
		{"foo:array", "Cast transformation does not support casting to ARRAY; supported types are [INT8, INT16, INT32, INT64, FLOAT32, FLOAT64, BOOLEAN, STRING]"},
		{"foo:bytes", "does not support casting to BYTES"},
		{"foo:faketype", "Invalid type found in casting spec: faketype"},
		{"int8,int32", "Cast transformations that specify a type to cast the entire value to may ony specify a single cast in their spec"},
		{"foo:int8:extra", "Invalid rename mapping: foo:int8:extra"},
		{"int8,foo:int32", "may ony specify a single cast"},
	} {
		t.Run(tc.spec, func(t *testing.T) {
			err := configureErr(t, "Cast$Value", map[string]string{"spec": tc.spec})
			assert.Contains(t, err.Error(), "Invalid value "+tc.spec+" for configuration spec: ")
			assert.Contains(t, err.Error(), tc.msg)
		})
	}
	err := configureErr(t, "Cast$Key", map[string]string{})
	assert.Contains(t, err.Error(), `Missing required configuration "spec" which has no default value.`)
}

func TestCastWholeValue(t *testing.T) {
	for _, tc := range []struct {
		name   string
		schema *connect.Schema
		in     any
		spec   string
		want   any
		wantT  connect.Type
	}{
		{"int32 to int8", connect.Int32Schema, int32(42), "int8", int8(42), connect.TypeInt8},
		{"int64 to int16 wraps", connect.Int64Schema, int64(70000), "int16", int16(4464), connect.TypeInt16},
		{"int8 to int64", connect.Int8Schema, int8(-5), "int64", int64(-5), connect.TypeInt64},
		{"float64 to int32 truncates", connect.Float64Schema, 42.9, "int32", int32(42), connect.TypeInt32},
		{"float64 to int8 saturates then wraps", connect.Float64Schema, 1e20, "int8", int8(-1), connect.TypeInt8},
		{"NaN to int64", connect.Float64Schema, math.NaN(), "int64", int64(0), connect.TypeInt64},
		{"int32 to float32", connect.Int32Schema, int32(42), "float32", float32(42), connect.TypeFloat32},
		{"float32 to float64", connect.Float32Schema, float32(1.5), "float64", 1.5, connect.TypeFloat64},
		{"bool to int32", connect.BooleanSchema, true, "int32", int32(1), connect.TypeInt32},
		{"bool to float64", connect.BooleanSchema, false, "float64", 0.0, connect.TypeFloat64},
		{"int to boolean", connect.Int32Schema, int32(42), "boolean", true, connect.TypeBoolean},
		{"zero to boolean", connect.Int64Schema, int64(0), "boolean", false, connect.TypeBoolean},
		{"float 0.5 to boolean", connect.Float64Schema, 0.5, "boolean", false, connect.TypeBoolean},
		{"string to int8", connect.StringSchema, "42", "int8", int8(42), connect.TypeInt8},
		{"string to float32", connect.StringSchema, "42.5", "float32", float32(42.5), connect.TypeFloat32},
		{"string to boolean", connect.StringSchema, "TRUE", "boolean", true, connect.TypeBoolean},
		{"string to boolean other", connect.StringSchema, "yes", "boolean", false, connect.TypeBoolean},
		{"int to string", connect.Int32Schema, int32(42), "string", "42", connect.TypeString},
		{"float64 to string", connect.Float64Schema, 42.0, "string", "42.0", connect.TypeString},
		{"large float to string", connect.Float64Schema, 1e10, "string", "1.0E10", connect.TypeString},
		{"small float to string", connect.Float64Schema, 1.5e-5, "string", "1.5E-5", connect.TypeString},
		{"float32 to string", connect.Float32Schema, float32(0.1), "string", "0.1", connect.TypeString},
		{"bool to string", connect.BooleanSchema, true, "string", "true", connect.TypeString},
		{"bytes to string", connect.BytesSchema, []byte("hello"), "string", "aGVsbG8=", connect.TypeString},
		{"timestamp to int64", connect.TimestampSchema().Build(), testTime, "int64", testTime.UnixMilli(), connect.TypeInt64},
		{"date to int32", connect.DateSchema().Build(), time.Date(1970, 1, 11, 0, 0, 0, 0, time.UTC), "int32", int32(10), connect.TypeInt32},
		{"time to int32", connect.TimeSchema().Build(), time.UnixMilli(5000).UTC(), "int32", int32(5000), connect.TypeInt32},
		{"timestamp to string", connect.TimestampSchema().Build(), testTime, "string", "2024-03-05T07:08:09.123Z", connect.TypeString},
		{"date to string", connect.DateSchema().Build(), time.Date(2024, 3, 5, 0, 0, 0, 0, time.UTC), "string", "2024-03-05", connect.TypeString},
		{"time to string", connect.TimeSchema().Build(), time.UnixMilli(3723004).UTC(), "string", "01:02:03.004Z", connect.TypeString},
		{"decimal to int32", connect.DecimalSchema(2).Build(), big.NewRat(12345, 100), "int32", int32(123), connect.TypeInt32},
		{"decimal to float64", connect.DecimalSchema(2).Build(), big.NewRat(12345, 100), "float64", 123.45, connect.TypeFloat64},
		{"decimal to string", connect.DecimalSchema(2).Build(), big.NewRat(5, 1), "string", "5.00", connect.TypeString},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, class := range []string{"Cast$Key", "Cast$Value"} {
				tr := newTransform(t, class, map[string]string{"spec": tc.spec})
				var r *connect.Record
				if class == "Cast$Key" {
					r = keyRecord(tc.schema, tc.in)
				} else {
					r = valueRecord(tc.schema, tc.in)
				}
				out := apply(t, tr, r)
				s, v := out.ValueSchema, out.Value
				if class == "Cast$Key" {
					s, v = out.KeySchema, out.Key
				}
				assert.Equal(t, tc.want, v)
				assert.Equal(t, tc.wantT, s.Type)
				assert.Empty(t, s.Name, "a cast value is no longer logical")
			}
		})
	}
}

func TestCastWholeValueSchemaless(t *testing.T) {
	for _, tc := range []struct {
		in   any
		spec string
		want any
	}{
		{int32(42), "int8", int8(42)},
		{int64(42), "float64", 42.0},
		{42.5, "int64", int64(42)},
		{"42", "int16", int16(42)},
		{true, "string", "true"},
		{[]byte{1, 2}, "string", "AQI="},
		{float32(1e-4), "string", "1.0E-4"},
	} {
		out := apply(t, newTransform(t, "Cast$Value", map[string]string{"spec": tc.spec}), valueRecord(nil, tc.in))
		assert.Equal(t, tc.want, out.Value)
		assert.Nil(t, out.ValueSchema)
	}
}

func TestCastErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		spec   string
		schema *connect.Schema
		in     any
		msg    string
	}{
		{"out of range", "int8", connect.StringSchema, "300", "Value (300) was out of range for requested data type"},
		{"not a number", "int32", connect.StringSchema, "abc", "Value (abc) was out of range for requested data type"},
		{"bytes to int", "int32", connect.BytesSchema, []byte{1}, "Unexpected type in Cast transformation: class [B"},
		{"from array", "string", connect.ArrayOf(connect.Int32Schema), []any{int32(1)},
			"Cast transformation does not support casting from ARRAY; supported types are [INT8, INT16, INT32, INT64, FLOAT32, FLOAT64, BOOLEAN, STRING, BYTES]"},
		{"schemaless date", "int64", nil, testTime, "Cast transformation was passed a value of type class java.util.Date which is not supported by Connect's data API"},
		{"schemaless map field cast needs map", "foo:int8", nil, int32(1),
			"Only Map objects supported in absence of schema for [cast types], found: java.lang.Integer"},
		{"struct needed", "foo:int8", connect.Int32Schema, int32(1), "Only Struct objects supported for [cast types], found: java.lang.Integer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := applyErr(t, newTransform(t, "Cast$Value", map[string]string{"spec": tc.spec}), valueRecord(tc.schema, tc.in))
			assert.ErrorIs(t, err, connect.ErrData)
			assert.Contains(t, err.Error(), tc.msg)
		})
	}
}

func TestCastStructFields(t *testing.T) {
	schema := connect.StructBuilder().Name("rec").Version(2).Doc("d").
		Field("int8", connect.Int8Schema).
		Field("int16", connect.OptionalInt16Schema).
		Field("int32", connect.NewSchemaBuilder(connect.TypeInt32).Default(int32(2)).Build()).
		Field("float32", connect.Float32Schema).
		Field("boolean", connect.BooleanSchema).
		Field("string", connect.StringSchema).
		Field("bytes", connect.BytesSchema).
		Field("timestamp", connect.TimestampSchema().Build()).
		Field("untouched", connect.StringSchema).
		Build()
	in := structOf(schema, "int8", int8(8), "float32", float32(32.5), "boolean", true,
		"string", "42", "bytes", []byte("hi"), "timestamp", testTime, "untouched", "same")
	tr := newTransform(t, "Cast$Value", map[string]string{
		"spec": "int8:int16,int16:int32,int32:int64,float32:float64,boolean:int8,string:int32,bytes:string,timestamp:int64"})
	r := valueRecord(schema, in)
	out := apply(t, tr, r)

	s := out.ValueSchema
	assert.Equal(t, "rec", s.Name)
	assert.Equal(t, 2, s.Version)
	assert.Equal(t, "d", s.Doc)
	assert.Equal(t, connect.TypeInt16, s.Field("int8").Schema.Type)
	assert.True(t, s.Field("int16").Schema.Optional, "optionality kept")
	assert.Equal(t, int64(2), s.Field("int32").Schema.Default, "default cast")
	assert.Same(t, schema.Field("untouched").Schema, s.Field("untouched").Schema)

	st := out.Value.(*connect.Struct)
	require.NoError(t, st.Validate())
	for name, want := range map[string]any{
		"int8": int16(8), "int16": nil, "int32": int64(2), "float32": 32.5, "boolean": int8(1),
		"string": int32(42), "bytes": "aGk=", "timestamp": testTime.UnixMilli(), "untouched": "same",
	} {
		got, err := st.Get(name)
		require.NoError(t, err)
		assert.Equal(t, want, got, name)
	}
	assert.Equal(t, int8(8), in.GetWithoutDefault("int8"), "input untouched")
	assert.Same(t, schema, r.ValueSchema)

	again := apply(t, tr, valueRecord(schema, in))
	assert.Same(t, out.ValueSchema, again.ValueSchema, "updated schema cached per input schema")
}

func TestCastReplaceNullWithDefault(t *testing.T) {
	schema := connect.StructBuilder().
		Field("n", connect.NewSchemaBuilder(connect.TypeInt32).Optional().Default(int32(7)).Build()).Build()
	in := connect.NewStruct(schema)
	for _, tc := range []struct {
		replace string
		want    any
	}{{"true", int64(7)}, {"false", nil}} {
		tr := newTransform(t, "Cast$Value", map[string]string{"spec": "n:int64", "replace.null.with.default": tc.replace})
		out := apply(t, tr, valueRecord(schema, in))
		assert.Equal(t, tc.want, out.Value.(*connect.Struct).GetWithoutDefault("n"), tc.replace)
	}
}

func TestCastSchemalessFields(t *testing.T) {
	in := map[string]any{"a": int64(42), "b": "3.5", "keep": "x"}
	tr := newTransform(t, "Cast$Value", map[string]string{"spec": "a:int8,b:float64,missing:int32"})
	out := apply(t, tr, valueRecord(nil, in))
	assert.Equal(t, map[string]any{"a": int8(42), "b": 3.5, "keep": "x", "missing": nil}, out.Value)
	assert.Equal(t, int64(42), in["a"], "input map untouched")
}

func TestCastNullPassesThrough(t *testing.T) {
	r := valueRecord(connect.OptionalInt32Schema, nil)
	out := apply(t, newTransform(t, "Cast$Value", map[string]string{"spec": "int8"}), r)
	assert.Same(t, r, out)
}

func TestJavaFloatString(t *testing.T) {
	for f, want := range map[float64]string{
		1: "1.0", 100: "100.0", 1234567: "1234567.0", 12345678: "1.2345678E7", 0.001: "0.001",
		0.0001: "1.0E-4", -2.5: "-2.5", math.Inf(1): "Infinity", math.NaN(): "NaN", 0: "0.0",
	} {
		assert.Equal(t, want, javaFloatString(f, 64), "%v", f)
	}
}
