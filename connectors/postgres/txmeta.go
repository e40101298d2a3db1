package postgres

import (
	"fmt"

	"github.com/sluicehq/sluice/runtime/connect"
)

// Transaction metadata record schemas (provide.transaction.metadata),
// Debezium's.
var (
	txKeySchema = connect.StructBuilder().Name("io.debezium.connector.common.TransactionMetadataKey").
			Field("id", connect.StringSchema).Build()
	txCollectionSchema = connect.StructBuilder().Name("event.collection").Version(1).
				Field("data_collection", connect.StringSchema).Field("event_count", connect.Int64Schema).Build()
	txValueSchema = connect.StructBuilder().Name("io.debezium.connector.common.TransactionMetadataValue").
			Field("status", connect.StringSchema).Field("id", connect.StringSchema).
			Field("event_count", connect.OptionalInt64Schema).
			Field("data_collections", optional(connect.ArrayOf(txCollectionSchema))).
			Field("ts_ms", connect.Int64Schema).Build()
)

// txMeta counts a transaction's events for its metadata.
type txMeta struct {
	id          string
	total       int64
	perTable    map[string]int64
	tableOrder  []string
	beginQueued bool
}

// txEvent places the next event on table in the current transaction,
// queueing the BEGIN record before its first event.
func (t *sourceTask) txEvent(s *stream, table string) *Transaction {
	m := s.tx.meta
	if m == nil {
		m = &txMeta{id: fmt.Sprintf("%d:%d", s.tx.xid, s.tx.final), perTable: map[string]int64{}}
		s.tx.meta = m
	}
	if !m.beginQueued {
		m.beginQueued = true
		t.queue(s, t.txRecord(s, "BEGIN"))
	}
	if _, ok := m.perTable[table]; !ok {
		m.tableOrder = append(m.tableOrder, table)
	}
	m.total++
	m.perTable[table]++
	return &Transaction{ID: m.id, TotalOrder: m.total, DataCollectionOrder: m.perTable[table]}
}

// txRecord builds a BEGIN or END record of the current transaction.
func (t *sourceTask) txRecord(s *stream, status string) *connect.Record {
	m := s.tx.meta
	v := connect.NewStruct(txValueSchema).MustPut("status", status).MustPut("id", m.id).
		MustPut("ts_ms", s.tx.commit.UnixMilli())
	if status == "END" {
		cols := make([]any, len(m.tableOrder))
		for i, name := range m.tableOrder {
			cols[i] = connect.NewStruct(txCollectionSchema).MustPut("data_collection", name).MustPut("event_count", m.perTable[name])
		}
		v.MustPut("event_count", m.total).MustPut("data_collections", cols)
	}
	key := connect.NewStruct(txKeySchema).MustPut("id", m.id)
	return connect.NewSourceRecord(t.sourcePartition(), nil, t.cfg.prefix+"."+t.cfg.txTopic, txKeySchema, key, txValueSchema, v)
}
