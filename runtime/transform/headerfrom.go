package transform

import (
	"fmt"
	"maps"

	"github.com/sluicehq/sluice/runtime/connect"
)

// headerFrom is org.apache.kafka.connect.transforms.HeaderFrom: it copies
// or moves top-level fields of the key or value into headers, the i-th
// field to the i-th header name.
type headerFrom struct {
	side        side
	fields      []string
	headers     []string
	move        bool
	operation   string
	replaceNull bool
	cache       schemaCache
}

var headerFromConfig = connect.ConfigDef{
	{Name: "fields", Type: connect.ConfigList, Default: connect.NoDefault, Validator: nonEmptyList,
		Importance: connect.High, Doc: "Fields whose values are copied or moved to headers."},
	{Name: "headers", Type: connect.ConfigList, Default: connect.NoDefault, Validator: nonEmptyList,
		Importance: connect.High, Doc: "Header names, in the order of the fields they receive."},
	{Name: "operation", Type: connect.ConfigString, Default: connect.NoDefault, Validator: validString("move", "copy"),
		Importance: connect.High, Doc: "move to remove the fields from the key or value, copy to keep them."},
	replaceNullWithDefaultKey,
}

func (t *headerFrom) Configure(props map[string]string) error {
	cfg, err := headerFromConfig.Parse(props)
	if err != nil {
		return err
	}
	t.fields, t.headers = cfg.List("fields"), cfg.List("headers")
	if len(t.fields) != len(t.headers) {
		return connect.NewConfigError("headers", "'fields' config must have the same number of elements as 'headers' config.")
	}
	t.operation = cfg.String("operation")
	t.move = t.operation == "move"
	t.replaceNull = cfg.Bool(replaceNullWithDefaultKey.Name)
	return nil
}

func (t *headerFrom) Apply(r *connect.Record) (*connect.Record, error) {
	v := t.side.value(r)
	if v == nil {
		return r, nil
	}
	purpose := "header " + t.operation
	headers := make(connect.Headers, len(r.Headers), len(r.Headers)+len(t.fields))
	copy(headers, r.Headers)
	s := t.side.schema(r)
	if s == nil {
		m, err := requireMap(v, purpose)
		if err != nil {
			return nil, err
		}
		out := m
		if t.move {
			out = maps.Clone(m)
		}
		for i, f := range t.fields {
			if t.move {
				delete(out, f)
			}
			headers = append(headers, connect.Header{Key: t.headers[i], Value: m[f]})
		}
		c := t.side.with(r, nil, out)
		c.Headers = headers
		return c, nil
	}
	st, err := requireStruct(v, purpose)
	if err != nil {
		return nil, err
	}
	for i, name := range t.fields {
		f := s.Field(name)
		if f == nil {
			return nil, fmt.Errorf("%w: %s is not a valid field name", connect.ErrData, name)
		}
		headers = append(headers, connect.Header{Key: t.headers[i], Schema: f.Schema, Value: fieldValue(st, f, t.replaceNull)})
	}
	updatedSchema, updated := s, st
	if t.move {
		updatedSchema = t.moveSchema(s)
		updated = connect.NewStruct(updatedSchema)
		for i := range updatedSchema.Fields {
			uf := &updatedSchema.Fields[i]
			updated.Set(uf, fieldValue(st, st.Schema().Field(uf.Name), t.replaceNull))
		}
	}
	c := t.side.with(r, updatedSchema, updated)
	c.Headers = headers
	return c, nil
}

func (t *headerFrom) moveSchema(s *connect.Schema) *connect.Schema {
	if u := t.cache.get(s); u != nil {
		return u
	}
	moved := setOf(t.fields)
	b := copySchemaBasics(s, connect.TypeStruct)
	for _, f := range s.Fields {
		if !moved[f.Name] {
			b.Field(f.Name, f.Schema)
		}
	}
	u := b.Build()
	t.cache.put(s, u)
	return u
}
