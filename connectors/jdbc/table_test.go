package jdbc

import (
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	_ "github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/testenv"
	"github.com/sluicehq/sluice/runtime/connect"
	"github.com/sluicehq/sluice/runtime/convert"
)

// openPostgres starts a throwaway Postgres and opens its postgres database
// through pgx's database/sql driver, as the sink does.
func openPostgres(t *testing.T) *sql.DB {
	t.Helper()
	pg := testenv.StartPostgres(t)
	db, err := sql.Open("pgx", pg.DSN("postgres"))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}

// openMariaDB starts a throwaway MariaDB and opens a fresh database "sink"
// in it.
func openMariaDB(t *testing.T) *sql.DB {
	t.Helper()
	m := testenv.StartMariaDB(t)
	m.CreateDatabase(t, "sink")
	return m.Open(t, "sink")
}

// everyTypeRecord builds one record whose fields are every schema of the
// Postgres CDC connector's goldens (field named after the golden file),
// plus Kafka's own types the goldens lack, with the goldens' values; id
// and n are its key.
func everyTypeRecord(t *testing.T) (*connect.Schema, *connect.Struct) {
	t.Helper()
	files, err := filepath.Glob("../postgres/testdata/golden/*.json")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	fields := []map[string]any{
		{"field": "id", "type": "string", "optional": false},
		{"field": "n", "type": "int64", "optional": false},
		{"field": "k_int8", "type": "int8", "optional": true},
		{"field": "k_date", "type": "int32", "optional": true, "name": connect.DateName, "version": 1},
		{"field": "k_time", "type": "int32", "optional": true, "name": connect.TimeName, "version": 1},
		{"field": "k_timestamp", "type": "int64", "optional": true, "name": connect.TimestampName, "version": 1},
		{"field": "k_decimal_neg", "type": "bytes", "optional": true, "name": connect.DecimalName,
			"parameters": map[string]string{"scale": "3"}},
		{"field": "k_map_int", "type": "map", "optional": true,
			"keys": map[string]any{"type": "string"}, "values": map[string]any{"type": "int32"}},
	}
	payload := map[string]any{
		"id": "key-1", "n": 42, "k_int8": -8, "k_date": 17702, "k_time": 54796945, "k_timestamp": 1529507596945,
		"k_decimal_neg": "+n5g", // -360864 unscaled: -360.864
		"k_map_int":     map[string]any{"a": 1},
	}
	for _, f := range files {
		var g struct {
			SQL    string          `json:"sql"`
			Schema map[string]any  `json:"schema"`
			Read   json.RawMessage `json:"read"`
		}
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(raw, &g))
		if g.SQL == "" {
			continue // envelope goldens: whole records, not columns
		}
		name := strings.ReplaceAll(strings.TrimSuffix(filepath.Base(f), ".json"), ".", "_")
		g.Schema["field"] = name
		fields = append(fields, g.Schema)
		payload[name] = g.Read
	}
	env, err := json.Marshal(map[string]any{
		"schema":  map[string]any{"type": "struct", "name": "every.Value", "optional": false, "fields": fields},
		"payload": payload,
	})
	require.NoError(t, err)
	s, v, err := convert.NewJSONConverter().ToConnect("t", nil, env)
	require.NoError(t, err)
	return s, v.(*connect.Struct)
}

func columnsOf(s *connect.Schema, keys ...string) []column {
	cols := make([]column, len(s.Fields))
	for i, f := range s.Fields {
		cols[i] = column{Name: f.Name, Schema: f.Schema}
		for _, k := range keys {
			cols[i].Key = cols[i].Key || k == f.Name
		}
	}
	return cols
}

// insertRow inserts one row with columnValue's bindings, as the sink's DML
// would.
func insertRow(t *testing.T, d dialect, db *sql.DB, table string, cols []column, st *connect.Struct) {
	t.Helper()
	names := make([]string, len(cols))
	marks := make([]string, len(cols))
	args := make([]any, len(cols))
	for i, c := range cols {
		names[i] = d.quoteIdent(c.Name)
		marks[i] = "?"
		if d == postgresDialect {
			marks[i] = "$" + strconv.Itoa(i+1)
		}
		v, err := st.Get(c.Name)
		require.NoError(t, err)
		args[i], err = d.columnValue(c.Schema, v)
		require.NoError(t, err, "column %s", c.Name)
	}
	q := "INSERT INTO " + d.quoteTable(table, true) + " (" + strings.Join(names, ", ") + ") VALUES (" +
		strings.Join(marks, ", ") + ")"
	_, err := db.Exec(q, args...)
	require.NoError(t, err, q)
}

// readBack reads every column of the table's single row as text.
func readBack(t *testing.T, d dialect, db *sql.DB, table string, info *tableInfo) map[string]string {
	t.Helper()
	names := make([]string, 0, len(info.Columns))
	for _, c := range info.Columns {
		names = append(names, c.Name)
	}
	sort.Strings(names)
	exprs := make([]string, len(names))
	for i, n := range names {
		exprs[i] = readExpr(d, n, info.Columns[strings.ToLower(n)].Type)
	}
	row := db.QueryRow("SELECT " + strings.Join(exprs, ", ") + " FROM " + d.quoteTable(table, true))
	vals := make([]sql.NullString, len(names))
	ptrs := make([]any, len(names))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	require.NoError(t, row.Scan(ptrs...))
	out := map[string]string{}
	for i, n := range names {
		out[n] = "NULL"
		if vals[i].Valid {
			out[n] = vals[i].String
		}
	}
	return out
}

func readExpr(d dialect, name, typ string) string {
	q := d.quoteIdent(name)
	if d == postgresDialect {
		return q + "::text"
	}
	switch {
	case strings.HasPrefix(typ, "bit"):
		return "BIN(" + q + ")"
	case typ == "point" || typ == "geometry":
		return "ST_AsText(" + q + ")"
	case strings.Contains(typ, "blob") || strings.Contains(typ, "binary"):
		return "HEX(" + q + ")"
	}
	return "CAST(" + q + " AS CHAR)"
}
