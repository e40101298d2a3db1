package jdbc

import (
	"context"
	"database/sql"
	"fmt"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/connecttest"
	"github.com/sluicehq/sluice/internal/testenv"
	"github.com/sluicehq/sluice/runtime/connect"
)

// sinkDB is a database the sink writes to, with a handle to check it.
type sinkDB struct {
	name       string
	dialect    dialect
	url        string // the JDBC URL
	user, pass string
	db         *sql.DB
	pg         *testenv.Postgres // nil for MariaDB
	maria      *testenv.MariaDB  // nil for Postgres
}

// sinkDatabases are the databases every sink test runs against.
var sinkDatabases = []struct {
	name  string
	start func(t testing.TB) *sinkDB
}{
	{"postgres", startSinkPostgres},
	{"mariadb", startSinkMariaDB},
}

// eachDatabase runs test once per database, as a subtest.
func eachDatabase(t *testing.T, test func(t *testing.T, db *sinkDB)) {
	for _, d := range sinkDatabases {
		t.Run(d.name, func(t *testing.T) { test(t, d.start(t)) })
	}
}

// startSinkMariaDB starts a MariaDB with an empty database "sink".
func startSinkMariaDB(t testing.TB) *sinkDB {
	t.Helper()
	m := testenv.StartMariaDB(t)
	m.CreateDatabase(t, "sink")
	return &sinkDB{name: "mariadb", dialect: mariadbDialect, url: m.JDBCURL("sink"), user: m.User, pass: m.Password,
		db: m.Open(t, "sink"), maria: m}
}

// withUser adds the credentials under the keys of config's class.
func (s *sinkDB) withUser(config map[string]string) map[string]string {
	if s.user == "" {
		return config
	}
	if config["connector.class"] == ConfluentClass {
		config["connection.user"] = s.user
	} else {
		config["connection.username"] = s.user
	}
	config["connection.password"] = s.pass
	return config
}

// timestampType is the type of a timestamp column without time zone.
func (s *sinkDB) timestampType() string {
	if s.dialect == postgresDialect {
		return "timestamp(3)"
	}
	return "datetime(3)"
}

// timestamp is a SQL expression rendering a timestamp column to the
// millisecond.
func (s *sinkDB) timestamp(col string) string {
	if s.dialect == postgresDialect {
		return "to_char(" + col + ", 'YYYY-MM-DD HH24:MI:SS.MS')"
	}
	return "LEFT(DATE_FORMAT(" + col + ", '%Y-%m-%d %H:%i:%s.%f'), 23)"
}

// startSinkPostgres starts a Postgres with an empty database "sink".
func startSinkPostgres(t testing.TB) *sinkDB {
	t.Helper()
	pg := testenv.StartPostgres(t)
	pg.Exec(t, "CREATE DATABASE sink")
	db, err := sql.Open("pgx", pg.DSN("sink"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	return &sinkDB{name: "postgres", dialect: postgresDialect, url: fmt.Sprintf("jdbc:postgresql://%s:%d/sink?user=postgres&sslmode=disable", pg.Host, pg.Port), db: db, pg: pg}
}

func (s *sinkDB) exec(t testing.TB, stmts ...string) {
	t.Helper()
	for _, q := range stmts {
		_, err := s.db.Exec(q)
		require.NoError(t, err, q)
	}
}

// rows returns the rows of query, each as its columns joined by "|".
func (s *sinkDB) rows(t testing.TB, query string) []string {
	t.Helper()
	rs, err := s.db.Query(query)
	require.NoError(t, err, query)
	defer rs.Close()
	cols, err := rs.Columns()
	require.NoError(t, err)
	var out []string
	for rs.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		require.NoError(t, rs.Scan(ptrs...))
		parts := make([]string, len(cols))
		for i, v := range vals {
			parts[i] = "NULL"
			if v.Valid {
				parts[i] = v.String
			}
		}
		out = append(out, strings.Join(parts, "|"))
	}
	require.NoError(t, rs.Err())
	return out
}

// startTask starts a sink task under config; tolerate answers Report as
// errors.tolerance=all.
func startTask(t *testing.T, config map[string]string, tolerate bool) (*sinkTask, *connecttest.SinkContext) {
	t.Helper()
	ctx := connecttest.NewSinkContext(t, config)
	ctx.Tolerate = tolerate
	task := newSinkTask()
	require.NoError(t, task.Start(ctx, config))
	t.Cleanup(func() { _ = task.Stop() })
	return task, ctx
}

// putFlush puts recs and flushes, failing the test on an error.
func putFlush(t *testing.T, task *sinkTask, recs ...*connect.Record) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	require.NoError(t, task.Put(ctx, recs))
	cur := map[connect.TopicPartition]int64{{Topic: recs[0].Topic}: recs[len(recs)-1].Offset + 1}
	got, err := task.Flush(ctx, cur)
	require.NoError(t, err)
	assert.Equal(t, cur, got)
}

var (
	orderKey   = connect.StructBuilder().Name("orders.Key").Field("id", connect.Int32Schema).Build()
	orderValue = connect.StructBuilder().Name("orders.Value").
			Field("id", connect.Int32Schema).
			Field("name", connect.OptionalStringSchema).
			Field("amount", connect.DecimalSchema(2).Optional().Build()).
			Field("placed", connect.TimestampSchema().Optional().Build()).Build()
	orderValueV2 = connect.StructBuilder().Name("orders.Value").
			Field("id", connect.Int32Schema).
			Field("name", connect.OptionalStringSchema).
			Field("amount", connect.DecimalSchema(2).Optional().Build()).
			Field("placed", connect.TimestampSchema().Optional().Build()).
			Field("note", connect.OptionalStringSchema).Build()
)

var offset int64

// order is a flat record of table orders (Confluent's shape); name ""
// makes a tombstone.
func order(id int32, name string) *connect.Record {
	offset++
	r := &connect.Record{Topic: "orders", Offset: offset, KeySchema: orderKey,
		Key: connect.NewStruct(orderKey).MustPut("id", id)}
	if name != "" {
		r.ValueSchema = orderValue
		r.Value = connect.NewStruct(orderValue).MustPut("id", id).MustPut("name", name).
			MustPut("amount", big.NewRat(int64(id)*1050, 100)).
			MustPut("placed", time.Date(2024, 5, 6, 7, 8, 9, 123e6, time.UTC))
	}
	return r
}

func confluentConfig(db *sinkDB) map[string]string {
	return db.withUser(map[string]string{
		"name": "sink", "connector.class": ConfluentClass, "connection.url": db.url,
		"insert.mode": "upsert", "pk.mode": "record_key", "delete.enabled": "true",
		"auto.create": "true", "auto.evolve": "true", "max.retries": "3", "retry.backoff.ms": "100",
	})
}

func TestConfluentUpsertDeleteEvolveIdempotent(t *testing.T) { eachDatabase(t, testConfluentUpsert) }

func testConfluentUpsert(t *testing.T, db *sinkDB) {
	task, _ := startTask(t, confluentConfig(db), false)
	batch := []*connect.Record{order(1, "ann"), order(2, "bob"), order(1, "anna"), order(3, "cy"), order(2, "")}
	putFlush(t, task, batch...)
	want := []string{"1|anna|10.50|2024-05-06 07:08:09.123", "3|cy|31.50|2024-05-06 07:08:09.123"}
	q := "SELECT id, name, amount, " + db.timestamp("placed") + " FROM orders ORDER BY id"
	assert.Equal(t, want, db.rows(t, q))

	// Redelivery of the same records leaves the same table.
	putFlush(t, task, batch...)
	assert.Equal(t, want, db.rows(t, q))

	// A field added to the value schema becomes a column.
	r := order(4, "dee")
	r.ValueSchema = orderValueV2
	r.Value = connect.NewStruct(orderValueV2).MustPut("id", int32(4)).MustPut("name", "dee").MustPut("note", "new")
	putFlush(t, task, r)
	assert.Equal(t, []string{"1|NULL", "3|NULL", "4|new"}, db.rows(t, "SELECT id, note FROM orders ORDER BY id"))
}

func TestConfluentRefusesEnvelopesAndTombstones(t *testing.T) { eachDatabase(t, testConfluentRefuses) }

func testConfluentRefuses(t *testing.T, db *sinkDB) {
	cfg := confluentConfig(db)
	cfg["delete.enabled"] = "false"
	task, sctx := startTask(t, cfg, true)
	env := envelope("orders", "c", 1, "x")
	putFlush(t, task, order(1, "ann"), order(1, ""), env)
	rep := sctx.ReportedRecords()
	require.Len(t, rep, 2)
	assert.Contains(t, rep[0].Err.Error(), "requires records with a non-null Struct value")
	assert.Contains(t, rep[1].Err.Error(), "ExtractNewRecordState")
	assert.Equal(t, []string{"1|ann"}, db.rows(t, "SELECT id, name FROM orders"))
}

// The Debezium envelope of table items.
var (
	itemRow    = connect.StructBuilder().Name("server1.public.items.Value").Optional().Field("id", connect.Int32Schema).Field("label", connect.OptionalStringSchema).Build()
	itemKey    = connect.StructBuilder().Name("server1.public.items.Key").Field("id", connect.Int32Schema).Build()
	itemSource = connect.StructBuilder().Name("io.debezium.connector.postgresql.Source").Field("db", connect.StringSchema).Field("table", connect.StringSchema).Build()
	itemEnv    = connect.StructBuilder().Name("server1.public.items.Envelope").
			Field("before", itemRow).Field("after", itemRow).Field("source", itemSource).
			Field("op", connect.StringSchema).Field("ts_ms", connect.OptionalInt64Schema).Build()
)

func envelope(topic, op string, id int32, label string) *connect.Record {
	offset++
	row := connect.NewStruct(itemRow).MustPut("id", id).MustPut("label", label)
	env := connect.NewStruct(itemEnv).MustPut("op", op).
		MustPut("source", connect.NewStruct(itemSource).MustPut("db", "shop").MustPut("table", "items"))
	switch op {
	case "d":
		env.MustPut("before", row)
	case "c", "r", "u":
		env.MustPut("after", row)
	}
	r := &connect.Record{Topic: topic, Offset: offset, KeySchema: itemKey,
		Key: connect.NewStruct(itemKey).MustPut("id", id), ValueSchema: itemEnv, Value: env}
	if op == "t" {
		r.Key, r.KeySchema = nil, nil
	}
	return r
}

func TestDebeziumEnvelope(t *testing.T) { eachDatabase(t, testDebeziumEnvelope) }

func testDebeziumEnvelope(t *testing.T, db *sinkDB) {
	cfg := db.withUser(map[string]string{
		"name": "sink", "connector.class": DebeziumClass, "connection.url": db.url,
		"insert.mode": "upsert", "primary.key.mode": "record_key", "delete.enabled": "true",
		"truncate.enabled": "true", "schema.evolution": "basic",
	})
	task, _ := startTask(t, cfg, false)
	const topic = "server1.public.items"
	putFlush(t, task, envelope(topic, "r", 1, "one"), envelope(topic, "c", 2, "two"), envelope(topic, "u", 1, "uno"),
		envelope(topic, "d", 2, ""), envelope(topic, "c", 3, "three"), envelope(topic, "c", 2, "dos"))
	// Debezium's naming strategy: dots become underscores.
	assert.Equal(t, []string{"1|uno", "2|dos", "3|three"}, db.rows(t, "SELECT id, label FROM server1_public_items ORDER BY id"))

	// A tombstone deletes too; a truncate event empties the table after
	// the rows buffered before it.
	tomb := &connect.Record{Topic: topic, Offset: 100, KeySchema: itemKey, Key: connect.NewStruct(itemKey).MustPut("id", int32(1))}
	putFlush(t, task, tomb)
	assert.Equal(t, []string{"2|dos", "3|three"}, db.rows(t, "SELECT id, label FROM server1_public_items ORDER BY id"))
	putFlush(t, task, envelope(topic, "c", 4, "four"), envelope(topic, "t", 0, ""), envelope(topic, "c", 5, "five"))
	assert.Equal(t, []string{"5|five"}, db.rows(t, "SELECT id, label FROM server1_public_items ORDER BY id"))

	// ${source.table} in collection.name.format.
	cfg["collection.name.format"] = "copy_${source.table}"
	task2, _ := startTask(t, cfg, false)
	putFlush(t, task2, envelope(topic, "c", 7, "seven"))
	assert.Equal(t, []string{"7|seven"}, db.rows(t, "SELECT id, label FROM copy_items"))
}

func TestConstraintViolationsAreReportedRowByRow(t *testing.T) {
	eachDatabase(t, testConstraintViolations)
}

func testConstraintViolations(t *testing.T, db *sinkDB) {
	db.exec(t, `CREATE TABLE orders (id int PRIMARY KEY, name varchar(20) NOT NULL, amount numeric(10,2), placed `+
		db.timestampType()+`, CONSTRAINT name_ok CHECK (name <> 'bad'))`)
	cfg := confluentConfig(db)
	cfg["insert.mode"] = "insert"
	cfg["auto.create"] = "false"
	task, sctx := startTask(t, cfg, true)
	bad := order(2, "bad")
	putFlush(t, task, order(1, "a"), bad, order(3, "c"))
	assert.Equal(t, []string{"1|a", "3|c"}, db.rows(t, "SELECT id, name FROM orders ORDER BY id"))
	rep := sctx.ReportedRecords()
	require.Len(t, rep, 1)
	assert.Same(t, bad, rep[0].Record)
	msg := rep[0].Err.Error()
	wants := map[dialect][]string{postgresDialect: {"table orders", "constraint name_ok", "SQLSTATE 23514"},
		mariadbDialect: {"table orders", "name_ok", "4025"}}[db.dialect]
	for _, want := range wants {
		assert.Contains(t, msg, want)
	}

	// A null in a NOT NULL column names the column.
	nul := order(4, "d")
	nul.Value.(*connect.Struct).MustPut("name", nil)
	putFlush(t, task, nul)
	rep = sctx.ReportedRecords()
	require.Len(t, rep, 2)
	assert.Contains(t, rep[1].Err.Error(), "table orders")
	assert.Regexp(t, "column name|Column 'name'", rep[1].Err.Error())

	// Under errors.tolerance=none the task fails, and nothing is committed.
	task2, _ := startTask(t, cfg, false)
	require.NoError(t, task2.Put(context.Background(), []*connect.Record{order(5, "bad")}))
	got, err := task2.Flush(context.Background(), map[connect.TopicPartition]int64{{Topic: "orders"}: 99})
	require.Error(t, err)
	assert.Nil(t, got)
}

func TestMissingTableWithoutDDLFails(t *testing.T) { eachDatabase(t, testMissingTable) }

func testMissingTable(t *testing.T, db *sinkDB) {
	cfg := confluentConfig(db)
	cfg["auto.create"] = "false"
	task, _ := startTask(t, cfg, false)
	require.NoError(t, task.Put(context.Background(), []*connect.Record{order(1, "a")}))
	_, err := task.Flush(context.Background(), map[connect.TopicPartition]int64{{Topic: "orders"}: 2})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "orders does not exist and auto.create/auto.evolve are off")
}

// A connection lost in the middle of a flush (its backend terminated
// from another session while the insert runs) is retried on a new
// connection, and every record lands.
func TestLostConnectionIsRetried(t *testing.T) {
	db := startSinkPostgres(t)
	db.exec(t, `CREATE TABLE orders (id int PRIMARY KEY, name text, amount numeric, placed timestamp)`,
		`CREATE SEQUENCE slow_once`,
		`CREATE FUNCTION slow_once() RETURNS trigger LANGUAGE plpgsql AS $$
		 BEGIN IF nextval('slow_once') = 1 THEN PERFORM pg_sleep(60); END IF; RETURN NEW; END $$`,
		`CREATE TRIGGER slow BEFORE INSERT ON orders FOR EACH ROW EXECUTE FUNCTION slow_once()`)
	cfg := confluentConfig(db)
	cfg["auto.create"] = "false"
	task, _ := startTask(t, cfg, false)
	require.NoError(t, task.Put(context.Background(), []*connect.Record{order(1, "a"), order(2, "b")}))

	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, err := task.Flush(ctx, map[connect.TopicPartition]int64{{Topic: "orders"}: 3})
		done <- err
	}()
	require.Eventually(t, func() bool {
		rows := db.rows(t, `SELECT pid FROM pg_stat_activity WHERE datname = 'sink' AND wait_event = 'PgSleep'`)
		for _, pid := range rows {
			db.pg.Exec(t, "SELECT pg_terminate_backend("+pid+")")
		}
		return len(rows) > 0
	}, 30*time.Second, 50*time.Millisecond)
	require.NoError(t, <-done)
	assert.Equal(t, []string{"1|a", "2|b"}, db.rows(t, "SELECT id, name FROM orders ORDER BY id"))
}

func TestValidateConnects(t *testing.T) {
	db := startSinkPostgres(t)
	db.pg.RequirePasswords(t)
	db.pg.Exec(t, "CREATE ROLE writer LOGIN PASSWORD 'right'")
	cfg := confluentConfig(&sinkDB{url: fmt.Sprintf("jdbc:postgresql://%s:%d/sink?sslmode=disable", db.pg.Host, db.pg.Port)})
	cfg["connection.user"], cfg["connection.password"] = "writer", "wrong"
	v := func(cfg map[string]string) []connect.ConfigValue {
		return (&connector{}).Validate(context.Background(), cfg, Config.Validate(cfg))
	}
	res := v(cfg)
	assert.NotEmpty(t, errorsOn(res, "connection.user"))
	assert.NotEmpty(t, errorsOn(res, "connection.password"))
	assert.Empty(t, errorsOn(res, "connection.url"))

	cfg["connection.password"] = "right"
	for _, r := range v(cfg) {
		assert.Empty(t, r.Errors, r.Name)
	}

	cfg["connection.url"] = fmt.Sprintf("jdbc:postgresql://127.0.0.1:%d/sink?sslmode=disable&connectTimeout=2", freePort(t))
	assert.NotEmpty(t, errorsOn(v(cfg), "connection.url"))
}

// freePort returns a loopback port nothing listens on.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	return port
}

// A task that wrote stops twice without error and leaves no goroutine
// behind (the acceptance suite's stop check feeds values no JDBC sink
// can write, so it is done here).
func TestStopIsIdempotentAndLeaksNothing(t *testing.T) {
	db := startSinkPostgres(t)
	before := connecttest.Goroutines()
	ctx := connecttest.NewSinkContext(t, nil)
	task := newSinkTask()
	require.NoError(t, task.Start(ctx, confluentConfig(db)))
	putFlush(t, task, order(1, "a"))
	require.NoError(t, task.Stop())
	require.NoError(t, task.Stop())
	connecttest.CheckNoLeak(t, before, 5*time.Second)
}

// On MariaDB, a connection killed from another session in the middle of
// a flush is retried on a new one, and every record lands.
func TestLostConnectionIsRetriedMariaDB(t *testing.T) {
	db := startSinkMariaDB(t)
	db.exec(t, `CREATE TABLE orders (id int PRIMARY KEY, name text, amount numeric(10,2), placed datetime(3))`,
		`CREATE SEQUENCE slow_once`,
		`CREATE TRIGGER slow BEFORE INSERT ON orders FOR EACH ROW BEGIN IF NEXTVAL(slow_once) = 1 THEN DO SLEEP(60); END IF; END`)
	cfg := confluentConfig(db)
	cfg["auto.create"] = "false"
	task, _ := startTask(t, cfg, false)
	require.NoError(t, task.Put(context.Background(), []*connect.Record{order(1, "a"), order(2, "b")}))

	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, err := task.Flush(ctx, map[connect.TopicPartition]int64{{Topic: "orders"}: 3})
		done <- err
	}()
	require.Eventually(t, func() bool {
		rows := db.rows(t, `SELECT ID FROM information_schema.PROCESSLIST WHERE DB = 'sink' AND STATE = 'User sleep'`)
		for _, id := range rows {
			db.maria.Exec(t, "KILL "+id)
		}
		return len(rows) > 0
	}, 30*time.Second, 50*time.Millisecond)
	require.NoError(t, <-done)
	assert.Equal(t, []string{"1|a", "2|b"}, db.rows(t, "SELECT id, name FROM orders ORDER BY id"))
}

// Confluent's connection.attempts bounds the tries to connect at start.
func TestConnectionAttempts(t *testing.T) {
	cfg := confluentConfig(&sinkDB{url: fmt.Sprintf("jdbc:postgresql://127.0.0.1:%d/sink?sslmode=disable", freePort(t))})
	cfg["connection.attempts"], cfg["connection.backoff.ms"] = "2", "10"
	err := newSinkTask().Start(connecttest.NewSinkContext(t, cfg), cfg)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "2 connection attempts")
}

// A flush cut short by the worker's flush timeout while the database is
// unreachable is retriable: nothing is committed, the buffer stays, and
// the next flush writes it.
func TestFlushTimeoutIsRetriable(t *testing.T) {
	db := startSinkPostgres(t)
	db.exec(t, `CREATE TABLE orders (id int PRIMARY KEY, name text, amount numeric, placed timestamp)`)
	cfg := confluentConfig(db)
	cfg["auto.create"], cfg["retry.backoff.ms"] = "false", "50"
	task, _ := startTask(t, cfg, false)
	require.NoError(t, task.Put(context.Background(), []*connect.Record{order(1, "a")}))
	tx, err := db.db.Begin()
	require.NoError(t, err)
	_, err = tx.Exec("LOCK TABLE orders IN ACCESS EXCLUSIVE MODE")
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	got, err := task.Flush(ctx, map[connect.TopicPartition]int64{{Topic: "orders"}: 2})
	cancel()
	require.ErrorIs(t, err, connect.ErrRetriable)
	assert.Nil(t, got)
	require.NoError(t, tx.Rollback())
	putFlush(t, task, order(2, "b"))
	assert.Equal(t, []string{"1|a", "2|b"}, db.rows(t, "SELECT id, name FROM orders ORDER BY id"))
}
