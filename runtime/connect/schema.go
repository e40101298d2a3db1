// Package connect is the plugin contract of the Sluice runtime: the one
// package connectors, converters and transforms import. It mirrors Kafka
// Connect's API (org.apache.kafka.connect.{connector,source,sink,data}) in Go
// terms.
//
// # Data model
//
// A record's key and value are each a Go value described by an optional
// *Schema. The Go type of a value follows from its schema type:
//
//	INT8 int8  INT16 int16  INT32 int32  INT64 int64
//	FLOAT32 float32  FLOAT64 float64  BOOLEAN bool
//	STRING string  BYTES []byte  ARRAY []any  STRUCT *Struct
//	MAP map[string]any when the key schema is STRING, map[any]any otherwise
//
// Logical types keep Kafka's names and physical types, but carry Go values:
// Decimal (BYTES, parameter "scale") is *big.Rat; Date (INT32 days), Time
// (INT32 ms of day) and Timestamp (INT64 ms) are time.Time in UTC.
//
// A value without a schema ("schemaless", e.g. JsonConverter with
// schemas.enable=false) uses the same Go types, with maps always
// map[string]any and JSON numbers as int64 or float64.
package connect

import (
	"fmt"
	"strings"
)

// Type is a Connect schema type, spelled as Kafka's Schema.Type enum.
type Type string

// The schema types.
const (
	TypeInt8    Type = "INT8"
	TypeInt16   Type = "INT16"
	TypeInt32   Type = "INT32"
	TypeInt64   Type = "INT64"
	TypeFloat32 Type = "FLOAT32"
	TypeFloat64 Type = "FLOAT64"
	TypeBoolean Type = "BOOLEAN"
	TypeString  Type = "STRING"
	TypeBytes   Type = "BYTES"
	TypeArray   Type = "ARRAY"
	TypeMap     Type = "MAP"
	TypeStruct  Type = "STRUCT"
)

// IsPrimitive reports whether t is neither ARRAY, MAP nor STRUCT.
func (t Type) IsPrimitive() bool {
	return t != TypeArray && t != TypeMap && t != TypeStruct
}

// Logical type names (Schema.Name) Kafka defines.
const (
	DecimalName   = "org.apache.kafka.connect.data.Decimal"
	DateName      = "org.apache.kafka.connect.data.Date"
	TimeName      = "org.apache.kafka.connect.data.Time"
	TimestampName = "org.apache.kafka.connect.data.Timestamp"
	// DecimalScaleParam is the Decimal schema parameter holding the scale.
	DecimalScaleParam = "scale"
)

// Schema describes a key or value. Schemas are shared between records and
// must be treated as immutable once built; use SchemaBuilder or the
// constructors below.
type Schema struct {
	Type     Type
	Optional bool
	// Default is the default value, of the Go type for Type (nil: none).
	Default    any
	Name       string
	Version    int // 0: not set
	Doc        string
	Parameters map[string]string
	// Fields are a STRUCT's fields, in order.
	Fields []Field
	// KeySchema is a MAP's key schema.
	KeySchema *Schema
	// ValueSchema is a MAP's value schema or an ARRAY's element schema.
	ValueSchema *Schema

	fieldIndex map[string]int
}

// Field is one field of a STRUCT schema.
type Field struct {
	Name   string
	Index  int
	Schema *Schema
}

// Field returns the named field, or nil.
func (s *Schema) Field(name string) *Field {
	if s == nil || s.Type != TypeStruct {
		return nil
	}
	if s.fieldIndex != nil {
		if i, ok := s.fieldIndex[name]; ok {
			return &s.Fields[i]
		}
		return nil
	}
	for i := range s.Fields {
		if s.Fields[i].Name == name {
			return &s.Fields[i]
		}
	}
	return nil
}

// String renders the schema briefly for error messages.
func (s *Schema) String() string {
	if s == nil {
		return "<no schema>"
	}
	var b strings.Builder
	b.WriteString("Schema{")
	if s.Name != "" {
		b.WriteString(s.Name)
		b.WriteByte(':')
	}
	b.WriteString(string(s.Type))
	b.WriteByte('}')
	return b.String()
}

// Equal reports whether two schemas are structurally equal (Kafka's
// ConnectSchema.equals).
func (s *Schema) Equal(o *Schema) bool {
	if s == o {
		return true
	}
	if s == nil || o == nil {
		return false
	}
	if s.Type != o.Type || s.Optional != o.Optional || s.Name != o.Name || s.Version != o.Version ||
		s.Doc != o.Doc || len(s.Fields) != len(o.Fields) || len(s.Parameters) != len(o.Parameters) {
		return false
	}
	for k, v := range s.Parameters {
		if ov, ok := o.Parameters[k]; !ok || ov != v {
			return false
		}
	}
	for i := range s.Fields {
		if s.Fields[i].Name != o.Fields[i].Name || !s.Fields[i].Schema.Equal(o.Fields[i].Schema) {
			return false
		}
	}
	if !s.KeySchema.Equal(o.KeySchema) || !s.ValueSchema.Equal(o.ValueSchema) {
		return false
	}
	return ValuesEqual(s.Default, o.Default)
}

// SchemaBuilder builds a Schema fluently, as Kafka's SchemaBuilder.
type SchemaBuilder struct{ s Schema }

// NewSchemaBuilder starts a schema of type t.
func NewSchemaBuilder(t Type) *SchemaBuilder { return &SchemaBuilder{s: Schema{Type: t}} }

// StructBuilder starts a STRUCT schema.
func StructBuilder() *SchemaBuilder { return NewSchemaBuilder(TypeStruct) }

// Optional marks the schema optional.
func (b *SchemaBuilder) Optional() *SchemaBuilder { b.s.Optional = true; return b }

// Name sets the schema name.
func (b *SchemaBuilder) Name(n string) *SchemaBuilder { b.s.Name = n; return b }

// Version sets the schema version.
func (b *SchemaBuilder) Version(v int) *SchemaBuilder { b.s.Version = v; return b }

// Doc sets the documentation.
func (b *SchemaBuilder) Doc(d string) *SchemaBuilder { b.s.Doc = d; return b }

// Default sets the default value.
func (b *SchemaBuilder) Default(v any) *SchemaBuilder { b.s.Default = v; return b }

// Param sets one parameter.
func (b *SchemaBuilder) Param(k, v string) *SchemaBuilder {
	if b.s.Parameters == nil {
		b.s.Parameters = map[string]string{}
	}
	b.s.Parameters[k] = v
	return b
}

// Field appends a STRUCT field.
func (b *SchemaBuilder) Field(name string, s *Schema) *SchemaBuilder {
	b.s.Fields = append(b.s.Fields, Field{Name: name, Index: len(b.s.Fields), Schema: s})
	return b
}

// Build returns the schema. A duplicate field name panics: it is a
// programming error in the caller.
func (b *SchemaBuilder) Build() *Schema {
	s := b.s
	s.Fields = append([]Field(nil), b.s.Fields...)
	if len(s.Fields) > 0 {
		s.fieldIndex = make(map[string]int, len(s.Fields))
		for i, f := range s.Fields {
			if _, dup := s.fieldIndex[f.Name]; dup {
				panic(fmt.Sprintf("connect: duplicate field %q in struct schema %q", f.Name, s.Name))
			}
			s.fieldIndex[f.Name] = i
		}
	}
	return &s
}

// Seal indexes a Schema built as a literal, so Field lookups are O(1). It
// returns s.
func Seal(s *Schema) *Schema {
	if s != nil && len(s.Fields) > 0 && s.fieldIndex == nil {
		s.fieldIndex = make(map[string]int, len(s.Fields))
		for i := range s.Fields {
			s.Fields[i].Index = i
			s.fieldIndex[s.Fields[i].Name] = i
		}
	}
	return s
}

// ArrayOf returns an ARRAY schema of elem.
func ArrayOf(elem *Schema) *Schema { return &Schema{Type: TypeArray, ValueSchema: elem} }

// MapOf returns a MAP schema.
func MapOf(key, value *Schema) *Schema {
	return &Schema{Type: TypeMap, KeySchema: key, ValueSchema: value}
}

// Predefined primitive schemas, as Kafka's Schema.INT8_SCHEMA and friends.
var (
	Int8Schema            = &Schema{Type: TypeInt8}
	Int16Schema           = &Schema{Type: TypeInt16}
	Int32Schema           = &Schema{Type: TypeInt32}
	Int64Schema           = &Schema{Type: TypeInt64}
	Float32Schema         = &Schema{Type: TypeFloat32}
	Float64Schema         = &Schema{Type: TypeFloat64}
	BooleanSchema         = &Schema{Type: TypeBoolean}
	StringSchema          = &Schema{Type: TypeString}
	BytesSchema           = &Schema{Type: TypeBytes}
	OptionalInt8Schema    = &Schema{Type: TypeInt8, Optional: true}
	OptionalInt16Schema   = &Schema{Type: TypeInt16, Optional: true}
	OptionalInt32Schema   = &Schema{Type: TypeInt32, Optional: true}
	OptionalInt64Schema   = &Schema{Type: TypeInt64, Optional: true}
	OptionalFloat32Schema = &Schema{Type: TypeFloat32, Optional: true}
	OptionalFloat64Schema = &Schema{Type: TypeFloat64, Optional: true}
	OptionalBooleanSchema = &Schema{Type: TypeBoolean, Optional: true}
	OptionalStringSchema  = &Schema{Type: TypeString, Optional: true}
	OptionalBytesSchema   = &Schema{Type: TypeBytes, Optional: true}
)

// PrimitiveSchema returns the shared schema for a primitive type.
func PrimitiveSchema(t Type, optional bool) *Schema {
	for _, s := range []*Schema{Int8Schema, Int16Schema, Int32Schema, Int64Schema, Float32Schema,
		Float64Schema, BooleanSchema, StringSchema, BytesSchema} {
		if s.Type == t {
			if optional {
				c := *s
				c.Optional = true
				return &c
			}
			return s
		}
	}
	return nil
}

// DecimalSchema returns a Decimal logical schema with the given scale.
func DecimalSchema(scale int) *SchemaBuilder {
	return NewSchemaBuilder(TypeBytes).Name(DecimalName).Version(1).Param(DecimalScaleParam, fmt.Sprint(scale))
}

// DateSchema returns a Date logical schema builder.
func DateSchema() *SchemaBuilder { return NewSchemaBuilder(TypeInt32).Name(DateName).Version(1) }

// TimeSchema returns a Time logical schema builder.
func TimeSchema() *SchemaBuilder { return NewSchemaBuilder(TypeInt32).Name(TimeName).Version(1) }

// TimestampSchema returns a Timestamp logical schema builder.
func TimestampSchema() *SchemaBuilder {
	return NewSchemaBuilder(TypeInt64).Name(TimestampName).Version(1)
}
