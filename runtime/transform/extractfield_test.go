package transform

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/runtime/connect"
)

func TestFieldPathV2(t *testing.T) {
	for path, want := range map[string][]string{
		"foo":             {"foo"},
		"foo.bar":         {"foo", "bar"},
		"foo.bar.baz":     {"foo", "bar", "baz"},
		"`foo.bar`":       {"foo.bar"},
		"`foo.bar`.baz":   {"foo.bar", "baz"},
		"foo.`bar.baz`":   {"foo", "bar.baz"},
		"foo`.bar":        {"foo`", "bar"},
		"`foo\\`.bar`":    {"foo`.bar"},
		"`foo`bar`.baz":   {"foo`bar", "baz"},
		"foo.":            {"foo", ""},
		".foo":            {"", "foo"},
		"foo..bar":        {"foo", "", "bar"},
		"`foo`.":          {"foo", ""},
		"":                {""},
		"`a.b`.`c.d`.e.f": {"a.b", "c.d", "e", "f"},
	} {
		p, err := newFieldPath(path, "v2")
		require.NoError(t, err, path)
		assert.Equal(t, want, p.steps, path)
	}
	p, err := newFieldPath("foo.bar", "V1")
	require.NoError(t, err)
	assert.Equal(t, []string{"foo.bar"}, p.steps, "V1 takes the name as written")

	for path, pos := range map[string]string{"`foo.bar": "0", "foo.`bar": "4", "`foo\\`": "0"} {
		_, err := newFieldPath(path, syntaxV2)
		require.ErrorIs(t, err, connect.ErrConfig, path)
		assert.Contains(t, err.Error(), "Incomplete backtick pair in path: ["+path+"], consider adding a backslash before backtick at position "+pos+" to escape it")
	}
}

var (
	extractInner = connect.StructBuilder().Field("magic", connect.Int32Schema).
			Field("opt", connect.NewSchemaBuilder(connect.TypeInt32).Optional().Default(int32(9)).Build()).Build()
	extractOuter = connect.StructBuilder().Field("magic", connect.Int64Schema).
			Field("inner", extractInner).Field("dotted.name", connect.StringSchema).Build()
)

func TestExtractFieldWithSchema(t *testing.T) {
	value := structOf(extractOuter, "magic", int64(42), "inner", structOf(extractInner, "magic", int32(7)), "dotted.name", "d")
	for _, tc := range []struct {
		name   string
		props  map[string]string
		schema *connect.Schema
		want   any
	}{
		{"top level", map[string]string{"field": "magic"}, connect.Int64Schema, int64(42)},
		{"V1 dotted name", map[string]string{"field": "dotted.name"}, connect.StringSchema, "d"},
		{"V2 nested", map[string]string{"field": "inner.magic", "field.syntax.version": "V2"}, connect.Int32Schema, int32(7)},
		{"V2 case insensitive", map[string]string{"field": "inner.magic", "field.syntax.version": "v2"}, connect.Int32Schema, int32(7)},
		{"V2 backticks", map[string]string{"field": "`dotted.name`", "field.syntax.version": "V2"}, connect.StringSchema, "d"},
		{"struct", map[string]string{"field": "inner"}, extractInner, structOf(extractInner, "magic", int32(7))},
		{"default applied", map[string]string{"field": "inner.opt", "field.syntax.version": "V2"}, extractInner.Field("opt").Schema, int32(9)},
		{"default kept null", map[string]string{"field": "inner.opt", "field.syntax.version": "V2", "replace.null.with.default": "false"},
			extractInner.Field("opt").Schema, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := apply(t, newTransform(t, "ExtractField$Value", tc.props), valueRecord(extractOuter, value))
			assert.True(t, tc.schema.Equal(out.ValueSchema), "schema %v", out.ValueSchema)
			requireStructEqual(t, tc.want, out.Value)

			out = apply(t, newTransform(t, "ExtractField$Key", tc.props), keyRecord(extractOuter, value))
			requireStructEqual(t, tc.want, out.Key)
		})
	}
}

func TestExtractFieldSchemaless(t *testing.T) {
	value := map[string]any{"magic": int64(42), "inner": map[string]any{"magic": int64(7)}, "a.b": "dotted"}
	for _, tc := range []struct {
		props map[string]string
		want  any
	}{
		{map[string]string{"field": "magic"}, int64(42)},
		{map[string]string{"field": "a.b"}, "dotted"},
		{map[string]string{"field": "missing"}, nil},
		{map[string]string{"field": "inner.magic", "field.syntax.version": "V2"}, int64(7)},
		{map[string]string{"field": "missing.magic", "field.syntax.version": "V2"}, nil},
		{map[string]string{"field": "inner.magic"}, nil},
	} {
		out := apply(t, newTransform(t, "ExtractField$Key", tc.props), keyRecord(nil, value))
		assert.Equal(t, tc.want, out.Key, tc.props["field"])
		assert.Nil(t, out.KeySchema)
	}
}

func TestExtractFieldNullAndErrors(t *testing.T) {
	tr := newTransform(t, "ExtractField$Value", map[string]string{"field": "magic"})
	out := apply(t, tr, valueRecord(nil, nil))
	assert.Nil(t, out.Value)
	out = apply(t, tr, valueRecord(extractOuter, nil))
	assert.Nil(t, out.Value)
	assert.Equal(t, connect.Int64Schema, out.ValueSchema, "null with schema gets the field schema")

	err := applyErr(t, newTransform(t, "ExtractField$Value", map[string]string{"field": "nope"}), valueRecord(extractOuter, connect.NewStruct(extractOuter)))
	assert.Contains(t, err.Error(), "Unknown field: nope")
	err = applyErr(t, tr, valueRecord(nil, "text"))
	assert.Contains(t, err.Error(), "Only Map objects supported in absence of schema for [field extraction], found: java.lang.String")
	err = applyErr(t, tr, valueRecord(connect.StringSchema, "text"))
	assert.Contains(t, err.Error(), "Only Struct objects supported for [field extraction], found: java.lang.String")
	v2 := newTransform(t, "ExtractField$Value", map[string]string{"field": "magic.x", "field.syntax.version": "V2"})
	err = applyErr(t, v2, valueRecord(nil, map[string]any{"magic": "s"}))
	assert.Contains(t, err.Error(), "[nested field access]")

	e := configureErr(t, "ExtractField$Value", map[string]string{"field": "a", "field.syntax.version": "V3"})
	assert.Contains(t, e.Error(), "Invalid value V3 for configuration field.syntax.version: String must be one of (case insensitive): V1, V2")
	e = configureErr(t, "ExtractField$Value", map[string]string{"field": "`a", "field.syntax.version": "V2"})
	assert.Contains(t, e.Error(), "Incomplete backtick pair")
	configureErr(t, "ExtractField$Value", map[string]string{})
}
