package jdbc

import (
	"context"
	"database/sql"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	dbz "github.com/sluicehq/sluice/connectors/debezium"
	"github.com/sluicehq/sluice/runtime/connect"
)

// dialectDBs are the dialects the integration tests run against, with a
// starter for a real server of each.
var dialectDBs = []struct {
	name  string
	d     dialect
	open  func(*testing.T) *sql.DB
	every map[string][2]string
}{
	{"postgres", postgresDialect, openPostgres, postgresEvery},
	{"mariadb", mariadbDialect, openMariaDB, mariadbEvery},
}

// TestEveryTypeRoundTrip creates a table from a record holding every schema
// the Postgres CDC connector emits (its goldens) plus Kafka's own types,
// inserts the goldens' values through columnValue and reads them back: each
// column's type and value are as listed below.
func TestEveryTypeRoundTrip(t *testing.T) {
	for _, tc := range dialectDBs {
		t.Run(tc.name, func(t *testing.T) {
			db := tc.open(t)
			ctx := context.Background()
			s, st := everyTypeRecord(t)
			cols := columnsOf(s, "id", "n")
			create, err := tc.d.createTableSQL("every", cols, true)
			require.NoError(t, err)
			_, err = db.Exec(create)
			require.NoError(t, err, create)
			info, err := tc.d.readTable(ctx, db, "every")
			require.NoError(t, err)
			require.NotNil(t, info)
			assert.Equal(t, "every", info.Name)
			assert.Equal(t, []string{"id", "n"}, info.Key)
			assert.Len(t, info.Columns, len(cols))
			for _, c := range cols {
				ci := info.Columns[c.Name]
				assert.Equal(t, c.Schema.Optional && !c.Key, ci.Nullable, "nullable of %s", c.Name)
			}
			insertRow(t, tc.d, db, "every", cols, st)
			got := readBack(t, tc.d, db, "every", info)
			require.Len(t, got, len(tc.every))
			for name, want := range tc.every {
				assert.Equal(t, want[0], info.Columns[name].Type, "type of %s", name)
				assert.Equal(t, want[1], got[name], "value of %s", name)
			}
		})
	}
}

// TestEvolveAddsColumns adds fields to a table that has a row: an optional
// one, a required one without default (added nullable, since the row has no
// value for it) and a required one with a default (NOT NULL, the old row
// gets the default). Nothing is dropped and a second pass adds nothing.
func TestEvolveAddsColumns(t *testing.T) {
	for _, tc := range dialectDBs {
		t.Run(tc.name, func(t *testing.T) {
			db := tc.open(t)
			ctx := context.Background()
			v1 := connect.StructBuilder().
				Field("id", connect.PrimitiveSchema(connect.TypeInt64, false)).
				Field("name", connect.PrimitiveSchema(connect.TypeString, true)).
				Field("gone", connect.PrimitiveSchema(connect.TypeString, true)).Build()
			cols := columnsOf(v1, "id")
			create, err := tc.d.createTableSQL("evolve", cols, true)
			require.NoError(t, err)
			_, err = db.Exec(create)
			require.NoError(t, err)
			insertRow(t, tc.d, db, "evolve", cols,
				connect.NewStruct(v1).MustPut("id", int64(1)).MustPut("name", "one").MustPut("gone", "x"))

			v2 := connect.StructBuilder().
				Field("id", connect.PrimitiveSchema(connect.TypeInt64, false)).
				Field("Name", connect.PrimitiveSchema(connect.TypeString, true)). // same column, other case
				Field("added", connect.PrimitiveSchema(connect.TypeString, true)).
				Field("required", connect.PrimitiveSchema(connect.TypeInt32, false)).
				Field("defaulted", connect.NewSchemaBuilder(connect.TypeInt32).Default(int32(5)).Build()).
				Field("label", connect.NewSchemaBuilder(connect.TypeString).Default("it's").Build()).Build()
			info, err := tc.d.readTable(ctx, db, "evolve")
			require.NoError(t, err)
			alters, err := tc.d.addColumnsSQL(info, "evolve", columnsOf(v2, "id"), true)
			require.NoError(t, err)
			require.Len(t, alters, 4, "%q", alters)
			for _, a := range alters {
				_, err := db.Exec(a)
				require.NoError(t, err, a)
			}
			info, err = tc.d.readTable(ctx, db, "evolve")
			require.NoError(t, err)
			require.Len(t, info.Columns, 7) // gone stays
			assert.True(t, info.Columns["added"].Nullable)
			assert.True(t, info.Columns["required"].Nullable)
			assert.False(t, info.Columns["defaulted"].Nullable)
			assert.False(t, info.Columns["label"].Nullable)
			var def int
			var label string
			var required sql.NullInt64
			require.NoError(t, db.QueryRow(`SELECT defaulted, label, required FROM evolve`).Scan(&def, &label, &required))
			assert.Equal(t, 5, def)
			assert.Equal(t, "it's", label)
			assert.False(t, required.Valid)

			again, err := tc.d.addColumnsSQL(info, "evolve", columnsOf(v2, "id"), true)
			require.NoError(t, err)
			assert.Nil(t, again)
		})
	}
}

// TestReadTableNames: a missing table is nil; unquoted names are found
// however the database folded them; qualified names are read from their
// schema (Postgres) or database (MySQL).
func TestReadTableNames(t *testing.T) {
	for _, tc := range dialectDBs {
		t.Run(tc.name, func(t *testing.T) {
			db := tc.open(t)
			ctx := context.Background()
			info, err := tc.d.readTable(ctx, db, "missing")
			require.NoError(t, err)
			assert.Nil(t, info)

			s := connect.StructBuilder().Field("ID", connect.PrimitiveSchema(connect.TypeString, false)).
				Field("Val", connect.PrimitiveSchema(connect.TypeInt32, true)).Build()
			create, err := tc.d.createTableSQL("Mixed", columnsOf(s, "ID"), false)
			require.NoError(t, err)
			_, err = db.Exec(create)
			require.NoError(t, err, create)
			info, err = tc.d.readTable(ctx, db, "Mixed")
			require.NoError(t, err)
			require.NotNil(t, info)
			want := "Mixed" // MySQL keeps the case of unquoted names
			if tc.d == postgresDialect {
				want = "mixed"
			}
			assert.Equal(t, want, info.Name)
			require.Len(t, info.Key, 1)
			assert.Contains(t, info.Columns, "val")

			_, err = db.Exec("CREATE SCHEMA other")
			require.NoError(t, err)
			create, err = tc.d.createTableSQL("other.Quoted", columnsOf(s, "ID"), true)
			require.NoError(t, err)
			_, err = db.Exec(create)
			require.NoError(t, err, create)
			info, err = tc.d.readTable(ctx, db, "other.Quoted")
			require.NoError(t, err)
			require.NotNil(t, info)
			assert.Equal(t, "Quoted", info.Name)
			assert.Equal(t, []string{"ID"}, info.Key)
			info, err = tc.d.readTable(ctx, db, "Quoted") // not in the current schema
			require.NoError(t, err)
			assert.Nil(t, info)
		})
	}
}

// TestBits64 stores a 64-bit Bits value with the top bit set, which only an
// unsigned binding carries into MySQL's BIT(64).
func TestBits64(t *testing.T) {
	for _, tc := range dialectDBs {
		t.Run(tc.name, func(t *testing.T) {
			db := tc.open(t)
			s := connect.StructBuilder().Field("id", connect.PrimitiveSchema(connect.TypeInt32, false)).
				Field("b", named(connect.TypeBytes, dbz.BitsName, "length", "64")).Build()
			cols := columnsOf(s, "id")
			create, err := tc.d.createTableSQL("bits", cols, true)
			require.NoError(t, err)
			_, err = db.Exec(create)
			require.NoError(t, err)
			insertRow(t, tc.d, db, "bits", cols, connect.NewStruct(s).MustPut("id", int32(1)).
				MustPut("b", []byte{1, 0, 0, 0, 0, 0, 0, 0x80}))
			info, err := tc.d.readTable(context.Background(), db, "bits")
			require.NoError(t, err)
			want := "1" + strings.Repeat("0", 62) + "1"
			assert.Equal(t, want, readBack(t, tc.d, db, "bits", info)["b"])
		})
	}
}

var postgresEvery = map[string][2]string{ // column: {type, value read back as text}
	"bit1":              {"boolean", "true"},
	"bit12":             {"bit varying(12)", "101100000001"},
	"boolean":           {"boolean", "true"},
	"bytea":             {"bytea", "\\xdeadbeef"},
	"bytea_modes":       {"text", "3q2+7w=="},
	"char":              {"text", "abc"},
	"char_padded":       {"text", "ab   "},
	"cidr":              {"text", "192.168.100.128/25"},
	"citext":            {"text", "Hello"},
	"date":              {"date", "2018-06-20"},
	"daterange":         {"text", "[2018-06-20,2018-06-22)"},
	"enum":              {"text", "happy"},
	"enum_array":        {"text[]", "{sad,ok}"},
	"float4":            {"real", "1.5"},
	"float8":            {"double precision", "3.141592653589793"},
	"hstore":            {"json", "{\"key\":\"val\"}"},
	"hstore_modes":      {"jsonb", "{\"key\": \"val\"}"},
	"id":                {"text", "key-1"},
	"inet":              {"text", "192.168.100.128/25"},
	"inet_array":        {"text[]", "{192.168.0.1,::1}"},
	"int2":              {"smallint", "32767"},
	"int4":              {"integer", "-2147483648"},
	"int4_array":        {"integer[]", "{1,NULL,3}"},
	"int4_not_null":     {"integer", "7"},
	"int4range":         {"text", "[1,10)"},
	"int8":              {"bigint", "9223372036854775807"},
	"int8range":         {"text", "[5,)"},
	"interval":          {"interval", "10303:05:06.78"},
	"interval_modes":    {"interval", "1 year 2 mons 3 days 04:05:06.78"},
	"json":              {"json", "{\"key\" : \"val\"}"},
	"jsonb":             {"json", "{\"key\": \"val\"}"},
	"k_date":            {"date", "2018-06-20"},
	"k_decimal_neg":     {"numeric", "-360.864"},
	"k_int8":            {"smallint", "-8"},
	"k_map_int":         {"jsonb", "{\"a\": 1}"},
	"k_time":            {"time(3) without time zone", "15:13:16.945"},
	"k_timestamp":       {"timestamp(3) without time zone", "2018-06-20 15:13:16.945"},
	"ltree":             {"text", "Top.Science.Astronomy"},
	"macaddr":           {"text", "08:00:2b:01:02:03"},
	"macaddr8":          {"text", "08:00:2b:01:02:03:04:05"},
	"money":             {"numeric", "1234.56"},
	"money_double":      {"double precision", "1234.56"},
	"money_modes":       {"text", "1234.56"},
	"money_money3":      {"numeric", "1234.560"},
	"n":                 {"bigint", "42"},
	"numeric":           {"numeric(10,2)", "1234.56"},
	"numeric_double":    {"double precision", "1234.56"},
	"numeric_modes":     {"text", "1234.56"},
	"numeric_var":       {"numeric", "-0.0012"},
	"numeric_var_modes": {"text", "-0.00120"},
	"numrange":          {"text", "[1.5,2.25]"},
	"oid":               {"bigint", "4294967295"},
	"point":             {"point", "(1.5,-2)"},
	"text":              {"text", "héllo \"world\""},
	"text_array":        {"text[]", "{\"a b\",\"c\\\"d\",NULL}"},
	"time":              {"time(6) without time zone", "15:13:16.945104"},
	"time3":             {"time(3) without time zone", "15:13:16.945"},
	"timestamp":         {"timestamp(6) without time zone", "2018-06-20 15:13:16.945104"},
	"timestamp3":        {"timestamp(3) without time zone", "2018-06-20 15:13:16.945"},
	"timestamptz":       {"timestamp(6) with time zone", "2018-06-20 15:13:16.945104+00"},
	"timestamptz3":      {"timestamp(6) with time zone", "2018-06-20 15:13:16.5+00"},
	"timestamptz_whole": {"timestamp(6) with time zone", "2018-06-20 15:13:16+00"},
	"timetz":            {"time(6) with time zone", "15:13:16.945104+00"},
	"tsrange":           {"text", "[\"2018-06-20 15:13:16.945104\",\"2018-06-21 00:00:00\")"},
	"tstzrange":         {"text", "[\"2018-06-20 13:13:16+00\",\"2018-06-21 00:00:00+00\")"},
	"tsvector":          {"tsvector", "'a' 'cat' 'fat' 'mat' 'on' 'sat'"},
	"uuid":              {"uuid", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"},
	"varbit":            {"bit varying", "101"},
	"varchar":           {"text", "varchar"},
	"xml":               {"xml", "<a>b</a>"},
}

var mariadbEvery = map[string][2]string{ // column: {type, value read back as text}
	"bit1":              {"tinyint(1)", "1"},
	"bit12":             {"bit(12)", "101100000001"},
	"boolean":           {"tinyint(1)", "1"},
	"bytea":             {"longblob", "DEADBEEF"},
	"bytea_modes":       {"longtext", "3q2+7w=="},
	"char":              {"longtext", "abc"},
	"char_padded":       {"longtext", "ab   "},
	"cidr":              {"longtext", "192.168.100.128/25"},
	"citext":            {"longtext", "Hello"},
	"date":              {"date", "2018-06-20"},
	"daterange":         {"longtext", "[2018-06-20,2018-06-22)"},
	"enum":              {"enum('sad','ok','happy')", "happy"},
	"enum_array":        {"longtext", "[\"sad\",\"ok\"]"},
	"float4":            {"float", "1.5"},
	"float8":            {"double", "3.141592653589793"},
	"hstore":            {"longtext", "{\"key\":\"val\"}"},
	"hstore_modes":      {"longtext", "{\"key\":\"val\"}"},
	"id":                {"varchar(255)", "key-1"},
	"inet":              {"longtext", "192.168.100.128/25"},
	"inet_array":        {"longtext", "[\"192.168.0.1\",\"::1\"]"},
	"int2":              {"smallint(6)", "32767"},
	"int4":              {"int(11)", "-2147483648"},
	"int4_array":        {"longtext", "[1,null,3]"},
	"int4_not_null":     {"int(11)", "7"},
	"int4range":         {"longtext", "[1,10)"},
	"int8":              {"bigint(20)", "9223372036854775807"},
	"int8range":         {"longtext", "[5,)"},
	"interval":          {"bigint(20)", "37091106780000"},
	"interval_modes":    {"longtext", "P1Y2M3DT4H5M6.78S"},
	"json":              {"longtext", "{\"key\" : \"val\"}"},
	"jsonb":             {"longtext", "{\"key\": \"val\"}"},
	"k_date":            {"date", "2018-06-20"},
	"k_decimal_neg":     {"decimal(65,3)", "-360.864"},
	"k_int8":            {"tinyint(4)", "-8"},
	"k_map_int":         {"longtext", "{\"a\":1}"},
	"k_time":            {"time(3)", "15:13:16.945"},
	"k_timestamp":       {"datetime(3)", "2018-06-20 15:13:16.945"},
	"ltree":             {"longtext", "Top.Science.Astronomy"},
	"macaddr":           {"longtext", "08:00:2b:01:02:03"},
	"macaddr8":          {"longtext", "08:00:2b:01:02:03:04:05"},
	"money":             {"decimal(65,2)", "1234.56"},
	"money_double":      {"double", "1234.56"},
	"money_modes":       {"longtext", "1234.56"},
	"money_money3":      {"decimal(65,3)", "1234.560"},
	"n":                 {"bigint(20)", "42"},
	"numeric":           {"decimal(10,2)", "1234.56"},
	"numeric_double":    {"double", "1234.56"},
	"numeric_modes":     {"longtext", "1234.56"},
	"numeric_var":       {"double", "-0.0012"},
	"numeric_var_modes": {"longtext", "-0.00120"},
	"numrange":          {"longtext", "[1.5,2.25]"},
	"oid":               {"bigint(20)", "4294967295"},
	"point":             {"point", "POINT(1.5 -2)"},
	"text":              {"longtext", "héllo \"world\""},
	"text_array":        {"longtext", "[\"a b\",\"c\\\"d\",null]"},
	"time":              {"time(6)", "15:13:16.945104"},
	"time3":             {"time(3)", "15:13:16.945"},
	"timestamp":         {"datetime(6)", "2018-06-20 15:13:16.945104"},
	"timestamp3":        {"datetime(3)", "2018-06-20 15:13:16.945"},
	"timestamptz":       {"datetime(6)", "2018-06-20 15:13:16.945104"},
	"timestamptz3":      {"datetime(6)", "2018-06-20 15:13:16.500000"},
	"timestamptz_whole": {"datetime(6)", "2018-06-20 15:13:16.000000"},
	"timetz":            {"time(6)", "15:13:16.945104"},
	"tsrange":           {"longtext", "[\"2018-06-20 15:13:16.945104\",\"2018-06-21 00:00:00\")"},
	"tstzrange":         {"longtext", "[\"2018-06-20 13:13:16+00\",\"2018-06-21 00:00:00+00\")"},
	"tsvector":          {"longtext", "'a' 'cat' 'fat' 'mat' 'on' 'sat'"},
	"uuid":              {"char(36)", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"},
	"varbit":            {"longblob", "05"},
	"varchar":           {"longtext", "varchar"},
	"xml":               {"longtext", "<a>b</a>"},
}
