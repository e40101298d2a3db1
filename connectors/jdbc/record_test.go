package jdbc

import (
	"maps"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/runtime/connect"
)

func settingsFor(t *testing.T, base map[string]string, change map[string]string) *settings {
	t.Helper()
	cfg := maps.Clone(base)
	maps.Copy(cfg, change)
	s, err := resolve(cfg)
	require.NoError(t, err)
	return s
}

// What each front-end skips, and why, without touching a database.
func TestInterpretSkips(t *testing.T) {
	dbz := settingsFor(t, debeziumDocConfig(), map[string]string{"delete.enabled": "false"})
	const topic = "server1.public.items"
	tomb := &connect.Record{Topic: topic, KeySchema: itemKey, Key: connect.NewStruct(itemKey).MustPut("id", int32(1))}
	schemaChange := &connect.Record{Topic: "server1", ValueSchema: connect.StructBuilder().Name("io.debezium.connector.postgresql.SchemaChangeValue").Build()}
	schemaChange.Value = connect.NewStruct(schemaChange.ValueSchema)
	for _, tc := range []struct {
		r   *connect.Record
		why string
	}{
		{tomb, "a tombstone with delete.enabled=false"},
		{envelope(topic, "d", 1, ""), "an op=d event with delete.enabled=false"},
		{envelope(topic, "t", 0, ""), "an op=t event with truncate.enabled=false"},
		{schemaChange, "a schema change event"},
	} {
		o, why, err := dbz.interpret(tc.r)
		require.NoError(t, err)
		assert.Nil(t, o)
		assert.Contains(t, why, tc.why)
	}

	// Debezium skips tombstones under record_value keys even with deletes on.
	byValue := settingsFor(t, debeziumDocConfig(), map[string]string{"primary.key.mode": "record_value", "primary.key.fields": "id"})
	o, why, err := byValue.interpret(tomb)
	require.NoError(t, err)
	assert.Nil(t, o)
	assert.Contains(t, why, "record_value")
}

func TestTableNames(t *testing.T) {
	r := &connect.Record{Topic: "dbserver1.inventory.customers"}
	dbz := settingsFor(t, debeziumDocConfig(), nil)
	name, err := dbz.tableName(r, nil)
	require.NoError(t, err)
	assert.Equal(t, "dbserver1_inventory_customers", name, "Debezium's default naming strategy")

	// The deprecated alias table.name.format still works for Debezium.
	dbz = settingsFor(t, debeziumDocConfig(), map[string]string{"table.name.format": "sink_${topic}"})
	name, err = dbz.tableName(r, nil)
	require.NoError(t, err)
	assert.Equal(t, "sink_dbserver1_inventory_customers", name)

	cfl := settingsFor(t, confluentDocConfig(), nil)
	name, err = cfl.tableName(r, nil)
	require.NoError(t, err)
	assert.Equal(t, "dbserver1.inventory.customers", name, "Confluent keeps the dots as qualifiers")
	assert.Equal(t, `"dbserver1"."inventory"."customers"`, postgresDialect.sqlTable(name, true))

	cfl = settingsFor(t, confluentDocConfig(), map[string]string{"table.name.format": "${source.table}"})
	_, err = cfl.tableName(r, nil)
	require.Error(t, err, "Confluent replaces only ${topic}")
}

func TestUpsertSQL(t *testing.T) {
	cols := []column{{Name: "id", Schema: connect.Int32Schema, Key: true}, {Name: "v", Schema: connect.StringSchema}}
	assert.Equal(t, `INSERT INTO "t" ("id", "v") VALUES ($1, $2), ($3, $4) ON CONFLICT ("id") DO UPDATE SET "v" = EXCLUDED."v"`,
		postgresDialect.insertSQL("t", cols, 2, true, true))
	assert.Equal(t, "INSERT INTO t (id, v) VALUES (?, ?) ON DUPLICATE KEY UPDATE v = VALUES(v)",
		mariadbDialect.insertSQL("t", cols, 1, true, false))
	keysOnly := cols[:1]
	assert.Equal(t, `INSERT INTO t (id) VALUES ($1) ON CONFLICT (id) DO NOTHING`, postgresDialect.insertSQL("t", keysOnly, 1, true, false))
	assert.Equal(t, "INSERT INTO t (id) VALUES (?) ON DUPLICATE KEY UPDATE id = VALUES(id)", mysqlDialect.insertSQL("t", keysOnly, 1, true, false))
	assert.Equal(t, `UPDATE t SET v = $1 WHERE id = $2`, postgresDialect.updateSQL("t", cols, false))
	assert.Equal(t, `DELETE FROM t WHERE id IN ($1, $2)`, postgresDialect.deleteSQL("t", keysOnly, 2, false))
	two := []column{{Name: "a", Key: true}, {Name: "b", Key: true}}
	assert.Equal(t, "DELETE FROM `t` WHERE (`a`, `b`) IN ((?, ?), (?, ?))", mariadbDialect.deleteSQL("t", two, 2, true))
}
