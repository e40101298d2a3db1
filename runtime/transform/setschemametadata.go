package transform

import (
	"github.com/sluicehq/sluice/runtime/connect"
)

// setSchemaMetadata is org.apache.kafka.connect.transforms.SetSchemaMetadata:
// it sets the name and/or version of the key or value schema, rebuilding a
// Struct so it refers to the renamed schema.
type setSchemaMetadata struct {
	side        side
	name        *string
	version     *int
	replaceNull bool
	cache       schemaCache
}

var setSchemaMetadataConfig = connect.ConfigDef{
	{Name: "schema.name", Type: connect.ConfigString, Default: nil, Importance: connect.High, Doc: "Schema name to set."},
	{Name: "schema.version", Type: connect.ConfigInt, Default: nil, Importance: connect.High, Doc: "Schema version to set."},
	replaceNullWithDefaultKey,
}

func (t *setSchemaMetadata) Configure(props map[string]string) error {
	cfg, err := setSchemaMetadataConfig.Parse(props)
	if err != nil {
		return err
	}
	t.name, t.version = nil, nil
	if !cfg.IsNull("schema.name") {
		n := cfg.String("schema.name")
		t.name = &n
	}
	if !cfg.IsNull("schema.version") {
		v := int(cfg.Int("schema.version"))
		t.version = &v
	}
	if t.name == nil && t.version == nil {
		return connect.NewConfigError("", "Neither schema name nor version configured")
	}
	t.replaceNull = cfg.Bool(replaceNullWithDefaultKey.Name)
	return nil
}

func (t *setSchemaMetadata) Apply(r *connect.Record) (*connect.Record, error) {
	s := t.side.schema(r)
	if err := requireSchema(s, "updating schema metadata"); err != nil {
		return nil, err
	}
	updated := t.cache.get(s)
	if updated == nil {
		c := *s
		if t.name != nil {
			c.Name = *t.name
		}
		if t.version != nil {
			c.Version = *t.version
		}
		updated = connect.Seal(&c)
		t.cache.put(s, updated)
	}
	v := t.side.value(r)
	if st, ok := v.(*connect.Struct); ok && st != nil {
		out := connect.NewStruct(updated)
		for i := range updated.Fields {
			out.Set(&updated.Fields[i], fieldValue(st, &st.Schema().Fields[i], t.replaceNull))
		}
		v = out
	}
	return t.side.with(r, updated, v), nil
}
