package transform

import (
	"fmt"

	"github.com/sluicehq/sluice/runtime/connect"
)

// flatten is org.apache.kafka.connect.transforms.Flatten: nested structs
// (or maps, without a schema) become top-level fields named by joining the
// path with the delimiter. A flattened field is optional when any ancestor
// is, and inherits a default from its ancestors. Arrays are kept as they
// are; maps under a schema are refused, as in Kafka.
type flatten struct {
	side      side
	delimiter string
	cache     schemaCache
}

const flattenPurpose = "flattening"

var flattenConfig = connect.ConfigDef{
	{Name: "delimiter", Type: connect.ConfigString, Default: ".", Importance: connect.Medium,
		Doc: "Delimiter inserted between the field names of each level to name the flattened fields."},
}

func (t *flatten) Configure(props map[string]string) error {
	cfg, err := flattenConfig.Parse(props)
	if err != nil {
		return err
	}
	t.delimiter = cfg.String("delimiter")
	return nil
}

func (t *flatten) name(prefix, field string) string {
	if prefix == "" {
		return field
	}
	return prefix + t.delimiter + field
}

func (t *flatten) Apply(r *connect.Record) (*connect.Record, error) {
	v := t.side.value(r)
	if v == nil {
		return r, nil
	}
	if t.side.schema(r) == nil {
		m, err := requireMap(v, flattenPurpose)
		if err != nil {
			return nil, err
		}
		out := make(map[string]any, len(m))
		if err := t.flattenMap(m, "", out); err != nil {
			return nil, err
		}
		return t.side.with(r, nil, out), nil
	}
	st, err := requireStruct(v, flattenPurpose)
	if err != nil {
		return nil, err
	}
	updated := t.cache.get(st.Schema())
	if updated == nil {
		b := copySchemaBasics(st.Schema(), connect.TypeStruct)
		def, _ := st.Schema().Default.(*connect.Struct)
		if err := t.flattenSchema(st.Schema(), "", b, st.Schema().Optional, def, map[string]bool{}); err != nil {
			return nil, err
		}
		updated = b.Build()
		t.cache.put(st.Schema(), updated)
	}
	out := connect.NewStruct(updated)
	t.flattenStruct(st, "", out)
	return t.side.with(r, updated, out), nil
}

func (t *flatten) flattenMap(m map[string]any, prefix string, out map[string]any) error {
	for k, v := range m {
		name := t.name(prefix, k)
		if v == nil {
			out[name] = nil
			continue
		}
		switch typ := inferType(v); typ {
		case "":
			return fmt.Errorf("%w: Flatten transformation was passed a value of type %s which is not supported by Connect's data API",
				connect.ErrData, javaClass(v))
		case connect.TypeMap:
			sub, err := requireMap(v, flattenPurpose)
			if err != nil {
				return err
			}
			if err := t.flattenMap(sub, name, out); err != nil {
				return err
			}
		case connect.TypeStruct:
			return fmt.Errorf("%w: Flatten transformation does not support %s for record without schemas (for field %s).",
				connect.ErrData, javaClass(v), name)
		default:
			out[name] = v
		}
	}
	return nil
}

func (t *flatten) flattenSchema(s *connect.Schema, prefix string, b *connect.SchemaBuilder, optional bool,
	parentDefault *connect.Struct, seen map[string]bool) error {
	for i := range s.Fields {
		f := &s.Fields[i]
		name := t.name(prefix, f.Name)
		fieldOptional := optional || f.Schema.Optional
		def := f.Schema.Default
		if def == nil && parentDefault != nil {
			def = parentDefault.GetField(f)
		}
		switch {
		case f.Schema.Type == connect.TypeStruct:
			sub, _ := def.(*connect.Struct)
			if err := t.flattenSchema(f.Schema, name, b, fieldOptional, sub, seen); err != nil {
				return err
			}
		case f.Schema.Type == connect.TypeMap:
			return fmt.Errorf("%w: Flatten transformation does not support %s for record with schemas (for field %s).",
				connect.ErrData, f.Schema.Type, name)
		case seen[name]:
			return fmt.Errorf("%w: Cannot create field because of field name duplication %s", connect.ErrData, name)
		default:
			seen[name] = true
			c := *f.Schema
			c.Optional = c.Optional || fieldOptional
			if def != nil {
				c.Default = def
			}
			b.Field(name, connect.Seal(&c))
		}
	}
	return nil
}

func (t *flatten) flattenStruct(st *connect.Struct, prefix string, out *connect.Struct) {
	if st == nil {
		return
	}
	for i := range st.Schema().Fields {
		f := &st.Schema().Fields[i]
		name := t.name(prefix, f.Name)
		if f.Schema.Type == connect.TypeStruct {
			sub, _ := st.GetField(f).(*connect.Struct)
			t.flattenStruct(sub, name, out)
			continue
		}
		out.Set(out.Schema().Field(name), st.GetField(f))
	}
}
