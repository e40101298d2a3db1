package transform

import (
	"math/big"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/runtime/connect"
)

var maskSchema = connect.StructBuilder().
	Field("magic", connect.Int32Schema).
	Field("bool", connect.BooleanSchema).
	Field("byte", connect.Int8Schema).
	Field("short", connect.Int16Schema).
	Field("long", connect.Int64Schema).
	Field("float", connect.Float32Schema).
	Field("double", connect.Float64Schema).
	Field("string", connect.StringSchema).
	Field("date", connect.DateSchema().Build()).
	Field("decimal", connect.DecimalSchema(0).Build()).
	Field("array", connect.ArrayOf(connect.Int32Schema)).
	Field("map", connect.MapOf(connect.StringSchema, connect.StringSchema)).
	Field("withDefault", connect.NewSchemaBuilder(connect.TypeString).Optional().Default("default").Build()).
	Build()

func maskValue() *connect.Struct {
	return structOf(maskSchema, "magic", int32(42), "bool", true, "byte", int8(42), "short", int16(42),
		"long", int64(42), "float", float32(42), "double", 42.0, "string", "55.121.20.20",
		"date", time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), "decimal", big.NewRat(42, 1),
		"array", []any{int32(1), int32(2)}, "map", map[string]any{"k": "v"})
}

func TestMaskFieldWithSchema(t *testing.T) {
	fields := "bool,byte,short,long,float,double,string,date,decimal,array,map,withDefault"
	want := map[string]any{"magic": int32(42), "bool": false, "byte": int8(0), "short": int16(0), "long": int64(0),
		"float": float32(0), "double": 0.0, "string": "", "date": time.UnixMilli(0).UTC(), "decimal": new(big.Rat),
		"array": []any{}, "map": map[string]any{}, "withDefault": ""}
	for _, class := range []string{"MaskField$Key", "MaskField$Value"} {
		tr := newTransform(t, class, map[string]string{"fields": fields})
		in := maskValue()
		var out *connect.Record
		var v any
		if class == "MaskField$Key" {
			out = apply(t, tr, keyRecord(maskSchema, in))
			v = out.Key
			assert.Same(t, maskSchema, out.KeySchema)
		} else {
			out = apply(t, tr, valueRecord(maskSchema, in))
			v = out.Value
			assert.Same(t, maskSchema, out.ValueSchema)
		}
		st := v.(*connect.Struct)
		require.NoError(t, st.Validate())
		for name, w := range want {
			got, _ := st.Get(name)
			assert.True(t, connect.ValuesEqual(w, got), "%s: %v", name, got)
		}
		assert.Equal(t, true, in.GetWithoutDefault("bool"), "input untouched")
	}
	out := apply(t, newTransform(t, "MaskField$Value", map[string]string{"fields": "withDefault", "replace.null.with.default": "false"}),
		valueRecord(maskSchema, maskValue()))
	assert.Nil(t, out.Value.(*connect.Struct).GetWithoutDefault("withDefault"), "null kept null")
}

func TestMaskFieldReplacement(t *testing.T) {
	for _, tc := range []struct {
		field, repl string
		want        any
	}{
		{"magic", "123", int32(123)},
		{"byte", "12", int8(12)},
		{"long", "-9", int64(-9)},
		{"float", "1.5", float32(1.5)},
		{"double", "2.5", 2.5},
		{"string", "****", "****"},
		{"decimal", "12.5", big.NewRat(25, 2)},
	} {
		out := apply(t, newTransform(t, "MaskField$Value", map[string]string{"fields": tc.field, "replacement": tc.repl}),
			valueRecord(maskSchema, maskValue()))
		got, _ := out.Value.(*connect.Struct).Get(tc.field)
		assert.True(t, connect.ValuesEqual(tc.want, got), "%s: %v", tc.field, got)
	}
	for _, tc := range []struct {
		field, repl, msg string
	}{
		{"magic", "abc", "Unable to convert abc (class java.lang.String) to number"},
		{"byte", "300", "Unable to convert 300 (class java.lang.String) to number"},
		{"bool", "x", "Cannot mask value of type class java.lang.Boolean with custom replacement."},
		{"date", "x", "Cannot mask value of type class java.util.Date with custom replacement."},
		{"array", "x", "Cannot mask value of type class java.util.ArrayList with custom replacement."},
	} {
		err := applyErr(t, newTransform(t, "MaskField$Value", map[string]string{"fields": tc.field, "replacement": tc.repl}),
			valueRecord(maskSchema, maskValue()))
		assert.Contains(t, err.Error(), tc.msg)
	}
}

func TestMaskFieldSchemaless(t *testing.T) {
	in := map[string]any{"magic": int64(42), "s": "secret", "list": []any{"a"}, "n": nil, "keep": "k"}
	out := apply(t, newTransform(t, "MaskField$Value", map[string]string{"fields": "magic,s,list,n,absent"}), valueRecord(nil, in))
	assert.Equal(t, map[string]any{"magic": int64(0), "s": "", "list": []any{}, "n": nil, "absent": nil, "keep": "k"}, out.Value)
	assert.Equal(t, "secret", in["s"])

	err := applyErr(t, newTransform(t, "MaskField$Value", map[string]string{"fields": "b"}), valueRecord(nil, map[string]any{"b": []byte{1}}))
	assert.Contains(t, err.Error(), "Cannot mask value of type: class [B")
	err = applyErr(t, newTransform(t, "MaskField$Key", map[string]string{"fields": "b"}), keyRecord(nil, "str"))
	assert.Contains(t, err.Error(), "Only Map objects supported in absence of schema for [mask fields], found: java.lang.String")

	r := valueRecord(nil, nil)
	assert.Same(t, r, apply(t, newTransform(t, "MaskField$Value", map[string]string{"fields": "b"}), r))
	assert.Contains(t, configureErr(t, "MaskField$Value", map[string]string{"fields": ""}).Error(), "Empty list")
	assert.Contains(t, configureErr(t, "MaskField$Value", map[string]string{"fields": "a", "replacement": ""}).Error(),
		"Invalid value  for configuration replacement: String must be non-empty")
}
