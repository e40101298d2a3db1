package testenv

import (
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func mariadbVar(t *testing.T, db *sql.DB, name string) string {
	t.Helper()
	var v string
	require.NoError(t, db.QueryRow("SELECT @@"+name).Scan(&v))
	return v
}

func TestStartMariaDB(t *testing.T) {
	m := StartMariaDB(t)
	assert.Equal(t, "127.0.0.1", m.Host)
	assert.NotZero(t, m.Port)
	assert.Equal(t, "root", m.User)
	assert.NotEmpty(t, m.Password)

	m.CreateDatabase(t, "app")
	db := m.Open(t, "app")
	_, err := db.Exec("CREATE TABLE t (id INT PRIMARY KEY, name VARCHAR(50), at DATETIME(3))")
	require.NoError(t, err, "the DSN names the database")
	at := time.Date(2026, 12, 7, 23, 30, 0, 123e6, time.UTC)
	_, err = db.Exec("INSERT INTO t VALUES (?, ?, ?)", 1, "Grüße 🌊", at)
	require.NoError(t, err)
	var name string
	var got time.Time
	require.NoError(t, db.QueryRow("SELECT name, at FROM t WHERE id = 1").Scan(&name, &got))
	assert.Equal(t, "Grüße 🌊", name, "utf8mb4 round-trips")
	assert.True(t, at.Equal(got), "DATETIME scans into time.Time: got %v", got)

	assert.Equal(t, "1", mariadbVar(t, db, "log_bin"))
	assert.Equal(t, "ROW", mariadbVar(t, db, "binlog_format"))
	assert.Equal(t, "FULL", mariadbVar(t, db, "binlog_row_image"))
	assert.Equal(t, "1", mariadbVar(t, db, "server_id"))
	assert.Equal(t, "+00:00", mariadbVar(t, db, "time_zone"))
	assert.Equal(t, "jdbc:mariadb://127.0.0.1:"+mariadbVar(t, db, "port")+"/app", m.JDBCURL("app"))

	// The insert is in the binary log as a row event; the init file's
	// ALTER USER statements are not.
	rows, err := db.Query("SHOW BINLOG EVENTS")
	require.NoError(t, err)
	defer rows.Close()
	cols, err := rows.Columns()
	require.NoError(t, err)
	var kinds, infos []string
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		require.NoError(t, rows.Scan(ptrs...))
		kinds, infos = append(kinds, vals[2].String), append(infos, vals[5].String)
	}
	require.NoError(t, rows.Err())
	assert.Contains(t, kinds, "Write_rows_v1")
	assert.NotContains(t, strings.Join(infos, "\n"), "ALTER USER")
}

func TestMariaDBNeedsPassword(t *testing.T) {
	m := StartMariaDB(t)
	cfg, err := mysql.ParseDSN(m.DSN(""))
	require.NoError(t, err)
	cfg.Passwd = "wrong"
	db, err := sql.Open("mysql", cfg.FormatDSN())
	require.NoError(t, err)
	defer db.Close()
	err = db.Ping()
	var myErr *mysql.MySQLError
	require.ErrorAs(t, err, &myErr)
	assert.EqualValues(t, 1045, myErr.Number, "access denied: %v", err)
}

func TestStartMariaDBSetting(t *testing.T) {
	m := StartMariaDB(t, MariaDBSetting("binlog-row-metadata", "FULL"), MariaDBSetting("binlog_row_image", "MINIMAL"))
	db := m.Open(t, "")
	assert.Equal(t, "FULL", mariadbVar(t, db, "binlog_row_metadata"))
	assert.Equal(t, "MINIMAL", mariadbVar(t, db, "binlog_row_image"), "a setting replaces a default")
	assert.Equal(t, "ROW", mariadbVar(t, db, "binlog_format"), "other defaults stay")
}

func TestMariaDBInstancesAreIndependent(t *testing.T) {
	a, b := StartMariaDB(t), StartMariaDB(t)
	require.NotEqual(t, a.Port, b.Port)
	a.CreateDatabase(t, "only_in_a")
	b.CreateDatabase(t, "only_in_a") // would fail if b were a
}

func TestMariaDBStopsAtCleanup(t *testing.T) {
	var m *MariaDB
	t.Run("server", func(t *testing.T) {
		m = StartMariaDB(t)
		m.Exec(t, "SELECT 1")
	})
	select {
	case <-m.exited:
	default:
		t.Fatal("mariadbd still running after its test ended")
	}
	_, err := os.Stat(filepath.Dir(m.DataDir))
	assert.ErrorIs(t, err, os.ErrNotExist, "its directory is removed")
}

func TestStartMariaDBLongTestName(t *testing.T) {
	// t.TempDir embeds up to 64 characters of the test name; the socket
	// path must still fit the kernel's 108-byte limit.
	t.Run(strings.Repeat("long_subtest_name_", 4), func(t *testing.T) {
		m := StartMariaDB(t)
		assert.Less(t, len(m.Socket), 100)
		m.Exec(t, "SELECT 1")
	})
}
