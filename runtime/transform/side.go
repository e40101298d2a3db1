package transform

import "github.com/sluicehq/sluice/runtime/connect"

// side selects the half of a record a $Key or $Value transform operates on.
type side bool

const (
	keySide   side = true
	valueSide side = false
)

// schema returns the operating schema of r.
func (s side) schema(r *connect.Record) *connect.Schema {
	if s == keySide {
		return r.KeySchema
	}
	return r.ValueSchema
}

// value returns the operating value of r.
func (s side) value(r *connect.Record) any {
	if s == keySide {
		return r.Key
	}
	return r.Value
}

// with returns a copy of r whose operating schema and value are replaced
// (Kafka's newRecord in each $Key/$Value subclass).
func (s side) with(r *connect.Record, schema *connect.Schema, value any) *connect.Record {
	c := r.Copy()
	if s == keySide {
		c.KeySchema, c.Key = schema, value
	} else {
		c.ValueSchema, c.Value = schema, value
	}
	return c
}

// className returns the Kafka class name of a transform with both variants.
func (s side) className(base string) string {
	if s == keySide {
		return base + "$Key"
	}
	return base + "$Value"
}

// schemaCache maps an input schema to the updated schema a transform built
// for it. It stays small, like Kafka's LRUCache(16): when it fills up it
// starts over, which only costs a rebuild.
type schemaCache struct {
	m map[*connect.Schema]*connect.Schema
}

const schemaCacheSize = 16

func (c *schemaCache) get(s *connect.Schema) *connect.Schema { return c.m[s] }

func (c *schemaCache) put(s, updated *connect.Schema) {
	if c.m == nil || len(c.m) >= schemaCacheSize {
		c.m = make(map[*connect.Schema]*connect.Schema, schemaCacheSize)
	}
	c.m[s] = updated
}

// copySchemaBasics starts a builder of type t carrying the name, version,
// doc and parameters of source (Kafka's SchemaUtil.copySchemaBasics).
func copySchemaBasics(source *connect.Schema, t connect.Type) *connect.SchemaBuilder {
	b := connect.NewSchemaBuilder(t).Name(source.Name).Version(source.Version).Doc(source.Doc)
	for k, v := range source.Parameters {
		b.Param(k, v)
	}
	return b
}

// fieldValue reads a struct field with or without its schema default, as
// the replace.null.with.default option of KIP-1040 selects.
func fieldValue(st *connect.Struct, f *connect.Field, withDefault bool) any {
	if withDefault {
		return st.GetField(f)
	}
	return st.GetWithoutDefault(f.Name)
}
