package transform

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/runtime/connect"
)

var insertProps = map[string]string{
	"topic.field":     "topic_field!",
	"partition.field": "partition_field",
	"offset.field":    "offset_field?",
	"timestamp.field": "timestamp_field?",
	"static.field":    "instance_id",
	"static.value":    "my-instance-id",
}

func TestInsertFieldWithSchema(t *testing.T) {
	schema := connect.StructBuilder().Name("name").Version(1).Doc("doc").Optional().
		Field("magic", connect.Int64Schema).
		Field("opt", connect.NewSchemaBuilder(connect.TypeInt32).Optional().Default(int32(4)).Build()).Build()
	value := structOf(schema, "magic", int64(42))
	for _, class := range []string{"InsertField$Key", "InsertField$Value"} {
		tr := newTransform(t, class, insertProps)
		var out *connect.Record
		var s *connect.Schema
		var v any
		if class == "InsertField$Key" {
			out = apply(t, tr, keyRecord(schema, value))
			s, v = out.KeySchema, out.Key
		} else {
			out = apply(t, tr, valueRecord(schema, value))
			s, v = out.ValueSchema, out.Value
		}
		assert.Equal(t, "name", s.Name)
		assert.Equal(t, 1, s.Version)
		assert.Equal(t, "doc", s.Doc)
		assert.False(t, s.Optional, "Kafka copies name, version and doc only")
		assert.Equal(t, connect.StringSchema, s.Field("topic_field").Schema, "! makes it required")
		assert.Equal(t, connect.OptionalInt32Schema, s.Field("partition_field").Schema)
		assert.Equal(t, connect.OptionalInt64Schema, s.Field("offset_field").Schema)
		assert.Equal(t, connect.TimestampName, s.Field("timestamp_field").Schema.Name)
		assert.True(t, s.Field("timestamp_field").Schema.Optional)
		assert.Equal(t, connect.OptionalStringSchema, s.Field("instance_id").Schema)

		st := v.(*connect.Struct)
		require.NoError(t, st.Validate())
		for name, want := range map[string]any{"magic": int64(42), "opt": int32(4), "topic_field": "test",
			"partition_field": int32(0), "offset_field": int64(42), "timestamp_field": testTime, "instance_id": "my-instance-id"} {
			got, err := st.Get(name)
			require.NoError(t, err)
			assert.Equal(t, want, got, name)
		}
	}
	out := apply(t, newTransform(t, "InsertField$Value", map[string]string{"topic.field": "t", "replace.null.with.default": "false"}),
		valueRecord(schema, value))
	assert.Nil(t, out.Value.(*connect.Struct).GetWithoutDefault("opt"))
}

func TestInsertFieldSchemaless(t *testing.T) {
	in := map[string]any{"magic": int64(42)}
	out := apply(t, newTransform(t, "InsertField$Value", insertProps), valueRecord(nil, in))
	assert.Equal(t, map[string]any{"magic": int64(42), "topic_field": "test", "partition_field": int32(0),
		"offset_field": int64(42), "timestamp_field": testTime.UnixMilli(), "instance_id": "my-instance-id"}, out.Value)
	assert.Len(t, in, 1, "input untouched")

	// No timestamp and no partition (a source record) insert nothing.
	src := connect.NewSourceRecord(map[string]any{"p": 1}, map[string]any{"o": 1}, "t", nil, nil, nil, map[string]any{})
	out = apply(t, newTransform(t, "InsertField$Value", map[string]string{"partition.field": "p", "timestamp.field": "ts"}), src)
	assert.Equal(t, map[string]any{}, out.Value)
}

func TestInsertFieldTombstonesAndErrors(t *testing.T) {
	tr := newTransform(t, "InsertField$Value", insertProps)
	for _, s := range []*connect.Schema{nil, connect.StructBuilder().Optional().Build()} {
		r := valueRecord(s, nil)
		assert.Same(t, r, apply(t, tr, r), "tombstone value unchanged")
	}
	keyed := sinkRecord(nil, map[string]any{}, nil, nil)
	out := apply(t, newTransform(t, "InsertField$Key", map[string]string{"topic.field": "t"}), keyed)
	assert.Equal(t, map[string]any{"t": "test"}, out.Key, "the key of a tombstone still gets fields")

	err := applyErr(t, tr, valueRecord(connect.Int32Schema, int32(1)))
	assert.Contains(t, err.Error(), "Only Struct objects supported for [field insertion], found: java.lang.Integer")
	err = applyErr(t, tr, valueRecord(nil, "x"))
	assert.Contains(t, err.Error(), "Only Map objects supported in absence of schema for [field insertion], found: java.lang.String")
	src := connect.NewSourceRecord(map[string]any{}, map[string]any{}, "t", nil, nil, nil, map[string]any{})
	err = applyErr(t, newTransform(t, "InsertField$Value", map[string]string{"offset.field": "o"}), src)
	assert.Contains(t, err.Error(), "Only SinkRecord supported for [field insertion], found: org.apache.kafka.connect.source.SourceRecord")
	clash := connect.StructBuilder().Field("t", connect.StringSchema).Build()
	err = applyErr(t, newTransform(t, "InsertField$Value", map[string]string{"topic.field": "t"}), valueRecord(clash, structOf(clash, "t", "x")))
	assert.Contains(t, err.Error(), "field name duplication t")

	assert.Contains(t, configureErr(t, "InsertField$Value", map[string]string{}).Error(), "No field insertion configured")
	assert.Contains(t, configureErr(t, "InsertField$Value", map[string]string{"static.field": "s"}).Error(),
		"Invalid value null for configuration static.value: No value specified for static field: s")
}
