package jdbc

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

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

// openMariaDB starts a throwaway MariaDB (Debian's mariadbd) in a temporary
// directory and opens a fresh database "sink" in it.
//
// TODO(h18): replace with testenv.StartMariaDB once it is on main.
func openMariaDB(t *testing.T) *sql.DB {
	t.Helper()
	mariadbd, install := "/usr/sbin/mariadbd", "/usr/bin/mariadb-install-db"
	for _, bin := range []string{mariadbd, install} {
		if _, err := os.Stat(bin); err != nil {
			if testenv.RequireServers() {
				t.Fatalf("%s is missing and SLUICE_REQUIRE_SERVERS=1: %v", bin, err)
			}
			t.Skipf("%s is missing: %v", bin, err)
		}
	}
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	var asRoot []string
	if os.Geteuid() == 0 {
		asRoot = []string{"--user=root"}
	}
	args := append([]string{"--no-defaults", "--datadir=" + data, "--auth-root-authentication-method=normal",
		"--skip-test-db"}, asRoot...)
	out, err := exec.Command(install, args...).CombinedOutput()
	require.NoError(t, err, "mariadb-install-db: %s", out)
	port := freeTCPPort(t)
	args = append([]string{"--no-defaults", "--datadir=" + data, "--socket=" + filepath.Join(dir, "s"),
		"--pid-file=" + filepath.Join(dir, "pid"), "--bind-address=127.0.0.1", "--port=" + strconv.Itoa(port),
		"--skip-name-resolve", "--innodb-buffer-pool-size=16M", "--innodb-log-file-size=8M",
		"--log-error=" + filepath.Join(dir, "err.log")}, asRoot...)
	cmd := exec.Command(mariadbd, args...)
	require.NoError(t, cmd.Start())
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
		}
	})
	root, err := sql.Open("mysql", fmt.Sprintf("root@tcp(127.0.0.1:%d)/", port))
	require.NoError(t, err)
	defer root.Close()
	deadline := time.Now().Add(time.Minute)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err = root.PingContext(ctx)
		cancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "err.log"))
			t.Fatalf("mariadbd did not start: %v\n%s", err, log)
		}
		time.Sleep(100 * time.Millisecond)
	}
	_, err = root.Exec("CREATE DATABASE sink")
	require.NoError(t, err)
	db, err := sql.Open("mysql", fmt.Sprintf("root@tcp(127.0.0.1:%d)/sink", port))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}

func freeTCPPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
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
