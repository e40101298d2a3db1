package schemaconv

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/sluicehq/sluice/runtime/connect"
)

// protoOf returns the .proto text for a Connect STRUCT schema, as
// Confluent's ProtobufData.fromConnectSchema builds it: one proto3 file
// whose package is the schema name's namespace and whose only top-level
// message is the struct (ConnectDefault1 when unnamed); fields numbered
// 1, 2, … in order (or by their io.confluent.connect.protobuf.Tag
// parameter); nested structs, map entries and enums defined inside the
// message that uses them; unnamed ones numbered ConnectDefault2, …; INT8
// and INT16 as int32 with a connect.type in confluent.field_meta; Decimal,
// Date, Time and Timestamp as confluent.type.Decimal, google.type.Date,
// google.type.TimeOfDay and google.protobuf.Timestamp.
//
// Unions (a struct named io.confluent.connect.protobuf.Union.<name>)
// become oneofs; a member without a Tag parameter takes the next number
// (Confluent would fail on such a member, giving it number 0). Connect
// defaults, docs and versions are not carried, as ProtobufData does not
// carry them.
//
// A primitive schema is written, as Confluent's does, with the
// google/protobuf/wrappers.proto file and its wrapper message of that
// type.
func (f protobufFormat) protoOf(s *connect.Schema) (string, error) {
	if s.Type != connect.TypeStruct {
		if _, err := rootWrapper(s); err != nil {
			return "", err
		}
		return wrappersProto, nil
	}
	g := &protoGen{f: f, imports: map[string]bool{}}
	pkg, name := g.split(g.nameOrDefault(s.Name))
	m, err := g.message(name, s)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("syntax = \"proto3\";\n")
	if pkg != "" {
		fmt.Fprintf(&b, "package %s;\n", pkg)
	}
	if len(g.imports) > 0 {
		b.WriteByte('\n')
		for _, imp := range slices.Sorted(maps.Keys(g.imports)) {
			fmt.Fprintf(&b, "import %q;\n", imp)
		}
	}
	b.WriteByte('\n')
	m.render(&b, "")
	return b.String(), nil
}

// protoGen carries what ProtobufData's FromConnectContext does: the count
// of default names handed out and the imports needed.
type protoGen struct {
	f       protobufFormat
	imports map[string]bool
	n       int
}

// protoMsg is a message definition being built.
type protoMsg struct {
	name   string
	fields []string
	oneofs []protoOneof
	nested []*protoMsg
	enums  []protoEnum
	types  map[string]bool // nested type names already defined
}

type protoOneof struct {
	name   string
	fields []string
}

type protoEnum struct {
	name   string
	values []string
}

func (m *protoMsg) render(b *strings.Builder, indent string) {
	in := indent + "  "
	fmt.Fprintf(b, "%smessage %s {\n", indent, m.name)
	for _, l := range m.fields {
		b.WriteString(in + l + "\n")
	}
	for _, o := range m.oneofs {
		fmt.Fprintf(b, "%soneof %s {\n", in, o.name)
		for _, l := range o.fields {
			b.WriteString(in + "  " + l + "\n")
		}
		b.WriteString(in + "}\n")
	}
	for _, n := range m.nested {
		b.WriteByte('\n')
		n.render(b, in)
	}
	for _, e := range m.enums {
		fmt.Fprintf(b, "\n%senum %s {\n", in, e.name)
		for _, v := range e.values {
			b.WriteString(in + "  " + v + "\n")
		}
		b.WriteString(in + "}\n")
	}
	b.WriteString(indent + "}\n")
}

func tagParam(s *connect.Schema) (int, bool) {
	t, ok := s.Parameters[protoTagParam]
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(t)
	return n, err == nil
}

func isProtoUnion(s *connect.Schema) bool {
	return s.Type == connect.TypeStruct && strings.HasPrefix(s.Name, protoNamespace+".Union")
}

func (g *protoGen) message(name string, s *connect.Schema) (*protoMsg, error) {
	m := &protoMsg{name: name, types: map[string]bool{}}
	next := 1
	number := func(fs *connect.Schema) int {
		if t, ok := tagParam(fs); ok {
			return t
		}
		next++
		return next - 1
	}
	for _, f := range s.Fields {
		n := number(f.Schema)
		if !isProtoUnion(f.Schema) {
			line, err := g.field(m, f.Schema, g.scrub(f.Name), n, false)
			if err != nil {
				return nil, fmt.Errorf("field %s: %w", f.Name, err)
			}
			m.fields = append(m.fields, line)
			continue
		}
		o := protoOneof{name: g.scrub(f.Name)}
		if suffix, ok := strings.CutPrefix(f.Schema.Name, protoUnionPrefix); ok {
			o.name = g.unqualified(suffix)
		}
		for _, mf := range f.Schema.Fields {
			line, err := g.field(m, mf.Schema, g.scrub(mf.Name), number(mf.Schema), true)
			if err != nil {
				return nil, fmt.Errorf("field %s.%s: %w", f.Name, mf.Name, err)
			}
			o.fields = append(o.fields, line)
		}
		m.oneofs = append(m.oneofs, o)
	}
	return m, nil
}

// field returns the declaration of one field of m, adding to m the nested
// types it needs.
func (g *protoGen) field(m *protoMsg, fs *connect.Schema, name string, number int, oneofMember bool) (string, error) {
	label := ""
	switch {
	case fs.Type == connect.TypeArray:
		label = "repeated "
		fs = fs.ValueSchema
		if fs.Type == connect.TypeArray || fs.Type == connect.TypeMap {
			return "", dataErr("an ARRAY of %s has no Protobuf equivalent", fs.Type)
		}
	case fs.Type == connect.TypeMap:
		label = "repeated "
	case !oneofMember && g.f.optionalForNullables && fs.Optional:
		label = "optional "
	}
	var params [][2]string
	typ, err := g.dataType(fs, name, &params, oneofMember)
	if err != nil {
		return "", err
	}
	switch {
	case isProtoUnion(fs):
		return "", dataErr("a union nested in an ARRAY has no Protobuf equivalent")
	case fs.Type == connect.TypeStruct && !connect.IsLogical(fs):
		if typ != m.name && !m.types[typ] {
			m.types[typ] = true
			nested, err := g.message(typ, fs)
			if err != nil {
				return "", err
			}
			m.nested = append(m.nested, nested)
		}
	case fs.Type == connect.TypeMap:
		entry := &protoMsg{name: typ, types: map[string]bool{}}
		for i, kv := range []struct {
			name string
			s    *connect.Schema
		}{{"key", fs.KeySchema}, {"value", fs.ValueSchema}} {
			line, err := g.field(entry, kv.s, kv.name, i+1, false)
			if err != nil {
				return "", err
			}
			entry.fields = append(entry.fields, line)
		}
		m.nested = append(m.nested, entry)
	case fs.Parameters[protoEnumParam] != "":
		if !m.types[typ] {
			m.types[typ] = true
			e, err := g.enum(typ, fs)
			if err != nil {
				return "", err
			}
			m.enums = append(m.enums, e)
		}
	}
	line := fmt.Sprintf("%s%s %s = %d", label, typ, name, number)
	if len(params) > 0 {
		g.imports["confluent/meta.proto"] = true
		var ps []string
		for _, p := range params {
			ps = append(ps, fmt.Sprintf("{ key: %q, value: %q }", p[0], p[1]))
		}
		line += " [(confluent.field_meta) = { params: [" + strings.Join(ps, ", ") + "] }]"
	}
	return line + ";", nil
}

func (g *protoGen) enum(name string, s *connect.Schema) (protoEnum, error) {
	type value struct {
		name string
		n    int
	}
	var vs []value
	for k, v := range s.Parameters {
		sym, ok := strings.CutPrefix(k, protoEnumParam+".")
		if !ok {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			return protoEnum{}, dataErr("enum %s: symbol %s has number %q", name, sym, v)
		}
		vs = append(vs, value{sym, n})
	}
	slices.SortFunc(vs, func(a, b value) int { return a.n - b.n })
	e := protoEnum{name: name}
	for _, v := range vs {
		e.values = append(e.values, fmt.Sprintf("%s = %d;", v.name, v.n))
	}
	return e, nil
}

// wrappers are the google.protobuf wrapper messages of the primitives.
var wrappers = map[string]string{
	"int32": "google.protobuf.Int32Value", "int64": "google.protobuf.Int64Value",
	"uint32": "google.protobuf.UInt32Value", "fixed32": "google.protobuf.UInt32Value",
	"uint64": "google.protobuf.UInt64Value", "fixed64": "google.protobuf.UInt64Value",
	"float": "google.protobuf.FloatValue", "double": "google.protobuf.DoubleValue",
	"bool": "google.protobuf.BoolValue", "string": "google.protobuf.StringValue",
	"bytes": "google.protobuf.BytesValue",
}

// dataType is the Protobuf type name of fs, adding the field_meta
// parameters it needs to params.
func (g *protoGen) dataType(fs *connect.Schema, fieldName string, params *[][2]string, oneofMember bool) (string, error) {
	switch fs.Name {
	case connect.DecimalName:
		if p, ok := fs.Parameters[DecimalPrecisionParam]; ok {
			*params = append(*params, [2]string{"precision", p})
		}
		if p, ok := fs.Parameters[connect.DecimalScaleParam]; ok {
			*params = append(*params, [2]string{"scale", p})
		}
		g.imports["confluent/type/decimal.proto"] = true
		return protoDecimal, nil
	case connect.DateName:
		g.imports["google/type/date.proto"] = true
		return protoDate, nil
	case connect.TimeName:
		g.imports["google/type/timeofday.proto"] = true
		return protoTimeOfDay, nil
	case connect.TimestampName:
		g.imports["google/protobuf/timestamp.proto"] = true
		return protoTimestamp, nil
	}
	if e := fs.Parameters[protoEnumParam]; e != "" && (fs.Type == connect.TypeString || fs.Type == connect.TypeInt32) {
		return e, nil
	}
	wrap := g.f.wrapperForNullables && fs.Optional && (!oneofMember || fs.Parameters[protoWrapperParam] == "true")
	scalar := func(t string) string {
		if wrap {
			g.imports["google/protobuf/wrappers.proto"] = true
			return wrappers[t]
		}
		return t
	}
	switch fs.Type {
	case connect.TypeInt8, connect.TypeInt16:
		*params = append(*params, [2]string{propConnectType, strings.ToLower(string(fs.Type))})
		return scalar("int32"), nil
	case connect.TypeInt32:
		if t := fs.Parameters[protoTypeParam]; t != "" {
			return scalar(t), nil
		}
		return scalar("int32"), nil
	case connect.TypeInt64:
		if t := fs.Parameters[protoTypeParam]; t != "" {
			return scalar(t), nil
		}
		return scalar("int64"), nil
	case connect.TypeFloat32:
		return scalar("float"), nil
	case connect.TypeFloat64:
		return scalar("double"), nil
	case connect.TypeBoolean:
		return scalar("bool"), nil
	case connect.TypeString:
		return scalar("string"), nil
	case connect.TypeBytes:
		return scalar("bytes"), nil
	case connect.TypeMap:
		return protoMapEntry(g.unqualified(fs.Name)), nil
	case connect.TypeStruct:
		name := g.unqualified(fs.Name)
		if name == fieldName {
			name += "Message"
		}
		return name, nil
	}
	return "", dataErr("unknown Connect schema type %s", fs.Type)
}

// protoMapEntry is ProtobufSchema.toMapEntry: a snake_case name in
// UpperCamel, then "Entry".
func protoMapEntry(s string) string {
	if strings.Contains(s, "_") {
		var b strings.Builder
		up := true
		for _, r := range s {
			switch {
			case r == '_':
				up = true
			case up:
				b.WriteString(strings.ToUpper(string(r)))
				up = false
			default:
				b.WriteRune(r)
			}
		}
		s = b.String()
	}
	return s + protoMapEntrySufix
}

// protoMapField is ProtobufSchema.toMapField: the inverse, naming the
// Connect MAP schema of an entry message.
func protoMapField(s string) string {
	prefix, last := "", s
	if i := strings.LastIndexByte(s, '.'); i >= 0 {
		prefix, last = s[:i+1], s[i+1:]
	}
	base, ok := strings.CutSuffix(last, protoMapEntrySufix)
	if !ok {
		return s
	}
	var b strings.Builder
	for i, r := range base {
		if r >= 'A' && r <= 'Z' {
			if i > 0 {
				b.WriteByte('_')
			}
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return prefix + b.String()
}

func (g *protoGen) nameOrDefault(name string) string {
	if name != "" {
		return name
	}
	g.n++
	return protoDefaultName + strconv.Itoa(g.n)
}

// unqualified is the last part of a name (or a new default name).
func (g *protoGen) unqualified(name string) string {
	full := g.nameOrDefault(name)
	return g.scrub(full[strings.LastIndexByte(full, '.')+1:])
}

// split returns the package and simple name of a full name.
func (g *protoGen) split(full string) (pkg, name string) {
	parts := strings.Split(full, ".")
	for i := range parts {
		parts[i] = g.scrub(parts[i])
	}
	return strings.Join(parts[:len(parts)-1], "."), parts[len(parts)-1]
}

func (g *protoGen) scrub(name string) string {
	if !g.f.scrub {
		return name
	}
	return scrubProtoName(name)
}

// scrubProtoName is ProtobufData.doScrubName: a name that is not a valid
// identifier is URL-encoded (as Java's URLEncoder), prefixed with x when
// it would start with a digit or _, and every other invalid character
// replaced by _.
func scrubProtoName(name string) string {
	if name == "" {
		return name
	}
	word := func(c byte) bool {
		return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_'
	}
	ok := true
	for i := 0; i < len(name); i++ {
		ok = ok && word(name[i])
	}
	if ok && !(name[0] >= '0' && name[0] <= '9') && name[0] != '_' {
		return name
	}
	var enc strings.Builder
	for i := 0; i < len(name); i++ {
		switch c := name[i]; {
		case word(c) || c == '.' || c == '-' || c == '*':
			enc.WriteByte(c)
		case c == ' ':
			enc.WriteByte('+')
		default:
			fmt.Fprintf(&enc, "%%%02X", c)
		}
	}
	out := []byte(enc.String())
	if out[0] >= '0' && out[0] <= '9' || out[0] == '_' {
		out = append([]byte{'x'}, out...)
	}
	for i, c := range out {
		if !word(c) {
			out[i] = '_'
		}
	}
	return string(out)
}
