package registry

import (
	"fmt"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// The Protobuf compatibility check follows Confluent's documented rules:
// messages are matched by name (without the package), fields by number,
// enum constants by number; every difference gets Confluent's difference
// type and the types outside protoCompatibleChanges are incompatible.
// Confluent applies the same rules in both directions.

// protoDifference is one change found at a path like "#/Outer/Inner/3".
type protoDifference struct {
	path string
	kind string
}

// String formats d as Confluent's verbose compatibility message.
func (d protoDifference) String() string {
	return fmt.Sprintf("Found incompatible change: Difference{fullPath='%s', type=%s}", d.path, d.kind)
}

// protoCompatibleChanges are the difference types Confluent accepts.
var protoCompatibleChanges = map[string]bool{
	"MESSAGE_ADDED": true, "MESSAGE_MOVED": true, "ENUM_ADDED": true, "ENUM_REMOVED": true,
	"ENUM_CONST_ADDED": true, "ENUM_CONST_CHANGED": true, "ENUM_CONST_REMOVED": true,
	"FIELD_ADDED": true, "FIELD_REMOVED": true, "FIELD_NAME_CHANGED": true,
	"FIELD_STRING_OR_BYTES_LABEL_CHANGED": true, "ONEOF_ADDED": true, "ONEOF_REMOVED": true,
	"ONEOF_FIELD_ADDED": true, "ONEOF_FIELD_MOVED_TO_TOP_LEVEL": true,
}

// protoDiff collects differences between two files.
type protoDiff struct {
	diffs []protoDifference
}

func (d *protoDiff) add(path, kind string) {
	d.diffs = append(d.diffs, protoDifference{path: path, kind: kind})
}

func (d *protoDiff) compareFiles(original, update protoreflect.FileDescriptor) {
	if original.Package() != update.Package() {
		d.add("#/", "PACKAGE_CHANGED")
	}
	d.compareMessages("#", original.Messages(), update.Messages())
	d.compareEnums("#", original.Enums(), update.Enums())
}

func (d *protoDiff) compareMessages(path string, original, update protoreflect.MessageDescriptors) {
	for i := range original.Len() {
		om := original.Get(i)
		p := path + "/" + string(om.Name())
		um := update.ByName(om.Name())
		if um == nil {
			d.add(p, "MESSAGE_REMOVED")
			continue
		}
		d.compareMessage(p, om, um)
	}
	for i := range update.Len() {
		um := update.Get(i)
		if original.ByName(um.Name()) == nil {
			d.add(path+"/"+string(um.Name()), "MESSAGE_ADDED")
		}
	}
}

func (d *protoDiff) compareMessage(path string, original, update protoreflect.MessageDescriptor) {
	d.compareMessages(path, original.Messages(), update.Messages())
	d.compareEnums(path, original.Enums(), update.Enums())
	d.compareOneofs(path, original, update)
	of, uf := original.Fields(), update.Fields()
	for i := range of.Len() {
		o := of.Get(i)
		p := fmt.Sprintf("%s/%d", path, o.Number())
		u := uf.ByNumber(o.Number())
		if u == nil {
			if o.Cardinality() == protoreflect.Required {
				d.add(p, "REQUIRED_FIELD_REMOVED")
			}
			if realOneof(o) != nil {
				d.add(p, "ONEOF_FIELD_REMOVED")
			} else {
				d.add(p, "FIELD_REMOVED")
			}
			continue
		}
		d.compareField(p, o, u)
	}
	for i := range uf.Len() {
		u := uf.Get(i)
		if of.ByNumber(u.Number()) != nil {
			continue
		}
		p := fmt.Sprintf("%s/%d", path, u.Number())
		if u.Cardinality() == protoreflect.Required {
			d.add(p, "REQUIRED_FIELD_ADDED")
		}
		if o := realOneof(u); o != nil && original.Oneofs().ByName(o.Name()) != nil {
			d.add(p, "ONEOF_FIELD_ADDED")
		} else {
			d.add(p, "FIELD_ADDED")
		}
	}
}

// realOneof returns the field's oneof unless it is proto3's synthetic
// oneof for an optional field.
func realOneof(f protoreflect.FieldDescriptor) protoreflect.OneofDescriptor {
	if o := f.ContainingOneof(); o != nil && !o.IsSynthetic() {
		return o
	}
	return nil
}

func (d *protoDiff) compareOneofs(path string, original, update protoreflect.MessageDescriptor) {
	for i := range original.Oneofs().Len() {
		o := original.Oneofs().Get(i)
		if !o.IsSynthetic() && update.Oneofs().ByName(o.Name()) == nil {
			d.add(path+"/"+string(o.Name()), "ONEOF_REMOVED")
		}
	}
	for i := range update.Oneofs().Len() {
		u := update.Oneofs().Get(i)
		if u.IsSynthetic() || original.Oneofs().ByName(u.Name()) != nil {
			continue
		}
		d.add(path+"/"+string(u.Name()), "ONEOF_ADDED")
		moved := 0
		for j := range u.Fields().Len() {
			if f := original.Fields().ByNumber(u.Fields().Get(j).Number()); f != nil && realOneof(f) == nil {
				moved++
			}
		}
		if moved > 1 {
			d.add(path+"/"+string(u.Name()), "MULTIPLE_FIELDS_MOVED_TO_ONEOF")
		}
	}
}

func (d *protoDiff) compareField(path string, original, update protoreflect.FieldDescriptor) {
	if original.Name() != update.Name() {
		d.add(path, "FIELD_NAME_CHANGED")
	}
	oo, uo := realOneof(original), realOneof(update)
	switch {
	case oo != nil && uo == nil:
		d.add(path, "ONEOF_FIELD_MOVED_TO_TOP_LEVEL")
	case oo == nil && uo != nil:
		if update.ContainingMessage() != nil && original.ContainingMessage().Oneofs().ByName(uo.Name()) != nil {
			d.add(path, "FIELD_MOVED_TO_EXISTING_ONEOF")
		}
	}
	okind, ukind := fieldKindClass(original), fieldKindClass(update)
	switch {
	case okind != ukind:
		d.add(path, "FIELD_KIND_CHANGED")
		return
	case okind == "named":
		if relativeName(original) != relativeName(update) {
			d.add(path, "FIELD_NAMED_TYPE_CHANGED")
		}
	case wireGroup(original.Kind()) != wireGroup(update.Kind()):
		d.add(path, "FIELD_SCALAR_KIND_CHANGED")
	}
	if original.IsList() != update.IsList() || original.IsMap() != update.IsMap() {
		switch update.Kind() {
		case protoreflect.StringKind, protoreflect.BytesKind, protoreflect.MessageKind:
			d.add(path, "FIELD_STRING_OR_BYTES_LABEL_CHANGED")
		default:
			d.add(path, "FIELD_NUMERIC_LABEL_CHANGED")
		}
	}
}

// fieldKindClass tells scalar fields from message and enum fields.
func fieldKindClass(f protoreflect.FieldDescriptor) string {
	switch f.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind, protoreflect.EnumKind:
		return "named"
	}
	return "scalar"
}

// relativeName is a message or enum field's type name without its package.
func relativeName(f protoreflect.FieldDescriptor) string {
	var d protoreflect.Descriptor = f.Message()
	if f.Kind() == protoreflect.EnumKind {
		d = f.Enum()
	}
	pkg := string(d.ParentFile().Package())
	return strings.TrimPrefix(strings.TrimPrefix(string(d.FullName()), pkg), ".")
}

// wireGroup names the groups of scalar kinds that read each other's bytes.
func wireGroup(k protoreflect.Kind) string {
	switch k {
	case protoreflect.Int32Kind, protoreflect.Uint32Kind, protoreflect.Int64Kind,
		protoreflect.Uint64Kind, protoreflect.BoolKind:
		return "varint"
	case protoreflect.Sint32Kind, protoreflect.Sint64Kind:
		return "zigzag"
	case protoreflect.Fixed32Kind, protoreflect.Sfixed32Kind:
		return "fixed32"
	case protoreflect.Fixed64Kind, protoreflect.Sfixed64Kind:
		return "fixed64"
	case protoreflect.StringKind, protoreflect.BytesKind:
		return "length"
	}
	return k.String()
}

func (d *protoDiff) compareEnums(path string, original, update protoreflect.EnumDescriptors) {
	for i := range original.Len() {
		oe := original.Get(i)
		p := path + "/" + string(oe.Name())
		ue := update.ByName(oe.Name())
		if ue == nil {
			d.add(p, "ENUM_REMOVED")
			continue
		}
		ov, uv := oe.Values(), ue.Values()
		for j := range ov.Len() {
			o := ov.Get(j)
			u := uv.ByNumber(o.Number())
			switch {
			case u == nil:
				d.add(fmt.Sprintf("%s/%d", p, o.Number()), "ENUM_CONST_REMOVED")
			case u.Name() != o.Name():
				d.add(fmt.Sprintf("%s/%d", p, o.Number()), "ENUM_CONST_CHANGED")
			}
		}
		for j := range uv.Len() {
			if u := uv.Get(j); ov.ByNumber(u.Number()) == nil {
				d.add(fmt.Sprintf("%s/%d", p, u.Number()), "ENUM_CONST_ADDED")
			}
		}
	}
	for i := range update.Len() {
		if original.ByName(update.Get(i).Name()) == nil {
			d.add(path+"/"+string(update.Get(i).Name()), "ENUM_ADDED")
		}
	}
}
