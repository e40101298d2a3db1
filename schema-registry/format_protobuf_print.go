package registry

import (
	"fmt"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// printProto prints a compiled file deterministically: syntax, package,
// imports, then messages, enums and services in declaration order, with
// fully qualified type names. Options and comments are not printed.
func printProto(fd protoreflect.FileDescriptor) string {
	var b strings.Builder
	fmt.Fprintf(&b, "syntax = %q;\n", fd.Syntax().String())
	if fd.Package() != "" {
		fmt.Fprintf(&b, "package %s;\n", fd.Package())
	}
	for i := range fd.Imports().Len() {
		fmt.Fprintf(&b, "import %q;\n", fd.Imports().Get(i).Path())
	}
	printMessages(&b, fd.Messages(), "")
	printEnums(&b, fd.Enums(), "")
	for i := range fd.Services().Len() {
		s := fd.Services().Get(i)
		fmt.Fprintf(&b, "service %s {\n", s.Name())
		for j := range s.Methods().Len() {
			m := s.Methods().Get(j)
			fmt.Fprintf(&b, "  rpc %s (%s.%s) returns (%s.%s);\n", m.Name(),
				streamPrefix(m.IsStreamingClient()), m.Input().FullName(),
				streamPrefix(m.IsStreamingServer()), m.Output().FullName())
		}
		b.WriteString("}\n")
	}
	return b.String()
}

func streamPrefix(streaming bool) string {
	if streaming {
		return "stream "
	}
	return ""
}

func printMessages(b *strings.Builder, msgs protoreflect.MessageDescriptors, indent string) {
	for i := range msgs.Len() {
		m := msgs.Get(i)
		if m.IsMapEntry() {
			continue
		}
		fmt.Fprintf(b, "%smessage %s {\n", indent, m.Name())
		inner := indent + "  "
		printedOneofs := map[protoreflect.Name]bool{}
		for j := range m.Fields().Len() {
			f := m.Fields().Get(j)
			if o := realOneof(f); o != nil {
				if !printedOneofs[o.Name()] {
					printedOneofs[o.Name()] = true
					fmt.Fprintf(b, "%soneof %s {\n", inner, o.Name())
					for k := range o.Fields().Len() {
						printField(b, o.Fields().Get(k), inner+"  ")
					}
					fmt.Fprintf(b, "%s}\n", inner)
				}
				continue
			}
			printField(b, f, inner)
		}
		printMessages(b, m.Messages(), inner)
		printEnums(b, m.Enums(), inner)
		fmt.Fprintf(b, "%s}\n", indent)
	}
}

func printField(b *strings.Builder, f protoreflect.FieldDescriptor, indent string) {
	label := ""
	switch {
	case f.IsMap():
		fmt.Fprintf(b, "%smap<%s, %s> %s = %d;\n", indent, fieldTypeName(f.MapKey()),
			fieldTypeName(f.MapValue()), f.Name(), f.Number())
		return
	case f.Cardinality() == protoreflect.Repeated:
		label = "repeated "
	case f.Cardinality() == protoreflect.Required:
		label = "required "
	case f.HasPresence() && f.ContainingOneof() == nil && f.Kind() != protoreflect.MessageKind,
		f.ContainingOneof() != nil && f.ContainingOneof().IsSynthetic():
		label = "optional "
	}
	fmt.Fprintf(b, "%s%s%s %s = %d;\n", indent, label, fieldTypeName(f), f.Name(), f.Number())
}

func fieldTypeName(f protoreflect.FieldDescriptor) string {
	switch f.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return "." + string(f.Message().FullName())
	case protoreflect.EnumKind:
		return "." + string(f.Enum().FullName())
	}
	return f.Kind().String()
}

func printEnums(b *strings.Builder, enums protoreflect.EnumDescriptors, indent string) {
	for i := range enums.Len() {
		e := enums.Get(i)
		fmt.Fprintf(b, "%senum %s {\n", indent, e.Name())
		for j := range e.Values().Len() {
			v := e.Values().Get(j)
			fmt.Fprintf(b, "%s  %s = %d;\n", indent, v.Name(), v.Number())
		}
		fmt.Fprintf(b, "%s}\n", indent)
	}
}
