package transform

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/runtime/connect"
)

func TestReplaceFieldSchemaless(t *testing.T) {
	in := map[string]any{"dont": "whatever", "abc": int64(42), "foo": true, "etc": "etc"}
	for _, tc := range []struct {
		props map[string]string
		want  map[string]any
	}{
		{map[string]string{"exclude": "dont", "renames": "abc:xyz,foo:bar"}, map[string]any{"xyz": int64(42), "bar": true, "etc": "etc"}},
		{map[string]string{"include": "abc,foo"}, map[string]any{"abc": int64(42), "foo": true}},
		{map[string]string{"include": "abc,foo", "exclude": "foo"}, map[string]any{"abc": int64(42)}},
		{map[string]string{"whitelist": "abc"}, map[string]any{"abc": int64(42)}},
		{map[string]string{"blacklist": "abc,foo,etc"}, map[string]any{"dont": "whatever"}},
		{map[string]string{"include": "etc", "whitelist": "abc"}, map[string]any{"etc": "etc"}},
	} {
		out := apply(t, newTransform(t, "ReplaceField$Value", tc.props), valueRecord(nil, in))
		assert.Equal(t, tc.want, out.Value, "%v", tc.props)
	}
	assert.Len(t, in, 4)
}

func TestReplaceFieldWithSchema(t *testing.T) {
	schema := connect.StructBuilder().Name("n").Field("dont", connect.StringSchema).Field("abc", connect.Int32Schema).
		Field("foo", connect.BooleanSchema).
		Field("etc", connect.NewSchemaBuilder(connect.TypeString).Optional().Default("d").Build()).Build()
	value := structOf(schema, "dont", "whatever", "abc", int32(42), "foo", true)
	for _, class := range []string{"ReplaceField$Key", "ReplaceField$Value"} {
		tr := newTransform(t, class, map[string]string{"exclude": "dont", "renames": "abc:xyz,foo:bar"})
		var s *connect.Schema
		var v any
		if class == "ReplaceField$Key" {
			out := apply(t, tr, keyRecord(schema, value))
			s, v = out.KeySchema, out.Key
		} else {
			out := apply(t, tr, valueRecord(schema, value))
			s, v = out.ValueSchema, out.Value
		}
		require.Len(t, s.Fields, 3)
		assert.Equal(t, "n", s.Name)
		assert.Equal(t, []string{"xyz", "bar", "etc"}, []string{s.Fields[0].Name, s.Fields[1].Name, s.Fields[2].Name})
		st := v.(*connect.Struct)
		for name, want := range map[string]any{"xyz": int32(42), "bar": true, "etc": "d"} {
			got, _ := st.Get(name)
			assert.Equal(t, want, got, name)
		}
	}
	out := apply(t, newTransform(t, "ReplaceField$Value", map[string]string{"include": "etc", "replace.null.with.default": "false"}),
		valueRecord(schema, value))
	assert.Nil(t, out.Value.(*connect.Struct).GetWithoutDefault("etc"))

	err := applyErr(t, newTransform(t, "ReplaceField$Value", map[string]string{"renames": "abc:foo"}), valueRecord(schema, value))
	assert.Contains(t, err.Error(), "field name duplication foo")
}

func TestReplaceFieldErrors(t *testing.T) {
	for _, renames := range []string{"a", "a:b:c", "a:"} {
		assert.Contains(t, configureErr(t, "ReplaceField$Value", map[string]string{"renames": renames}).Error(),
			"Invalid rename mapping: "+renames)
	}
	tr := newTransform(t, "ReplaceField$Value", map[string]string{"exclude": "a"})
	r := valueRecord(nil, nil)
	assert.Same(t, r, apply(t, tr, r))
	assert.Contains(t, applyErr(t, tr, valueRecord(connect.StringSchema, "s")).Error(),
		"Only Struct objects supported for [field replacement], found: java.lang.String")
}

func TestSetSchemaMetadata(t *testing.T) {
	schema := connect.StructBuilder().Name("old").Version(1).Doc("doc").
		Field("f", connect.NewSchemaBuilder(connect.TypeInt32).Optional().Default(int32(3)).Build()).Build()
	value := connect.NewStruct(schema)
	for _, tc := range []struct {
		props   map[string]string
		name    string
		version int
		f       any
	}{
		{map[string]string{"schema.name": "foo"}, "foo", 1, int32(3)},
		{map[string]string{"schema.version": "42"}, "old", 42, int32(3)},
		{map[string]string{"schema.name": "foo", "schema.version": "42", "replace.null.with.default": "false"}, "foo", 42, nil},
	} {
		for _, class := range []string{"SetSchemaMetadata$Key", "SetSchemaMetadata$Value"} {
			var s *connect.Schema
			var v any
			if class == "SetSchemaMetadata$Key" {
				out := apply(t, newTransform(t, class, tc.props), keyRecord(schema, value))
				s, v = out.KeySchema, out.Key
			} else {
				out := apply(t, newTransform(t, class, tc.props), valueRecord(schema, value))
				s, v = out.ValueSchema, out.Value
			}
			assert.Equal(t, tc.name, s.Name)
			assert.Equal(t, tc.version, s.Version)
			assert.Equal(t, "doc", s.Doc)
			st := v.(*connect.Struct)
			assert.Same(t, s, st.Schema(), "the struct refers to the renamed schema")
			assert.NoError(t, st.Validate())
			assert.Equal(t, tc.f, st.GetWithoutDefault("f"))
		}
	}
	assert.Equal(t, "old", schema.Name)

	out := apply(t, newTransform(t, "SetSchemaMetadata$Value", map[string]string{"schema.name": "n"}), valueRecord(connect.Int32Schema, int32(1)))
	assert.Equal(t, "n", out.ValueSchema.Name)
	assert.Equal(t, int32(1), out.Value)
	assert.Empty(t, connect.Int32Schema.Name)

	err := applyErr(t, newTransform(t, "SetSchemaMetadata$Value", map[string]string{"schema.name": "n"}), valueRecord(nil, map[string]any{}))
	assert.Contains(t, err.Error(), "Schema required for [updating schema metadata]")
	assert.Contains(t, configureErr(t, "SetSchemaMetadata$Value", nil).Error(), "Neither schema name nor version configured")
	assert.Contains(t, configureErr(t, "SetSchemaMetadata$Value", map[string]string{"schema.version": "x"}).Error(),
		"Invalid value x for configuration schema.version: Not a number of type INT")
}

func TestValueToKey(t *testing.T) {
	schema := connect.StructBuilder().Field("a", connect.Int32Schema).Field("b", connect.Int32Schema).
		Field("c", connect.NewSchemaBuilder(connect.TypeInt32).Optional().Default(int32(5)).Build()).Build()
	value := structOf(schema, "a", int32(1), "b", int32(2))
	tr := newTransform(t, "ValueToKey", map[string]string{"fields": "a,c"})
	out := apply(t, tr, valueRecord(schema, value))
	want := connect.StructBuilder().Field("a", connect.Int32Schema).Field("c", schema.Field("c").Schema).Build()
	assert.True(t, want.Equal(out.KeySchema))
	requireStructEqual(t, structOf(want, "a", int32(1), "c", int32(5)), out.Key)
	assert.Same(t, value, out.Value)

	out = apply(t, newTransform(t, "ValueToKey", map[string]string{"fields": "c", "replace.null.with.default": "false"}), valueRecord(schema, value))
	assert.Nil(t, out.Key.(*connect.Struct).GetWithoutDefault("c"))

	out = apply(t, newTransform(t, "ValueToKey", map[string]string{"fields": "a,b,x"}), valueRecord(nil, map[string]any{"a": 1, "b": 2, "c": 3}))
	assert.Equal(t, map[string]any{"a": 1, "b": 2, "x": nil}, out.Key)
	assert.Nil(t, out.KeySchema)

	err := applyErr(t, newTransform(t, "ValueToKey", map[string]string{"fields": "not_exist"}), valueRecord(schema, value))
	assert.Contains(t, err.Error(), "Field does not exist: not_exist")
	err = applyErr(t, tr, valueRecord(nil, nil))
	assert.Contains(t, err.Error(), "Only Map objects supported in absence of schema for [copying fields from value to key], found: null")
	assert.Contains(t, configureErr(t, "ValueToKey", map[string]string{"fields": ""}).Error(), "Empty list")
}
