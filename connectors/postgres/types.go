package postgres

import (
	"fmt"
	"maps"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/sluicehq/sluice/connectors/debezium"
	"github.com/sluicehq/sluice/runtime/connect"
)

// OIDs pgtype does not name.
const (
	moneyOID          = 790
	moneyArrayOID     = 791
	macaddr8ArrayOID  = 775
	refcursorArrayOID = 2201
	// firstNormalOID is Postgres's FirstNormalObjectId: OIDs below it are
	// built in, extension types get OIDs from it on.
	firstNormalOID = 16384
)

// maxBits is the length Debezium gives a bit varying column declared
// without one (Integer.MAX_VALUE, what the JDBC driver reports).
const maxBits = 1<<31 - 1

// Extension types have no fixed OID; they are recognised by type name.
const (
	hstoreType = "hstore"
	citextType = "citext"
	ltreeType  = "ltree"
)

// TypeOptions are the connector settings that choose how column values are
// represented; the zero value means Debezium's defaults.
type TypeOptions struct {
	// DecimalMode is decimal.handling.mode: precise (default), double or
	// string. It applies to numeric and money.
	DecimalMode string
	// TimePrecisionMode is time.precision.mode: adaptive (default),
	// adaptive_time_microseconds or connect.
	TimePrecisionMode string
	// BinaryMode is binary.handling.mode: bytes (default), base64,
	// base64-url-safe or hex.
	BinaryMode string
	// HStoreMode is hstore.handling.mode: json (default) or map.
	HStoreMode string
	// IntervalMode is interval.handling.mode: numeric (default) or string.
	IntervalMode string
	// MoneyFractionDigits is money.fraction.digits, the scale of money
	// values in precise mode; nil means Debezium's default, 2.
	MoneyFractionDigits *int
	// IncludeUnknown is include.unknown.datatypes: a column whose type
	// has no mapping gets binary.handling.mode's schema and the bytes of
	// its text form, instead of no schema (ErrUnsupportedType).
	IncludeUnknown bool
}

// TypeOptionsFromConfig reads the type options from a parsed connector
// config (Config.Parse).
func TypeOptionsFromConfig(c connect.Config) TypeOptions {
	digits := int(c.Int(MoneyFractionDigitsConfig))
	return TypeOptions{
		DecimalMode:         c.String(DecimalHandlingModeConfig),
		TimePrecisionMode:   c.String(TimePrecisionModeConfig),
		BinaryMode:          c.String(BinaryHandlingModeConfig),
		HStoreMode:          c.String(HStoreHandlingModeConfig),
		IntervalMode:        c.String(IntervalHandlingModeConfig),
		MoneyFractionDigits: &digits,
		IncludeUnknown:      c.Bool(IncludeUnknownDatatypesConfig),
	}
}

func (o TypeOptions) withDefaults() TypeOptions {
	if o.DecimalMode == "" {
		o.DecimalMode = debezium.DecimalPrecise
	}
	if o.TimePrecisionMode == "" {
		o.TimePrecisionMode = debezium.TimeAdaptive
	}
	if o.BinaryMode == "" {
		o.BinaryMode = debezium.BinaryBytes
	}
	if o.HStoreMode == "" {
		o.HStoreMode = "json"
	}
	if o.IntervalMode == "" {
		o.IntervalMode = "numeric"
	}
	if o.MoneyFractionDigits == nil {
		two := 2
		o.MoneyFractionDigits = &two
	}
	return o
}

// moneyScale is the scale of money values.
func (o TypeOptions) moneyScale() int { return *o.MoneyFractionDigits }

// Column describes one table column as the catalog or pgoutput's RELATION
// message reports it.
type Column struct {
	Name string
	// TypeOID is the column type's OID (pgtype.Int4OID, …); user-defined
	// types (enums) and extension types (hstore, citext, ltree) have OIDs of
	// their own and are recognised by EnumValues and TypeName.
	TypeOID uint32
	// TypeName is the type's name (pg_type.typname): it identifies
	// extension types, marks an array with a leading underscore, and
	// names the type in error messages.
	TypeName string
	// TypeMod is the type modifier (atttypmod): -1 when none, else numeric
	// precision and scale, the fractional-second digits of time types or
	// the length of bit types.
	TypeMod int32
	// Nullable is false for NOT NULL columns.
	Nullable bool
	// EnumValues are the labels of an enum type (or of an array's enum
	// element type), in declaration order.
	EnumValues []string
	// PropagateSourceType adds the source type parameters to the column's
	// schema (column.propagate.source.type, datatype.propagate.source.type).
	PropagateSourceType bool
}

// Debezium's schema parameters naming a column's source type.
const (
	SourceColumnTypeParam   = "__debezium.source.column.type"
	SourceColumnLengthParam = "__debezium.source.column.length"
	SourceColumnScaleParam  = "__debezium.source.column.scale"
)

// withSourceType returns a copy of s with the source type parameters:
// the type name upper-cased as Debezium writes it, and the length and
// scale the column declares (varchar(n), char(n), numeric(p,s), bit(n)).
func withSourceType(s *connect.Schema, c Column) *connect.Schema {
	out := *s
	out.Parameters = maps.Clone(s.Parameters)
	if out.Parameters == nil {
		out.Parameters = map[string]string{}
	}
	out.Parameters[SourceColumnTypeParam] = strings.ToUpper(c.TypeName)
	switch c.TypeOID {
	case pgtype.VarcharOID, pgtype.BPCharOID:
		if c.TypeMod >= 4 {
			out.Parameters[SourceColumnLengthParam] = strconv.Itoa(int(c.TypeMod) - 4)
		}
	case pgtype.NumericOID:
		if p, sc, ok := c.numericPrecisionScale(); ok {
			out.Parameters[SourceColumnLengthParam] = strconv.Itoa(p)
			out.Parameters[SourceColumnScaleParam] = strconv.Itoa(sc)
		}
	case pgtype.BitOID, pgtype.VarbitOID:
		if c.TypeMod > 0 {
			out.Parameters[SourceColumnLengthParam] = strconv.Itoa(int(c.TypeMod))
		}
	}
	return &out
}

// arrayElem maps built-in array type OIDs to their element type OIDs.
var arrayElem = map[uint32]uint32{
	pgtype.BoolArrayOID: pgtype.BoolOID, pgtype.Int2ArrayOID: pgtype.Int2OID,
	pgtype.Int4ArrayOID: pgtype.Int4OID, pgtype.Int8ArrayOID: pgtype.Int8OID,
	pgtype.OIDArrayOID: pgtype.OIDOID, pgtype.Float4ArrayOID: pgtype.Float4OID,
	pgtype.Float8ArrayOID: pgtype.Float8OID, pgtype.NumericArrayOID: pgtype.NumericOID,
	pgtype.TextArrayOID: pgtype.TextOID, pgtype.VarcharArrayOID: pgtype.VarcharOID,
	pgtype.BPCharArrayOID: pgtype.BPCharOID, pgtype.ByteaArrayOID: pgtype.ByteaOID,
	pgtype.UUIDArrayOID: pgtype.UUIDOID, pgtype.JSONArrayOID: pgtype.JSONOID,
	pgtype.JSONBArrayOID: pgtype.JSONBOID, pgtype.DateArrayOID: pgtype.DateOID,
	pgtype.TimeArrayOID: pgtype.TimeOID, pgtype.TimestampArrayOID: pgtype.TimestampOID,
	pgtype.TimestamptzArrayOID: pgtype.TimestamptzOID, pgtype.TimetzArrayOID: pgtype.TimetzOID,
	pgtype.InetArrayOID: pgtype.InetOID, pgtype.CIDRArrayOID: pgtype.CIDROID,
	pgtype.MacaddrArrayOID: pgtype.MacaddrOID, macaddr8ArrayOID: pgtype.Macaddr8OID,
	pgtype.Int4rangeArrayOID: pgtype.Int4rangeOID, pgtype.Int8rangeArrayOID: pgtype.Int8rangeOID,
	pgtype.NumrangeArrayOID: pgtype.NumrangeOID, pgtype.TsrangeArrayOID: pgtype.TsrangeOID,
	pgtype.TstzrangeArrayOID: pgtype.TstzrangeOID, pgtype.DaterangeArrayOID: pgtype.DaterangeOID,
}

// isEnum reports whether c is an enum column (not an array of one).
func (c Column) isEnum() bool {
	return len(c.EnumValues) > 0 && !strings.HasPrefix(c.TypeName, "_")
}

// extension returns the name of c's extension type (hstore, citext,
// ltree), or "" when c is of none. Extension types are known by name, as
// their OIDs differ from database to database; a built-in OID is never
// one, whatever its name.
func (c Column) extension() string {
	if c.TypeOID != 0 && c.TypeOID < firstNormalOID {
		return ""
	}
	switch c.TypeName {
	case hstoreType, citextType, ltreeType:
		return c.TypeName
	}
	return ""
}

// element returns the column describing an array column's elements, and
// whether c is an array Debezium maps.
func (c Column) element() (Column, bool) {
	if len(c.EnumValues) > 0 && strings.HasPrefix(c.TypeName, "_") {
		return Column{Name: c.Name, TypeName: c.TypeName[1:], TypeMod: c.TypeMod, EnumValues: c.EnumValues}, true
	}
	if oid, ok := arrayElem[c.TypeOID]; ok {
		return Column{Name: c.Name, TypeOID: oid, TypeName: strings.TrimPrefix(c.TypeName, "_"), TypeMod: c.TypeMod, Nullable: true}, true
	}
	if strings.HasPrefix(c.TypeName, "_") {
		if elem := (Column{Name: c.Name, TypeName: c.TypeName[1:], Nullable: true}); elem.extension() != "" {
			return elem, true
		}
	}
	return Column{}, false
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

// bitLength returns the declared length of a bit or bit varying column,
// maxBits for bit varying without one.
func (c Column) bitLength() int {
	if c.TypeMod < 0 {
		return maxBits
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
	// Struct values carry their schema, which must stay the shared one.
	if c.PropagateSourceType && s.Type != connect.TypeStruct {
		s = withSourceType(s, c)
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
	if c.isEnum() {
		return semantic(connect.TypeString, debezium.EnumName).Param(debezium.EnumAllowedParam, strings.Join(c.EnumValues, ",")).Build(), nil
	}
	if s := extensionSchema(c, o); s != nil {
		return s, nil
	}
	if s := builtinSchema(c, o); s != nil {
		return s, nil
	}
	if s := unknownSchema(c, o); s != nil {
		return s, nil
	}
	return nil, fmt.Errorf("map column %s of type %s (oid %d): %w", c.Name, c.TypeName, c.TypeOID, ErrUnsupportedType)
}

// builtinSchema returns the schema of a built-in scalar type, or nil for
// a type without mapping. It is one switch so that the table of built-in
// types reads in one place.
func builtinSchema(c Column, o TypeOptions) *connect.Schema {
	switch c.TypeOID {
	case pgtype.Int2OID:
		return connect.Int16Schema
	case pgtype.Int4OID:
		return connect.Int32Schema
	case pgtype.Int8OID, pgtype.OIDOID:
		return connect.Int64Schema
	case pgtype.Float4OID:
		return connect.Float32Schema
	case pgtype.Float8OID:
		return connect.Float64Schema
	case pgtype.BoolOID:
		return connect.BooleanSchema
	case pgtype.TextOID, pgtype.VarcharOID, pgtype.BPCharOID, pgtype.NameOID,
		pgtype.InetOID, pgtype.CIDROID, pgtype.MacaddrOID, pgtype.Macaddr8OID,
		pgtype.Int4rangeOID, pgtype.Int8rangeOID, pgtype.NumrangeOID,
		pgtype.TsrangeOID, pgtype.TstzrangeOID, pgtype.DaterangeOID:
		return connect.StringSchema
	case pgtype.ByteaOID:
		return binarySchema(o)
	case pgtype.BitOID, pgtype.VarbitOID:
		if n := c.bitLength(); n > 1 {
			return connect.NewSchemaBuilder(connect.TypeBytes).Name(debezium.BitsName).Param(debezium.BitsLengthParam, strconv.Itoa(n)).Version(1).Build()
		}
		return connect.BooleanSchema
	case pgtype.UUIDOID:
		return semantic(connect.TypeString, debezium.UUIDName).Build()
	case pgtype.JSONOID, pgtype.JSONBOID:
		return semantic(connect.TypeString, debezium.JSONName).Build()
	case pgtype.XMLOID:
		return semantic(connect.TypeString, debezium.XMLName).Build()
	case pgtype.TSVectorOID:
		return semantic(connect.TypeString, debezium.TsvectorName).Build()
	case pgtype.PointOID:
		return pointSchema
	case pgtype.NumericOID:
		return numericSchema(c, o).Build()
	case moneyOID:
		return moneySchema(o)
	case pgtype.IntervalOID:
		if o.IntervalMode == "string" {
			return semantic(connect.TypeString, debezium.IntervalName).Build()
		}
		return semantic(connect.TypeInt64, debezium.MicroDurationName).Build()
	case pgtype.TimestamptzOID:
		return semantic(connect.TypeString, debezium.ZonedTimestampName).Build()
	case pgtype.TimetzOID:
		return semantic(connect.TypeString, debezium.ZonedTimeName).Build()
	case pgtype.DateOID, pgtype.TimeOID, pgtype.TimestampOID:
		return temporalSchema(c, o).Build()
	}
	return nil
}

// binarySchema is the schema of binary values per binary.handling.mode:
// bytes, or an encoded string.
func binarySchema(o TypeOptions) *connect.Schema {
	if o.BinaryMode == debezium.BinaryBytes {
		return connect.BytesSchema
	}
	return connect.StringSchema
}

// neverMapped are the array types Debezium leaves without schema even
// under include.unknown.datatypes: arrays of money, name, interval, bit
// varying, xml, point and refcursor.
var neverMapped = map[uint32]bool{
	moneyArrayOID: true, pgtype.NameArrayOID: true, pgtype.IntervalArrayOID: true,
	pgtype.VarbitArrayOID: true, pgtype.XMLArrayOID: true, pgtype.PointArrayOID: true,
	refcursorArrayOID: true,
}

// unknownSchema is include.unknown.datatypes' schema for a column whose
// type has no mapping: binary.handling.mode's, in an array of required
// elements for an array type; nil when the option is off or Debezium
// never maps the type.
func unknownSchema(c Column, o TypeOptions) *connect.Schema {
	if !o.IncludeUnknown || neverMapped[c.TypeOID] {
		return nil
	}
	if c.isArray() {
		return connect.ArrayOf(binarySchema(o))
	}
	return binarySchema(o)
}

// isArray reports whether c is of an array type, whose name Postgres
// starts with an underscore.
func (c Column) isArray() bool { return strings.HasPrefix(c.TypeName, "_") }

// extensionSchema returns the schema of an extension type column, or nil
// when c is of none.
func extensionSchema(c Column, o TypeOptions) *connect.Schema {
	switch c.extension() {
	case citextType:
		return connect.StringSchema
	case ltreeType:
		return semantic(connect.TypeString, debezium.LtreeName).Build()
	case hstoreType:
		if o.HStoreMode == "map" { // keys are never null, values may be
			return connect.MapOf(connect.StringSchema, connect.OptionalStringSchema)
		}
		return semantic(connect.TypeString, debezium.JSONName).Build()
	}
	return nil
}

// semantic starts a Debezium semantic type: a name and version 1.
func semantic(t connect.Type, name string) *connect.SchemaBuilder {
	return connect.NewSchemaBuilder(t).Name(name).Version(1)
}

// pointSchema is Debezium's Point struct: the coordinates, and the point
// as WKB with an unset SRID.
var pointSchema = connect.StructBuilder().Name(debezium.PointName).Version(1).Doc("Geometry (POINT)").
	Field("x", connect.Float64Schema).Field("y", connect.Float64Schema).
	Field("wkb", connect.OptionalBytesSchema).Field("srid", connect.OptionalInt32Schema).Build()

// moneySchema maps money per decimal.handling.mode: a Decimal whose scale
// is money.fraction.digits (and, unlike numeric, no precision), a double
// or a string.
func moneySchema(o TypeOptions) *connect.Schema {
	switch o.DecimalMode {
	case debezium.DecimalDouble:
		return connect.Float64Schema
	case debezium.DecimalString:
		return connect.StringSchema
	}
	return connect.DecimalSchema(o.moneyScale()).Build()
}

// numericSchema maps numeric per decimal.handling.mode; in precise mode a
// numeric without declared scale becomes Debezium's VariableScaleDecimal.
func numericSchema(c Column, o TypeOptions) *connect.SchemaBuilder {
	switch o.DecimalMode {
	case debezium.DecimalDouble:
		return connect.NewSchemaBuilder(connect.TypeFloat64)
	case debezium.DecimalString:
		return connect.NewSchemaBuilder(connect.TypeString)
	}
	precision, scale, ok := c.numericPrecisionScale()
	if !ok {
		return connect.StructBuilder().Name(debezium.VariableScaleDecimalName).Version(1).Doc("Variable scaled decimal").
			Field("scale", connect.Int32Schema).Field("value", connect.BytesSchema)
	}
	return connect.DecimalSchema(scale).Param(debezium.DecimalPrecisionParam, strconv.Itoa(precision))
}

// temporalSchema maps date, time and timestamp per time.precision.mode.
func temporalSchema(c Column, o TypeOptions) *connect.SchemaBuilder {
	if o.TimePrecisionMode == debezium.TimeConnect {
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
		return semantic(connect.TypeInt32, debezium.DateName)
	case pgtype.TimeOID:
		if p <= 3 && o.TimePrecisionMode == debezium.TimeAdaptive {
			return semantic(connect.TypeInt32, debezium.TimeName)
		}
		return semantic(connect.TypeInt64, debezium.MicroTimeName)
	default:
		if p <= 3 {
			return semantic(connect.TypeInt64, debezium.TimestampName)
		}
		return semantic(connect.TypeInt64, debezium.MicroTimestampName)
	}
}
