package schemaconv

import (
	"sync"

	"github.com/hamba/avro/v2"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/sluicehq/sluice/runtime/connect"
)

// inlineTagsProp is the field property (Avro, JSON Schema) that tags a
// field inline, as Confluent's schemas do beside metadata.tags.
const inlineTagsProp = "confluent:tags"

// tagNode is the inline tags of a record's fields, by field name, as a
// codec's parsed schema declares them; child is the record a field holds
// (through arrays, maps and nullable unions), nil for none.
type tagNode struct {
	fields map[string]*tagField
}

type tagField struct {
	tags  []string
	child *tagNode
}

// inlineTags gives CEL_FIELD rules the inline tags of a codec's schema
// (rules.RecordInfo.FieldTags). A nil *inlineTags is a schema with none.
type inlineTags struct {
	root  func(*connect.Schema) *tagNode // the record a Connect schema is written as or was read from
	funcs sync.Map                       // *connect.Schema → func(*connect.Schema, string) []string
}

// newInlineTags returns nil when none of roots tags a field.
func newInlineTags(root func(*connect.Schema) *tagNode, roots ...*tagNode) *inlineTags {
	seen := map[*tagNode]bool{}
	for _, n := range roots {
		if n.tagsAny(seen) {
			return &inlineTags{root: root}
		}
	}
	return nil
}

func (n *tagNode) tagsAny(seen map[*tagNode]bool) bool {
	if n == nil || seen[n] {
		return false
	}
	seen[n] = true
	for _, f := range n.fields {
		if len(f.tags) > 0 || f.child.tagsAny(seen) {
			return true
		}
	}
	return false
}

// ruleFieldTags returns the inline tags of each field of each struct
// schema within s, matching s's structs to the schema's records by field
// name, or nil when there are none. Cached per schema pointer.
func (t *inlineTags) ruleFieldTags(s *connect.Schema) func(*connect.Schema, string) []string {
	if t == nil || s == nil {
		return nil
	}
	if f, ok := t.funcs.Load(s); ok {
		return f.(func(*connect.Schema, string) []string)
	}
	m := map[*connect.Schema]map[string][]string{}
	tagSchema(m, s, t.root(s), map[*connect.Schema]bool{})
	f := func(s *connect.Schema, field string) []string { return m[s][field] }
	actual, _ := t.funcs.LoadOrStore(s, f)
	return actual.(func(*connect.Schema, string) []string)
}

func tagSchema(m map[*connect.Schema]map[string][]string, s *connect.Schema, n *tagNode, seen map[*connect.Schema]bool) {
	if s == nil || n == nil {
		return
	}
	switch s.Type {
	case connect.TypeArray, connect.TypeMap:
		tagSchema(m, s.ValueSchema, n, seen)
		return
	case connect.TypeStruct:
	default:
		return
	}
	if seen[s] {
		return
	}
	seen[s] = true
	for i := range s.Fields {
		f := &s.Fields[i]
		tf := n.fields[f.Name]
		if tf == nil {
			if isProtoUnion(f.Schema) {
				tagSchema(m, f.Schema, n, seen) // a Protobuf oneof: its members are the message's fields
			}
			continue
		}
		if len(tf.tags) > 0 {
			if m[s] == nil {
				m[s] = map[string][]string{}
			}
			m[s][f.Name] = tf.tags
		}
		tagSchema(m, f.Schema, tf.child, seen)
	}
}

// tagList reads a "confluent:tags" value: a list of strings (or one).
func tagList(v any) []string {
	switch v := v.(type) {
	case string:
		if v != "" {
			return []string{v}
		}
	case []any:
		var tags []string
		for _, e := range v {
			if s, ok := e.(string); ok && s != "" {
				tags = append(tags, s)
			}
		}
		return tags
	}
	return nil
}

// avroTagNode reads the "confluent:tags" of the fields of the records
// within as; named records are read once (recursive types).
func avroTagNode(as avro.Schema, named map[string]*tagNode) *tagNode {
	switch t := as.(type) {
	case *avro.RefSchema:
		return avroTagNode(t.Schema(), named)
	case *avro.UnionSchema:
		if !t.Nullable() {
			return nil
		}
		_, i := t.Indices()
		return avroTagNode(t.Types()[i], named)
	case *avro.ArraySchema:
		return avroTagNode(t.Items(), named)
	case *avro.MapSchema:
		return avroTagNode(t.Values(), named)
	case *avro.RecordSchema:
		if n, ok := named[t.FullName()]; ok {
			return n
		}
		n := &tagNode{fields: map[string]*tagField{}}
		named[t.FullName()] = n
		for _, f := range t.Fields() {
			n.fields[f.Name()] = &tagField{tags: tagList(f.Prop(inlineTagsProp)), child: avroTagNode(f.Type(), named)}
		}
		return n
	}
	return nil
}

// jsonTagNode reads the "confluent:tags" of the properties of the
// objects within js (through nullable oneOf and array items).
func jsonTagNode(js map[string]any) *tagNode {
	if alts, ok := js["oneOf"].([]any); ok {
		for _, a := range alts {
			if m, ok := a.(map[string]any); ok && m["type"] != "null" {
				return jsonTagNode(m)
			}
		}
		return nil
	}
	if items, ok := js["items"].(map[string]any); ok {
		return jsonTagNode(items)
	}
	if vals, ok := js["additionalProperties"].(map[string]any); ok && js["properties"] == nil {
		return jsonTagNode(vals)
	}
	props, ok := js["properties"].(map[string]any)
	if !ok {
		return nil
	}
	n := &tagNode{fields: map[string]*tagField{}}
	for name, p := range props {
		ps, ok := p.(map[string]any)
		if !ok {
			continue
		}
		tags := tagList(ps[inlineTagsProp])
		if alts, ok := ps["oneOf"].([]any); ok { // a nullable property may carry its tags on either schema
			for _, a := range alts {
				if m, ok := a.(map[string]any); ok {
					tags = append(tags, tagList(m[inlineTagsProp])...)
				}
			}
		}
		n.fields[name] = &tagField{tags: tags, child: jsonTagNode(ps)}
	}
	return n
}

// protoTagNode reads the (confluent.field_meta).tags of the fields of
// message md and the messages within it; messages are read once.
func protoTagNode(md protoreflect.MessageDescriptor, named map[protoreflect.FullName]*tagNode) *tagNode {
	if n, ok := named[md.FullName()]; ok {
		return n
	}
	n := &tagNode{fields: map[string]*tagField{}}
	named[md.FullName()] = n
	fs := md.Fields()
	for i := range fs.Len() {
		fd := fs.Get(i)
		tf := &tagField{tags: fieldMetaTags(fd)}
		if fd.IsMap() {
			fd = fd.MapValue()
		}
		if m := fd.Message(); m != nil {
			tf.child = protoTagNode(m, named)
		}
		n.fields[string(fs.Get(i).Name())] = tf
	}
	return n
}
