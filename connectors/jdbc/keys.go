package jdbc

import (
	"time"

	"github.com/sluicehq/sluice/connectors/kit"
	"github.com/sluicehq/sluice/runtime/connect"
)

// The config keys of both front-ends. A key the two sinks share but
// default differently (batch.size, table.name.format) is declared with a
// null default and resolved per front-end in resolve; its doc says both
// defaults. A key of one front-end set under the other's class is refused,
// naming the class it belongs to.

const (
	grpConn   = "Connection"
	grpWrite  = "Writes"
	grpTable  = "Tables"
	grpRetry  = "Retries"
	grpLater  = "Not supported yet"
	validMode = "insert, upsert or update"
)

func g(name string, i int) kit.Option { return kit.Group(name, i) }

func oneOf(vals ...string) kit.Option {
	return kit.Validate(connect.OneOf{Values: vals, CaseInsensitive: true})
}

// Keys of both front-ends.
var (
	connURL = kit.String("connection.url", "", connect.High,
		"The JDBC URL of the database: jdbc:postgresql://host[:port]/db[?params], jdbc:mysql://host[:port]/db or jdbc:mariadb://host[:port]/db; the scheme picks the SQL dialect.",
		kit.Required(), g(grpConn, 1))
	connPassword = kit.Password("connection.password", connect.High,
		"The password of the database user.", g(grpConn, 3))
	insertMode = kit.String("insert.mode", "insert", connect.High,
		"How a row is written: insert (INSERT; a duplicate key fails), upsert (INSERT … ON CONFLICT DO UPDATE / ON DUPLICATE KEY UPDATE; idempotent under redelivery, needs key fields) or update (UPDATE … WHERE key; a missing row is no error).",
		oneOf("insert", "upsert", "update"), g(grpWrite, 1))
	deleteEnabled = kit.Bool("delete.enabled", false, connect.Medium,
		"Delete the row of a tombstone (and, for the Debezium front-end, of an op=d event). Debezium: needs a primary.key.mode other than none; Confluent: needs pk.mode=record_key.",
		g(grpWrite, 2))
	batchSize = kit.Int("batch.size", 0, connect.Medium,
		"Records written in one statement batch; Debezium's default is 500, Confluent's 3000. Every flush commits whatever is buffered in one transaction.",
		kit.NullDefault(), g(grpWrite, 3))
	tableFormat = kit.String("table.name.format", "", connect.Medium,
		"The table a record goes to, ${topic} replaced by its topic (default ${topic}). Confluent front-end: dots make a qualified name (schema.table). Debezium front-end: a deprecated alias of collection.name.format.",
		kit.NullDefault(), g(grpTable, 1))
)

// Debezium's keys (io.debezium.connector.jdbc.JdbcSinkConnector).
var (
	dbzUser = kit.String("connection.username", "", connect.High,
		"Debezium front-end: the database user.", kit.NullDefault(), g(grpConn, 2))
	dbzPKMode = kit.String("primary.key.mode", "none", connect.High,
		"Debezium front-end: where the primary key comes from: none, kafka (__connect_topic, __connect_partition, __connect_offset), record_key, record_value (the fields of primary.key.fields) or record_header.",
		oneOf("none", "kafka", "record_key", "record_value", "record_header"), g(grpWrite, 4))
	dbzPKFields = kit.List("primary.key.fields", nil, connect.Medium,
		"Debezium front-end: the key columns: fields of the key or value, or the column name of a primitive key.", g(grpWrite, 5))
	dbzTruncate = kit.Bool("truncate.enabled", false, connect.Medium,
		"Debezium front-end: run TRUNCATE TABLE for an op=t event (buffered rows are written first).", g(grpWrite, 6))
	dbzEvolution = kit.String("schema.evolution", "none", connect.Medium,
		"Debezium front-end: none (no DDL), basic (CREATE TABLE when missing, ALTER TABLE ADD for new fields; never drops or narrows). validate-only is not supported yet.",
		oneOf("none", "basic", "validate-only"), g(grpTable, 2))
	dbzCollectionFormat = kit.String("collection.name.format", "${topic}", connect.Medium,
		"Debezium front-end: the table a record goes to, ${topic} replaced by its topic; dots in the result become underscores (DefaultCollectionNamingStrategy).", g(grpTable, 3))
	dbzQuote = kit.Bool("quote.identifiers", false, connect.Medium,
		"Debezium front-end: quote table and column names; unquoted names are folded by the database (Postgres lower-cases).", g(grpTable, 4))
	dbzMaxRetries = kit.Int("flush.max.retries", 5, connect.Medium,
		"Debezium front-end: retries of a flush that failed with a transient error (a lost connection) before the task fails.", g(grpRetry, 1))
	dbzRetryDelay = kit.Millis("flush.retry.delay.ms", time.Second, connect.Medium,
		"Debezium front-end: the wait between flush retries.", g(grpRetry, 2))
	dbzTimeZone = kit.String("use.time.zone", "UTC", connect.Low,
		"Debezium front-end: the time zone (any IANA name, or UTC) temporal values are bound in, as Debezium binds them with a JVM in UTC: a timestamp (io.debezium.time.Timestamp, MicroTimestamp, NanoTimestamp, Kafka Timestamp) is written as its wall clock in that zone; a ZonedTimestamp keeps its instant (MySQL/MariaDB get the zone's wall clock); a time of day (Time, MicroTime, NanoTime, Kafka Time) is shifted by the zone's offset today; dates are not shifted.", g(grpWrite, 7))
	dbzDBTimeZone = kit.String("database.time_zone", "", connect.Low,
		"Debezium front-end: the older name of use.time.zone (default UTC); setting both to different zones is an error.", kit.NullDefault(), g(grpWrite, 11))
	dbzPoolMin = kit.Int("connection.pool.min_size", 5, connect.Low,
		"Debezium front-end: connections kept idle in the pool (database/sql SetMaxIdleConns; connections are opened on demand, not ahead).", g(grpConn, 8))
	dbzPoolMax = kit.Int("connection.pool.max_size", 32, connect.Low,
		"Debezium front-end: the most connections the task opens (database/sql SetMaxOpenConns); a task uses at most two at once, one writing and one reading table metadata.", g(grpConn, 9))
	dbzPoolTimeout = kit.Long("connection.pool.timeout", 1800, connect.Low,
		"Debezium front-end: seconds an unused connection is kept before it is closed (database/sql SetConnMaxIdleTime); 0 keeps it.", g(grpConn, 10))
	dbzCollNaming = kit.String("collection.naming.strategy", dbzDefaultCollNaming, connect.Low,
		"Debezium front-end: how the table name is made from collection.name.format: "+dbzDefaultCollNaming+" (dots become underscores) or "+dbzPassthroughNaming+" (the name as the format gives it; dots then make a qualified schema.table). Other classes are refused.", g(grpTable, 8))
	dbzTableNaming = kit.String("table.naming.strategy", "", connect.Low,
		"Debezium front-end: the older name of collection.naming.strategy; also takes "+dbzOldTableNaming+" (the default strategy).", kit.NullDefault(), g(grpTable, 9))
	dbzColNaming = kit.String("column.naming.strategy", dbzDefaultColNaming, connect.Low,
		"Debezium front-end: how a column is named from a field: only the default strategy (the field's name) is accepted, "+dbzDefaultColNaming+" or "+dbzOldColNaming+".", g(grpTable, 10))
	dbzFieldInclude = kit.List("field.include.list", nil, connect.Low,
		"Debezium front-end: the only fields written, as topic:field entries (topic is the record's topic); a field of another topic, or not listed, is left out, key fields of record_key/record_value included. Not together with field.exclude.list.", g(grpWrite, 12))
	dbzFieldExclude = kit.List("field.exclude.list", nil, connect.Low,
		"Debezium front-end: fields left out, as topic:field entries; key fields of record_key/record_value too. Not together with field.include.list.", g(grpWrite, 13))
	dbzReduction = kit.Bool("use.reduction.buffer", false, connect.Low,
		"Debezium front-end: true keeps only the last change of each key in a batch (the same as keyed.message.batch.mode=deduplication); false writes every change in order (passthrough). Unset, keyed.message.batch.mode decides.", g(grpWrite, 14))
	dbzBatchMode = kit.String("keyed.message.batch.mode", "", connect.Low,
		"Debezium front-end: deduplication (default: of the changes of one key in a batch only the last is written; needs a primary.key.mode other than none to have keys) or passthrough (every change, in order). The older use.reduction.buffer says the same; both set must agree.", kit.NullDefault(), g(grpWrite, 15))
)

// Debezium's naming strategy classes that Sluice knows.
const (
	dbzDefaultCollNaming = "io.debezium.sink.naming.DefaultCollectionNamingStrategy"
	dbzPassthroughNaming = "io.debezium.sink.naming.PassthroughCollectionNamingStrategy"
	dbzOldTableNaming    = "io.debezium.connector.jdbc.naming.DefaultTableNamingStrategy"
	dbzDefaultColNaming  = "io.debezium.sink.naming.DefaultColumnNamingStrategy"
	dbzOldColNaming      = "io.debezium.connector.jdbc.naming.DefaultColumnNamingStrategy"
)

// Confluent's keys (io.confluent.connect.jdbc.JdbcSinkConnector).
var (
	cflUser = kit.String("connection.user", "", connect.High,
		"Confluent front-end: the database user.", kit.NullDefault(), g(grpConn, 4))
	cflPKMode = kit.String("pk.mode", "none", connect.High,
		"Confluent front-end: where the primary key comes from: none, kafka (__connect_topic, __connect_partition, __connect_offset), record_key or record_value.",
		oneOf("none", "kafka", "record_key", "record_value"), g(grpWrite, 8))
	cflPKFields = kit.List("pk.fields", []string{}, connect.Medium,
		"Confluent front-end: the key columns; per pk.mode, the names of the Kafka coordinates columns, the column of a primitive key, or fields of the key or value (empty: all fields of the key).",
		g(grpWrite, 9))
	cflAutoCreate = kit.Bool("auto.create", false, connect.Medium,
		"Confluent front-end: CREATE TABLE when the table is missing, from the record's schema, the primary key per pk.mode.", g(grpTable, 5))
	cflAutoEvolve = kit.Bool("auto.evolve", false, connect.Medium,
		"Confluent front-end: ALTER TABLE ADD the fields missing from the table (never drops or narrows).", g(grpTable, 6))
	cflQuote = kit.String("quote.sql.identifiers", "always", connect.Medium,
		"Confluent front-end: always or never quote table and column names.", oneOf("always", "never"), g(grpTable, 7))
	cflMaxRetries = kit.Int("max.retries", 10, connect.Medium,
		"Confluent front-end: retries of a write that failed with a transient error (a lost connection) before the task fails.", g(grpRetry, 3))
	cflRetryBackoff = kit.Millis("retry.backoff.ms", 3*time.Second, connect.Medium,
		"Confluent front-end: the wait between retries.", g(grpRetry, 4))
	cflAttempts = kit.Int("connection.attempts", 3, connect.Low,
		"Confluent front-end: attempts to connect at start.", g(grpConn, 5))
	cflConnBackoff = kit.Millis("connection.backoff.ms", 10*time.Second, connect.Low,
		"Confluent front-end: the wait between connection attempts.", g(grpConn, 6))
	cflTimeZone = kit.String("db.timezone", "UTC", connect.Low,
		"Confluent front-end: the time zone (any IANA name, or UTC) Kafka Timestamp and Time values are written in: their wall clock in that zone (a Time on 1970-01-01, as JDBC's setTime with a calendar does).", g(grpWrite, 10))
	cflDateTZ = kit.String("date.timezone", "DB_TIMEZONE", connect.Low,
		"Confluent front-end: the zone Kafka Date values are written in: DB_TIMEZONE (db.timezone; a date is midnight UTC, so a zone west of UTC writes the day before, as Confluent's sink does) or UTC (the date as sent).",
		oneOf("DB_TIMEZONE", "UTC"), g(grpWrite, 16))
	cflWhitelist = kit.List("fields.whitelist", []string{}, connect.Medium,
		"Confluent front-end: the value fields written (empty: all); the key columns of pk.mode are written whether listed or not.", g(grpWrite, 17))
	cflTSFields = kit.List("timestamp.fields.list", []string{}, connect.Low,
		"Confluent front-end: INT64 or STRING fields holding epoch microseconds or nanoseconds (per timestamp.precision.mode; a STRING as its decimal digits) written as timestamps in db.timezone; auto.create makes them TIMESTAMP (Postgres) or DATETIME(6) (MySQL/MariaDB). Nanoseconds are cut to the microseconds the databases hold.", g(grpWrite, 19))
	cflTSPrecision = kit.String("timestamp.precision.mode", "microseconds", connect.Low,
		"Confluent front-end: the unit of timestamp.fields.list values: microseconds or nanoseconds.", oneOf("microseconds", "nanoseconds"), g(grpWrite, 20))
	cflReplaceNull = kit.Bool("replace.null.with.default", true, connect.Low,
		"Confluent front-end: a null value field whose schema has a default is written as that default (true) or as NULL (false).", g(grpWrite, 18))
	cflDialect = kit.String("dialect.name", "", connect.Low,
		"Confluent front-end: the dialect; empty picks it from the URL. PostgreSqlDatabaseDialect and MySqlDatabaseDialect are accepted when they match the URL.", g(grpConn, 7))
)

// unsupported are the keys of both sinks that this version declares but
// refuses when set to anything but their default: a setting silently
// ignored would be worse than a clear refusal.
var unsupported = []kit.Key[string]{
	later("connection.provider", "", "Sluice pools connections with Go's database/sql, sized by connection.pool.*"),
	later("connection.restart.on.errors", "false", "Sluice always retries a lost connection on a new one, flush.max.retries times"),
	later("dialect.postgres.postgis.schema", "public", "Sluice does not write PostGIS geometry types"),
	later("dialect.postgres.unnest.insert.enabled", "false", "Sluice's multi-row INSERT already writes a batch in one statement"),
	later("table.types", "TABLE", "Sluice writes to tables only"),
	later("date.calendar.system", "LEGACY", "Sluice computes dates in the proleptic Gregorian calendar, so dates before 1582-10-15 differ from LEGACY"),
	later("jdbc.credentials.provider.class", "", "Java credential providers cannot be loaded; use connection.user and connection.password"),
	later("string.output.value.column.name", "record_value", "Sluice does not write STRING-schema values yet"),
	later("trim.sensitive.log", "false", "SQL errors are reported as the database words them"),
}

var laterOrder int

// laterWhy holds why each key of unsupported is refused.
var laterWhy = map[string]string{}

func later(name, def, why string) kit.Key[string] {
	laterOrder++
	laterWhy[name] = why
	return kit.String(name, def, connect.Low,
		"Not supported by Sluice: only the default ("+orNone(def)+") is accepted; "+why+".", g(grpLater, laterOrder))
}

func orNone(s string) string {
	if s == "" {
		return "empty"
	}
	return s
}

// debeziumOnly and confluentOnly are the keys of one front-end, refused
// under the other's class.
var (
	debeziumOnly = []string{dbzUser.Name(), dbzPKMode.Name(), dbzPKFields.Name(), dbzTruncate.Name(),
		dbzEvolution.Name(), dbzCollectionFormat.Name(), dbzQuote.Name(), dbzMaxRetries.Name(),
		dbzRetryDelay.Name(), dbzTimeZone.Name(), "connection.pool.min_size", "connection.pool.max_size",
		"connection.pool.timeout", "connection.provider", "connection.restart.on.errors",
		"collection.naming.strategy", "table.naming.strategy", "column.naming.strategy",
		"field.include.list", "field.exclude.list", "use.reduction.buffer", "keyed.message.batch.mode",
		"database.time_zone", "dialect.postgres.postgis.schema", "dialect.postgres.unnest.insert.enabled"}
	confluentOnly = []string{cflUser.Name(), cflPKMode.Name(), cflPKFields.Name(), cflAutoCreate.Name(),
		cflAutoEvolve.Name(), cflQuote.Name(), cflMaxRetries.Name(), cflRetryBackoff.Name(),
		cflAttempts.Name(), cflConnBackoff.Name(), cflTimeZone.Name(), cflDialect.Name(),
		"fields.whitelist", "table.types", "replace.null.with.default", "date.timezone",
		"timestamp.precision.mode", "timestamp.fields.list", "date.calendar.system",
		"jdbc.credentials.provider.class", "string.output.value.column.name", "trim.sensitive.log"}
)

// Config is the JDBC sink's config definition: both front-ends' keys.
var Config = func() connect.ConfigDef {
	keys := []kit.Declared{connURL, connPassword, insertMode, deleteEnabled, batchSize, tableFormat,
		dbzUser, dbzPKMode, dbzPKFields, dbzTruncate, dbzEvolution, dbzCollectionFormat, dbzQuote,
		dbzMaxRetries, dbzRetryDelay, dbzTimeZone, dbzDBTimeZone, dbzPoolMin, dbzPoolMax, dbzPoolTimeout,
		dbzCollNaming, dbzTableNaming, dbzColNaming, dbzFieldInclude, dbzFieldExclude, dbzReduction, dbzBatchMode,
		cflUser, cflPKMode, cflPKFields, cflAutoCreate, cflAutoEvolve, cflQuote, cflMaxRetries,
		cflRetryBackoff, cflAttempts, cflConnBackoff, cflTimeZone, cflDateTZ, cflWhitelist, cflTSFields, cflTSPrecision, cflReplaceNull, cflDialect}
	for _, k := range unsupported {
		keys = append(keys, k)
	}
	return kit.Def(keys...)
}()
