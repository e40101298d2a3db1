package transform

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/runtime/connect"
)

func TestFlattenNestedStruct(t *testing.T) {
	leaf := connect.StructBuilder().
		Field("int8", connect.Int8Schema).Field("string", connect.StringSchema).
		Field("bytes", connect.BytesSchema).Field("array", connect.ArrayOf(connect.Int32Schema)).Build()
	mid := connect.StructBuilder().Field("B", leaf).Build()
	top := connect.StructBuilder().Name("top").Field("A", mid).Field("plain", connect.Int64Schema).Build()
	value := structOf(top,
		"A", structOf(mid, "B", structOf(leaf, "int8", int8(8), "string", "s", "bytes", []byte{1}, "array", []any{int32(1)})),
		"plain", int64(1))

	for _, class := range []string{"Flatten$Key", "Flatten$Value"} {
		tr := newTransform(t, class, map[string]string{"delimiter": "#"})
		var out *connect.Record
		var s *connect.Schema
		var v any
		if class == "Flatten$Key" {
			out = apply(t, tr, keyRecord(top, value))
			s, v = out.KeySchema, out.Key
		} else {
			out = apply(t, tr, valueRecord(top, value))
			s, v = out.ValueSchema, out.Value
		}
		names := make([]string, len(s.Fields))
		for i, f := range s.Fields {
			names[i] = f.Name
		}
		assert.Equal(t, []string{"A#B#int8", "A#B#string", "A#B#bytes", "A#B#array", "plain"}, names)
		assert.Equal(t, "top", s.Name)
		st := v.(*connect.Struct)
		require.NoError(t, st.Validate())
		got, _ := st.Get("A#B#string")
		assert.Equal(t, "s", got)
		got, _ = st.Get("A#B#array")
		assert.Equal(t, []any{int32(1)}, got)
	}
}

func TestFlattenOptionalAndDefaults(t *testing.T) {
	inner := connect.StructBuilder().Optional().
		Field("req", connect.Int32Schema).
		Field("def", connect.NewSchemaBuilder(connect.TypeString).Default("x").Build()).Build()
	top := connect.StructBuilder().Field("in", inner).Field("other", connect.StringSchema).Build()
	out := apply(t, newTransform(t, "Flatten$Value", nil), valueRecord(top, structOf(top, "other", "o")))
	s := out.ValueSchema
	assert.True(t, s.Field("in.req").Schema.Optional, "optional because the parent is")
	assert.True(t, s.Field("in.def").Schema.Optional)
	assert.Equal(t, "x", s.Field("in.def").Schema.Default)
	assert.False(t, s.Field("other").Schema.Optional)
	st := out.Value.(*connect.Struct)
	assert.Nil(t, st.GetWithoutDefault("in.req"), "null nested struct flattens to null fields")
	require.NoError(t, st.Validate())

	// A default on the parent struct provides defaults for its fields.
	def := structOf(connect.StructBuilder().Field("n", connect.Int32Schema).Build(), "n", int32(5))
	parent := connect.NewSchemaBuilder(connect.TypeStruct).Field("n", connect.Int32Schema).Default(def).Build()
	def = structOf(parent, "n", int32(5))
	parent = connect.NewSchemaBuilder(connect.TypeStruct).Field("n", connect.Int32Schema).Default(def).Build()
	top2 := connect.StructBuilder().Field("p", parent).Build()
	out = apply(t, newTransform(t, "Flatten$Value", nil), valueRecord(top2, structOf(top2, "p", structOf(parent, "n", int32(1)))))
	assert.Equal(t, int32(5), out.ValueSchema.Field("p.n").Schema.Default)
}

func TestFlattenSchemaless(t *testing.T) {
	in := map[string]any{
		"A":   map[string]any{"B": map[string]any{"int64": int64(1), "null": nil, "list": []any{"x"}}},
		"top": "t",
	}
	out := apply(t, newTransform(t, "Flatten$Key", map[string]string{"delimiter": "_"}), keyRecord(nil, in))
	assert.Equal(t, map[string]any{"A_B_int64": int64(1), "A_B_null": nil, "A_B_list": []any{"x"}, "top": "t"}, out.Key)
	assert.Contains(t, in, "A", "input untouched")
}

func TestFlattenErrorsAndNull(t *testing.T) {
	tr := newTransform(t, "Flatten$Value", nil)
	r := valueRecord(connect.StructBuilder().Optional().Build(), nil)
	assert.Same(t, r, apply(t, tr, r), "tombstones pass through")

	err := applyErr(t, tr, valueRecord(nil, int32(42)))
	assert.Contains(t, err.Error(), "Only Map objects supported in absence of schema for [flattening], found: java.lang.Integer")
	err = applyErr(t, tr, valueRecord(connect.Int32Schema, int32(42)))
	assert.Contains(t, err.Error(), "Only Struct objects supported for [flattening], found: java.lang.Integer")
	withMap := connect.StructBuilder().Field("m", connect.MapOf(connect.StringSchema, connect.StringSchema)).Build()
	err = applyErr(t, tr, valueRecord(withMap, structOf(withMap, "m", map[string]any{})))
	assert.Contains(t, err.Error(), "Flatten transformation does not support MAP for record with schemas (for field m).")
	err = applyErr(t, tr, valueRecord(nil, map[string]any{"d": testTime}))
	assert.Contains(t, err.Error(), "which is not supported by Connect's data API")
	clash := connect.StructBuilder().Field("a.b", connect.Int32Schema).
		Field("a", connect.StructBuilder().Field("b", connect.Int32Schema).Build()).Build()
	err = applyErr(t, tr, valueRecord(clash, connect.NewStruct(clash)))
	assert.Contains(t, err.Error(), "field name duplication a.b")
}
