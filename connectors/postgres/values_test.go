package postgres

import (
	"context"
	"math/big"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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
				assert.Equal(t, int32(5), st.GetWithoutDefault("scale"))
				assert.Equal(t, []byte{0x88}, st.GetWithoutDefault("value")) // -0.00120: -120 unscaled
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
