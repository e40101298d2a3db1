package jdbc

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	dbz "github.com/sluicehq/sluice/connectors/debezium"
	"github.com/sluicehq/sluice/runtime/connect"
)

// debeziumConfig is a Debezium front-end config: upserts by record key,
// tables created and evolved.
func debeziumConfig(db *sinkDB) map[string]string {
	return db.withUser(map[string]string{
		"name": "sink", "connector.class": DebeziumClass, "connection.url": db.url,
		"insert.mode": "upsert", "primary.key.mode": "record_key", "schema.evolution": "basic",
	})
}

func TestUpsertSQLPerServerVersion(t *testing.T) {
	for _, tc := range []struct {
		d       dialect
		version string
		want    dialect
	}{
		{mysqlDialect, "8.0.20", mysqlAliasDialect},
		{mysqlDialect, "8.0.36-commercial", mysqlAliasDialect},
		{mysqlDialect, "8.4.0", mysqlAliasDialect},
		{mysqlDialect, "9.1.0", mysqlAliasDialect},
		{mysqlDialect, "8.0.19", mysqlDialect},
		{mysqlDialect, "5.7.44-log", mysqlDialect},
		{mysqlDialect, "11.4.2-MariaDB-ubu2404", mysqlDialect}, // a MariaDB behind jdbc:mysql://
		{mariadbDialect, "8.0.36", mariadbDialect},             // the URL said MariaDB
		{mysqlDialect, "garbage", mysqlDialect},
	} {
		assert.Equal(t, tc.want, serverDialect(tc.d, tc.version), tc.version)
	}
	cols := []column{{Name: "id", Key: true, Schema: connect.Int32Schema}, {Name: "name", Schema: connect.StringSchema}}
	assert.Equal(t, "INSERT INTO `t` (`id`, `name`) VALUES (?, ?), (?, ?) AS new ON DUPLICATE KEY UPDATE `name` = new.`name`",
		mysqlAliasDialect.insertSQL("t", cols, 2, true, true))
	assert.Equal(t, "INSERT INTO t (id) VALUES (?) AS new ON DUPLICATE KEY UPDATE id = new.id",
		mysqlAliasDialect.insertSQL("t", cols[:1], 1, true, false))
	assert.Equal(t, "INSERT INTO t (id, name) VALUES (?, ?) ON DUPLICATE KEY UPDATE name = VALUES(name)",
		mysqlDialect.insertSQL("t", cols, 1, true, false))
	assert.Equal(t, "INSERT INTO t (id, name) VALUES (?, ?)", mysqlAliasDialect.insertSQL("t", cols, 1, false, false))
}

// TestServerVersionDetection connects to a real MariaDB through a
// jdbc:mysql:// URL: its version (10.x or 11.x, above 8.0.20) must not
// pick MySQL's row alias, which MariaDB does not parse; upserts work.
func TestServerVersionDetection(t *testing.T) {
	db := startSinkMariaDB(t)
	cfg := confluentConfig(db)
	cfg["connection.url"] = strings.Replace(db.url, "jdbc:mariadb:", "jdbc:mysql:", 1)
	task, _ := startTask(t, cfg, false)
	assert.Equal(t, mysqlDialect, task.s.target.dialect)
	putFlush(t, task, order(1, "ann"), order(2, "bob"))
	putFlush(t, task, order(1, "anna"))
	assert.Equal(t, []string{"1|anna", "2|bob"}, db.rows(t, "SELECT id, name FROM orders ORDER BY id"))
}

// columns lists a table's column names in order.
func (s *sinkDB) columns(t *testing.T, table string) []string {
	q := "SELECT column_name FROM information_schema.columns WHERE table_name = '" + table + "'"
	if s.dialect == postgresDialect {
		q += " AND table_schema = 'public'"
	} else {
		q += " AND table_schema = 'sink'"
	}
	return s.rows(t, q+" ORDER BY ordinal_position")
}

func TestDebeziumFieldFilters(t *testing.T) {
	eachDatabase(t, func(t *testing.T, db *sinkDB) {
		cfg := debeziumConfig(db)
		cfg["field.include.list"] = "orders:id,orders:name,other:amount"
		task, _ := startTask(t, cfg, false)
		putFlush(t, task, order(1, "ann"))
		assert.Equal(t, []string{"id", "name"}, db.columns(t, "orders"))
		assert.Equal(t, []string{"1|ann"}, db.rows(t, "SELECT id, name FROM orders"))

		cfg = debeziumConfig(db)
		cfg["field.exclude.list"] = "orders2:placed,orders2:amount,orders:name"
		cfg["collection.name.format"] = "${topic}2"
		task, _ = startTask(t, cfg, false)
		r := order(2, "bob")
		r.Topic = "orders2"
		putFlush(t, task, r)
		assert.Equal(t, []string{"id", "name"}, db.columns(t, "orders22"))
	})
}

var noteValue = connect.StructBuilder().Name("notes.Value").
	Field("id", connect.Int32Schema).
	Field("name", connect.OptionalStringSchema).
	Field("note", connect.NewSchemaBuilder(connect.TypeString).Optional().Default("dflt").Build()).Build()

func note(id int32, name string) *connect.Record {
	offset++
	return &connect.Record{Topic: "notes", Offset: offset, KeySchema: orderKey,
		Key: connect.NewStruct(orderKey).MustPut("id", id), ValueSchema: noteValue,
		Value: connect.NewStruct(noteValue).MustPut("id", id).MustPut("name", name)}
}

func TestConfluentWhitelistAndNullDefaults(t *testing.T) {
	eachDatabase(t, func(t *testing.T, db *sinkDB) {
		cfg := confluentConfig(db)
		cfg["fields.whitelist"] = "note"
		task, _ := startTask(t, cfg, false)
		putFlush(t, task, note(1, "ann"))
		// The key column is written though not listed; name is not.
		assert.Equal(t, []string{"id", "note"}, db.columns(t, "notes"))
		assert.Equal(t, []string{"1|dflt"}, db.rows(t, "SELECT id, note FROM notes"))

		cfg = confluentConfig(db)
		cfg["replace.null.with.default"] = "false"
		task, _ = startTask(t, cfg, false)
		putFlush(t, task, note(2, "bob"))
		assert.Equal(t, []string{"1|NULL|dflt", "2|bob|NULL"}, db.rows(t, "SELECT id, name, note FROM notes ORDER BY id"))
	})
}

func TestDebeziumNamingStrategies(t *testing.T) {
	eachDatabase(t, func(t *testing.T, db *sinkDB) {
		if db.dialect == postgresDialect {
			db.exec(t, "CREATE SCHEMA shop")
		} else {
			db.maria.CreateDatabase(t, "shop")
		}
		cfg := debeziumConfig(db)
		cfg["table.naming.strategy"] = dbzOldTableNaming
		cfg["column.naming.strategy"] = dbzOldColNaming
		task, _ := startTask(t, cfg, false)
		putFlush(t, task, envelope("shop.items", "c", 1, "one"))
		assert.Equal(t, []string{"1|one"}, db.rows(t, "SELECT id, label FROM shop_items"))

		cfg = debeziumConfig(db)
		cfg["collection.naming.strategy"] = dbzPassthroughNaming
		task, _ = startTask(t, cfg, false)
		putFlush(t, task, envelope("shop.items", "c", 2, "two"))
		assert.Equal(t, []string{"2|two"}, db.rows(t, "SELECT id, label FROM shop.items"))
	})
}

// TestDebeziumBatchModes counts, with a trigger, the row changes a batch
// of three changes of one key makes: one under deduplication (the
// default), three under passthrough.
func TestDebeziumBatchModes(t *testing.T) {
	eachDatabase(t, func(t *testing.T, db *sinkDB) {
		db.exec(t, "CREATE TABLE items (id INT PRIMARY KEY, label VARCHAR(20))", "CREATE TABLE audit (id INT, label VARCHAR(20))")
		if db.dialect == postgresDialect {
			db.exec(t, `CREATE FUNCTION audit_items() RETURNS trigger AS $$ BEGIN INSERT INTO audit VALUES (NEW.id, NEW.label); RETURN NEW; END $$ LANGUAGE plpgsql`,
				"CREATE TRIGGER items_audit AFTER INSERT OR UPDATE ON items FOR EACH ROW EXECUTE FUNCTION audit_items()")
		} else {
			db.exec(t, "CREATE TRIGGER items_ins AFTER INSERT ON items FOR EACH ROW INSERT INTO audit VALUES (NEW.id, NEW.label)",
				"CREATE TRIGGER items_upd AFTER UPDATE ON items FOR EACH ROW INSERT INTO audit VALUES (NEW.id, NEW.label)")
		}
		for _, tc := range []struct {
			keys map[string]string
			want []string
		}{
			{nil, []string{"1|c"}},
			{map[string]string{"keyed.message.batch.mode": "passthrough"}, []string{"1|a", "1|b", "1|c"}},
			{map[string]string{"use.reduction.buffer": "false"}, []string{"1|a", "1|b", "1|c"}},
			{map[string]string{"use.reduction.buffer": "true", "keyed.message.batch.mode": "deduplication"}, []string{"1|c"}},
		} {
			db.exec(t, "DELETE FROM items", "DELETE FROM audit")
			cfg := debeziumConfig(db)
			cfg["schema.evolution"] = "none"
			for k, v := range tc.keys {
				cfg[k] = v
			}
			task, _ := startTask(t, cfg, false)
			putFlush(t, task, envelope("items", "c", 1, "a"), envelope("items", "u", 1, "b"), envelope("items", "u", 1, "c"))
			assert.Equal(t, tc.want, db.rows(t, "SELECT id, label FROM audit ORDER BY label"), "%v", tc.keys)
			assert.Equal(t, []string{"1|c"}, db.rows(t, "SELECT id, label FROM items"))
		}
	})
}

func TestConnectionPoolKeys(t *testing.T) {
	db := startSinkPostgres(t)
	cfg := debeziumConfig(db)
	cfg["connection.pool.max_size"] = "1"
	cfg["connection.pool.min_size"] = "0"
	task, _ := startTask(t, cfg, false)
	assert.Equal(t, 1, task.w.db.Stats().MaxOpenConnections)
	putFlush(t, task, order(1, "ann")) // one connection does the table lookup, then the write
	assert.Equal(t, []string{"1|ann"}, db.rows(t, "SELECT id, name FROM orders"))
	assert.Equal(t, 0, task.w.db.Stats().Idle, "min_size=0 keeps no idle connection")

	task2, _ := startTask(t, debeziumConfig(db), false)
	assert.Equal(t, 32, task2.w.db.Stats().MaxOpenConnections)
}

// zoneValue is a row of every temporal type the zones change.
var zoneValue = connect.StructBuilder().Name("zones.Value").
	Field("id", connect.Int32Schema).
	Field("ts", connect.NewSchemaBuilder(connect.TypeInt64).Name(dbz.MicroTimestampName).Build()).
	Field("kts", connect.TimestampSchema().Build()).
	Field("tod", connect.NewSchemaBuilder(connect.TypeInt64).Name(dbz.MicroTimeName).Build()).
	Field("day", connect.DateSchema().Build()).
	Field("zts", connect.NewSchemaBuilder(connect.TypeString).Name(dbz.ZonedTimestampName).Build()).Build()

func zoneRecord(id int32) *connect.Record {
	offset++
	at := time.Date(2024, 1, 15, 12, 0, 0, 0, time.UTC)
	return &connect.Record{Topic: "zones", Offset: offset, KeySchema: orderKey,
		Key: connect.NewStruct(orderKey).MustPut("id", id), ValueSchema: zoneValue,
		Value: connect.NewStruct(zoneValue).MustPut("id", id).MustPut("ts", at.UnixMicro()).MustPut("kts", at).
			MustPut("tod", (10*time.Hour).Microseconds()).MustPut("day", time.Date(2024, 3, 10, 0, 0, 0, 0, time.UTC)).
			MustPut("zts", "2024-01-15T12:00:00Z")}
}

// zoneQuery renders ts, kts, tod and day as text, and zts as its wall
// clock (MySQL's TIMESTAMP) or epoch (Postgres's timestamptz).
func (s *sinkDB) zoneQuery() string {
	if s.dialect == postgresDialect {
		return "SELECT to_char(ts, 'YYYY-MM-DD HH24:MI:SS'), to_char(kts, 'YYYY-MM-DD HH24:MI:SS'), to_char(tod, 'HH24:MI:SS'), day::text, extract(epoch FROM zts)::bigint FROM zones"
	}
	return "SELECT DATE_FORMAT(ts, '%Y-%m-%d %H:%i:%s'), DATE_FORMAT(kts, '%Y-%m-%d %H:%i:%s'), TIME_FORMAT(tod, '%H:%i:%s'), CAST(day AS CHAR), DATE_FORMAT(zts, '%Y-%m-%d %H:%i:%s') FROM zones"
}

func TestDebeziumTimeZone(t *testing.T) {
	eachDatabase(t, func(t *testing.T, db *sinkDB) {
		cfg := debeziumConfig(db)
		cfg["database.time_zone"] = "Asia/Kolkata" // +05:30 all year: the time of day's shift does not depend on today
		task, _ := startTask(t, cfg, false)
		putFlush(t, task, zoneRecord(1))
		zts := "1705320000" // the instant, unchanged in a timestamptz
		if db.dialect != postgresDialect {
			zts = "2024-01-15 17:30:00"
		}
		assert.Equal(t, []string{"2024-01-15 17:30:00|2024-01-15 17:30:00|15:30:00|2024-03-10|" + zts}, db.rows(t, db.zoneQuery()))
	})
}

func TestConfluentTimeZones(t *testing.T) {
	eachDatabase(t, func(t *testing.T, db *sinkDB) {
		db.exec(t, "CREATE TABLE orders (id INT PRIMARY KEY, name TEXT, amount DECIMAL(10,2), placed "+db.timestampType()+", day DATE, tod TIME)")
		dayValue := connect.StructBuilder().Name("orders.Value").Field("id", connect.Int32Schema).
			Field("placed", connect.TimestampSchema().Build()).Field("day", connect.DateSchema().Build()).
			Field("tod", connect.TimeSchema().Build()).Build()
		rec := func(id int32) *connect.Record {
			offset++
			return &connect.Record{Topic: "orders", Offset: offset, KeySchema: orderKey,
				Key: connect.NewStruct(orderKey).MustPut("id", id), ValueSchema: dayValue,
				Value: connect.NewStruct(dayValue).MustPut("id", id).
					MustPut("placed", time.Date(2024, 5, 6, 7, 8, 9, 123e6, time.UTC)).
					MustPut("day", time.Date(2024, 3, 10, 0, 0, 0, 0, time.UTC)).
					MustPut("tod", time.Date(1970, 1, 1, 10, 0, 0, 0, time.UTC))}
		}
		cfg := confluentConfig(db)
		cfg["db.timezone"] = "America/Los_Angeles"
		task, _ := startTask(t, cfg, false)
		putFlush(t, task, rec(1))
		cfg["date.timezone"] = "UTC"
		task, _ = startTask(t, cfg, false)
		putFlush(t, task, rec(2))
		tod := "to_char(tod, 'HH24:MI:SS')"
		if db.dialect != postgresDialect {
			tod = "TIME_FORMAT(tod, '%H:%i:%s')"
		}
		// PDT (-7) in May; PST (-8) on 1970-01-01; the date shifts a day
		// back under DB_TIMEZONE, as Confluent's sink does.
		assert.Equal(t, []string{"1|2024-05-06 00:08:09.123|2024-03-09|02:00:00", "2|2024-05-06 00:08:09.123|2024-03-10|02:00:00"},
			db.rows(t, "SELECT id, "+db.timestamp("placed")+", CAST(day AS CHAR(10)), "+tod+" FROM orders ORDER BY id"))
	})
}

func TestConfluentTimestampFields(t *testing.T) {
	eachDatabase(t, func(t *testing.T, db *sinkDB) {
		val := connect.StructBuilder().Name("tsf.Value").Field("id", connect.Int32Schema).
			Field("at", connect.Int64Schema).Field("at_s", connect.OptionalStringSchema).Field("n", connect.Int64Schema).Build()
		at := time.Date(2024, 1, 15, 12, 0, 0, 123456000, time.UTC)
		rec := func(id int32, unit int64) *connect.Record {
			offset++
			n := at.UnixNano() / unit
			return &connect.Record{Topic: "tsf", Offset: offset, KeySchema: orderKey,
				Key: connect.NewStruct(orderKey).MustPut("id", id), ValueSchema: val,
				Value: connect.NewStruct(val).MustPut("id", id).MustPut("at", n).
					MustPut("at_s", strconv.FormatInt(n, 10)).MustPut("n", int64(7))}
		}
		cfg := confluentConfig(db)
		cfg["timestamp.fields.list"] = "at,at_s"
		cfg["db.timezone"] = "Asia/Kolkata"
		task, _ := startTask(t, cfg, false)
		putFlush(t, task, rec(1, 1000))
		cfg["timestamp.precision.mode"] = "nanoseconds"
		task, _ = startTask(t, cfg, false)
		putFlush(t, task, rec(2, 1))

		q := "SELECT id, to_char(at, 'YYYY-MM-DD HH24:MI:SS.US'), to_char(at_s, 'YYYY-MM-DD HH24:MI:SS.US'), n FROM tsf ORDER BY id"
		if db.dialect != postgresDialect {
			q = "SELECT id, DATE_FORMAT(at, '%Y-%m-%d %H:%i:%s.%f'), DATE_FORMAT(at_s, '%Y-%m-%d %H:%i:%s.%f'), n FROM tsf ORDER BY id"
		}
		want := "2024-01-15 17:30:00.123456"
		assert.Equal(t, []string{"1|" + want + "|" + want + "|7", "2|" + want + "|" + want + "|7"}, db.rows(t, q))

		// A STRING that is no number is reported, naming its column.
		cfg["errors.tolerance"] = "all"
		task, sctx := startTask(t, cfg, true)
		bad := rec(3, 1)
		bad.Value.(*connect.Struct).MustPut("at_s", "yesterday")
		putFlush(t, task, bad)
		require.Len(t, sctx.ReportedRecords(), 1)
		assert.Contains(t, sctx.ReportedRecords()[0].Err.Error(), `column at_s (timestamp.fields.list): "yesterday" is not an epoch number`)
	})
}

func TestResolveNewKeys(t *testing.T) {
	s, err := resolve(debeziumDocConfig())
	require.NoError(t, err)
	assert.True(t, s.dedupe, "Debezium's default is keyed.message.batch.mode=deduplication")
	assert.Equal(t, poolSize{maxOpen: 32, maxIdle: 5, idle: 30 * time.Minute}, s.pool)
	assert.Nil(t, s.zone)
	assert.False(t, s.keepDots)

	cfg := debeziumDocConfig()
	cfg["use.reduction.buffer"] = "false"
	cfg["use.time.zone"] = "+05:30"
	s, err = resolve(cfg)
	require.NoError(t, err)
	assert.False(t, s.dedupe)
	require.NotNil(t, s.zone)
	_, off := time.Date(2024, 1, 1, 0, 0, 0, 0, s.zone).Zone()
	assert.Equal(t, 5*3600+1800, off)

	cfg = confluentDocConfig()
	cfg["db.timezone"] = "Europe/Paris"
	s, err = resolve(cfg)
	require.NoError(t, err)
	assert.Equal(t, "Europe/Paris", s.zone.String())
	assert.Same(t, s.zone, s.dateZone, "date.timezone=DB_TIMEZONE by default")
	assert.Equal(t, 2, s.pool.maxOpen, "Confluent holds one writing connection")
	cfg["date.timezone"] = "UTC"
	s, err = resolve(cfg)
	require.NoError(t, err)
	assert.Nil(t, s.dateZone)
}

// TestOneConnectionPreparesOutsideTheTransaction: with a pool of one
// connection, the statements of a flush are prepared before its
// transaction takes that connection, and one evicted from the cache
// meanwhile is prepared on the transaction's own connection; preparing
// on the pool inside the transaction waited forever for a second one.
func TestOneConnectionPreparesOutsideTheTransaction(t *testing.T) {
	db := startSinkPostgres(t)
	defer func(n int) { maxStmts = n }(maxStmts)
	maxStmts = 1 // the second table's statement evicts the first's
	cfg := debeziumConfig(db)
	cfg["connection.pool.max_size"], cfg["connection.pool.min_size"] = "1", "1"
	task, _ := startTask(t, cfg, false)
	for i := range int32(3) {
		putFlush(t, task, order(10+i, "ann"), envelope("items", "c", 20+i, "x"))
	}
	assert.Equal(t, []string{"10|ann", "11|ann", "12|ann"}, db.rows(t, "SELECT id, name FROM orders ORDER BY id"))
	assert.Equal(t, []string{"20|x", "21|x", "22|x"}, db.rows(t, "SELECT id, label FROM items ORDER BY id"))
}
