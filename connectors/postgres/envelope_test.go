package postgres

import (
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/connectors/debezium"
	"github.com/sluicehq/sluice/runtime/convert"
)

// customers is the table of Debezium's documented Postgres events.
var customers = Table{Schema: "public", Name: "customers", KeyColumns: []string{"id"}, Columns: []Column{
	{Name: "id", TypeOID: pgtype.Int4OID, TypeName: "int4", TypeMod: -1},
	{Name: "first_name", TypeOID: pgtype.VarcharOID, TypeName: "varchar", TypeMod: 259},
	{Name: "last_name", TypeOID: pgtype.VarcharOID, TypeName: "varchar", TypeMod: 259, Nullable: true},
	{Name: "email", TypeOID: pgtype.VarcharOID, TypeName: "varchar", TypeMod: 259},
}}

func renderJSON(t *testing.T, schemas bool, ev debezium.Event, key bool) string {
	c := convert.NewJSONConverter()
	enable := "false"
	if schemas {
		enable = "true"
	}
	require.NoError(t, c.Configure(map[string]string{"schemas.enable": enable}, key))
	s, v := ev.ValueSchema, ev.Value
	if key {
		s, v = ev.KeySchema, ev.Key
	}
	b, err := c.FromConnect(ev.Topic, nil, s, v)
	require.NoError(t, err)
	return string(b)
}

// createEvent is the create event of Debezium's postgresql.adoc example
// (dbserver1, Anne Kretchmar), at Debezium 2.6+ field layout.
func createEvent(t *testing.T) debezium.Event {
	ev, err := NewEvents("dbserver1", customers, TypeOptions{})
	require.NoError(t, err)
	require.Equal(t, "dbserver1.public.customers", ev.Topic)
	e, err := ev.Envelope(debezium.Change{
		Op: debezium.OpCreate, After: []any{int32(1), "Anne", "Kretchmar", "annek@noanswer.org"},
		Source: Source{Version: "2.7.0.Final", Name: "dbserver1", DB: "postgres",
			Commit: time.UnixMilli(1559033904863), Sequence: `["24023119","24023128"]`, TxID: 555, LSN: 24023128},
		At: time.UnixMilli(1559033904863),
	})
	require.NoError(t, err)
	return e
}

func TestEnvelopeCreatePayload(t *testing.T) {
	e := createEvent(t)
	assert.JSONEq(t, `{"id":1}`, renderJSON(t, false, e, true))
	assert.JSONEq(t, `{
		"before": null,
		"after": {"id": 1, "first_name": "Anne", "last_name": "Kretchmar", "email": "annek@noanswer.org"},
		"source": {"version": "2.7.0.Final", "connector": "postgresql", "name": "dbserver1",
			"ts_ms": 1559033904863, "snapshot": "false", "db": "postgres", "sequence": "[\"24023119\",\"24023128\"]",
			"ts_us": 1559033904863000, "ts_ns": 1559033904863000000,
			"schema": "public", "table": "customers", "txId": 555, "lsn": 24023128, "xmin": null},
		"transaction": null,
		"op": "c", "ts_ms": 1559033904863, "ts_us": 1559033904863000, "ts_ns": 1559033904863000000
	}`, renderJSON(t, false, e, false))
}

func TestEnvelopeKeySchemaJSON(t *testing.T) {
	assert.JSONEq(t, `{"schema": {"type": "struct", "fields": [{"type": "int32", "optional": false, "field": "id"}],
		"optional": false, "name": "dbserver1.public.customers.Key"}, "payload": {"id": 1}}`,
		renderJSON(t, true, createEvent(t), true))
}

func TestEnvelopeDeleteAndTombstone(t *testing.T) {
	ev, err := NewEvents("dbserver1", customers, TypeOptions{})
	require.NoError(t, err)
	row := []any{int32(1), "Anne", nil, "annek@noanswer.org"}
	e, err := ev.Envelope(debezium.Change{Op: debezium.OpDelete, Before: row, Source: Source{Name: "dbserver1", DB: "postgres"}})
	require.NoError(t, err)
	assert.Contains(t, renderJSON(t, false, e, false), `"after":null`)
	tomb := e.Tombstone()
	assert.Equal(t, e.Key, tomb.Key)
	assert.Nil(t, tomb.Value)

	tr, err := ev.Envelope(debezium.Change{Op: debezium.OpTruncate, Source: Source{Name: "dbserver1", DB: "postgres"}})
	require.NoError(t, err)
	assert.Nil(t, tr.Key, "truncate events have a null key")
}

func TestColumnSchemaModes(t *testing.T) {
	num := Column{Name: "n", TypeOID: pgtype.NumericOID, TypeMod: (10<<16 | 2) + 4}
	tests := []struct {
		name string
		col  Column
		opts TypeOptions
		want string
	}{
		{"numeric precise", num, TypeOptions{}, "BYTES org.apache.kafka.connect.data.Decimal map[connect.decimal.precision:10 scale:2]"},
		{"numeric double", num, TypeOptions{DecimalMode: "double"}, "FLOAT64  map[]"},
		{"numeric variable", Column{TypeOID: pgtype.NumericOID, TypeMod: -1}, TypeOptions{}, "STRUCT io.debezium.data.VariableScaleDecimal map[]"},
		{"bytea hex", Column{TypeOID: pgtype.ByteaOID}, TypeOptions{BinaryMode: "hex"}, "STRING  map[]"},
		{"time micro", Column{TypeOID: pgtype.TimeOID, TypeMod: 3}, TypeOptions{TimePrecisionMode: "adaptive_time_microseconds"}, "INT64 io.debezium.time.MicroTime map[]"},
		{"timestamp(3)", Column{TypeOID: pgtype.TimestampOID, TypeMod: 3}, TypeOptions{}, "INT64 io.debezium.time.Timestamp map[]"},
		{"timestamp connect", Column{TypeOID: pgtype.TimestampOID, TypeMod: -1}, TypeOptions{TimePrecisionMode: "connect"}, "INT64 org.apache.kafka.connect.data.Timestamp map[]"},
		{"enum", Column{TypeName: "mood", EnumValues: []string{"a", "b"}}, TypeOptions{}, "STRING io.debezium.data.Enum map[allowed:a,b]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := ColumnSchema(tc.col, tc.opts)
			require.NoError(t, err)
			assert.Equal(t, tc.want, string(s.Type)+" "+s.Name+" "+fmtParams(s.Parameters))
		})
	}
	_, err := ColumnSchema(Column{Name: "p", TypeOID: pgtype.TIDOID, TypeName: "tid"}, TypeOptions{})
	assert.ErrorIs(t, err, ErrUnsupportedType)
}

func fmtParams(p map[string]string) string { return fmt.Sprint(p) }
