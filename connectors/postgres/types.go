package postgres

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/sluicehq/sluice/runtime/connect"
)

// Debezium's semantic schema names (io.debezium.data.*, io.debezium.time.*),
// as they appear in change events.
const (
	VariableScaleDecimalName = "io.debezium.data.VariableScaleDecimal"
	UUIDName                 = "io.debezium.data.Uuid"
	JSONName                 = "io.debezium.data.Json"
	EnumName                 = "io.debezium.data.Enum"
	DateName                 = "io.debezium.time.Date"
	TimeName                 = "io.debezium.time.Time"
	MicroTimeName            = "io.debezium.time.MicroTime"
	TimestampName            = "io.debezium.time.Timestamp"
	MicroTimestampName       = "io.debezium.time.MicroTimestamp"
	ZonedTimestampName       = "io.debezium.time.ZonedTimestamp"
	ZonedTimeName            = "io.debezium.time.ZonedTime"
	MicroDurationName        = "io.debezium.time.MicroDuration"

	// EnumAllowedParam is the Enum schema parameter listing the labels,
	// comma-separated.
	EnumAllowedParam = "allowed"
	// DecimalPrecisionParam is the Decimal schema parameter Debezium adds
	// with the column's declared precision.
	DecimalPrecisionParam = "connect.decimal.precision"
)

// TypeOptions are the connector settings that choose how column values are
// represented; the zero value means Debezium's defaults.
type TypeOptions struct {
	// DecimalMode is decimal.handling.mode: precise (default), double or
	// string.
	DecimalMode string
	// TimePrecisionMode is time.precision.mode: adaptive (default),
	// adaptive_time_microseconds or connect.
	TimePrecisionMode string
	// BinaryMode is binary.handling.mode: bytes (default), base64,
	// base64-url-safe or hex.
	BinaryMode string
}

// TypeOptionsFromConfig reads the type options from a parsed connector
// config (Config.Parse).
func TypeOptionsFromConfig(c connect.Config) TypeOptions {
	return TypeOptions{
		DecimalMode:       c.String(DecimalHandlingModeConfig),
		TimePrecisionMode: c.String(TimePrecisionModeConfig),
		BinaryMode:        c.String(BinaryHandlingModeConfig),
	}
}

func (o TypeOptions) withDefaults() TypeOptions {
	if o.DecimalMode == "" {
		o.DecimalMode = "precise"
	}
	if o.TimePrecisionMode == "" {
		o.TimePrecisionMode = "adaptive"
	}
	if o.BinaryMode == "" {
		o.BinaryMode = "bytes"
	}
	return o
}

// Column describes one table column as the catalog or pgoutput's RELATION
// message reports it.
type Column struct {
	Name string
	// TypeOID is the column type's OID (pgtype.Int4OID, …); user-defined
	// types (enums) have OIDs of their own and are recognised by
	// EnumValues.
	TypeOID uint32
	// TypeName is the type's name (format_type or pg_type.typname), used
	// in error messages and, with a leading underscore, to mark an array of
	// an enum.
	TypeName string
	// TypeMod is the type modifier (atttypmod): -1 when none, else numeric
	// precision and scale or the fractional-second digits of time types.
	TypeMod int32
	// Nullable is false for NOT NULL columns.
	Nullable bool
	// EnumValues are the labels of an enum type (or of an array's enum
	// element type), in declaration order.
	EnumValues []string
}

// arrayElem maps built-in array type OIDs to their element type OIDs.
var arrayElem = map[uint32]uint32{
	pgtype.BoolArrayOID: pgtype.BoolOID, pgtype.Int2ArrayOID: pgtype.Int2OID,
	pgtype.Int4ArrayOID: pgtype.Int4OID, pgtype.Int8ArrayOID: pgtype.Int8OID,
	pgtype.Float4ArrayOID: pgtype.Float4OID, pgtype.Float8ArrayOID: pgtype.Float8OID,
	pgtype.NumericArrayOID: pgtype.NumericOID, pgtype.TextArrayOID: pgtype.TextOID,
	pgtype.VarcharArrayOID: pgtype.VarcharOID, pgtype.BPCharArrayOID: pgtype.BPCharOID,
	pgtype.ByteaArrayOID: pgtype.ByteaOID, pgtype.UUIDArrayOID: pgtype.UUIDOID,
	pgtype.JSONArrayOID: pgtype.JSONOID, pgtype.JSONBArrayOID: pgtype.JSONBOID,
	pgtype.DateArrayOID: pgtype.DateOID, pgtype.TimeArrayOID: pgtype.TimeOID,
	pgtype.TimestampArrayOID: pgtype.TimestampOID, pgtype.TimestamptzArrayOID: pgtype.TimestamptzOID,
	pgtype.TimetzArrayOID: pgtype.TimetzOID,
}

// isEnum reports whether c is an enum column (not an array of one).
func (c Column) isEnum() bool {
	return len(c.EnumValues) > 0 && !strings.HasPrefix(c.TypeName, "_")
}

// element returns the column describing an array column's elements, and
// whether c is an array Debezium maps.
func (c Column) element() (Column, bool) {
	if len(c.EnumValues) > 0 && strings.HasPrefix(c.TypeName, "_") {
		return Column{Name: c.Name, TypeName: c.TypeName[1:], TypeMod: c.TypeMod, EnumValues: c.EnumValues}, true
	}
	oid, ok := arrayElem[c.TypeOID]
	if !ok {
		return Column{}, false
	}
	return Column{Name: c.Name, TypeOID: oid, TypeName: strings.TrimPrefix(c.TypeName, "_"), TypeMod: c.TypeMod, Nullable: true}, true
}

// numericPrecisionScale decodes a numeric typmod; ok is false for a numeric
// declared without precision (variable scale).
func (c Column) numericPrecisionScale() (precision, scale int, ok bool) {
	if c.TypeMod < 4 {
		return 0, 0, false
	}
	m := int(c.TypeMod) - 4
	return (m >> 16) & 0xffff, m & 0xffff, true
}

// timePrecision returns the fractional-second digits of a time type: its
// typmod, or 6 when none was declared.
func (c Column) timePrecision() int {
	if c.TypeMod < 0 || c.TypeMod > 6 {
		return 6
	}
	return int(c.TypeMod)
}

// ColumnSchema returns the Connect schema Debezium gives column c under
// opts: optional when the column is nullable. An unsupported type is an
// error naming the column and type.
func ColumnSchema(c Column, opts TypeOptions) (*connect.Schema, error) {
	s, err := baseSchema(c, opts.withDefaults())
	if err != nil {
		return nil, err
	}
	if c.Nullable {
		return optional(s), nil
	}
	return s, nil
}

// optional returns a copy of s marked optional.
func optional(s *connect.Schema) *connect.Schema {
	c := *s
	c.Optional = true
	return &c
}

// baseSchema returns c's schema, required.
func baseSchema(c Column, o TypeOptions) (*connect.Schema, error) {
	if elem, ok := c.element(); ok {
		es, err := baseSchema(elem, o)
		if err != nil {
			return nil, err
		}
		if !elem.isEnum() { // Debezium leaves enum array elements required
			es = optional(es)
		}
		return connect.ArrayOf(es), nil
	}
	b, err := schemaBuilder(c, o)
	if err != nil {
		return nil, err
	}
	return b.Build(), nil
}

// schemaBuilder picks the builder for a scalar column type.
func schemaBuilder(c Column, o TypeOptions) (*connect.SchemaBuilder, error) {
	if c.isEnum() {
		return semantic(connect.TypeString, EnumName).Param(EnumAllowedParam, strings.Join(c.EnumValues, ",")), nil
	}
	switch c.TypeOID {
	case pgtype.Int2OID:
		return connect.NewSchemaBuilder(connect.TypeInt16), nil
	case pgtype.Int4OID:
		return connect.NewSchemaBuilder(connect.TypeInt32), nil
	case pgtype.Int8OID, pgtype.OIDOID:
		return connect.NewSchemaBuilder(connect.TypeInt64), nil
	case pgtype.Float4OID:
		return connect.NewSchemaBuilder(connect.TypeFloat32), nil
	case pgtype.Float8OID:
		return connect.NewSchemaBuilder(connect.TypeFloat64), nil
	case pgtype.BoolOID:
		return connect.NewSchemaBuilder(connect.TypeBoolean), nil
	case pgtype.TextOID, pgtype.VarcharOID, pgtype.BPCharOID, pgtype.NameOID:
		return connect.NewSchemaBuilder(connect.TypeString), nil
	case pgtype.ByteaOID:
		if o.BinaryMode == "bytes" {
			return connect.NewSchemaBuilder(connect.TypeBytes), nil
		}
		return connect.NewSchemaBuilder(connect.TypeString), nil
	case pgtype.UUIDOID:
		return semantic(connect.TypeString, UUIDName), nil
	case pgtype.JSONOID, pgtype.JSONBOID:
		return semantic(connect.TypeString, JSONName), nil
	case pgtype.NumericOID:
		return numericSchema(c, o), nil
	case pgtype.IntervalOID:
		return semantic(connect.TypeInt64, MicroDurationName), nil
	case pgtype.TimestamptzOID:
		return semantic(connect.TypeString, ZonedTimestampName), nil
	case pgtype.TimetzOID:
		return semantic(connect.TypeString, ZonedTimeName), nil
	case pgtype.DateOID, pgtype.TimeOID, pgtype.TimestampOID:
		return temporalSchema(c, o), nil
	}
	return nil, fmt.Errorf("map column %s of type %s (oid %d): %w", c.Name, c.TypeName, c.TypeOID, ErrUnsupportedType)
}

// semantic starts a Debezium semantic type: a name and version 1.
func semantic(t connect.Type, name string) *connect.SchemaBuilder {
	return connect.NewSchemaBuilder(t).Name(name).Version(1)
}

// numericSchema maps numeric per decimal.handling.mode; in precise mode a
// numeric without declared scale becomes Debezium's VariableScaleDecimal.
func numericSchema(c Column, o TypeOptions) *connect.SchemaBuilder {
	switch o.DecimalMode {
	case "double":
		return connect.NewSchemaBuilder(connect.TypeFloat64)
	case "string":
		return connect.NewSchemaBuilder(connect.TypeString)
	}
	precision, scale, ok := c.numericPrecisionScale()
	if !ok {
		return connect.StructBuilder().Name(VariableScaleDecimalName).Version(1).Doc("Variable scaled decimal").
			Field("scale", connect.Int32Schema).Field("value", connect.BytesSchema)
	}
	return connect.DecimalSchema(scale).Param(DecimalPrecisionParam, strconv.Itoa(precision))
}

// temporalSchema maps date, time and timestamp per time.precision.mode.
func temporalSchema(c Column, o TypeOptions) *connect.SchemaBuilder {
	if o.TimePrecisionMode == "connect" {
		switch c.TypeOID {
		case pgtype.DateOID:
			return connect.DateSchema()
		case pgtype.TimeOID:
			return connect.TimeSchema()
		default:
			return connect.TimestampSchema()
		}
	}
	p := c.timePrecision()
	switch c.TypeOID {
	case pgtype.DateOID:
		return semantic(connect.TypeInt32, DateName)
	case pgtype.TimeOID:
		if p <= 3 && o.TimePrecisionMode == "adaptive" {
			return semantic(connect.TypeInt32, TimeName)
		}
		return semantic(connect.TypeInt64, MicroTimeName)
	default:
		if p <= 3 {
			return semantic(connect.TypeInt64, TimestampName)
		}
		return semantic(connect.TypeInt64, MicroTimestampName)
	}
}
