package schemaconv

import (
	"fmt"
	"strconv"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/sluicehq/sluice/runtime/connect"
)

// messageSchema is the Connect schema of md, as Confluent's
// ProtobufData.toConnectSchema derives it, cached per message.
func (c *protoCodec) messageSchema(md protoreflect.MessageDescriptor) (*connect.Schema, error) {
	if s, ok := c.schemas.Load(md.FullName()); ok {
		return s.(*connect.Schema), nil
	}
	var s *connect.Schema
	if c.f.wrapperForRawPrimitives {
		s = unwrappedSchema(md)
	}
	if s == nil {
		var err error
		if s, err = (&protoSchemaBuilder{f: c.f, visiting: map[protoreflect.FullName]bool{}}).message(md); err != nil {
			return nil, err
		}
	}
	if actual, loaded := c.schemas.LoadOrStore(md.FullName(), s); loaded {
		return actual.(*connect.Schema), nil
	}
	if s.Type == connect.TypeStruct {
		c.storeRuleRecordNames(s, md)
	}
	return s, nil
}

// unwrappedSchema is the primitive a google.protobuf wrapper message
// holds, or nil for any other message.
func unwrappedSchema(md protoreflect.MessageDescriptor) *connect.Schema {
	t, ok := map[protoreflect.FullName]connect.Type{
		"google.protobuf.DoubleValue": connect.TypeFloat64, "google.protobuf.FloatValue": connect.TypeFloat32,
		"google.protobuf.Int64Value": connect.TypeInt64, "google.protobuf.UInt64Value": connect.TypeInt64,
		"google.protobuf.Int32Value": connect.TypeInt32, "google.protobuf.UInt32Value": connect.TypeInt64,
		"google.protobuf.BoolValue": connect.TypeBoolean, "google.protobuf.StringValue": connect.TypeString,
		"google.protobuf.BytesValue": connect.TypeBytes,
	}[md.FullName()]
	if !ok {
		return nil
	}
	return &connect.Schema{Type: t}
}

type protoSchemaBuilder struct {
	f        protobufFormat
	visiting map[protoreflect.FullName]bool
}

func (b *protoSchemaBuilder) name(d protoreflect.Descriptor) string {
	if b.f.enhanced {
		return string(d.FullName())
	}
	return string(d.Name())
}

// unionFieldName is the Connect field of a oneof.
func (f protobufFormat) unionFieldName(od protoreflect.OneofDescriptor) string {
	if f.indexForUnions {
		return string(od.Name()) + "_" + strconv.Itoa(od.Index())
	}
	return string(od.Name())
}

// message is a STRUCT: the real oneofs first (each a Union struct, or
// its members when flattened), then the other fields in declaration order.
func (b *protoSchemaBuilder) message(md protoreflect.MessageDescriptor) (*connect.Schema, error) {
	if b.visiting[md.FullName()] {
		return nil, fmt.Errorf("recursive message %s has no Connect equivalent", md.FullName())
	}
	b.visiting[md.FullName()] = true
	defer delete(b.visiting, md.FullName())
	s := &connect.Schema{Type: connect.TypeStruct, Name: b.name(md)}
	add := func(name string, fs *connect.Schema) {
		s.Fields = append(s.Fields, connect.Field{Name: name, Index: len(s.Fields), Schema: fs})
	}
	for i := range md.Oneofs().Len() {
		od := md.Oneofs().Get(i)
		if od.IsSynthetic() {
			continue
		}
		union := &connect.Schema{Type: connect.TypeStruct, Name: protoUnionPrefix + b.name(od), Optional: true}
		for j := range od.Fields().Len() {
			fd := od.Fields().Get(j)
			fs, err := b.field(fd, true)
			if err != nil {
				return nil, err
			}
			if b.f.flattenUnions {
				add(string(fd.Name()), fs)
			} else {
				union.Fields = append(union.Fields, connect.Field{Name: string(fd.Name()), Index: len(union.Fields), Schema: fs})
			}
		}
		if !b.f.flattenUnions {
			add(b.f.unionFieldName(od), connect.Seal(union))
		}
	}
	for i := range md.Fields().Len() {
		fd := md.Fields().Get(i)
		if od := fd.ContainingOneof(); od != nil && !od.IsSynthetic() {
			continue
		}
		fs, err := b.field(fd, false)
		if err != nil {
			return nil, err
		}
		add(string(fd.Name()), fs)
	}
	return connect.Seal(s), nil
}

func (b *protoSchemaBuilder) field(fd protoreflect.FieldDescriptor, oneofMember bool) (*connect.Schema, error) {
	s := &connect.Schema{Parameters: map[string]string{}}
	switch k := fd.Kind(); k {
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		s.Type = connect.TypeInt32
		switch fieldMeta(fd)[propConnectType] {
		case "int8":
			s.Type = connect.TypeInt8
		case "int16":
			s.Type = connect.TypeInt16
		default:
			if k != protoreflect.Int32Kind {
				s.Parameters[protoTypeParam] = k.String()
			}
		}
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind, protoreflect.Int64Kind, protoreflect.Uint64Kind,
		protoreflect.Sint64Kind, protoreflect.Fixed64Kind, protoreflect.Sfixed64Kind:
		s.Type = connect.TypeInt64
		if k != protoreflect.Int64Kind {
			s.Parameters[protoTypeParam] = k.String()
		}
	case protoreflect.FloatKind:
		s.Type = connect.TypeFloat32
	case protoreflect.DoubleKind:
		s.Type = connect.TypeFloat64
	case protoreflect.BoolKind:
		s.Type = connect.TypeBoolean
	case protoreflect.StringKind:
		s.Type = connect.TypeString
	case protoreflect.BytesKind:
		s.Type = connect.TypeBytes
	case protoreflect.EnumKind:
		s.Type = connect.TypeString
		if b.f.intForEnums {
			s.Type = connect.TypeInt32
		}
		ed := fd.Enum()
		s.Name = b.name(ed)
		s.Parameters[protoEnumParam] = string(ed.Name())
		for i := range ed.Values().Len() {
			ev := ed.Values().Get(i)
			s.Parameters[protoEnumParam+"."+string(ev.Name())] = strconv.Itoa(int(ev.Number()))
		}
		s.Optional = true
	case protoreflect.MessageKind, protoreflect.GroupKind:
		if err := b.messageField(s, fd); err != nil {
			return nil, err
		}
		s.Optional = true
	default:
		return nil, fmt.Errorf("field %s: unknown Protobuf kind %s", fd.FullName(), k)
	}
	if fd.IsList() && s.Type != connect.TypeMap {
		s.Optional = true
		s = &connect.Schema{Type: connect.TypeArray, ValueSchema: connect.Seal(s), Parameters: map[string]string{}}
		s.Optional = true
	}
	switch {
	case oneofMember:
		s.Optional = true
		if b.f.wrapperForNullables && fd.Kind() == protoreflect.MessageKind && unwrappedSchema(fd.Message()) != nil {
			s.Parameters[protoWrapperParam] = "true"
		}
	case b.f.optionalForNullables:
		if fd.HasOptionalKeyword() {
			s.Optional = true
		}
	case !b.f.wrapperForNullables:
		s.Optional = true
	}
	s.Parameters[protoTagParam] = strconv.Itoa(int(fd.Number()))
	return connect.Seal(s), nil
}

// messageField fills s for a message-typed field: a logical type, an
// unwrapped primitive, a MAP or a STRUCT.
func (b *protoSchemaBuilder) messageField(s *connect.Schema, fd protoreflect.FieldDescriptor) error {
	md := fd.Message()
	switch md.FullName() {
	case protoDecimal:
		meta := fieldMeta(fd)
		scale, _ := strconv.Atoi(meta["scale"])
		s.Type, s.Name, s.Version = connect.TypeBytes, connect.DecimalName, 1
		s.Parameters[connect.DecimalScaleParam] = strconv.Itoa(scale)
		if p, err := strconv.Atoi(meta["precision"]); err == nil {
			s.Parameters[DecimalPrecisionParam] = strconv.Itoa(p)
		}
		return nil
	case protoDate:
		s.Type, s.Name, s.Version = connect.TypeInt32, connect.DateName, 1
		return nil
	case protoTimeOfDay:
		s.Type, s.Name, s.Version = connect.TypeInt32, connect.TimeName, 1
		return nil
	case protoTimestamp:
		s.Type, s.Name, s.Version = connect.TypeInt64, connect.TimestampName, 1
		return nil
	}
	if b.f.wrapperForNullables {
		if u := unwrappedSchema(md); u != nil {
			s.Type = u.Type
			return nil
		}
	}
	if isMapEntry(fd) {
		k, err := b.field(md.Fields().Get(0), false)
		if err != nil {
			return err
		}
		v, err := b.field(md.Fields().Get(1), false)
		if err != nil {
			return err
		}
		s.Type, s.KeySchema, s.ValueSchema = connect.TypeMap, k, v
		s.Name = protoMapField(b.name(md))
		return nil
	}
	st, err := b.message(md)
	if err != nil {
		return err
	}
	s.Type, s.Name, s.Fields = connect.TypeStruct, st.Name, st.Fields
	return nil
}

// isMapEntry is ProtobufData.isMapDescriptor: a repeated message named
// …Entry with exactly the fields key and value.
func isMapEntry(fd protoreflect.FieldDescriptor) bool {
	if fd.IsMap() {
		return true
	}
	if !fd.IsList() || fd.Message() == nil {
		return false
	}
	md := fd.Message()
	fs := md.Fields()
	return len(md.Name()) > len(protoMapEntrySufix) && string(md.Name()[len(md.Name())-len(protoMapEntrySufix):]) == protoMapEntrySufix &&
		fs.Len() == 2 && fs.Get(0).Name() == "key" && fs.Get(1).Name() == "value" &&
		!fs.Get(0).IsList() && !fs.Get(1).IsList()
}

// fieldMetaNumber is the number of confluent.field_meta on FieldOptions.
const fieldMetaNumber = 1088

// fieldMeta returns the params of a field's confluent.field_meta option,
// read from the options' wire bytes so it works whether or not the
// extension is known to the compiler's resolver.
func fieldMeta(fd protoreflect.FieldDescriptor) map[string]string {
	opts := fd.Options()
	if opts == nil {
		return nil
	}
	raw, err := proto.MarshalOptions{Deterministic: true}.Marshal(opts)
	if err != nil {
		return nil
	}
	var out map[string]string
	forEachField(raw, func(num protowire.Number, meta []byte) {
		if num != fieldMetaNumber {
			return
		}
		forEachField(meta, func(num protowire.Number, entry []byte) {
			if num != 2 { // Meta.params
				return
			}
			var k, v string
			forEachField(entry, func(num protowire.Number, b []byte) {
				switch num {
				case 1:
					k = string(b)
				case 2:
					v = string(b)
				}
			})
			if out == nil {
				out = map[string]string{}
			}
			out[k] = v
		})
	})
	return out
}

// fieldMetaTags returns the tags of a field's confluent.field_meta option
// (Meta.tags), read from the options' wire bytes as fieldMeta does.
func fieldMetaTags(fd protoreflect.FieldDescriptor) []string {
	opts := fd.Options()
	if opts == nil {
		return nil
	}
	raw, err := proto.MarshalOptions{Deterministic: true}.Marshal(opts)
	if err != nil {
		return nil
	}
	var tags []string
	forEachField(raw, func(num protowire.Number, meta []byte) {
		if num != fieldMetaNumber {
			return
		}
		forEachField(meta, func(num protowire.Number, b []byte) {
			if num == 3 && len(b) > 0 { // Meta.tags
				tags = append(tags, string(b))
			}
		})
	})
	return tags
}

// forEachField calls fn with every length-delimited field of a message's
// wire bytes, skipping the others; malformed bytes end the walk.
func forEachField(b []byte, fn func(protowire.Number, []byte)) {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return
		}
		b = b[n:]
		if typ == protowire.BytesType {
			v, m := protowire.ConsumeBytes(b)
			if m < 0 {
				return
			}
			fn(num, v)
			b = b[m:]
			continue
		}
		m := protowire.ConsumeFieldValue(num, typ, b)
		if m < 0 {
			return
		}
		b = b[m:]
	}
}
