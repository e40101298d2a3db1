package debezium

import (
	"time"

	"github.com/sluicehq/sluice/runtime/connect"
)

// Transaction metadata record schemas (provide.transaction.metadata),
// Debezium's.
var (
	TxKeySchema = connect.StructBuilder().Name("io.debezium.connector.common.TransactionMetadataKey").
			Field("id", connect.StringSchema).Build()
	txCollectionSchema = connect.StructBuilder().Name("event.collection").Version(1).
				Field("data_collection", connect.StringSchema).Field("event_count", connect.Int64Schema).Build()
	TxValueSchema = connect.StructBuilder().Name("io.debezium.connector.common.TransactionMetadataValue").
			Field("status", connect.StringSchema).Field("id", connect.StringSchema).
			Field("event_count", connect.OptionalInt64Schema).
			Field("data_collections", optional(connect.ArrayOf(txCollectionSchema))).
			Field("ts_ms", connect.Int64Schema).Build()
)

// Transaction metadata statuses.
const (
	TxBegin = "BEGIN"
	TxEnd   = "END"
)

// TxMeta counts one transaction's events for its metadata: the event's
// transaction block and the BEGIN and END records. The zero value is not
// usable; see NewTxMeta.
type TxMeta struct {
	id          string
	total       int64
	perTable    map[string]int64
	tableOrder  []string
	beginQueued bool
}

// NewTxMeta starts counting the transaction with id (Postgres:
// "<txId>:<lsn>").
func NewTxMeta(id string) *TxMeta {
	return &TxMeta{id: id, perTable: map[string]int64{}}
}

// Next places the next event on table (schema.table) in the transaction.
// begin is true for the transaction's first event: its BEGIN record
// (Record) goes before it.
func (m *TxMeta) Next(table string) (tx *Transaction, begin bool) {
	begin = !m.beginQueued
	m.beginQueued = true
	if _, ok := m.perTable[table]; !ok {
		m.tableOrder = append(m.tableOrder, table)
	}
	m.total++
	m.perTable[table]++
	return &Transaction{ID: m.id, TotalOrder: m.total, DataCollectionOrder: m.perTable[table]}, begin
}

// Record builds the BEGIN or END record (TxBegin, TxEnd) of the
// transaction, committed at commit, for topic <topic.prefix>.<topic.transaction>.
// The END record counts the events placed so far, per table in the order
// the tables first appeared.
func (m *TxMeta) Record(status string, partition map[string]any, topic string, commit time.Time) *connect.Record {
	v := connect.NewStruct(TxValueSchema).MustPut("status", status).MustPut("id", m.id).
		MustPut("ts_ms", commit.UnixMilli())
	if status == TxEnd {
		cols := make([]any, len(m.tableOrder))
		for i, name := range m.tableOrder {
			cols[i] = connect.NewStruct(txCollectionSchema).MustPut("data_collection", name).MustPut("event_count", m.perTable[name])
		}
		v.MustPut("event_count", m.total).MustPut("data_collections", cols)
	}
	key := connect.NewStruct(TxKeySchema).MustPut("id", m.id)
	return connect.NewSourceRecord(partition, nil, topic, TxKeySchema, key, TxValueSchema, v)
}

// optional returns a copy of s marked optional.
func optional(s *connect.Schema) *connect.Schema {
	c := *s
	c.Optional = true
	return &c
}
