package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/broker"
	"github.com/sluicehq/sluice/connectors/builtin"
	"github.com/sluicehq/sluice/internal/testenv"
	"github.com/sluicehq/sluice/runtime/worker"
)

// TestExampleConfigsAreValid checks every file in configs/: worker files
// parse as worker configs, connector files pass the validate endpoint's
// checks with no errors.
func TestExampleConfigsAreValid(t *testing.T) {
	files, err := filepath.Glob("../../configs/*")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	cfg, err := worker.NewConfig(map[string]string{})
	require.NoError(t, err)
	h, err := worker.New(worker.Options{Config: cfg, Plugins: worker.Plugins{Connectors: builtin.Connectors(), Others: builtin.Others()}, Offsets: worker.NewMemOffsetStore(), ClientOpts: []kgo.Opt{kgo.SeedBrokers("127.0.0.1:1")}})
	require.NoError(t, err)
	var s3 *testenv.S3 // started once, for the whole test
	var servers exampleServers
	parent := t
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			if filepath.Base(f) == "server.properties" {
				props, err := readProperties(f)
				require.NoError(t, err)
				_, err = broker.NewConfig(props)
				require.NoError(t, err)
				return
			}
			if strings.Contains(f, "worker") || strings.Contains(f, "standalone") {
				props, err := readProperties(f)
				require.NoError(t, err)
				_, err = worker.NewConfig(props)
				require.NoError(t, err)
				return
			}
			props, err := readConnectorFile(f)
			require.NoError(t, err)
			if _, ok := props["store.url"]; ok {
				if s3 == nil {
					s3 = testenv.StartS3(parent)
				}
				s3.CreateBucket(t, props["s3.bucket.name"])
				props["store.url"], props["aws.access.key.id"], props["aws.secret.access.key"] = s3.Endpoint, s3.AccessKey, s3.SecretKey
			}
			servers.point(parent, t, props)
			infos, err := h.ValidateConfig(context.Background(), props["connector.class"], props)
			require.NoError(t, err)
			for _, c := range infos.Configs {
				require.Empty(t, c.Value.Errors, "%s: %s", f, c.Value.Name)
			}
			require.Zero(t, infos.ErrorCount)
		})
	}
}

// exampleServers are the databases the example connector configs name,
// started on first use: the configs point at the usual ports, the test at
// throwaway servers.
type exampleServers struct {
	pg      *testenv.Postgres
	mariadb *testenv.MariaDB
}

// point rewrites the database coordinates of a connector config onto
// throwaway servers, creating the databases and tables the config names.
func (s *exampleServers) point(parent, t *testing.T, props map[string]string) {
	postgres := func() *testenv.Postgres {
		if s.pg == nil {
			s.pg = testenv.StartPostgres(parent)
		}
		return s.pg
	}
	if _, ok := props["database.hostname"]; ok && strings.Contains(props["connector.class"], "postgres") {
		pg := postgres()
		db := props["database.dbname"]
		pg.Exec(t, "CREATE DATABASE "+db)
		conn := pgConnect(t, pg.DSN(db))
		for _, table := range strings.Split(props["table.include.list"], ",") {
			_, err := conn.Exec(context.Background(), "CREATE TABLE "+table+" (id int PRIMARY KEY, name text)")
			require.NoError(t, err)
		}
		props["database.hostname"], props["database.port"] = pg.Host, strconv.Itoa(pg.Port)
	}
	url, ok := props["connection.url"]
	if !ok {
		return
	}
	db := url[strings.LastIndexByte(url, '/')+1:]
	switch {
	case strings.HasPrefix(url, "jdbc:postgresql:"):
		pg := postgres()
		pg.Exec(t, "CREATE DATABASE "+db)
		props["connection.url"] = fmt.Sprintf("jdbc:postgresql://%s:%d/%s", pg.Host, pg.Port, db)
	case strings.HasPrefix(url, "jdbc:mariadb:"), strings.HasPrefix(url, "jdbc:mysql:"):
		if s.mariadb == nil {
			s.mariadb = testenv.StartMariaDB(parent)
		}
		s.mariadb.CreateDatabase(t, db)
		props["connection.url"] = s.mariadb.JDBCURL(db)
		props["connection.user"], props["connection.password"] = s.mariadb.User, s.mariadb.Password
	}
}

func pgConnect(t *testing.T, dsn string) *pgx.Conn {
	conn, err := pgx.Connect(context.Background(), dsn)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}
