package transform

import (
	"strings"

	"github.com/sluicehq/sluice/runtime/connect"
)

// fieldRef is one add.fields or add.headers entry: an envelope field and
// the name it is added under.
type fieldRef struct {
	parent string // the struct holding the field; "" for a top-level one
	name   string
	out    string
}

// parseFieldRefs reads [struct.]field[:new_name] entries as Debezium's
// FieldReference does: an unqualified name is looked up in the struct
// that usually holds it.
func parseFieldRefs(prefix string, entries []string) []fieldRef {
	refs := make([]fieldRef, 0, len(entries))
	for _, e := range entries {
		if e == "" {
			continue
		}
		field, rename, renamed := strings.Cut(e, ":")
		path := javaSplit(field, ".")
		var ref fieldRef
		if len(path) < 2 {
			ref.name = strings.Join(path, "")
			ref.parent, ref.out = hostStruct(ref.name), prefix+ref.name
		} else {
			ref.parent, ref.name = path[0], path[1]
			ref.out = prefix + ref.parent + "_" + ref.name
		}
		if rename = strings.TrimRight(rename, ":"); renamed && rename != "" {
			ref.out = prefix + rename
		}
		refs = append(refs, ref)
	}
	return refs
}

// hostStruct is the envelope struct holding an unqualified field.
func hostStruct(name string) string {
	switch name {
	case "op", "ts_ms":
		return ""
	case "id", "total_order", "data_collection_order":
		return "transaction"
	case "updateDescription": // MongoDB events
		return "updateDescription"
	}
	return "source"
}

// fieldIn returns the referenced field of an envelope schema: in its
// struct, else at the top level (where an earlier transform may have put
// it), else nil.
func (f fieldRef) fieldIn(env *connect.Schema) *connect.Field {
	if f.parent != "" {
		if p := env.Field(f.parent); p != nil {
			if x := p.Schema.Field(f.name); x != nil {
				return x
			}
		}
	}
	return env.Field(f.name)
}

// valueIn returns the referenced value of an envelope, defaults not
// applied; nil when its struct is null.
func (f fieldRef) valueIn(env *connect.Struct) any {
	if f.parent == "" {
		return env.GetWithoutDefault(f.name)
	}
	if env.Schema().Field(f.parent) == nil {
		return env.GetWithoutDefault(f.name)
	}
	p, ok := env.GetWithoutDefault(f.parent).(*connect.Struct)
	if !ok {
		return nil
	}
	if p.Schema().Field(f.name) != nil {
		return p.GetWithoutDefault(f.name)
	}
	return env.GetWithoutDefault(f.name)
}
