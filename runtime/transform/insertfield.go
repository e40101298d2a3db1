package transform

import (
	"errors"
	"fmt"
	"maps"
	"strings"

	"github.com/sluicehq/sluice/runtime/connect"
)

// insertField is org.apache.kafka.connect.transforms.InsertField: it adds
// the record's topic, partition, offset (sink records only) and timestamp,
// and a static string, as fields. A trailing "!" makes a field required in
// the updated schema, "?" (the default) optional. Null passes through.
type insertField struct {
	side        side
	topic       *insertSpec
	partition   *insertSpec
	offset      *insertSpec
	timestamp   *insertSpec
	static      *insertSpec
	staticValue string
	replaceNull bool
	cache       schemaCache
}

type insertSpec struct {
	name     string
	optional bool
}

func parseInsertSpec(cfg connect.Config, key string) *insertSpec {
	if cfg.IsNull(key) {
		return nil
	}
	spec := cfg.String(key)
	if name, ok := strings.CutSuffix(spec, "?"); ok {
		return &insertSpec{name: name, optional: true}
	}
	if name, ok := strings.CutSuffix(spec, "!"); ok {
		return &insertSpec{name: name}
	}
	return &insertSpec{name: spec, optional: true}
}

const insertPurpose = "field insertion"

const optionalityDoc = " Suffix with <code>!</code> to make it a required field, or <code>?</code> to keep it optional (the default)."

var insertFieldConfig = connect.ConfigDef{
	{Name: "topic.field", Type: connect.ConfigString, Default: nil, Importance: connect.Medium,
		Doc: "Field name for the Kafka topic." + optionalityDoc},
	{Name: "partition.field", Type: connect.ConfigString, Default: nil, Importance: connect.Medium,
		Doc: "Field name for the Kafka partition." + optionalityDoc},
	{Name: "offset.field", Type: connect.ConfigString, Default: nil, Importance: connect.Medium,
		Doc: "Field name for the Kafka offset, for sink connectors only." + optionalityDoc},
	{Name: "timestamp.field", Type: connect.ConfigString, Default: nil, Importance: connect.Medium,
		Doc: "Field name for the record timestamp." + optionalityDoc},
	{Name: "static.field", Type: connect.ConfigString, Default: nil, Importance: connect.Medium,
		Doc: "Field name for the static value." + optionalityDoc},
	{Name: "static.value", Type: connect.ConfigString, Default: nil, Importance: connect.Medium,
		Doc: "Static field value, when static.field is set."},
	replaceNullWithDefaultKey,
}

func (t *insertField) Configure(props map[string]string) error {
	cfg, err := insertFieldConfig.Parse(props)
	if err != nil {
		return err
	}
	t.topic = parseInsertSpec(cfg, "topic.field")
	t.partition = parseInsertSpec(cfg, "partition.field")
	t.offset = parseInsertSpec(cfg, "offset.field")
	t.timestamp = parseInsertSpec(cfg, "timestamp.field")
	t.static = parseInsertSpec(cfg, "static.field")
	t.staticValue = cfg.String("static.value")
	t.replaceNull = cfg.Bool(replaceNullWithDefaultKey.Name)
	if t.topic == nil && t.partition == nil && t.offset == nil && t.timestamp == nil && t.static == nil {
		return connect.NewConfigError("", "No field insertion configured")
	}
	if t.static != nil && cfg.IsNull("static.value") {
		return connect.NewConfigError("static.value", "Invalid value null for configuration static.value: No value specified for static field: %s",
			t.static.name)
	}
	return nil
}

func (t *insertField) Apply(r *connect.Record) (*connect.Record, error) {
	v := t.side.value(r)
	if v == nil {
		return r, nil
	}
	if t.offset != nil {
		if err := requireSinkRecord(r, insertPurpose); err != nil {
			return nil, err
		}
	}
	if s := t.side.schema(r); s != nil {
		return t.applyWithSchema(r, v)
	}
	m, err := requireMap(v, insertPurpose)
	if err != nil {
		return nil, err
	}
	out := make(map[string]any, len(m)+5)
	maps.Copy(out, m)
	if t.topic != nil {
		out[t.topic.name] = r.Topic
	}
	if t.partition != nil && r.Partition != connect.AnyPartition {
		out[t.partition.name] = r.Partition
	}
	if t.offset != nil {
		out[t.offset.name] = r.Offset
	}
	if t.timestamp != nil && !r.Timestamp.IsZero() {
		out[t.timestamp.name] = r.Timestamp.UnixMilli()
	}
	if t.static != nil {
		out[t.static.name] = t.staticValue
	}
	return t.side.with(r, nil, out), nil
}

func (t *insertField) applyWithSchema(r *connect.Record, v any) (*connect.Record, error) {
	st, err := requireStruct(v, insertPurpose)
	if err != nil {
		return nil, err
	}
	updated, err := t.updatedSchema(st.Schema())
	if err != nil {
		return nil, err
	}
	out := connect.NewStruct(updated)
	for i := range st.Schema().Fields {
		f := &st.Schema().Fields[i]
		out.Set(&updated.Fields[i], fieldValue(st, f, t.replaceNull))
	}
	set := func(spec *insertSpec, val any) {
		if spec != nil {
			out.Set(updated.Field(spec.name), val)
		}
	}
	set(t.topic, r.Topic)
	if r.Partition != connect.AnyPartition {
		set(t.partition, r.Partition)
	}
	set(t.offset, r.Offset)
	if !r.Timestamp.IsZero() {
		set(t.timestamp, r.Timestamp.UTC())
	}
	set(t.static, t.staticValue)
	return t.side.with(r, updated, out), nil
}

func (t *insertField) updatedSchema(s *connect.Schema) (*connect.Schema, error) {
	if u := t.cache.get(s); u != nil {
		return u, nil
	}
	b := copySchemaBasics(s, connect.TypeStruct)
	names := make(map[string]bool, len(s.Fields)+5)
	for _, f := range s.Fields {
		b.Field(f.Name, f.Schema)
		names[f.Name] = true
	}
	add := func(spec *insertSpec, optional, required *connect.Schema) error {
		if spec == nil {
			return nil
		}
		if names[spec.name] {
			return fmt.Errorf("%w: Cannot create field because of field name duplication %s", connect.ErrData, spec.name)
		}
		names[spec.name] = true
		if spec.optional {
			b.Field(spec.name, optional)
		} else {
			b.Field(spec.name, required)
		}
		return nil
	}
	err := errors.Join(
		add(t.topic, connect.OptionalStringSchema, connect.StringSchema),
		add(t.partition, connect.OptionalInt32Schema, connect.Int32Schema),
		add(t.offset, connect.OptionalInt64Schema, connect.Int64Schema),
		add(t.timestamp, optionalTimestampSchema, requiredTimestampSchema),
		add(t.static, connect.OptionalStringSchema, connect.StringSchema),
	)
	if err != nil {
		return nil, err
	}
	u := b.Build()
	t.cache.put(s, u)
	return u, nil
}
