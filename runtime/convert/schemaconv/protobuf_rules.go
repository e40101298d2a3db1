package schemaconv

import (
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/sluicehq/sluice/runtime/connect"
)

// ruleFieldTagger is a codec whose schema may tag fields inline.
type ruleFieldTagger interface {
	// ruleFieldTags returns the inline tags of each field of each struct
	// schema within s, or nil when there are none.
	ruleFieldTags(s *connect.Schema) func(*connect.Schema, string) []string
}

// ruleRecordNamer is a codec whose Connect struct schemas may not carry
// the full record names that data-contract tags name fields by.
type ruleRecordNamer interface {
	// ruleRecordNames returns the full record name of each struct schema
	// within s, as s is written or was read by this codec ("" for another
	// schema), or nil when s has none.
	ruleRecordNames(s *connect.Schema) func(*connect.Schema) string
}

// protoInlineTags gives rules the (confluent.field_meta).tags of the
// message each Connect schema is written as or was read from, or nil
// when no field of the file is tagged.
func protoInlineTags(c *protoCodec) *inlineTags {
	named := map[protoreflect.FullName]*tagNode{}
	var roots []*tagNode
	var each func(ms protoreflect.MessageDescriptors)
	each = func(ms protoreflect.MessageDescriptors) {
		for i := range ms.Len() {
			roots = append(roots, protoTagNode(ms.Get(i), named))
			each(ms.Get(i).Messages())
		}
	}
	each(c.file.Messages())
	return newInlineTags(func(s *connect.Schema) *tagNode {
		md, err := c.rootOf(s)
		if err != nil {
			return nil
		}
		return named[md.FullName()]
	}, roots...)
}

// ruleRecordNames maps each struct schema within s to the full name of
// the message it is written as or was read from, so that metadata tags
// such as "pkg.Person.ssn" select Protobuf fields whatever
// enhanced.protobuf.schema.support says (Confluent runs rules on the
// message itself). A oneof's Union struct takes its message's name: its
// members are that message's fields. Cached per schema pointer.
func (c *protoCodec) ruleRecordNames(s *connect.Schema) func(*connect.Schema) string {
	if s == nil || s.Type != connect.TypeStruct {
		return nil
	}
	if f, ok := c.names.Load(s); ok {
		return f.(func(*connect.Schema) string)
	}
	md, err := c.rootOf(s) // read schemas are stored by messageSchema
	if err != nil {
		return nil
	}
	return c.storeRuleRecordNames(s, md)
}

func (c *protoCodec) storeRuleRecordNames(s *connect.Schema, md protoreflect.MessageDescriptor) func(*connect.Schema) string {
	m := map[*connect.Schema]string{}
	c.nameStruct(m, s, md)
	actual, _ := c.names.LoadOrStore(s, func(s *connect.Schema) string { return m[s] })
	return actual.(func(*connect.Schema) string)
}

func (c *protoCodec) nameStruct(m map[*connect.Schema]string, s *connect.Schema, md protoreflect.MessageDescriptor) {
	if _, done := m[s]; done {
		return
	}
	m[s] = string(md.FullName())
	g := &protoGen{f: c.f}
	for i := range s.Fields {
		f := &s.Fields[i]
		if fd := md.Fields().ByName(protoreflect.Name(g.scrub(f.Name))); fd != nil {
			c.nameField(m, f.Schema, fd)
		} else if isProtoUnion(f.Schema) {
			c.nameStruct(m, f.Schema, md)
		}
	}
}

// nameField names the struct schemas within fs, the schema of field fd.
func (c *protoCodec) nameField(m map[*connect.Schema]string, fs *connect.Schema, fd protoreflect.FieldDescriptor) {
	switch fs.Type {
	case connect.TypeStruct:
		if fd.Message() != nil {
			c.nameStruct(m, fs, fd.Message())
		}
	case connect.TypeArray:
		if fs.ValueSchema != nil {
			c.nameField(m, fs.ValueSchema, fd)
		}
	case connect.TypeMap:
		if fd.IsMap() && fs.ValueSchema != nil {
			c.nameField(m, fs.ValueSchema, fd.MapValue())
		}
	}
}
