package transform

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/sluicehq/sluice/runtime/connect"
)

func TestHeaderFrom(t *testing.T) {
	schema := connect.StructBuilder().Name("s").Field("a", connect.StringSchema).
		Field("b", connect.NewSchemaBuilder(connect.TypeInt32).Optional().Default(int32(3)).Build()).
		Field("c", connect.Int64Schema).Build()
	value := structOf(schema, "a", "x", "c", int64(1))
	existing := connect.Headers{{Key: "h0", Schema: connect.StringSchema, Value: "old"}}

	for _, tc := range []struct {
		name       string
		props      map[string]string
		wantFields []string
		headers    connect.Headers
	}{
		{"copy", map[string]string{"fields": "a,b", "headers": "ha,hb", "operation": "copy"}, []string{"a", "b", "c"},
			connect.Headers{{Key: "ha", Schema: connect.StringSchema, Value: "x"}, {Key: "hb", Schema: schema.Field("b").Schema, Value: int32(3)}}},
		{"move", map[string]string{"fields": "a,b", "headers": "ha,hb", "operation": "move"}, []string{"c"},
			connect.Headers{{Key: "ha", Schema: connect.StringSchema, Value: "x"}, {Key: "hb", Schema: schema.Field("b").Schema, Value: int32(3)}}},
		{"move keeping null", map[string]string{"fields": "b", "headers": "hb", "operation": "move", "replace.null.with.default": "false"},
			[]string{"a", "c"}, connect.Headers{{Key: "hb", Schema: schema.Field("b").Schema, Value: nil}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, class := range []string{"HeaderFrom$Key", "HeaderFrom$Value"} {
				var r *connect.Record
				if class == "HeaderFrom$Key" {
					r = keyRecord(schema, value)
				} else {
					r = valueRecord(schema, value)
				}
				r.Headers = existing
				out := apply(t, newTransform(t, class, tc.props), r)
				s, v := out.ValueSchema, out.Value
				if class == "HeaderFrom$Key" {
					s, v = out.KeySchema, out.Key
				}
				var names []string
				for _, f := range s.Fields {
					names = append(names, f.Name)
				}
				assert.Equal(t, tc.wantFields, names)
				assert.Equal(t, "s", s.Name)
				assert.NoError(t, v.(*connect.Struct).Validate())
				assert.Equal(t, append(existing.Clone(), tc.headers...), out.Headers)
				assert.Len(t, r.Headers, 1, "input headers untouched")
			}
		})
	}
}

func TestHeaderFromSchemaless(t *testing.T) {
	in := map[string]any{"a": "x", "b": int64(2)}
	out := apply(t, newTransform(t, "HeaderFrom$Value", map[string]string{"fields": "a,missing", "headers": "ha,hm", "operation": "move"}),
		valueRecord(nil, in))
	assert.Equal(t, map[string]any{"b": int64(2)}, out.Value)
	assert.Equal(t, connect.Headers{{Key: "ha", Value: "x"}, {Key: "hm"}}, out.Headers)
	assert.Len(t, in, 2)

	out = apply(t, newTransform(t, "HeaderFrom$Key", map[string]string{"fields": "a", "headers": "ha", "operation": "copy"}),
		keyRecord(nil, in))
	assert.Equal(t, in, out.Key)
}

func TestHeaderFromErrors(t *testing.T) {
	for _, tc := range []struct {
		props map[string]string
		msg   string
	}{
		{map[string]string{"fields": "a,b", "headers": "h", "operation": "copy"}, "'fields' config must have the same number of elements as 'headers' config."},
		{map[string]string{"fields": "", "headers": "h", "operation": "copy"}, "Invalid value  for configuration fields: Empty list"},
		{map[string]string{"fields": "a", "headers": "h", "operation": "drop"}, "Invalid value drop for configuration operation: String must be one of: move, copy"},
		{map[string]string{"fields": "a", "headers": "h"}, `Missing required configuration "operation"`},
	} {
		assert.Contains(t, configureErr(t, "HeaderFrom$Value", tc.props).Error(), tc.msg)
	}
	tr := newTransform(t, "HeaderFrom$Value", map[string]string{"fields": "a", "headers": "h", "operation": "move"})
	err := applyErr(t, tr, valueRecord(nil, "str"))
	assert.Contains(t, err.Error(), "Only Map objects supported in absence of schema for [header move], found: java.lang.String")
	s := connect.StructBuilder().Field("b", connect.StringSchema).Build()
	err = applyErr(t, tr, valueRecord(s, structOf(s, "b", "x")))
	assert.ErrorIs(t, err, connect.ErrData)
	r := valueRecord(nil, nil)
	assert.Same(t, r, apply(t, tr, r), "tombstones pass through")
}
