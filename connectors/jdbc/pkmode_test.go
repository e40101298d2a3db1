package jdbc

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/runtime/connect"
)

var (
	pkValue1 = connect.StructBuilder().Name("v").Field("a", connect.StringSchema).Field("b", connect.Int64Schema).
		Field("c", connect.OptionalStringSchema).Build()
)

func pkRecord(off int64, a string, b int64, c string) *connect.Record {
	return &connect.Record{Topic: "t", Partition: 2, Offset: off, KeySchema: connect.StringSchema, Key: a,
		ValueSchema: pkValue1, Value: connect.NewStruct(pkValue1).MustPut("a", a).MustPut("b", b).MustPut("c", c),
		Headers: connect.Headers{{Key: "tenant", Schema: connect.StringSchema, Value: "acme-" + a}}}
}

// Every primary key mode puts the right key columns in the table, and
// upserts by them.
func TestPrimaryKeyModes(t *testing.T) { eachDatabase(t, testPrimaryKeyModes) }

func testPrimaryKeyModes(t *testing.T, db *sinkDB) {
	for _, tc := range []struct {
		name   string
		config map[string]string
		query  string
		want   []string
	}{
		{"kafka", map[string]string{"connector.class": ConfluentClass, "pk.mode": "kafka", "insert.mode": "upsert", "table.name.format": "pk_kafka"},
			"SELECT __connect_topic, __connect_partition, __connect_offset, a, c FROM pk_kafka ORDER BY __connect_offset",
			[]string{"t|2|1|x|one", "t|2|2|y|two", "t|2|3|x|three"}},
		{"record_key primitive", map[string]string{"connector.class": ConfluentClass, "pk.mode": "record_key", "pk.fields": "k", "insert.mode": "upsert", "table.name.format": "pk_key"},
			"SELECT k, a, b, c FROM pk_key ORDER BY k",
			[]string{"x|x|3|three", "y|y|2|two"}},
		{"record_value", map[string]string{"connector.class": DebeziumClass, "primary.key.mode": "record_value", "primary.key.fields": "a,b", "insert.mode": "upsert", "table.name.format": "pk_value"},
			"SELECT a, b, c FROM pk_value ORDER BY a, b",
			[]string{"x|1|one", "x|3|three", "y|2|two"}},
		{"record_header", map[string]string{"connector.class": DebeziumClass, "primary.key.mode": "record_header", "primary.key.fields": "tenant", "insert.mode": "upsert", "collection.name.format": "pk_header"},
			"SELECT tenant, a, c FROM pk_header ORDER BY tenant",
			[]string{"acme-x|x|three", "acme-y|y|two"}},
		{"update", map[string]string{"connector.class": ConfluentClass, "pk.mode": "record_value", "pk.fields": "a", "insert.mode": "update", "table.name.format": "pk_update"},
			"SELECT a, b, c FROM pk_update ORDER BY a",
			[]string{"x|3|three", "y|0|old"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := db.withUser(tc.config)
			cfg["connection.url"] = db.url
			if cfg["connector.class"] == ConfluentClass {
				cfg["auto.create"] = "true"
			} else {
				cfg["schema.evolution"] = "basic"
			}
			if tc.name == "update" {
				db.exec(t, "CREATE TABLE pk_update (a varchar(10) PRIMARY KEY, b bigint, c varchar(10))",
					"INSERT INTO pk_update VALUES ('x', 0, 'old'), ('y', 0, 'old')")
			}
			task, sctx := startTask(t, cfg, false)
			putFlush(t, task, pkRecord(1, "x", 1, "one"), pkRecord(2, "y", 2, "two"))
			if tc.name == "update" {
				// Only rows already there change; y's update comes later.
				db.exec(t, "UPDATE pk_update SET c = 'old', b = 0 WHERE a = 'y'")
			}
			putFlush(t, task, pkRecord(3, "x", 3, "three"))
			assert.Equal(t, tc.want, db.rows(t, tc.query))
			require.Empty(t, sctx.ReportedRecords())
		})
	}
}
