package postgres

import (
	"fmt"
	"time"

	"github.com/sluicehq/sluice/runtime/connect"
)

// Op is a change event's op field.
type Op string

// Debezium's operations.
const (
	OpCreate   Op = "c"
	OpUpdate   Op = "u"
	OpDelete   Op = "d"
	OpRead     Op = "r" // snapshot
	OpTruncate Op = "t"
)

// SourceSchemaName is the name of the source block's schema.
const SourceSchemaName = "io.debezium.connector.postgresql.Source"

// snapshotSchema is source.snapshot: an optional Enum string defaulting to
// "false".
var snapshotSchema = connect.NewSchemaBuilder(connect.TypeString).Optional().Name(EnumName).Version(1).
	Param(EnumAllowedParam, "true,first,first_in_data_collection,last_in_data_collection,last,false,incremental").
	Default("false").Build()

// SourceSchema is the source block of Debezium 2.6+ Postgres events, fields
// in Debezium's order.
var SourceSchema = connect.StructBuilder().Name(SourceSchemaName).
	Field("version", connect.StringSchema).Field("connector", connect.StringSchema).
	Field("name", connect.StringSchema).Field("ts_ms", connect.Int64Schema).
	Field("snapshot", snapshotSchema).Field("db", connect.StringSchema).
	Field("sequence", connect.OptionalStringSchema).Field("ts_us", connect.OptionalInt64Schema).
	Field("ts_ns", connect.OptionalInt64Schema).Field("schema", connect.StringSchema).
	Field("table", connect.StringSchema).Field("txId", connect.OptionalInt64Schema).
	Field("lsn", connect.OptionalInt64Schema).Field("xmin", connect.OptionalInt64Schema).Build()

// TransactionSchema is the optional transaction block (event.block).
var TransactionSchema = connect.StructBuilder().Optional().Name("event.block").Version(1).
	Field("id", connect.StringSchema).Field("total_order", connect.Int64Schema).
	Field("data_collection_order", connect.Int64Schema).Build()

// Table is a captured table: its columns in table order and the columns
// forming the record key (the primary key, or message.key.columns).
type Table struct {
	Schema     string
	Name       string
	Columns    []Column
	KeyColumns []string
}

// Events holds the schemas of one table's change events; build it once per
// table (and again when a RELATION message changes the columns).
type Events struct {
	Topic          string
	KeySchema      *connect.Schema // nil when the table has no key columns
	RowSchema      *connect.Schema // <prefix>.<schema>.<table>.Value, optional
	EnvelopeSchema *connect.Schema
	table          Table
	ops            []*columnRule // column masks, per column; nil when none
}

// NewEvents derives the topic and schemas of table t's events under
// topic.prefix prefix.
func NewEvents(prefix string, t Table, opts TypeOptions) (*Events, error) {
	base := prefix + "." + t.Schema + "." + t.Name
	row := connect.StructBuilder().Optional().Name(base + ".Value")
	key := connect.StructBuilder().Name(base + ".Key")
	byName := map[string]*connect.Schema{}
	for _, c := range t.Columns {
		s, err := ColumnSchema(c, opts)
		if err != nil {
			return nil, fmt.Errorf("build event schemas of %s.%s: %w", t.Schema, t.Name, err)
		}
		row.Field(c.Name, s)
		byName[c.Name] = s
	}
	for _, k := range t.KeyColumns {
		s, ok := byName[k]
		if !ok {
			return nil, fmt.Errorf("build key schema of %s.%s: no column %q", t.Schema, t.Name, k)
		}
		key.Field(k, s)
	}
	e := &Events{Topic: base, RowSchema: row.Build(), table: t}
	if len(t.KeyColumns) > 0 {
		e.KeySchema = key.Build()
	}
	e.EnvelopeSchema = connect.StructBuilder().Name(base+".Envelope").Version(2).
		Field("before", e.RowSchema).Field("after", e.RowSchema).Field("source", SourceSchema).
		Field("transaction", TransactionSchema).Field("op", connect.StringSchema).
		Field("ts_ms", connect.OptionalInt64Schema).Field("ts_us", connect.OptionalInt64Schema).
		Field("ts_ns", connect.OptionalInt64Schema).Build()
	return e, nil
}

// Source is the position and origin of one change.
type Source struct {
	Version string // connector version reported in source.version
	Name    string // topic.prefix
	DB      string
	// Commit is the commit time of the transaction (snapshot: read time).
	Commit time.Time
	// Snapshot is "true", "last", … for snapshot reads; "" for streamed
	// changes (left null, rendered as the default "false").
	Snapshot string
	// Sequence is the JSON array string ["<last commit lsn>","<lsn>"].
	Sequence string
	// TxID, LSN and Xmin are left null when zero.
	TxID, LSN, Xmin int64
}

// Transaction places an event in its transaction
// (provide.transaction.metadata).
type Transaction struct {
	ID                  string // "<txId>:<lsn>"
	TotalOrder          int64
	DataCollectionOrder int64
}

// Change is one row change to turn into an event. Before and After hold
// Connect values in column order (from ConvertText); nil means absent.
type Change struct {
	Op            Op
	Before, After []any
	Source        Source
	// At is when the connector processed the change (top-level ts_ms).
	At          time.Time
	Transaction *Transaction
}

// Event is a record's topic, key and value as the task emits them.
type Event struct {
	Topic       string
	KeySchema   *connect.Schema
	Key         any
	ValueSchema *connect.Schema
	Value       any
}

// Tombstone returns the record that follows a delete: same key, null value.
func (e Event) Tombstone() Event {
	return Event{Topic: e.Topic, KeySchema: e.KeySchema, Key: e.Key}
}

// Envelope builds the change event for ch. Truncate events have a null key;
// otherwise the key comes from After, or Before for deletes.
func (e *Events) Envelope(ch Change) (Event, error) {
	v := connect.NewStruct(e.EnvelopeSchema)
	for i, row := range [2][]any{ch.Before, ch.After} {
		if row == nil {
			continue
		}
		name := [2]string{"before", "after"}[i]
		st, err := e.row(row)
		if err != nil {
			return Event{}, fmt.Errorf("build %s of %s event on %s: %w", name, ch.Op, e.Topic, err)
		}
		v.Set(e.EnvelopeSchema.Field(name), st)
	}
	v.Set(e.EnvelopeSchema.Field("source"), e.source(ch.Source))
	if tx := ch.Transaction; tx != nil {
		t := connect.NewStruct(TransactionSchema)
		t.MustPut("id", tx.ID).MustPut("total_order", tx.TotalOrder).MustPut("data_collection_order", tx.DataCollectionOrder)
		v.Set(e.EnvelopeSchema.Field("transaction"), t)
	}
	v.MustPut("op", string(ch.Op))
	putTimes(v, "ts_ms", "ts_us", "ts_ns", ch.At)
	ev := Event{Topic: e.Topic, KeySchema: e.KeySchema, ValueSchema: e.EnvelopeSchema, Value: v}
	if ch.Op == OpTruncate || e.KeySchema == nil {
		return ev, nil
	}
	keyRow := ch.After
	if ch.Op == OpDelete {
		keyRow = ch.Before
	}
	key, err := e.key(keyRow)
	if err != nil {
		return Event{}, fmt.Errorf("build key of %s event on %s: %w", ch.Op, e.Topic, err)
	}
	ev.Key = key
	return ev, nil
}

// row builds a Value struct from values in column order, validated.
func (e *Events) row(values []any) (*connect.Struct, error) {
	if len(values) != len(e.RowSchema.Fields) {
		return nil, fmt.Errorf("%d values for %d columns", len(values), len(e.RowSchema.Fields))
	}
	st := connect.NewStruct(e.RowSchema)
	for i, f := range e.RowSchema.Fields {
		if _, err := st.Put(f.Name, values[i]); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// key builds the Key struct from a row in column order.
func (e *Events) key(values []any) (*connect.Struct, error) {
	if len(values) != len(e.RowSchema.Fields) {
		return nil, fmt.Errorf("%d values for %d columns", len(values), len(e.RowSchema.Fields))
	}
	st := connect.NewStruct(e.KeySchema)
	for _, f := range e.KeySchema.Fields {
		if _, err := st.Put(f.Name, values[e.RowSchema.Field(f.Name).Index]); err != nil {
			return nil, err
		}
	}
	return st, nil
}

func (e *Events) source(s Source) *connect.Struct {
	return sourceStruct(s, e.table.Schema, e.table.Name)
}

// sourceStruct builds the source block of an event on schema.table (both
// empty for a logical decoding message).
func sourceStruct(s Source, schema, table string) *connect.Struct {
	st := connect.NewStruct(SourceSchema)
	st.MustPut("version", s.Version).MustPut("connector", "postgresql").MustPut("name", s.Name).
		MustPut("db", s.DB).MustPut("schema", schema).MustPut("table", table)
	putTimes(st, "ts_ms", "ts_us", "ts_ns", s.Commit)
	if s.Snapshot != "" {
		st.MustPut("snapshot", s.Snapshot)
	}
	if s.Sequence != "" {
		st.MustPut("sequence", s.Sequence)
	}
	for i, n := range [3]int64{s.TxID, s.LSN, s.Xmin} {
		if n != 0 {
			st.MustPut([3]string{"txId", "lsn", "xmin"}[i], n)
		}
	}
	return st
}

// putTimes sets a millisecond, microsecond and nanosecond epoch trio.
func putTimes(st *connect.Struct, ms, us, ns string, t time.Time) {
	st.MustPut(ms, t.UnixMilli()).MustPut(us, t.UnixMicro()).MustPut(ns, t.UnixNano())
}
