package schemaconv

import (
	"fmt"
	"maps"
	"math/big"
	"slices"
	"strconv"
	"strings"

	"github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/sluicehq/sluice/runtime/connect"
)

// avroFormat is AvroConverter's format.
type avroFormat struct{}

func (avroFormat) name() string              { return "Avro" }
func (avroFormat) schemaType() sr.SchemaType { return sr.TypeAvro }

func (avroFormat) fromConnect(s *connect.Schema) (string, error) { return avroSchemaOf(s) }

// parse compiles Avro schema text with a fresh name cache: hamba's global
// cache would let one schema's named types leak into another's.
func (avroFormat) parse(text string) (codec, error) {
	as, err := avro.ParseWithCache(text, "", &avro.SchemaCache{})
	if err != nil {
		return nil, fmt.Errorf("parse Avro schema: %w", err)
	}
	cs, err := (&connectBuilder{visiting: map[string]bool{}}).schema(as, false)
	if err != nil {
		return nil, err
	}
	cd := &avroCodec{schema: as, cs: cs}
	if root := avroTagNode(as, map[string]*tagNode{}); root != nil {
		cd.inlineTags = newInlineTags(func(*connect.Schema) *tagNode { return root }, root)
	}
	if rec, ok := as.(*avro.RecordSchema); ok {
		cd.name = rec.FullName()
	}
	return cd, nil
}

// connectBuilder derives a Connect schema from an Avro schema, as
// Confluent's AvroData.toConnectSchema: connect.* properties restore what
// AvroData wrote; schemas from other producers map by their Avro types.
type connectBuilder struct{ visiting map[string]bool }

func (b *connectBuilder) schema(as avro.Schema, optional bool) (*connect.Schema, error) {
	if ref, ok := as.(*avro.RefSchema); ok {
		as = ref.Schema()
	}
	var s *connect.Schema
	var err error
	switch t := as.(type) {
	case *avro.UnionSchema:
		return b.union(t, optional)
	case *avro.RecordSchema:
		s, err = b.record(t)
	case *avro.ArraySchema:
		s, err = b.array(t)
	case *avro.MapSchema:
		var vs *connect.Schema
		if vs, err = b.schema(t.Values(), false); err == nil {
			s = connect.MapOf(connect.StringSchema, vs)
		}
	case *avro.EnumSchema:
		s = &connect.Schema{Type: connect.TypeString, Name: t.FullName(), Parameters: map[string]string{enumParam: t.FullName()}}
		for _, sym := range t.Symbols() {
			s.Parameters[enumParam+"."+sym] = sym
		}
	case *avro.FixedSchema:
		s = &connect.Schema{Type: connect.TypeBytes, Name: t.FullName(), Parameters: map[string]string{propFixedSize: strconv.Itoa(t.Size())}}
	case *avro.PrimitiveSchema:
		s, err = primitiveToConnect(t)
	default:
		err = fmt.Errorf("unsupported Avro type %s", as.Type())
	}
	if err != nil {
		return nil, err
	}
	s.Optional = optional
	applyProps(s, as)
	return connect.Seal(s), nil
}

func (b *connectBuilder) union(u *avro.UnionSchema, optional bool) (*connect.Schema, error) {
	types := u.Types()
	if u.Nullable() {
		_, i := u.Indices()
		return b.schema(types[i], true)
	}
	s := &connect.Schema{Type: connect.TypeStruct, Name: unionName, Optional: optional || u.Contains(avro.Null)}
	for _, t := range types {
		if t.Type() == avro.Null {
			continue
		}
		fs, err := b.schema(t, true)
		if err != nil {
			return nil, err
		}
		s.Fields = append(s.Fields, connect.Field{Name: unionBranchName(t), Index: len(s.Fields), Schema: fs})
	}
	return connect.Seal(s), nil
}

// unionBranchName is the Union struct field of a branch: a named type's
// simple name, otherwise the Avro type name.
func unionBranchName(t avro.Schema) string {
	if ref, ok := t.(*avro.RefSchema); ok {
		t = ref.Schema()
	}
	if n, ok := t.(avro.NamedSchema); ok {
		return n.Name()
	}
	return string(t.Type())
}

func (b *connectBuilder) record(r *avro.RecordSchema) (*connect.Schema, error) {
	full := r.FullName()
	if b.visiting[full] {
		return nil, fmt.Errorf("recursive Avro record %s has no Connect equivalent", full)
	}
	b.visiting[full] = true
	defer delete(b.visiting, full)
	s := &connect.Schema{Type: connect.TypeStruct, Doc: r.Doc()}
	if !strings.HasPrefix(full, defaultRecordName) {
		s.Name = full
	}
	for i, f := range r.Fields() {
		fs, err := b.schema(f.Type(), false)
		if err != nil {
			return nil, fmt.Errorf("field %s of %s: %w", f.Name(), full, err)
		}
		if f.HasDefault() && f.Default() != nil {
			c := *fs
			if c.Default, err = connectDefault(fs, f.Default()); err != nil {
				return nil, fmt.Errorf("default of field %s of %s: %w", f.Name(), full, err)
			}
			fs = &c
		}
		if f.Doc() != "" && fs.Doc == "" {
			c := *fs
			c.Doc = f.Doc()
			fs = &c
		}
		s.Fields = append(s.Fields, connect.Field{Name: f.Name(), Index: i, Schema: fs})
	}
	return s, nil
}

// array is an ARRAY, or a MAP when the items are AvroData's MapEntry
// records.
func (b *connectBuilder) array(a *avro.ArraySchema) (*connect.Schema, error) {
	items := a.Items()
	if ref, ok := items.(*avro.RefSchema); ok {
		items = ref.Schema()
	}
	if rec, ok := items.(*avro.RecordSchema); ok && strings.HasPrefix(rec.FullName(), mapEntryName) && len(rec.Fields()) == 2 {
		ks, err := b.schema(rec.Fields()[0].Type(), false)
		if err != nil {
			return nil, err
		}
		vs, err := b.schema(rec.Fields()[1].Type(), false)
		if err != nil {
			return nil, err
		}
		return connect.MapOf(ks, vs), nil
	}
	es, err := b.schema(a.Items(), false)
	if err != nil {
		return nil, err
	}
	return connect.ArrayOf(es), nil
}

func primitiveToConnect(p *avro.PrimitiveSchema) (*connect.Schema, error) {
	if l := p.Logical(); l != nil {
		switch l.Type() {
		case avro.Decimal:
			d := l.(*avro.DecimalLogicalSchema)
			return connect.DecimalSchema(d.Scale()).Param(DecimalPrecisionParam, strconv.Itoa(d.Precision())).Build(), nil
		case avro.Date:
			return connect.DateSchema().Build(), nil
		case avro.TimeMillis:
			return connect.TimeSchema().Build(), nil
		case avro.TimestampMillis:
			return connect.TimestampSchema().Build(), nil
		}
	}
	t := map[avro.Type]connect.Type{avro.Int: connect.TypeInt32, avro.Long: connect.TypeInt64,
		avro.Float: connect.TypeFloat32, avro.Double: connect.TypeFloat64, avro.Boolean: connect.TypeBoolean,
		avro.String: connect.TypeString, avro.Bytes: connect.TypeBytes}[p.Type()]
	if t == "" {
		return nil, fmt.Errorf("unsupported Avro type %s", p.Type())
	}
	if p.Type() == avro.Int {
		switch p.Prop(propConnectType) {
		case "int8":
			t = connect.TypeInt8
		case "int16":
			t = connect.TypeInt16
		}
	}
	return &connect.Schema{Type: t}, nil
}

type propSchema interface{ Prop(string) any }

// applyProps restores the connect.* properties AvroData wrote.
func applyProps(s *connect.Schema, as avro.Schema) {
	p, ok := as.(propSchema)
	if !ok {
		return
	}
	if n, ok := p.Prop(propConnectName).(string); ok {
		s.Name = n
	}
	if d, ok := p.Prop(propConnectDoc).(string); ok {
		s.Doc = d
	}
	switch v := p.Prop(propConnectVersion).(type) {
	case float64:
		s.Version = int(v)
	case int:
		s.Version = v
	}
	if params, ok := p.Prop(propConnectParams).(map[string]any); ok {
		s.Parameters = make(map[string]string, len(params))
		for _, k := range slices.Sorted(maps.Keys(params)) {
			s.Parameters[k] = fmt.Sprint(params[k])
		}
	}
}

// connectDefault converts a default as hamba parsed it to the Go type
// of s.
func connectDefault(s *connect.Schema, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch s.Name {
	case connect.DecimalName:
		scale, err := connect.DecimalScale(s)
		if err != nil {
			return nil, err
		}
		switch d := v.(type) {
		case []byte:
			return connect.DecimalFromBytes(scale, d), nil
		case string:
			return connect.DecimalFromBytes(scale, []byte(fromLatin1(d))), nil
		case *big.Rat:
			return d, nil
		}
	case connect.DateName:
		n, err := toInt64(v)
		return connect.DateFromDays(int32(n)), err
	case connect.TimeName:
		n, err := toInt64(v)
		return connect.TimeFromMillis(int32(n)), err
	case connect.TimestampName:
		n, err := toInt64(v)
		return connect.TimestampFromMillis(n), err
	}
	return genericToConnect(s, v)
}
