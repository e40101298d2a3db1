package e2e

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/testenv"
)

// jdbcPipeline is `sluice up` running the Postgres CDC connector on the
// items table of one Postgres database and two JDBC sinks keeping copies
// of it: one in another database (sink) of the same Postgres server, one
// in a MariaDB database (sink).
type jdbcPipeline struct {
	pg    *testenv.Postgres
	maria *testenv.MariaDB
	src   *pgx.Conn // the writer's connection
	// source, pgCopy and mariaCopy read the three tables for comparison.
	source, pgCopy, mariaCopy *sql.DB
	log                       *procLog
	args                      []string
	p                         *proc
	base                      string
}

// sinkConfigs returns the two sink connectors' configs for flavour
// "debezium" or "confluent", as users of each sink write them.
func (pl *jdbcPipeline) sinkConfigs(flavour string) map[string]map[string]string {
	type target struct{ url, user, password string }
	targets := map[string]target{
		"pg-copy":    {fmt.Sprintf("jdbc:postgresql://%s:%d/sink", pl.pg.Host, pl.pg.Port), "postgres", "unused"},
		"maria-copy": {pl.maria.JDBCURL("sink"), pl.maria.User, pl.maria.Password},
	}
	out := map[string]map[string]string{}
	for name, tg := range targets {
		switch flavour {
		case "debezium":
			// Debezium's JDBC sink reads the change event envelope itself.
			out[name] = map[string]string{
				"connector.class": "io.debezium.connector.jdbc.JdbcSinkConnector", "tasks.max": "1",
				"topics":         "dbserver1.public.items",
				"connection.url": tg.url, "connection.username": tg.user, "connection.password": tg.password,
				"insert.mode": "upsert", "delete.enabled": "true", "primary.key.mode": "record_key",
				"schema.evolution": "basic", "collection.name.format": "${source.table}",
			}
		case "confluent":
			// Confluent's JDBC sink after Debezium's event flattening:
			// deletes kept as null values (delete.handling.mode=none) and
			// tombstones kept, both delete the row; the topic routed to
			// the table name, as Debezium's tutorial does.
			out[name] = map[string]string{
				"connector.class": "io.confluent.connect.jdbc.JdbcSinkConnector", "tasks.max": "1",
				"topics":         "dbserver1.public.items",
				"connection.url": tg.url, "connection.user": tg.user, "connection.password": tg.password,
				"transforms":                             "unwrap,route",
				"transforms.unwrap.type":                 "io.debezium.transforms.ExtractNewRecordState",
				"transforms.unwrap.drop.tombstones":      "false",
				"transforms.unwrap.delete.handling.mode": "none",
				"transforms.route.type":                  "org.apache.kafka.connect.transforms.RegexRouter",
				"transforms.route.regex":                 `([^.]+)\.([^.]+)\.([^.]+)`,
				"transforms.route.replacement":           "$3",
				"table.name.format":                      "${topic}",
				"insert.mode":                            "upsert", "pk.mode": "record_key", "delete.enabled": "true",
				"auto.create": "true", "auto.evolve": "true",
			}
		default:
			panic(flavour)
		}
	}
	return out
}

// startJDBCPipeline starts the databases, `sluice up` and the three
// connectors; the source table holds 200 rows for the snapshot.
func startJDBCPipeline(t *testing.T, flavour string) (*jdbcPipeline, *jdbcWriter) {
	pl := &jdbcPipeline{pg: testenv.StartPostgres(t), maria: testenv.StartMariaDB(t)}
	pl.pg.Exec(t, jdbcSourceTable,
		`INSERT INTO items (id, name, qty, price, at, flag, day, payload, doc, code, small, ts)
			SELECT g, 'snapshot ' || g, g, g * 0.5, timestamptz '2024-02-29 23:59:59.999999+05' + g * interval '1 hour',
				g % 3 = 0, date '1999-12-31' + g, '\x00ff'::bytea || int4send(g), jsonb_build_object('g', g, 'arr', jsonb_build_array(g, 'x')),
				md5(g::text)::uuid, (g * 163 - 16000)::smallint, timestamp '1999-12-31 23:59:59.5' + g * interval '1 minute 1 microsecond'
			FROM generate_series(1, 200) g`,
		"CREATE DATABASE sink")
	w := &jdbcWriter{nextID: 201}
	for id := 1; id <= 200; id++ {
		w.ids = append(w.ids, id)
	}
	pl.maria.CreateDatabase(t, "sink")

	open := func(driver, dsn string) *sql.DB {
		db, err := sql.Open(driver, dsn)
		require.NoError(t, err)
		t.Cleanup(func() { db.Close() })
		return db
	}
	pl.source, pl.pgCopy = open("pgx", pl.pg.DSN("postgres")), open("pgx", pl.pg.DSN("sink"))
	pl.mariaCopy = pl.maria.Open(t, "sink")
	var err error
	pl.src, err = pgx.Connect(context.Background(), pl.pg.DSN("postgres"))
	require.NoError(t, err)
	t.Cleanup(func() { pl.src.Close(context.Background()) })

	dir, restAddr := t.TempDir(), freeAddr(t)
	props := filepath.Join(dir, "worker.properties")
	require.NoError(t, os.WriteFile(props, []byte("offset.flush.interval.ms=500\n"), 0o644))
	pl.log = &procLog{}
	dumpOnFailure(t, "sluice up", pl.log)
	pl.args = []string{"up", "--data-dir", filepath.Join(dir, "data"), "--broker-addr", freeAddr(t), "--rest-addr", restAddr,
		"--registry-addr", freeAddr(t), "--worker-config", props}
	pl.p = startProcUntil(t, pl.log, workerReady, pl.args...)
	pl.base = "http://" + restAddr

	// The source as a Debezium user configures it; JSON with schemas (the
	// worker's default converters), which the sinks need.
	var resp map[string]any
	require.Equal(t, 201, rest(t, "POST", pl.base+"/connectors", map[string]any{"name": "inventory", "config": map[string]string{
		"connector.class":   "io.debezium.connector.postgresql.PostgresConnector",
		"database.hostname": pl.pg.Host, "database.port": strconv.Itoa(pl.pg.Port),
		"database.user": "postgres", "database.password": "unused", "database.dbname": "postgres",
		"topic.prefix": "dbserver1", "table.include.list": "public.items", "plugin.name": "pgoutput",
		"slot.name": "inventory", "publication.autocreate.mode": "filtered",
	}}, &resp), "%v", resp)
	for name, cfg := range pl.sinkConfigs(flavour) {
		require.Equal(t, 201, rest(t, "POST", pl.base+"/connectors", map[string]any{"name": name, "config": cfg}, &resp), "%s: %v", name, resp)
	}
	pl.waitRunning(t)
	return pl, w
}

func (pl *jdbcPipeline) waitRunning(t *testing.T) {
	for _, name := range []string{"inventory", "pg-copy", "maria-copy"} {
		waitRunning(t, pl.base, name, 1)
	}
}

// restart SIGKILLs `sluice up` and starts it again on the same data dir.
func (pl *jdbcPipeline) restart(t *testing.T) {
	pl.p.kill()
	time.Sleep(200 * time.Millisecond)
	pl.p = startProcUntil(t, pl.log, workerReady, pl.args...)
	pl.waitRunning(t)
}

// evolve adds two columns at the source; the writer uses them from then
// on.
func (pl *jdbcPipeline) evolve(t *testing.T, w *jdbcWriter) {
	_, err := pl.src.Exec(context.Background(), "ALTER TABLE items ADD COLUMN note text, ADD COLUMN score bigint")
	require.NoError(t, err)
	w.evolved = true
}

// converge waits until both copies equal the source row for row.
func (pl *jdbcPipeline) converge(t *testing.T, evolved bool, timeout time.Duration) {
	pgCols, mariaCols := pgDumpCols, mariaDumpCols
	if evolved {
		pgCols += ", note, score::text"
		mariaCols += ", note, CAST(score AS CHAR)"
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var last string
	for {
		src, err := dumpTable(ctx, pl.source, "SELECT "+pgCols+" FROM items")
		require.NoError(t, err)
		last = ""
		for name, c := range map[string]struct {
			db   *sql.DB
			cols string
		}{"postgres copy": {pl.pgCopy, pgCols}, "mariadb copy": {pl.mariaCopy, mariaCols}} {
			got, err := dumpTable(ctx, c.db, "SELECT "+c.cols+" FROM items")
			if err != nil {
				last += name + ": " + err.Error() + "\n"
				continue
			}
			if d := src.diff(got); d != "" {
				last += name + ": " + d
			}
		}
		if last == "" {
			t.Logf("copies equal the source: %d rows", len(src))
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the copies did not converge within %v:\n%s", timeout, last)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// TestJDBCSinkPipeline runs the commonest pipeline: the Postgres CDC
// connector captures a table under random inserts, updates, deletes,
// primary-key changes and multi-row transactions; JDBC sinks keep copies
// in another Postgres database and in MariaDB, once with Debezium's sink
// reading the envelope, once with Confluent's after ExtractNewRecordState.
// Midway a column is added at the source and written; the copies end equal
// to the source, row for row and column for column.
func TestJDBCSinkPipeline(t *testing.T) {
	for _, flavour := range []string{"debezium", "confluent"} {
		t.Run(flavour, func(t *testing.T) {
			seed := uint64(time.Now().UnixNano())
			t.Logf("seed %d", seed)
			rng := rand.New(rand.NewPCG(seed, 18))
			pl, w := startJDBCPipeline(t, flavour)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			require.NoError(t, w.run(ctx, pl.src, rng, 200, time.Millisecond))
			pl.converge(t, false, 60*time.Second)
			pl.evolve(t, w)
			require.NoError(t, w.run(ctx, pl.src, rng, 160, time.Millisecond))
			pl.converge(t, true, 60*time.Second)
		})
	}
}

// TestJDBCSinkSurvivesWorkerKill runs the Debezium-envelope pipeline into
// both targets and SIGKILLs `sluice up` twice while the writer runs (once
// before the schema change, once after), restarting it on the same data
// dir each time: the replayed events (upserts, deletes by key) leave the
// copies equal to the source.
func TestJDBCSinkSurvivesWorkerKill(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 19))
	pl, w := startJDBCPipeline(t, "debezium")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for phase := range 2 {
		if phase == 1 {
			pl.evolve(t, w)
		}
		done := make(chan error, 1)
		go func() { done <- w.run(ctx, pl.src, rng, 300, 3*time.Millisecond) }()
		start := w.committed.Load()
		require.Eventually(t, func() bool { return w.committed.Load() > start+100 }, time.Minute, 10*time.Millisecond)
		// Kill while both sinks are writing: each copy already holds rows
		// of this phase (after the schema change, rows with a note).
		probe := "SELECT count(*) FROM items WHERE id > 200"
		if phase == 1 {
			probe = "SELECT count(*) FROM items WHERE note IS NOT NULL"
		}
		for _, db := range []*sql.DB{pl.pgCopy, pl.mariaCopy} {
			require.Eventually(t, func() bool {
				var n int
				return db.QueryRowContext(ctx, probe).Scan(&n) == nil && n > 0
			}, time.Minute, 20*time.Millisecond, "phase %d: the sinks write before the kill", phase)
		}
		t.Logf("phase %d: killing the worker after %d transactions", phase, w.committed.Load())
		pl.restart(t)
		require.NoError(t, <-done)
	}
	pl.converge(t, true, 90*time.Second)
}
