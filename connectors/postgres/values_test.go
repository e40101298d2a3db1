package postgres

import (
	"context"
	"math/big"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/connectors/debezium"
	"github.com/sluicehq/sluice/internal/testenv"
	"github.com/sluicehq/sluice/runtime/connect"
)

// everyTypeDDL creates a table with one column per mapped type and one row.
var everyTypeDDL = []string{
	`CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')`,
	`CREATE TABLE every_type (
		id serial PRIMARY KEY, small smallint, big bigserial, r real, d double precision, b boolean,
		t text, vc varchar(10), ch char(3), by bytea, u uuid, j json, jb jsonb,
		num numeric(10,2), numv numeric, dt date, tm time, tm3 time(3), ts timestamp, ts3 timestamp(3),
		tstz timestamptz, ttz timetz, iv interval, m mood, ia int4[], ta text[], ma mood[], n int)`,
	`INSERT INTO every_type (small, r, d, b, t, vc, ch, by, u, j, jb, num, numv, dt, tm, tm3, ts, ts3,
		tstz, ttz, iv, m, ia, ta, ma) VALUES (-7, 1.5, 2.25, true, 'héllo', 'v', 'ab', '\xdeadbeef',
		'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"a": 1}', '{"b": [1, 2]}', 1234.5, -0.00120,
		'2018-06-20', '15:13:16.945104', '15:13:16.945', '2018-06-20 15:13:16.945104',
		'2018-06-20 15:13:16.945', '2018-06-20 17:13:16.945104+02', '10:15:30.5-01:30',
		'1 year 2 mons 3 days 04:05:06.789', 'happy', '{1,NULL,3}', '{"a b","c\"d",NULL}', '{sad,ok}')`,
}

// catalogColumns reads a table's columns from the catalog, as the
// connector will.
func catalogColumns(t *testing.T, conn *pgx.Conn, table string) []Column {
	rows, err := conn.Query(context.Background(), `
		SELECT a.attname, a.atttypid, t.typname, a.atttypmod, NOT a.attnotnull,
			COALESCE((SELECT array_agg(e.enumlabel ORDER BY e.enumsortorder) FROM pg_enum e
				WHERE e.enumtypid = CASE WHEN t.typelem <> 0 THEN t.typelem ELSE t.oid END), '{}')
		FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
		WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`, table)
	require.NoError(t, err)
	cols, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Column, error) {
		var c Column
		err := r.Scan(&c.Name, &c.TypeOID, &c.TypeName, &c.TypeMod, &c.Nullable, &c.EnumValues)
		return c, err
	})
	require.NoError(t, err)
	return cols
}

// textRow selects every column of the table's only row as text.
func textRow(t *testing.T, conn *pgx.Conn, table string, cols []Column) []*string {
	sql := "SELECT "
	for i, c := range cols {
		if i > 0 {
			sql += ", "
		}
		sql += pgx.Identifier{c.Name}.Sanitize() + "::text"
	}
	rows, err := conn.Query(context.Background(), sql+" FROM "+table)
	require.NoError(t, err)
	texts, err := pgx.CollectExactlyOneRow(rows, func(r pgx.CollectableRow) ([]*string, error) {
		out := make([]*string, len(cols))
		ptrs := make([]any, len(cols))
		for i := range out {
			ptrs[i] = &out[i]
		}
		return out, r.Scan(ptrs...)
	})
	require.NoError(t, err)
	return texts
}

func rat(s string) *big.Rat { r, _ := new(big.Rat).SetString(s); return r }

func TestConvertTextFromServer(t *testing.T) {
	pg := testenv.StartPostgres(t)
	pg.Exec(t, everyTypeDDL...)
	conn, err := pgx.Connect(context.Background(), pg.DSN("postgres"))
	require.NoError(t, err)
	defer conn.Close(context.Background())
	cols := catalogColumns(t, conn, "every_type")
	texts := textRow(t, conn, "every_type", cols)

	const microsAt = int64(1529507596945104) // 2018-06-20T15:13:16.945104Z
	adaptive := map[string]any{
		"id": int32(1), "small": int16(-7), "big": int64(1), "r": float32(1.5), "d": 2.25, "b": true,
		"t": "héllo", "vc": "v", "by": []byte{0xde, 0xad, 0xbe, 0xef},
		"ch": "ab", // char::text drops the padding pgoutput keeps
		"u":  "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "j": `{"a": 1}`, "jb": `{"b": [1, 2]}`,
		"num": rat("1234.5"), "dt": int32(17702), "tm": int64(54796945104), "tm3": int32(54796945),
		"ts": microsAt, "ts3": microsAt/1000/1000*1000 + 945,
		"tstz": "2018-06-20T15:13:16.945104Z", "ttz": "11:45:30.5Z",
		"iv": int64((14*daysPerMonth+3)*86400*1e6) + (4*3600+5*60+6)*1e6 + 789000,
		"m":  "happy", "ia": []any{int32(1), nil, int32(3)}, "ta": []any{"a b", `c"d`, nil},
		"ma": []any{"sad", "ok"}, "n": nil,
	}
	connectMode := map[string]any{
		"dt": time.Date(2018, 6, 20, 0, 0, 0, 0, time.UTC), "tm": time.UnixMilli(54796945).UTC(),
		"ts": time.UnixMilli(microsAt / 1000).UTC(),
	}
	for i, c := range cols {
		t.Run(c.Name, func(t *testing.T) {
			v, err := ConvertText(c, texts[i], TypeOptions{})
			require.NoError(t, err)
			if c.Name == "numv" {
				st := v.(*connect.Struct)
				// -0.00120: Debezium strips the trailing zero, -12 at scale 4
				assert.Equal(t, int32(4), st.GetWithoutDefault("scale"))
				assert.Equal(t, []byte{0xf4}, st.GetWithoutDefault("value"))
			} else {
				assert.True(t, connect.ValuesEqual(adaptive[c.Name], v), "got %#v", v)
			}
			s, err := ColumnSchema(c, TypeOptions{})
			require.NoError(t, err)
			require.NoError(t, connect.ValidateValue(s, v))
			if want, ok := connectMode[c.Name]; ok {
				opts := TypeOptions{TimePrecisionMode: "connect"}
				v, err := ConvertText(c, texts[i], opts)
				require.NoError(t, err)
				assert.True(t, connect.ValuesEqual(want, v), "got %#v", v)
				s, err := ColumnSchema(c, opts)
				require.NoError(t, err)
				require.NoError(t, connect.ValidateValue(s, v))
			}
		})
	}
}

func intPtr(n int) *int { return &n }

// TestConvertTextTypes checks conversions of text as the server prints it
// (values checked against psql output) and that each value fits its
// column's schema.
func TestConvertTextTypes(t *testing.T) {
	col := func(oid uint32, name string, mod int32) Column {
		return Column{Name: "c", TypeOID: oid, TypeName: name, TypeMod: mod, Nullable: true}
	}
	money, hstore := col(moneyOID, "money", -1), col(16385, "hstore", -1)
	iv := col(pgtype.IntervalOID, "interval", -1)
	str := TypeOptions{IntervalMode: "string"}
	tests := []struct {
		name string
		col  Column
		text string
		opts TypeOptions
		want any
	}{
		{"money C locale", money, "$1,234.56", TypeOptions{}, rat("1234.56")},
		{"money negative", money, "-$92,233,720,368,547,758.08", TypeOptions{}, rat("-92233720368547758.08")},
		{"money parenthesised", money, "($5.00)", TypeOptions{}, rat("-5")},
		{"money German", money, "1.234,56 €", TypeOptions{}, rat("1234.56")},
		{"money without fraction digits", money, "¥1,234", TypeOptions{}, rat("1234")},
		{"money three fraction digits", money, "1,234.567 KD", TypeOptions{MoneyFractionDigits: intPtr(3)}, rat("1234.567")},
		{"money scale 3", money, "$0.05", TypeOptions{MoneyFractionDigits: intPtr(3)}, rat("0.05")},
		{"money rounded half up", money, "$2.25", TypeOptions{MoneyFractionDigits: intPtr(1)}, rat("2.3")},
		{"money negative rounded half up", money, "-$2.25", TypeOptions{MoneyFractionDigits: intPtr(1)}, rat("-2.3")},
		{"money double", money, "$1,234.56", TypeOptions{DecimalMode: "double"}, 1234.56},
		{"money string", money, "$1,234.56", TypeOptions{DecimalMode: "string"}, "1234.56"},
		{"money string whole", money, "$1,234.00", TypeOptions{DecimalMode: "string"}, "1234.0"},
		{"money string large", money, "$12,345,678.90", TypeOptions{DecimalMode: "string"}, "1.23456789E7"},
		{"hstore json", hstore, `"a"=>"1", "b"=>NULL, "c d"=>"x\"y\\z"`, TypeOptions{}, `{"a":"1","b":null,"c d":"x\"y\\z"}`},
		{"hstore json control characters", hstore, "\"k\nl\"=>\"tab\there\x01\"", TypeOptions{}, `{"k\nl":"tab\there\u0001"}`},
		{"hstore empty", hstore, "", TypeOptions{}, `{}`},
		{"hstore map", hstore, `"a"=>"1", "b"=>NULL`, TypeOptions{HStoreMode: "map"}, map[string]any{"a": "1", "b": nil}},
		{"hstore array", col(16390, "_hstore", -1), `{"\"a\"=>\"1\", \"b\"=>NULL","\"x\"=>\"y z\""}`, TypeOptions{},
			[]any{`{"a":"1","b":null}`, `{"x":"y z"}`}},
		{"ltree", col(16618, "ltree", -1), "Top.Science", TypeOptions{}, "Top.Science"},
		{"ltree array", col(16621, "_ltree", -1), "{Top.A,Top.B}", TypeOptions{}, []any{"Top.A", "Top.B"}},
		{"citext", col(16513, "citext", -1), "Hello", TypeOptions{}, "Hello"},
		{"range array", col(pgtype.Int4rangeArrayOID, "_int4range", -1), `{"[1,2)",empty}`, TypeOptions{}, []any{"[1,2)", "empty"}},
		{"bit(1)", col(pgtype.BitOID, "bit", 1), "0", TypeOptions{}, false},
		{"varbit(1)", col(pgtype.VarbitOID, "varbit", 1), "1", TypeOptions{}, true},
		{"bit(16)", col(pgtype.BitOID, "bit", 16), "1000000000000001", TypeOptions{}, []byte{0x01, 0x80}},
		{"bit zeros", col(pgtype.BitOID, "bit", 4), "0000", TypeOptions{}, []byte{}},
		{"varbit empty", col(pgtype.VarbitOID, "varbit", -1), "", TypeOptions{}, []byte{}},
		{"interval string", iv, "1 year 2 mons 3 days 04:05:06.78", str, "P1Y2M3DT4H5M6.78S"},
		{"interval string negative", iv, "-1 years -2 mons +3 days -04:05:06.5", str, "P-1Y-2M3DT-4H-5M-6.5S"},
		{"interval string zero", iv, "00:00:00", str, "P0Y0M0DT0H0M0S"},
		{"interval string micro", iv, "00:00:00.000001", str, "P0Y0M0DT0H0M0.000001S"},
		{"interval string long", iv, "100:00:00", str, "P0Y0M0DT100H0M0S"},
		{"interval numeric negative", iv, "-1 days -00:00:01.5", TypeOptions{}, int64(-86400e6 - 1.5e6)},
		{"timestamptz padded", col(pgtype.TimestamptzOID, "timestamptz", -1), "2018-06-20 17:13:16+02", TypeOptions{}, "2018-06-20T15:13:16.000000Z"},
		{"timestamptz(0)", col(pgtype.TimestamptzOID, "timestamptz", 0), "2018-06-20 17:13:16+02", TypeOptions{}, "2018-06-20T15:13:16Z"},
		{"tsvector", col(pgtype.TSVectorOID, "tsvector", -1), "'a' 'cat'", TypeOptions{}, "'a' 'cat'"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := ConvertText(tc.col, &tc.text, tc.opts)
			require.NoError(t, err)
			assert.True(t, connect.ValuesEqual(tc.want, v), "got %#v", v)
			s, err := ColumnSchema(tc.col, tc.opts)
			require.NoError(t, err)
			require.NoError(t, connect.ValidateValue(s, v))
		})
	}
}

func TestConvertPoint(t *testing.T) {
	for _, nullable := range []bool{false, true} {
		c := Column{Name: "p", TypeOID: pgtype.PointOID, TypeName: "point", TypeMod: -1, Nullable: nullable}
		text := "(1.5,-2)"
		v, err := ConvertText(c, &text, TypeOptions{})
		require.NoError(t, err)
		s, err := ColumnSchema(c, TypeOptions{})
		require.NoError(t, err)
		require.NoError(t, connect.ValidateValue(s, v), "the struct carries its field's schema")
		st := v.(*connect.Struct)
		assert.Equal(t, 1.5, st.GetWithoutDefault("x"))
		assert.Equal(t, -2.0, st.GetWithoutDefault("y"))
		assert.Nil(t, st.GetWithoutDefault("srid"))
		assert.Equal(t, []byte{1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xf8, 0x3f, 0, 0, 0, 0, 0, 0, 0, 0xc0},
			st.GetWithoutDefault("wkb"), "WKB: little-endian point, x, y")
	}
}

func TestConvertTextRejectsMalformed(t *testing.T) {
	for _, tc := range []struct {
		col  Column
		text string
	}{
		{Column{Name: "m", TypeOID: moneyOID}, "free"},
		{Column{Name: "h", TypeName: "hstore"}, `"a"=>"1" "b"`},
		{Column{Name: "h", TypeName: "hstore"}, `"a"=>"1`},
		{Column{Name: "h", TypeName: "hstore"}, `NULL=>"1"`},
		{Column{Name: "b", TypeOID: pgtype.BitOID, TypeMod: 4}, "10x1"},
		{Column{Name: "p", TypeOID: pgtype.PointOID}, "1,2"},
		{Column{Name: "i", TypeOID: pgtype.IntervalOID}, "3 fortnights"},
	} {
		_, err := ConvertText(tc.col, &tc.text, TypeOptions{IntervalMode: "string"})
		assert.ErrorContains(t, err, "convert column "+tc.col.Name, tc.text)
	}
}

func TestExtensionTypesNeedAnExtensionOID(t *testing.T) {
	s, err := ColumnSchema(Column{Name: "h", TypeOID: 16385, TypeName: "hstore"}, TypeOptions{})
	require.NoError(t, err)
	assert.Equal(t, debezium.JSONName, s.Name)
	_, err = ColumnSchema(Column{Name: "h", TypeOID: pgtype.TIDOID, TypeName: "hstore"}, TypeOptions{})
	assert.ErrorIs(t, err, ErrUnsupportedType, "a built-in OID is never an extension type")
	_, err = ColumnSchema(Column{Name: "a", TypeOID: pgtype.IntervalArrayOID, TypeName: "_interval"}, TypeOptions{})
	assert.ErrorIs(t, err, ErrUnsupportedType, "Debezium maps no interval arrays")
}

func TestJavaDouble(t *testing.T) {
	for f, want := range map[float64]string{
		0: "0.0", 1234.5: "1234.5", 1e7: "1.0E7", 12345678.9: "1.23456789E7", 0.001: "0.001",
		0.0001: "1.0E-4", -5: "-5.0", 9999999.99: "9999999.99",
	} {
		assert.Equal(t, want, javaDouble(f), "%v", f)
	}
}
