package schemaconv

import (
	"encoding/json"
	"fmt"
	"maps"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/internal/javafmt"
	"github.com/sluicehq/sluice/runtime/connect"
)

// Names and properties of Confluent's AvroData.
const (
	avroNamespace      = "io.confluent.connect.avro"
	defaultRecordName  = avroNamespace + ".ConnectDefault"
	mapEntryName       = avroNamespace + ".MapEntry"
	unionName          = avroNamespace + ".Union"
	enumParam          = avroNamespace + ".Enum"
	propConnectType    = "connect.type"
	propConnectName    = "connect.name"
	propConnectVersion = "connect.version"
	propConnectParams  = "connect.parameters"
	propConnectDoc     = "connect.doc"
	propConnectDefault = "connect.default"
	propFixedSize      = "connect.fixed.size"
	// DecimalPrecisionParam is the Decimal parameter giving the Avro
	// precision (default 64), as Confluent's AvroData reads it.
	DecimalPrecisionParam   = "connect.decimal.precision"
	defaultDecimalPrecision = 64
)

// avroSchemaOf returns the Avro schema JSON for a Connect schema, as
// Confluent's AvroData.fromConnectSchema builds it.
func avroSchemaOf(s *connect.Schema) (string, error) {
	b := &avroBuilder{defined: map[string]bool{}}
	sch, err := b.schema(s)
	if err != nil {
		return "", err
	}
	out, err := json.Marshal(sch)
	if err != nil {
		return "", dataErrCause(err, "encode Avro schema for %s", s)
	}
	return string(out), nil
}

// avroBuilder remembers the named types already defined, since Avro
// forbids defining a name twice: later unnamed records get numbered names
// (ConnectDefault2, MapEntry2, …).
type avroBuilder struct{ defined map[string]bool }

func (b *avroBuilder) uniqueName(full string) string {
	name := full
	for n := 2; b.defined[name]; n++ {
		name = full + strconv.Itoa(n)
	}
	b.defined[name] = true
	return name
}

// schema returns the Avro schema of s, wrapped in a union with null when
// optional (null first, unless a non-null default must come first).
func (b *avroBuilder) schema(s *connect.Schema) (any, error) {
	base, err := b.base(s)
	if err != nil {
		return nil, err
	}
	if !s.Optional {
		return base, nil
	}
	if s.Default != nil {
		return []any{base, "null"}, nil
	}
	return []any{"null", base}, nil
}

func (b *avroBuilder) base(s *connect.Schema) (any, error) {
	switch s.Type {
	case connect.TypeStruct:
		return b.record(s)
	case connect.TypeArray:
		items, err := b.schema(s.ValueSchema)
		if err != nil {
			return nil, err
		}
		return b.props(obj{{"type", "array"}, {"items", items}}, s), nil
	case connect.TypeMap:
		return b.mapSchema(s)
	}
	return b.primitive(s)
}

var avroPrimitive = map[connect.Type]string{
	connect.TypeInt8: "int", connect.TypeInt16: "int", connect.TypeInt32: "int", connect.TypeInt64: "long",
	connect.TypeFloat32: "float", connect.TypeFloat64: "double", connect.TypeBoolean: "boolean",
	connect.TypeString: "string", connect.TypeBytes: "bytes",
}

func (b *avroBuilder) primitive(s *connect.Schema) (any, error) {
	typ, ok := avroPrimitive[s.Type]
	if !ok {
		return nil, dataErr("unknown Connect schema type %s", s.Type)
	}
	o := obj{{"type", typ}}
	switch s.Type {
	case connect.TypeInt8, connect.TypeInt16:
		o = o.set(propConnectType, strings.ToLower(string(s.Type)))
	}
	switch s.Name {
	case connect.DecimalName:
		scale, err := connect.DecimalScale(s)
		if err != nil {
			return nil, err
		}
		prec := defaultDecimalPrecision
		if p, ok := s.Parameters[DecimalPrecisionParam]; ok {
			if prec, err = strconv.Atoi(p); err != nil {
				return nil, dataErr("invalid %s %q in Decimal schema", DecimalPrecisionParam, p)
			}
		}
		o = o.set("logicalType", "decimal").set("precision", prec).set("scale", scale)
	case connect.DateName:
		o = o.set("logicalType", "date")
	case connect.TimeName:
		o = o.set("logicalType", "time-millis")
	case connect.TimestampName:
		o = o.set("logicalType", "timestamp-millis")
	}
	o = b.props(o, s)
	if len(o) == 1 {
		return typ, nil
	}
	return o, nil
}

// props adds the connect.* properties that carry what Avro has no place
// for: doc, version, parameters and the name of a non-record schema.
func (b *avroBuilder) props(o obj, s *connect.Schema) obj {
	if s.Doc != "" {
		o = o.set(propConnectDoc, s.Doc)
	}
	if s.Version != 0 {
		o = o.set(propConnectVersion, s.Version)
	}
	if len(s.Parameters) > 0 {
		p := obj{}
		for _, k := range slices.Sorted(maps.Keys(s.Parameters)) {
			p = p.set(k, s.Parameters[k])
		}
		o = o.set(propConnectParams, p)
	}
	if s.Name != "" {
		o = o.set(propConnectName, s.Name)
	}
	return o
}

func splitName(full string) (ns, name string) {
	if i := strings.LastIndexByte(full, '.'); i >= 0 {
		return full[:i], full[i+1:]
	}
	return "", full
}

func (b *avroBuilder) record(s *connect.Schema) (any, error) {
	full := s.Name
	if full == "" {
		full = defaultRecordName
	}
	ns, name := splitName(b.uniqueName(full))
	o := obj{{"type", "record"}, {"name", name}}
	if ns != "" {
		o = o.set("namespace", ns)
	}
	if s.Doc != "" {
		o = o.set("doc", s.Doc)
	}
	fields := make([]obj, 0, len(s.Fields))
	for _, f := range s.Fields {
		fo, err := b.field(f.Name, f.Schema)
		if err != nil {
			return nil, fmt.Errorf("field %s: %w", f.Name, err)
		}
		fields = append(fields, fo)
	}
	o = o.set("fields", fields)
	if s.Version != 0 {
		o = o.set(propConnectVersion, s.Version)
	}
	if len(s.Parameters) > 0 {
		p := obj{}
		for _, k := range slices.Sorted(maps.Keys(s.Parameters)) {
			p = p.set(k, s.Parameters[k])
		}
		o = o.set(propConnectParams, p)
	}
	if s.Name != "" {
		o = o.set(propConnectName, s.Name)
	}
	return o, nil
}

func (b *avroBuilder) field(name string, s *connect.Schema) (obj, error) {
	typ, err := b.schema(s)
	if err != nil {
		return nil, err
	}
	o := obj{{"name", name}, {"type", typ}}
	if s.Doc != "" {
		o = o.set("doc", s.Doc)
	}
	switch {
	case s.Default != nil:
		d, err := avroDefault(s, s.Default)
		if err != nil {
			return nil, err
		}
		o = o.set("default", d)
	case s.Optional:
		o = o.set("default", nil)
	}
	return o, nil
}

func (b *avroBuilder) mapSchema(s *connect.Schema) (any, error) {
	vals, err := b.schema(s.ValueSchema)
	if err != nil {
		return nil, err
	}
	if s.KeySchema.Type == connect.TypeString && !s.KeySchema.Optional {
		return b.props(obj{{"type", "map"}, {"values", vals}}, s), nil
	}
	keys, err := b.schema(s.KeySchema)
	if err != nil {
		return nil, err
	}
	ns, name := splitName(b.uniqueName(mapEntryName))
	entry := obj{{"type", "record"}, {"name", name}, {"namespace", ns}, {"fields", []obj{
		{{"name", "key"}, {"type", keys}}, {{"name", "value"}, {"type", vals}}}}}
	return b.props(obj{{"type", "array"}, {"items", entry}}, s), nil
}

// avroDefault returns the JSON form of a Connect default value for the
// Avro schema derived from s (Avro writes bytes defaults as ISO-8859-1
// strings).
func avroDefault(s *connect.Schema, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch s.Name {
	case connect.DecimalName:
		scale, err := connect.DecimalScale(s)
		if err != nil {
			return nil, err
		}
		r, ok := v.(*big.Rat)
		if !ok {
			return nil, dataErr("Decimal default %v is not a *big.Rat", v)
		}
		raw, err := connect.DecimalToBytes(scale, r)
		if err != nil {
			return nil, err
		}
		return latin1(raw), nil
	case connect.DateName:
		return connect.DateToDays(v.(time.Time))
	case connect.TimeName:
		return connect.TimeToMillis(v.(time.Time))
	case connect.TimestampName:
		return v.(time.Time).UnixMilli(), nil
	}
	switch s.Type {
	case connect.TypeBytes:
		return latin1(v.([]byte)), nil
	case connect.TypeArray:
		out := []any{}
		for _, e := range v.([]any) {
			d, err := avroDefault(s.ValueSchema, e)
			if err != nil {
				return nil, err
			}
			out = append(out, d)
		}
		return out, nil
	case connect.TypeMap:
		return mapDefault(s, v)
	case connect.TypeStruct:
		st := v.(*connect.Struct)
		out := obj{}
		for i := range s.Fields {
			f := &s.Fields[i]
			d, err := avroDefault(f.Schema, st.GetField(f))
			if err != nil {
				return nil, err
			}
			out = out.set(f.Name, d)
		}
		return out, nil
	}
	return v, nil
}

func mapDefault(s *connect.Schema, v any) (any, error) {
	if m, ok := v.(map[string]any); ok && s.KeySchema.Type == connect.TypeString && !s.KeySchema.Optional {
		out := obj{}
		for _, k := range slices.Sorted(maps.Keys(m)) {
			d, err := avroDefault(s.ValueSchema, m[k])
			if err != nil {
				return nil, err
			}
			out = out.set(k, d)
		}
		return out, nil
	}
	var out []any
	for k, e := range mapEntries(v) {
		kd, err := avroDefault(s.KeySchema, k)
		if err != nil {
			return nil, err
		}
		vd, err := avroDefault(s.ValueSchema, e)
		if err != nil {
			return nil, err
		}
		out = append(out, obj{{"key", kd}, {"value", vd}})
	}
	return out, nil
}

// mapEntries iterates a MAP value of either Go shape, in Java's HashMap
// order (as Confluent's serializer writes a map): the same on every run.
func mapEntries(v any) func(yield func(any, any) bool) {
	return func(yield func(any, any) bool) {
		switch m := v.(type) {
		case map[string]any:
			for _, k := range javafmt.AppendStringKeys(nil, m) {
				if !yield(k.Key, m[k.Key]) {
					return
				}
			}
		case map[any]any:
			for _, k := range javafmt.AnyKeys(m) {
				if !yield(k, m[k]) {
					return
				}
			}
		}
	}
}

func latin1(b []byte) string {
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return string(r)
}
