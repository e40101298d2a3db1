package jdbc

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	dbz "github.com/sluicehq/sluice/connectors/debezium"
	"github.com/sluicehq/sluice/runtime/connect"
)

func TestQuoteIdent(t *testing.T) {
	assert.Equal(t, `"a""b"`, postgresDialect.quoteIdent(`a"b`))
	assert.Equal(t, "`a``b`", mysqlDialect.quoteIdent("a`b"))
	assert.Equal(t, "`x`", mariadbDialect.quoteIdent("x"))
	assert.Equal(t, `"s"."T"`, postgresDialect.quoteTable("s.T", true))
	assert.Equal(t, `s.T`, postgresDialect.quoteTable("s.T", false))
	assert.Equal(t, "`db`.`t`", mysqlDialect.quoteTable("db.t", true))
}

func named(t connect.Type, name string, params ...string) *connect.Schema {
	b := connect.NewSchemaBuilder(t).Name(name)
	for i := 0; i+1 < len(params); i += 2 {
		b.Param(params[i], params[i+1])
	}
	return b.Build()
}

// TestColumnTypes pins the mapping where it is a choice: keys, decimals,
// Debezium's semantic types, and the departures from Debezium the package
// documents.
func TestColumnTypes(t *testing.T) {
	str := connect.PrimitiveSchema(connect.TypeString, false)
	for _, tc := range []struct {
		name      string
		s         *connect.Schema
		key       bool
		pg, mysql string
	}{
		{"string key", str, true, "text", "varchar(255)"},
		{"string", str, false, "text", "longtext"},
		{"bytes key", connect.PrimitiveSchema(connect.TypeBytes, false), true, "bytea", "varbinary(255)"},
		{"int8", connect.PrimitiveSchema(connect.TypeInt8, false), false, "smallint", "tinyint"},
		{"boolean", connect.PrimitiveSchema(connect.TypeBoolean, false), false, "boolean", "boolean"},
		{"decimal with precision", named(connect.TypeBytes, connect.DecimalName, "scale", "2",
			dbz.DecimalPrecisionParam, "10"), false, "numeric(10,2)", "decimal(10,2)"},
		{"decimal", named(connect.TypeBytes, connect.DecimalName, "scale", "4"), false, "numeric", "decimal(65,4)"},
		{"decimal negative scale", named(connect.TypeBytes, connect.DecimalName, "scale", "-2"), false, "numeric", "decimal(65,0)"},
		{"connect time", named(connect.TypeInt32, connect.TimeName), false, "time(3)", "time(3)"},
		{"nano timestamp", named(connect.TypeInt64, nanoTimestampName), false, "timestamp(6)", "datetime(6)"},
		{"zoned timestamp", named(connect.TypeString, dbz.ZonedTimestampName), false,
			"timestamp(6) with time zone", "datetime(6)"},
		{"enum", named(connect.TypeString, dbz.EnumName, "allowed", "a,it's"), false, "text", `enum('a','it''s')`},
		{"enum key", named(connect.TypeString, dbz.EnumName, "allowed", "a,b"), true, "text", "varchar(255)"},
		{"enum set", named(connect.TypeString, enumSetName, "allowed", "a,b"), false, "text", "set('a','b')"},
		{"json key", named(connect.TypeString, dbz.JSONName), true, "json", "varchar(255)"},
		{"uuid", named(connect.TypeString, dbz.UUIDName), false, "uuid", "char(36)"},
		{"year", named(connect.TypeInt32, yearName), false, "integer", "year"},
		{"bits 70", named(connect.TypeBytes, dbz.BitsName, "length", "70"), false, "bit varying(70)", "longblob"},
		{"array", connect.ArrayOf(named(connect.TypeInt32, dbz.DateName)), false, "date[]", "json"},
		{"map", connect.MapOf(str, str), false, "jsonb", "json"},
		{"unknown name falls back to the type", named(connect.TypeInt32, "com.example.Thing"), false, "integer", "int"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := column{Name: "c", Schema: tc.s, Key: tc.key}
			got, err := postgresDialect.columnType(c)
			require.NoError(t, err)
			assert.Equal(t, tc.pg, got)
			for _, d := range []dialect{mysqlDialect, mariadbDialect} {
				got, err = d.columnType(c)
				require.NoError(t, err)
				assert.Equal(t, tc.mysql, got)
			}
		})
	}
}

func TestColumnTypeErrors(t *testing.T) {
	inner := connect.StructBuilder().Field("a", connect.PrimitiveSchema(connect.TypeInt32, false)).Build()
	for _, tc := range []struct {
		name string
		d    dialect
		s    *connect.Schema
		want string
	}{
		{"struct", postgresDialect, inner, `column "f": no SQL column type for STRUCT; flatten the record`},
		{"no schema", mysqlDialect, nil, `column "f": no SQL column type: the field has no schema`},
		{"nested array", postgresDialect, connect.ArrayOf(connect.ArrayOf(inner)), "nested ARRAY"},
		{"array of struct", postgresDialect, connect.ArrayOf(inner), "ARRAY element: no SQL column type for STRUCT"},
		{"mysql decimal scale", mysqlDialect, named(connect.TypeBytes, connect.DecimalName, "scale", "31"),
			"Decimal scale 31 exceeds MySQL's maximum of 30"},
		{"decimal without scale", postgresDialect, named(connect.TypeBytes, connect.DecimalName), "scale parameter not found"},
		{"geometry on postgres", postgresDialect, named(connect.TypeStruct, geometryName), "needs PostGIS"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.d.columnType(column{Name: "f", Schema: tc.s})
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	_, err := mysqlDialect.columnType(column{Name: "f", Schema: connect.MapOf(
		connect.PrimitiveSchema(connect.TypeString, false), connect.PrimitiveSchema(connect.TypeString, false)), Key: true})
	assert.True(t, errors.Is(err, errNoColumnType), "%v", err)
}

func TestCreateTableSQL(t *testing.T) {
	s := connect.StructBuilder().
		Field("id", connect.PrimitiveSchema(connect.TypeString, false)).
		Field("qty", connect.NewSchemaBuilder(connect.TypeInt32).Optional().Default(int32(1)).Build()).
		Field("note", connect.NewSchemaBuilder(connect.TypeString).Default(`a'b\c`).Build()).Build()
	got, err := mysqlDialect.createTableSQL("db.t", columnsOf(s, "id"), true)
	require.NoError(t, err)
	assert.Equal(t, "CREATE TABLE `db`.`t` (\n  `id` varchar(255) NOT NULL,\n  `qty` int NULL DEFAULT 1,\n"+
		"  `note` longtext NOT NULL DEFAULT ('a''b\\\\c'),\n  PRIMARY KEY (`id`)\n)", got)
	got, err = postgresDialect.createTableSQL("t", columnsOf(s), false)
	require.NoError(t, err)
	assert.Equal(t, "CREATE TABLE t (\n  id text NOT NULL,\n  qty integer NULL DEFAULT 1,\n"+
		"  note text NOT NULL DEFAULT 'a''b\\c'\n)", got)

	_, err = postgresDialect.createTableSQL("t", nil, true)
	assert.ErrorContains(t, err, "no fields")
	bad := connect.StructBuilder().
		Field("x", connect.StructBuilder().Build()).
		Field("f", connect.NewSchemaBuilder(connect.TypeFloat64).Default(math.NaN()).Build()).Build()
	_, err = postgresDialect.createTableSQL("t", columnsOf(bad), true)
	assert.ErrorContains(t, err, `column "x"`)
	assert.ErrorContains(t, err, `column "f": default value: NaN has no SQL literal`)
}

func TestAddColumnsSQL(t *testing.T) {
	info := &tableInfo{Name: "t", Columns: map[string]columnInfo{"id": {Name: "ID", Type: "text"}}}
	s := connect.StructBuilder().
		Field("Id", connect.PrimitiveSchema(connect.TypeString, false)).
		Field("must", connect.PrimitiveSchema(connect.TypeInt64, false)).
		Field("flag", connect.NewSchemaBuilder(connect.TypeBoolean).Default(true).Build()).Build()
	got, err := postgresDialect.addColumnsSQL(info, "s.t", columnsOf(s, "Id"), true)
	require.NoError(t, err)
	assert.Equal(t, []string{
		`ALTER TABLE "s"."t" ADD COLUMN "must" bigint NULL`,
		`ALTER TABLE "s"."t" ADD COLUMN "flag" boolean NOT NULL DEFAULT TRUE`,
	}, got)
	_, err = postgresDialect.addColumnsSQL(nil, "t", columnsOf(s), true)
	assert.ErrorContains(t, err, "does not exist")
}

// TestSemanticNames pins the names of the Debezium types this package
// spells itself (the rest come from package debezium).
func TestSemanticNames(t *testing.T) {
	assert.Equal(t, []string{"io.debezium.time.NanoTime", "io.debezium.time.NanoTimestamp", "io.debezium.time.Year",
		"io.debezium.data.EnumSet", "io.debezium.data.geometry.Geometry"},
		[]string{nanoTimeName, nanoTimestampName, yearName, enumSetName, geometryName})
}

func TestDDLNames(t *testing.T) {
	i := connect.PrimitiveSchema(connect.TypeInt32, false)
	long := strings.Repeat("x", 64)
	s := connect.StructBuilder().Field("a", i).Field("A", i).Field(long, i).Build()
	_, err := postgresDialect.createTableSQL("t", columnsOf(s), false)
	assert.ErrorContains(t, err, `columns "a" and "A" would be the same column`)
	assert.ErrorContains(t, err, `column "`+long+`": longer than Postgres's 63 bytes`)
	_, err = mysqlDialect.addColumnsSQL(&tableInfo{Columns: map[string]columnInfo{}}, long+".t", columnsOf(s), true)
	assert.ErrorContains(t, err, `columns "a" and "A" would be the same column`)
	assert.NotContains(t, err.Error(), `column "`+long+`"`) // 64 characters are fine on MySQL
	assert.NotContains(t, err.Error(), "schema")
	_, err = mysqlDialect.createTableSQL(long+"y", columnsOf(s), true)
	assert.ErrorContains(t, err, "longer than MySQL's 64 characters")

	quoted := connect.StructBuilder().Field("a", i).Field("A", i).Build()
	_, err = postgresDialect.createTableSQL("t", columnsOf(quoted), true) // quoted: two columns
	assert.NoError(t, err)
	_, err = postgresDialect.createTableSQL("", columnsOf(quoted), true)
	assert.ErrorContains(t, err, "table: empty name")
}

func TestBitsValueMySQL64(t *testing.T) {
	s := named(connect.TypeBytes, dbz.BitsName, "length", "64")
	v, err := mysqlDialect.columnValue(s, []byte{1, 0, 0, 0, 0, 0, 0, 0x80})
	require.NoError(t, err)
	assert.Equal(t, uint64(1<<63|1), v)
}
