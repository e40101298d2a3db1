package jdbc

import (
	"context"
	"maps"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/connectors/kit"
	"github.com/sluicehq/sluice/runtime/connect"
)

// debeziumDocConfig is the example of Debezium's JDBC sink documentation
// (jdbc.adoc, "Deployment").
func debeziumDocConfig() map[string]string {
	return map[string]string{
		"name": "jdbc-connector", "connector.class": DebeziumClass, "tasks.max": "1",
		"connection.url": "jdbc:postgresql://localhost/db", "connection.username": "pguser",
		"connection.password": "pgpassword", "insert.mode": "upsert", "delete.enabled": "true",
		"primary.key.mode": "record_key", "schema.evolution": "basic", "use.time.zone": "UTC",
		"topics": "orders",
	}
}

// confluentDocConfig is the example of Confluent's JDBC sink
// documentation (the Postgres quick start), with upserts.
func confluentDocConfig() map[string]string {
	return map[string]string{
		"name": "test-sink", "connector.class": ConfluentClass, "tasks.max": "1", "topics": "orders",
		"connection.url": "jdbc:postgresql://localhost:5432/postgres", "connection.user": "postgres",
		"connection.password": "postgres", "auto.create": "true", "insert.mode": "upsert",
		"pk.mode": "record_value", "pk.fields": "id",
	}
}

func TestDocConfigs(t *testing.T) {
	s, err := resolve(debeziumDocConfig())
	require.NoError(t, err)
	assert.Equal(t, debezium, s.front)
	assert.Equal(t, pkKey, s.pk)
	assert.True(t, s.create && s.evolve && s.deletes)
	assert.False(t, s.quote, "Debezium quotes nothing by default")
	assert.Equal(t, 500, s.batchSize)
	assert.Equal(t, 5, s.maxRetries)
	assert.Equal(t, "pguser", s.target.dsn[len("postgres://"):len("postgres://pguser")])

	s, err = resolve(confluentDocConfig())
	require.NoError(t, err)
	assert.Equal(t, confluent, s.front)
	assert.Equal(t, pkValue, s.pk)
	assert.Equal(t, []string{"id"}, s.pkFields)
	assert.True(t, s.create)
	assert.False(t, s.evolve)
	assert.True(t, s.quote, "Confluent quotes by default")
	assert.Equal(t, 3000, s.batchSize)
	assert.Equal(t, 10, s.maxRetries)
	assert.Equal(t, "${topic}", s.tableFmt)

	// Sluice's own class takes Debezium's keys.
	cfg := debeziumDocConfig()
	cfg["connector.class"] = Class
	s, err = resolve(cfg)
	require.NoError(t, err)
	assert.Equal(t, debezium, s.front)
}

func TestConfigErrorsNameTheirKey(t *testing.T) {
	for _, tc := range []struct {
		name   string
		base   func() map[string]string
		change map[string]string
		key    string
		msg    string
	}{
		{"other front-end's key", confluentDocConfig, map[string]string{"connection.username": "x"},
			"connection.username", "is a key of " + DebeziumClass},
		{"other front-end's key", debeziumDocConfig, map[string]string{"pk.mode": "record_key"},
			"pk.mode", "is a key of " + ConfluentClass},
		{"upsert without key (Debezium)", debeziumDocConfig, map[string]string{"primary.key.mode": "none", "delete.enabled": "false"},
			"primary.key.mode", "insert.mode=upsert needs key fields"},
		{"upsert without key (Confluent)", confluentDocConfig, map[string]string{"pk.mode": "none"},
			"pk.mode", "insert.mode=upsert needs key fields"},
		{"Confluent deletes need record_key", confluentDocConfig, map[string]string{"delete.enabled": "true"},
			"delete.enabled", "requires pk.mode=record_key"},
		{"Debezium deletes need a key", debeziumDocConfig, map[string]string{"primary.key.mode": "none", "insert.mode": "insert"},
			"delete.enabled", "needs a primary.key.mode other than none"},
		{"not supported yet", debeziumDocConfig, map[string]string{"connection.provider": "x.Provider"},
			"connection.provider", "database/sql"},
		{"not supported yet", confluentDocConfig, map[string]string{"table.types": "VIEW"},
			"table.types", "not supported by Sluice's JDBC sink"},
		{"pool sizes", debeziumDocConfig, map[string]string{"connection.pool.max_size": "2", "connection.pool.min_size": "3"},
			"connection.pool.min_size", "between 0 and connection.pool.max_size (2)"},
		{"pool max", debeziumDocConfig, map[string]string{"connection.pool.max_size": "0", "connection.pool.min_size": "0"},
			"connection.pool.max_size", "at least 1"},
		{"both field lists", debeziumDocConfig, map[string]string{"field.include.list": "t:a", "field.exclude.list": "t:b"},
			"field.include.list", "cannot be set together with field.exclude.list"},
		{"field list form", debeziumDocConfig, map[string]string{"field.exclude.list": "t:a,b"},
			"field.exclude.list", `entry "b" is not of the form topic:field`},
		{"naming strategy", debeziumDocConfig, map[string]string{"collection.naming.strategy": "com.acme.Upper"},
			"collection.naming.strategy", "com.acme.Upper is not a naming strategy Sluice's JDBC sink has; use " + dbzDefaultCollNaming},
		{"old naming key", debeziumDocConfig, map[string]string{"table.naming.strategy": "com.acme.Upper"},
			"table.naming.strategy", "PassthroughCollectionNamingStrategy"},
		{"column naming", debeziumDocConfig, map[string]string{"column.naming.strategy": "com.acme.Snake"},
			"column.naming.strategy", "names a column after its field only"},
		{"batch mode", debeziumDocConfig, map[string]string{"keyed.message.batch.mode": "newest"},
			"keyed.message.batch.mode", "must be deduplication or passthrough"},
		{"batch mode disagrees", debeziumDocConfig, map[string]string{"keyed.message.batch.mode": "passthrough", "use.reduction.buffer": "true"},
			"use.reduction.buffer", "disagrees with keyed.message.batch.mode=passthrough"},
		{"zone alias disagrees", debeziumDocConfig, map[string]string{"use.time.zone": "Europe/Paris", "database.time_zone": "Asia/Tokyo"},
			"database.time_zone", "older name of use.time.zone"},
		{"date zone", confluentDocConfig, map[string]string{"date.timezone": "Europe/Paris"},
			"date.timezone", "DB_TIMEZONE"},
		{"db zone", confluentDocConfig, map[string]string{"db.timezone": "Mars/Olympus"},
			"db.timezone", `unknown time zone "Mars/Olympus"`},
		{"validate-only", debeziumDocConfig, map[string]string{"schema.evolution": "validate-only"},
			"schema.evolution", "validate-only is not supported"},
		{"time zone", debeziumDocConfig, map[string]string{"use.time.zone": "Europe/Pariss"},
			"use.time.zone", "use an IANA name such as Europe/Paris"},
		{"wrong URL", debeziumDocConfig, map[string]string{"connection.url": "jdbc:postgres//h/db"},
			"connection.url", "expected jdbc:<subprotocol>://"},
		{"dialect mismatch", confluentDocConfig, map[string]string{"dialect.name": "MySqlDatabaseDialect"},
			"dialect.name", "does not match connection.url"},
		{"batch size", confluentDocConfig, map[string]string{"batch.size": "0"},
			"batch.size", "must be at least 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.base()
			maps.Copy(cfg, tc.change)
			_, err := resolve(cfg)
			require.Error(t, err)
			onKey := kit.AddConfigErrors([]connect.ConfigValue{{Name: tc.key}}, err)[0].Errors
			require.NotEmpty(t, onKey, "no error on %s in %v", tc.key, err)
			for _, msg := range onKey {
				assert.Contains(t, msg, tc.msg)
			}

			// /config/validate puts it on the same key.
			results := (&connector{}).Validate(context.Background(), cfg, Config.Validate(cfg))
			assert.NotEmpty(t, errorsOn(results, tc.key), "validate: no error on %s", tc.key)
		})
	}
}

func errorsOn(results []connect.ConfigValue, key string) []string {
	for _, r := range results {
		if r.Name == key {
			return r.Errors
		}
	}
	return nil
}
