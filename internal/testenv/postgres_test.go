package testenv

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func showSetting(t *testing.T, pg *Postgres, name string) string {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), pg.DSN("postgres"))
	require.NoError(t, err)
	defer conn.Close(context.Background())
	var v string
	require.NoError(t, conn.QueryRow(context.Background(), "SHOW "+name).Scan(&v))
	return v
}

func TestStartPostgres(t *testing.T) {
	pg := StartPostgres(t)
	assert.Equal(t, "127.0.0.1", pg.Host)
	assert.NotZero(t, pg.Port)
	assert.Equal(t, "logical", showSetting(t, pg, "wal_level"))
	assert.Equal(t, "10", showSetting(t, pg, "max_replication_slots"))
	assert.Equal(t, "off", showSetting(t, pg, "fsync"))

	pg.Exec(t, "CREATE DATABASE app", "CREATE TABLE t (id int PRIMARY KEY)", "INSERT INTO t VALUES (1)")
	conn, err := pgx.Connect(context.Background(), pg.DSN("app"))
	require.NoError(t, err, "the DSN names the database")
	conn.Close(context.Background())
	_, err = os.Stat(pg.SocketDir)
	require.NoError(t, err)
}

func TestStartPostgresWith(t *testing.T) {
	pg := StartPostgresWith(t, map[string]string{"wal_level": "replica"})
	assert.Equal(t, "replica", showSetting(t, pg, "wal_level"))
	assert.Equal(t, "10", showSetting(t, pg, "max_wal_senders"), "defaults stay")
}

func TestPostgresInstancesAreIndependent(t *testing.T) {
	a, b := StartPostgres(t), StartPostgres(t)
	require.NotEqual(t, a.Port, b.Port)
	a.Exec(t, "CREATE TABLE only_in_a (id int)")
	b.Exec(t, "CREATE TABLE only_in_a (id int)") // would fail if b were a
}

func TestStartPostgresLongTestName(t *testing.T) {
	// t.TempDir embeds up to 64 characters of the test name; the socket
	// path must still fit the kernel's 108-byte limit.
	t.Run(strings.Repeat("long_subtest_name_", 4), func(t *testing.T) {
		pg := StartPostgres(t)
		assert.Less(t, len(pg.SocketDir), 100)
		pg.Exec(t, "SELECT 1")
	})
}

func TestPostgresRequirePasswords(t *testing.T) {
	pg := StartPostgres(t)
	pg.Exec(t, "CREATE ROLE bob LOGIN PASSWORD 'secret'")
	connect := func(password string) error {
		conn, err := pgx.Connect(context.Background(), "postgres://bob:"+password+"@"+pg.Host+":"+strconv.Itoa(pg.Port)+"/postgres?sslmode=disable")
		if err == nil {
			conn.Close(context.Background())
		}
		return err
	}
	require.NoError(t, connect("wrong"), "trust before RequirePasswords")
	pg.RequirePasswords(t)
	require.ErrorContains(t, connect("wrong"), "password authentication failed")
	require.NoError(t, connect("secret"))
	pg.Exec(t, "SELECT 1") // postgres stays trusted
}
