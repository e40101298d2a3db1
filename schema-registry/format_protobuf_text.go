package registry

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"

	"github.com/bufbuild/protocompile/linker"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// protoText prints a compiled file as .proto source, options included and
// comments lost: the text a schema registered as a serialized
// FileDescriptorProto is stored as, and Confluent's ignore_extensions
// format. With ignoreExtensions, extension ranges, extend blocks and
// custom options are left out, except Confluent's own (confluent.*).
//
// The output must compile back to the same descriptor and must not vary
// between runs or releases: it is the stored text a re-registration of
// the same descriptor is compared with. So it writes option values itself
// rather than through prototext (whose spacing varies on purpose).
func protoText(fd protoreflect.FileDescriptor, ignoreExtensions bool) string {
	p := &protoPrinter{ignoreExt: ignoreExtensions, proto2: fd.Syntax() == protoreflect.Proto2}
	if lf, ok := fd.(linker.File); ok {
		p.resolver = linker.ResolverFromFile(lf)
	}
	switch fd.Syntax() {
	case protoreflect.Proto3:
		p.line("", `syntax = "proto3";`)
	case protoreflect.Proto2:
		p.line("", `syntax = "proto2";`)
	}
	if fd.Package() != "" {
		p.line("", "package "+string(fd.Package())+";")
	}
	for i := range fd.Imports().Len() {
		imp := fd.Imports().Get(i)
		kind := "" // weak imports: the protobuf library no longer supports them
		if imp.IsPublic {
			kind = "public "
		}
		p.line("", "import "+kind+quoteProto(imp.Path())+";")
	}
	p.options("", fd.Options())
	p.messages("", fd.Messages())
	p.enums("", fd.Enums())
	p.extensions("", fd.Extensions())
	for i := range fd.Services().Len() {
		p.service(fd.Services().Get(i))
	}
	return p.b.String()
}

// protoPrinter accumulates printed lines.
type protoPrinter struct {
	b         strings.Builder
	ignoreExt bool
	proto2    bool
	// resolver finds custom options (extensions) the compiler left
	// as unknown fields of an options message.
	resolver linker.Resolver
}

func (p *protoPrinter) line(indent, s string) {
	p.b.WriteString(indent)
	p.b.WriteString(s)
	p.b.WriteByte('\n')
}

func (p *protoPrinter) messages(indent string, msgs protoreflect.MessageDescriptors) {
	for i := range msgs.Len() {
		if m := msgs.Get(i); !m.IsMapEntry() && !isGroupMessage(m) {
			p.message(indent, "message "+string(m.Name())+" {", m)
		}
	}
}

// isGroupMessage reports whether m is a proto2 group's type, printed
// with its field.
func isGroupMessage(m protoreflect.MessageDescriptor) bool {
	parent, ok := m.Parent().(protoreflect.MessageDescriptor)
	if !ok {
		return false
	}
	f := parent.Fields().ByName(protoreflect.Name(strings.ToLower(string(m.Name()))))
	return f != nil && f.Kind() == protoreflect.GroupKind && f.Message() == m
}

// message prints m's body after head ("message Name {" or a group's
// field line).
func (p *protoPrinter) message(indent, head string, m protoreflect.MessageDescriptor) {
	p.line(indent, head)
	inner := indent + "  "
	p.options(inner, m.Options())
	printed := map[protoreflect.Name]bool{}
	for i := range m.Fields().Len() {
		f := m.Fields().Get(i)
		o := f.ContainingOneof()
		if o == nil || o.IsSynthetic() {
			p.field(inner, f)
			continue
		}
		if printed[o.Name()] {
			continue
		}
		printed[o.Name()] = true
		p.line(inner, "oneof "+string(o.Name())+" {")
		p.options(inner+"  ", o.Options())
		for j := range o.Fields().Len() {
			p.field(inner+"  ", o.Fields().Get(j))
		}
		p.line(inner, "}")
	}
	p.messages(inner, m.Messages())
	p.enums(inner, m.Enums())
	p.extensions(inner, m.Extensions())
	if !p.ignoreExt {
		for i := range m.ExtensionRanges().Len() {
			r := m.ExtensionRanges().Get(i)
			p.line(inner, "extensions "+fieldRange(r[0], r[1]-1)+p.bracketOptions(m.ExtensionRangeOptions(i))+";")
		}
	}
	p.reserved(inner, m.ReservedNames(), m.ReservedRanges().Len(), func(i int) string {
		r := m.ReservedRanges().Get(i)
		return fieldRange(r[0], r[1]-1)
	})
	p.line(indent, "}")
}

// fieldRange prints an inclusive range of field numbers.
func fieldRange(start, end protoreflect.FieldNumber) string {
	switch {
	case start == end:
		return strconv.Itoa(int(start))
	case end == protowire.MaxValidNumber:
		return strconv.Itoa(int(start)) + " to max"
	}
	return fmt.Sprintf("%d to %d", start, end)
}

func (p *protoPrinter) reserved(indent string, names protoreflect.Names, ranges int, rangeAt func(int) string) {
	if ranges > 0 {
		rs := make([]string, ranges)
		for i := range rs {
			rs[i] = rangeAt(i)
		}
		p.line(indent, "reserved "+strings.Join(rs, ", ")+";")
	}
	if names.Len() > 0 {
		ns := make([]string, names.Len())
		for i := range ns {
			ns[i] = quoteProto(string(names.Get(i)))
		}
		p.line(indent, "reserved "+strings.Join(ns, ", ")+";")
	}
}

// field prints a field (in a message, a oneof or an extend block).
func (p *protoPrinter) field(indent string, f protoreflect.FieldDescriptor) {
	var label string
	switch {
	case f.IsMap():
	case f.Cardinality() == protoreflect.Repeated:
		label = "repeated "
	case f.Cardinality() == protoreflect.Required:
		label = "required "
	case f.ContainingOneof() != nil && !f.ContainingOneof().IsSynthetic():
	case p.proto2 || f.HasPresence() && f.ContainingOneof() != nil:
		label = "optional "
	}
	var extra []string
	if f.HasDefault() {
		extra = append(extra, "default = "+defaultValue(f))
	}
	if f.JSONName() != defaultJSONName(f.Name()) && !f.IsExtension() {
		extra = append(extra, "json_name = "+quoteProto(f.JSONName()))
	}
	opts := p.optionList(f.Options())
	opts = append(extra, opts...)
	suffix := ""
	if len(opts) > 0 {
		suffix = " [" + strings.Join(opts, ", ") + "]"
	}
	number := strconv.Itoa(int(f.Number()))
	if f.Kind() == protoreflect.GroupKind {
		p.message(indent, label+"group "+string(f.Message().Name())+" = "+number+suffix+" {", f.Message())
		return
	}
	typ := protoTypeName(f)
	if f.IsMap() {
		typ = "map<" + protoTypeName(f.MapKey()) + ", " + protoTypeName(f.MapValue()) + ">"
	}
	p.line(indent, label+typ+" "+string(f.Name())+" = "+number+suffix+";")
}

func protoTypeName(f protoreflect.FieldDescriptor) string {
	switch f.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return "." + string(f.Message().FullName())
	case protoreflect.EnumKind:
		return "." + string(f.Enum().FullName())
	}
	return f.Kind().String()
}

// defaultJSONName is protoc's JSON name for a field name: underscores
// dropped, the letter after each upper-cased.
func defaultJSONName(name protoreflect.Name) string {
	var b strings.Builder
	upper := false
	for _, r := range string(name) {
		if r == '_' {
			upper = true
			continue
		}
		if upper {
			r = unicode.ToUpper(r)
			upper = false
		}
		b.WriteRune(r)
	}
	return b.String()
}

// defaultValue prints a proto2 field's explicit default.
func defaultValue(f protoreflect.FieldDescriptor) string {
	if f.Kind() == protoreflect.EnumKind {
		return string(f.DefaultEnumValue().Name())
	}
	return scalarText(f.Kind(), f.Default())
}

func (p *protoPrinter) enums(indent string, enums protoreflect.EnumDescriptors) {
	for i := range enums.Len() {
		e := enums.Get(i)
		p.line(indent, "enum "+string(e.Name())+" {")
		inner := indent + "  "
		p.options(inner, e.Options())
		for j := range e.Values().Len() {
			v := e.Values().Get(j)
			p.line(inner, string(v.Name())+" = "+strconv.Itoa(int(v.Number()))+p.bracketOptions(v.Options())+";")
		}
		p.reserved(inner, e.ReservedNames(), e.ReservedRanges().Len(), func(i int) string {
			r := e.ReservedRanges().Get(i)
			if r[0] == r[1] {
				return strconv.Itoa(int(r[0]))
			}
			if r[1] == math.MaxInt32 {
				return strconv.Itoa(int(r[0])) + " to max"
			}
			return fmt.Sprintf("%d to %d", r[0], r[1])
		})
		p.line(indent, "}")
	}
}

// extensions prints extend blocks, one per run of extensions of the
// same message.
func (p *protoPrinter) extensions(indent string, exts protoreflect.ExtensionDescriptors) {
	if p.ignoreExt {
		return
	}
	for i := 0; i < exts.Len(); {
		target := exts.Get(i).ContainingMessage()
		p.line(indent, "extend ."+string(target.FullName())+" {")
		for ; i < exts.Len() && exts.Get(i).ContainingMessage() == target; i++ {
			p.field(indent+"  ", exts.Get(i))
		}
		p.line(indent, "}")
	}
}

func (p *protoPrinter) service(s protoreflect.ServiceDescriptor) {
	p.line("", "service "+string(s.Name())+" {")
	p.options("  ", s.Options())
	for i := range s.Methods().Len() {
		m := s.Methods().Get(i)
		head := fmt.Sprintf("rpc %s (%s.%s) returns (%s.%s)", m.Name(),
			streamPrefix(m.IsStreamingClient()), m.Input().FullName(),
			streamPrefix(m.IsStreamingServer()), m.Output().FullName())
		opts := p.optionList(m.Options())
		if len(opts) == 0 {
			p.line("  ", head+";")
			continue
		}
		p.line("  ", head+" {")
		for _, o := range opts {
			p.line("    ", "option "+o+";")
		}
		p.line("  ", "}")
	}
	p.line("", "}")
}

// options prints "option name = value;" statements.
func (p *protoPrinter) options(indent string, opts proto.Message) {
	for _, o := range p.optionList(opts) {
		p.line(indent, "option "+o+";")
	}
}

// bracketOptions prints " [name = value, ...]", or "" without options.
func (p *protoPrinter) bracketOptions(opts proto.Message) string {
	list := p.optionList(opts)
	if len(list) == 0 {
		return ""
	}
	return " [" + strings.Join(list, ", ") + "]"
}

// optionList returns "name = value" for every option set, in field
// number order; a repeated option gives one entry per element.
func (p *protoPrinter) optionList(opts proto.Message) []string {
	if opts == nil {
		return nil
	}
	m := p.resolveOptions(opts.ProtoReflect())
	if !m.IsValid() {
		return nil
	}
	var fields []protoreflect.FieldDescriptor
	m.Range(func(fd protoreflect.FieldDescriptor, _ protoreflect.Value) bool {
		fields = append(fields, fd)
		return true
	})
	sortFields(fields)
	var out []string
	for _, fd := range fields {
		name := string(fd.Name())
		if fd.IsExtension() {
			if p.ignoreExt && !strings.HasPrefix(string(fd.FullName()), "confluent.") {
				continue
			}
			name = "(" + string(fd.FullName()) + ")"
		}
		v := m.Get(fd)
		if fd.IsList() {
			for i := range v.List().Len() {
				out = append(out, name+" = "+valueText(fd, v.List().Get(i)))
			}
			continue
		}
		out = append(out, name+" = "+valueText(fd, v))
	}
	return out
}

// resolveOptions returns m with custom options kept as unknown fields
// decoded as extensions, when the file's imports define them.
func (p *protoPrinter) resolveOptions(m protoreflect.Message) protoreflect.Message {
	if !m.IsValid() || len(m.GetUnknown()) == 0 || p.resolver == nil {
		return m
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m.Interface())
	if err != nil {
		return m
	}
	fresh := m.Type().New()
	if err := (proto.UnmarshalOptions{Resolver: p.resolver}).Unmarshal(b, fresh.Interface()); err != nil {
		return m
	}
	return fresh
}

// sortFields orders fields by number (Range's order is unspecified).
func sortFields(fields []protoreflect.FieldDescriptor) {
	for i := 1; i < len(fields); i++ {
		for j := i; j > 0 && fields[j].Number() < fields[j-1].Number(); j-- {
			fields[j], fields[j-1] = fields[j-1], fields[j]
		}
	}
}

// valueText prints an option value: a scalar, an enum name, or a message
// as a text-format aggregate.
func valueText(fd protoreflect.FieldDescriptor, v protoreflect.Value) string {
	switch fd.Kind() {
	case protoreflect.EnumKind:
		if ev := fd.Enum().Values().ByNumber(v.Enum()); ev != nil {
			return string(ev.Name())
		}
		return strconv.Itoa(int(v.Enum()))
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return aggregateText(v.Message())
	}
	return scalarText(fd.Kind(), v)
}

// aggregateText prints a message as "{ name: value ... }".
func aggregateText(m protoreflect.Message) string {
	var fields []protoreflect.FieldDescriptor
	m.Range(func(fd protoreflect.FieldDescriptor, _ protoreflect.Value) bool {
		fields = append(fields, fd)
		return true
	})
	sortFields(fields)
	parts := []string{"{"}
	for _, fd := range fields {
		name := string(fd.Name())
		if fd.IsExtension() {
			name = "[" + string(fd.FullName()) + "]"
		}
		v := m.Get(fd)
		switch {
		case fd.IsList():
			for i := range v.List().Len() {
				parts = append(parts, name+": "+valueText(fd, v.List().Get(i)))
			}
		case fd.IsMap():
			v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
				parts = append(parts, name+": { key: "+scalarText(fd.MapKey().Kind(), k.Value())+
					" value: "+valueText(fd.MapValue(), mv)+" }")
				return true
			})
		default:
			parts = append(parts, name+": "+valueText(fd, v))
		}
	}
	return strings.Join(append(parts, "}"), " ")
}

// scalarText prints a scalar as a .proto literal.
func scalarText(kind protoreflect.Kind, v protoreflect.Value) string {
	switch kind {
	case protoreflect.StringKind:
		return quoteProto(v.String())
	case protoreflect.BytesKind:
		return quoteProto(string(v.Bytes()))
	case protoreflect.BoolKind:
		return strconv.FormatBool(v.Bool())
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		f := v.Float()
		switch {
		case math.IsInf(f, 1):
			return "inf"
		case math.IsInf(f, -1):
			return "-inf"
		case math.IsNaN(f):
			return "nan"
		}
		bits := 64
		if kind == protoreflect.FloatKind {
			bits = 32
		}
		return strconv.FormatFloat(f, 'g', -1, bits)
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind, protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return strconv.FormatUint(v.Uint(), 10)
	}
	return strconv.FormatInt(v.Int(), 10)
}

// quoteProto quotes s as a .proto string literal: printable ASCII kept,
// every other byte octal-escaped, so bytes and UTF-8 survive unchanged.
func quoteProto(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\t':
			b.WriteString(`\t`)
		case c >= 0x20 && c < 0x7f:
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, `\%03o`, c)
		}
	}
	b.WriteByte('"')
	return b.String()
}
