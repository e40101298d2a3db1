package jdbc

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	dbz "github.com/sluicehq/sluice/connectors/debezium"
	"github.com/sluicehq/sluice/runtime/connect"
)

// dialect names the SQL dialect chosen from the JDBC URL.
type dialect int

const (
	postgresDialect dialect = iota + 1
	mysqlDialect            // MySQL
	mariadbDialect          // MariaDB (MySQL syntax, MariaDB's upsert)
	// mysqlAliasDialect is MySQL ≥ 8.0.20, found from the server version
	// at connect (serverDialect): its upsert names the new row with a
	// row alias, VALUES() being deprecated there.
	mysqlAliasDialect
)

// Debezium semantic names the Postgres connector does not emit but other
// Debezium sources do (MySQL, Oracle…); the sink maps them too.
const (
	nanoTimeName      = "io.debezium.time.NanoTime"
	nanoTimestampName = "io.debezium.time.NanoTimestamp"
	yearName          = "io.debezium.time.Year"
	enumSetName       = "io.debezium.data.EnumSet"
	geometryName      = "io.debezium.data.geometry.Geometry"
)

// errNoColumnType is returned by columnType for a schema no SQL column can
// hold (a plain STRUCT, a MAP or ARRAY where the dialect has no type).
var errNoColumnType = errors.New("no SQL column type")

// mysqlKeyLength is the VARCHAR/VARBINARY length of key columns on MySQL
// and MariaDB: TEXT and BLOB cannot be indexed without a prefix length, so
// Debezium uses varchar(255) (getMaxVarcharLengthInKey) where Confluent's
// TEXT fails with "BLOB/TEXT column … used in key specification".
const mysqlKeyLength = 255

// The dialects' bounds.
const (
	pgMaxBits         = 83886080 // bit varying's largest declared length
	mysqlMaxBits      = 64
	mysqlMaxPrecision = 65
	mysqlMaxScale     = 30
)

func (d dialect) String() string {
	switch d {
	case postgresDialect:
		return "postgres"
	case mysqlDialect:
		return "mysql"
	case mariadbDialect:
		return "mariadb"
	case mysqlAliasDialect:
		return "mysql≥8.0.20"
	}
	return "dialect(" + strconv.Itoa(int(d)) + ")"
}

func (d dialect) isMySQL() bool {
	return d == mysqlDialect || d == mariadbDialect || d == mysqlAliasDialect
}

// quoteIdent quotes one identifier as the dialect does ("x" for Postgres,
// `x` for MySQL/MariaDB), doubling embedded quotes.
func (d dialect) quoteIdent(name string) string {
	q := `"`
	if d.isMySQL() {
		q = "`"
	}
	return q + strings.ReplaceAll(name, q, q+q) + q
}

// ident renders an identifier quoted or, with quote off, as written (the
// database then folds its case: Postgres lower-cases, MySQL keeps it).
func (d dialect) ident(name string, quote bool) string {
	if quote {
		return d.quoteIdent(name)
	}
	return name
}

// column is one column as the sink wants it.
type column struct {
	Name   string
	Schema *connect.Schema
	Key    bool
}

// columnType returns the SQL type of a Connect schema (incl. logical types
// Decimal, Date, Time, Timestamp and Debezium semantic types
// io.debezium.time.*, io.debezium.data.*; strings that are keys get a
// bounded type that MySQL can index) — or an error naming the field.
//
// The mapping follows Debezium's JDBC sink where it and Confluent's differ
// (see the package README for the table and the few deliberate departures).
func (d dialect) columnType(c column) (string, error) {
	if c.Schema == nil {
		return "", fmt.Errorf("column %q: %w: the field has no schema", c.Name, errNoColumnType)
	}
	t, err := d.sqlType(c.Schema, c.Key)
	if err != nil {
		return "", fmt.Errorf("column %q: %w", c.Name, err)
	}
	return t, nil
}

func (d dialect) sqlType(s *connect.Schema, key bool) (string, error) {
	if t, ok, err := d.namedType(s, key); ok || err != nil {
		return t, err
	}
	if d.isMySQL() {
		return d.mysqlPrimitive(s, key)
	}
	return d.pgPrimitive(s)
}

// namedType maps the logical and semantic types; ok is false for a schema
// whose name the sink does not know (its physical type decides then).
func (d dialect) namedType(s *connect.Schema, key bool) (string, bool, error) {
	my := d.isMySQL()
	pick := func(pg, mysql string) (string, bool, error) {
		if my {
			return mysql, true, nil
		}
		return pg, true, nil
	}
	str := d.stringType(key)
	switch s.Name {
	case connect.DecimalName:
		t, err := d.decimalType(s)
		return t, true, err
	case connect.DateName, dbz.DateName:
		return "date", true, nil
	case connect.TimeName, dbz.TimeName:
		return pick("time(3)", "time(3)")
	case dbz.MicroTimeName, nanoTimeName:
		return pick("time(6)", "time(6)")
	case connect.TimestampName, dbz.TimestampName:
		return pick("timestamp(3)", "datetime(3)")
	case dbz.MicroTimestampName, nanoTimestampName:
		return pick("timestamp(6)", "datetime(6)")
	case dbz.ZonedTimestampName:
		// MySQL's TIMESTAMP (Debezium's choice) holds only 1970..2038 and
		// shifts by the session zone; DATETIME(6) holding UTC holds all.
		return pick("timestamp(6) with time zone", "datetime(6)")
	case dbz.ZonedTimeName:
		return pick("time(6) with time zone", "time(6)")
	case dbz.MicroDurationName:
		// Debezium uses MySQL TIME, whose ±838:59:59 range refuses an
		// interval of a year; microseconds in a BIGINT keep every value.
		return pick("interval", "bigint")
	case dbz.IntervalName:
		return pick("interval", str)
	case dbz.VariableScaleDecimalName:
		// Debezium: DOUBLE. Postgres's unconstrained numeric keeps every
		// digit; MySQL has no decimal of unbounded scale, so double there.
		return pick("numeric", "double")
	case dbz.UUIDName:
		return pick("uuid", "char(36)")
	case dbz.JSONName:
		if key && my {
			return str, true, nil
		}
		return pick("json", "json")
	case dbz.XMLName:
		if key && my {
			return str, true, nil
		}
		return pick("xml", "longtext")
	case dbz.LtreeName, dbz.TsvectorName:
		// ltree needs the extension in the target; text holds its form.
		if s.Name == dbz.TsvectorName && !my && !key {
			return "tsvector", true, nil
		}
		return str, true, nil
	case dbz.EnumName, enumSetName:
		if !my || key {
			return str, true, nil
		}
		labels := s.Parameters[dbz.EnumAllowedParam]
		if labels == "" {
			return str, true, nil
		}
		kind := "enum"
		if s.Name == enumSetName {
			kind = "set"
		}
		return kind + "(" + mysqlLabels(labels) + ")", true, nil
	case dbz.BitsName:
		t, err := d.bitsType(s)
		return t, true, err
	case yearName:
		return pick("integer", "year")
	case dbz.PointName:
		return pick("point", "point")
	case geometryName:
		if my {
			return "geometry", true, nil
		}
		return "", true, fmt.Errorf("%w: %s needs PostGIS, which the sink does not create", errNoColumnType, s.Name)
	}
	return "", false, nil
}

func (d dialect) pgPrimitive(s *connect.Schema) (string, error) {
	switch s.Type {
	case connect.TypeInt8, connect.TypeInt16:
		return "smallint", nil
	case connect.TypeInt32:
		return "integer", nil
	case connect.TypeInt64:
		return "bigint", nil
	case connect.TypeFloat32:
		return "real", nil
	case connect.TypeFloat64:
		return "double precision", nil
	case connect.TypeBoolean:
		return "boolean", nil
	case connect.TypeString:
		return "text", nil
	case connect.TypeBytes:
		return "bytea", nil
	case connect.TypeMap:
		// Debezium uses hstore, which needs the extension in the target.
		return "jsonb", nil
	case connect.TypeArray:
		if s.ValueSchema == nil {
			return "", fmt.Errorf("%w: ARRAY without an element schema", errNoColumnType)
		}
		if s.ValueSchema.Type == connect.TypeArray {
			return "", fmt.Errorf("%w: nested ARRAY", errNoColumnType)
		}
		elem, err := d.sqlType(s.ValueSchema, false)
		if err != nil {
			return "", fmt.Errorf("ARRAY element: %w", err)
		}
		return elem + "[]", nil
	}
	return "", d.structErr(s)
}

func (d dialect) mysqlPrimitive(s *connect.Schema, key bool) (string, error) {
	switch s.Type {
	case connect.TypeInt8:
		return "tinyint", nil
	case connect.TypeInt16:
		return "smallint", nil
	case connect.TypeInt32:
		return "int", nil
	case connect.TypeInt64:
		return "bigint", nil
	case connect.TypeFloat32:
		return "float", nil
	case connect.TypeFloat64:
		return "double", nil
	case connect.TypeBoolean:
		return "boolean", nil
	case connect.TypeString:
		return d.stringType(key), nil
	case connect.TypeBytes:
		if key {
			return "varbinary(" + strconv.Itoa(mysqlKeyLength) + ")", nil
		}
		return "longblob", nil
	case connect.TypeMap, connect.TypeArray:
		if key {
			return "", fmt.Errorf("%w: a %s cannot be part of a primary key", errNoColumnType, s.Type)
		}
		return "json", nil
	}
	return "", d.structErr(s)
}

func (d dialect) structErr(s *connect.Schema) error {
	what := string(s.Type)
	if s.Name != "" {
		what += " " + s.Name
	}
	return fmt.Errorf("%w for %s; flatten the record first (e.g. the Flatten or ExtractNewRecordState transform)", errNoColumnType, what)
}

// stringType is the type of a STRING column: text, or for MySQL longtext,
// and varchar(255) when the column is part of the key on MySQL.
func (d dialect) stringType(key bool) string {
	if !d.isMySQL() {
		return "text"
	}
	if key {
		return "varchar(" + strconv.Itoa(mysqlKeyLength) + ")"
	}
	return "longtext"
}

// decimalType uses the precision Debezium records in
// connect.decimal.precision when present; without it Postgres gets an
// unconstrained numeric (exact at any scale) and MySQL Confluent's
// DECIMAL(65,scale).
func (d dialect) decimalType(s *connect.Schema) (string, error) {
	scale, err := connect.DecimalScale(s)
	if err != nil {
		return "", err
	}
	prec := 0
	if p, ok := s.Parameters[dbz.DecimalPrecisionParam]; ok {
		if prec, err = strconv.Atoi(p); err != nil || prec <= 0 {
			return "", fmt.Errorf("invalid %s %q in Decimal schema", dbz.DecimalPrecisionParam, p)
		}
	}
	if !d.isMySQL() {
		if prec == 0 || prec > 1000 || scale < 0 || scale > prec {
			return "numeric", nil
		}
		return fmt.Sprintf("numeric(%d,%d)", prec, scale), nil
	}
	scale = max(scale, 0)
	if scale > mysqlMaxScale {
		return "", fmt.Errorf("%w: Decimal scale %d exceeds MySQL's maximum of %d", errNoColumnType, scale, mysqlMaxScale)
	}
	if prec == 0 || prec > mysqlMaxPrecision {
		prec = mysqlMaxPrecision
	}
	return fmt.Sprintf("decimal(%d,%d)", max(prec, scale), scale), nil
}

// bitsType maps io.debezium.data.Bits: bit varying(n) on Postgres (which
// takes the values of both bit(n) and bit varying(n) sources), bit(n) on
// MySQL up to its 64 bits and varbinary beyond.
func (d dialect) bitsType(s *connect.Schema) (string, error) {
	n := 0
	if p, ok := s.Parameters[dbz.BitsLengthParam]; ok {
		var err error
		if n, err = strconv.Atoi(p); err != nil || n < 0 {
			return "", fmt.Errorf("invalid %s %q in Bits schema", dbz.BitsLengthParam, p)
		}
	}
	if !d.isMySQL() {
		if n == 0 || n > pgMaxBits {
			return "bit varying", nil
		}
		return fmt.Sprintf("bit varying(%d)", n), nil
	}
	if n > 0 && n <= mysqlMaxBits {
		return fmt.Sprintf("bit(%d)", n), nil
	}
	return "longblob", nil
}

// mysqlLabels renders Enum labels ("a,b") as a MySQL ENUM/SET list.
func mysqlLabels(labels string) string {
	parts := strings.Split(labels, ",")
	for i, p := range parts {
		parts[i] = mysqlString(p)
	}
	return strings.Join(parts, ",")
}

// mysqlString is a MySQL string literal for the default sql_mode, where a
// backslash escapes.
func mysqlString(s string) string {
	s = strings.ReplaceAll(s, `\`, `\\`)
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// pgString is a Postgres standard-conforming string literal.
func pgString(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}
