package postgres

import (
	"context"
	"net"
	"strconv"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/testenv"
)

// validate runs the declared-key checks then the connector's, as the
// worker's validate endpoint does.
func validate(t *testing.T, cfg map[string]string) map[string][]string {
	t.Helper()
	v := Plugin.NewConnector().(*connector)
	return errorsOf(v.Validate(context.Background(), cfg, Config.Validate(cfg)))
}

// serverConfig is a valid config for user on pg's database app.
func serverConfig(pg *testenv.Postgres, user, password string) map[string]string {
	return map[string]string{
		HostnameConfig:         pg.Host,
		PortConfig:             strconv.Itoa(pg.Port),
		UserConfig:             user,
		PasswordConfig:         password,
		DBNameConfig:           "app",
		TopicPrefixConfig:      "shop",
		TableIncludeListConfig: "public.orders,inventory\\..*",
		SSLModeConfig:          "disable",
	}
}

// execApp runs statements on the app database.
func execApp(t *testing.T, pg *testenv.Postgres, sql ...string) {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), pg.DSN("app"))
	require.NoError(t, err)
	defer conn.Close(context.Background())
	for _, stmt := range sql {
		_, err := conn.Exec(context.Background(), stmt)
		require.NoError(t, err, stmt)
	}
}

func closedPort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	return port
}

func TestValidateAgainstServer(t *testing.T) {
	pg := testenv.StartPostgres(t)
	pg.Exec(t,
		"CREATE DATABASE app",
		"CREATE ROLE cdc LOGIN REPLICATION PASSWORD 'cdc-secret'",
		"CREATE ROLE reader LOGIN PASSWORD 'reader-secret'",
		"CREATE ROLE admin LOGIN SUPERUSER NOREPLICATION PASSWORD 'admin-secret'",
	)
	pg.RequirePasswords(t)
	execApp(t, pg,
		"CREATE TABLE public.orders (id int PRIMARY KEY)",
		"CREATE SCHEMA inventory",
		"CREATE TABLE inventory.items (id int PRIMARY KEY)",
	)

	tests := []struct {
		name   string
		change func(cfg map[string]string)
		want   map[string]string // key -> substring of its only error; nil: no errors
	}{
		{name: "valid replication user", change: func(map[string]string) {}},
		{name: "superuser without REPLICATION", change: func(cfg map[string]string) {
			cfg[UserConfig], cfg[PasswordConfig] = "admin", "admin-secret"
		}},
		{name: "unknown keys are ignored", change: func(cfg map[string]string) {
			cfg["some.future.key"] = "x"
			cfg["database.server.name"] = "legacy"
		}},
		{name: "table patterns ignore case", change: func(cfg map[string]string) {
			cfg[TableIncludeListConfig] = "PUBLIC.Orders"
		}},
		{name: "wrong password", change: func(cfg map[string]string) { cfg[PasswordConfig] = "nope" },
			want: map[string]string{PasswordConfig: `Error while validating connector config: FATAL: password authentication failed for user "cdc"`}},
		{name: "unreachable host", change: func(cfg map[string]string) { cfg[PortConfig] = strconv.Itoa(closedPort(t)) },
			want: map[string]string{HostnameConfig: "refused. Check that the hostname and port are correct"}},
		{name: "unknown database", change: func(cfg map[string]string) { cfg[DBNameConfig] = "nodb" },
			want: map[string]string{DBNameConfig: `FATAL: database "nodb" does not exist`}},
		{name: "user without REPLICATION", change: func(cfg map[string]string) {
			cfg[UserConfig], cfg[PasswordConfig] = "reader", "reader-secret"
		}, want: map[string]string{UserConfig: "Postgres roles LOGIN and REPLICATION are not assigned to user: reader"}},
		{name: "missing table", change: func(cfg map[string]string) {
			cfg[TableIncludeListConfig] = "public.orders,public.nope"
		}, want: map[string]string{TableIncludeListConfig: `No table in database app matches "public.nope" from table.include.list`}},
		{name: "include and exclude", change: func(cfg map[string]string) {
			cfg[TableExcludeListConfig] = "public.audit"
		}, want: map[string]string{TableExcludeListConfig: `"table.include.list" is already specified`}},
		{name: "bad connection key skips the server checks", change: func(cfg map[string]string) {
			cfg[PasswordConfig] = "nope"
			cfg[SSLModeConfig] = "sometimes"
		}, want: map[string]string{SSLModeConfig: "String must be one of"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := serverConfig(pg, "cdc", "cdc-secret")
			tc.change(cfg)
			errs := validate(t, cfg)
			require.Len(t, errs, len(tc.want), "%v", errs)
			for key, want := range tc.want {
				require.Len(t, errs[key], 1, "%s: %v", key, errs)
				assert.Contains(t, errs[key][0], want)
			}
		})
	}
}

func TestValidateWalLevelNotLogical(t *testing.T) {
	pg := testenv.StartPostgresWith(t, map[string]string{"wal_level": "replica"})
	pg.Exec(t, "CREATE DATABASE app")
	execApp(t, pg, "CREATE TABLE public.orders (id int PRIMARY KEY)")
	cfg := serverConfig(pg, "postgres", "")
	cfg[TableIncludeListConfig] = "public.orders"
	errs := validate(t, cfg)
	assert.Equal(t, map[string][]string{
		HostnameConfig: {`Postgres server wal_level property must be "logical" but is: replica`},
	}, errs)
}
