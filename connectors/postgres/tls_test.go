package postgres

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/testenv"
)

// TLS to Postgres as cloud databases require it: verify-full against the
// configured root certificate works end to end; a wrong root, or TLS
// demanded of a server without it, fails validation on the key to fix.
func TestTLSConnections(t *testing.T) {
	plain := testenv.StartPostgres(t)
	pg := testenv.StartPostgres(t)
	ca := pg.EnableTLS(t)
	pg.Exec(t, "CREATE DATABASE app")
	execApp(t, pg, "CREATE TABLE orders (id int PRIMARY KEY)", "INSERT INTO orders VALUES (1)")

	cfg := serverConfig(pg, "postgres", "")
	cfg[TableIncludeListConfig] = "public.orders"
	cfg[SSLModeConfig], cfg[SSLRootCertConfig] = "verify-full", ca
	assert.Empty(t, validate(t, cfg))
	task := startTask(t, &taskContext{}, cfg)
	require.Len(t, pollN(t, task, 1), 1, "snapshot over TLS")
	var ssl bool
	require.NoError(t, appConn(t, pg).QueryRow(t.Context(),
		"SELECT bool_and(ssl) FROM pg_stat_ssl JOIN pg_stat_activity USING (pid) WHERE usename = 'postgres' AND pid <> pg_backend_pid() AND backend_type IN ('client backend', 'walsender')").Scan(&ssl))
	assert.True(t, ssl, "the query and replication connections use TLS")

	cfg[SSLRootCertConfig] = testenv.NewTestCA(t)
	errs := validate(t, cfg)
	require.Len(t, errs[SSLRootCertConfig], 1, "%v", errs)
	assert.Contains(t, errs[SSLRootCertConfig][0], "certificate could not be verified")

	cfg = serverConfig(plain, "postgres", "")
	cfg[SSLModeConfig] = "require"
	errs = validate(t, cfg)
	require.Len(t, errs[SSLModeConfig], 1, "%v", errs)
	assert.Contains(t, errs[SSLModeConfig][0], "does not support SSL")
}
