package debezium

import (
	"fmt"
	"reflect"
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

// TableID names a captured table: its schema (a MySQL database) and
// name, as filters and topics spell them.
type TableID struct{ Schema, Name string }

// String returns schema.name, the form filters match.
func (id TableID) String() string { return id.Schema + "." + id.Name }

// TransactionSchema is the optional transaction block (event.block).
var TransactionSchema = connect.StructBuilder().Optional().Name("event.block").Version(1).
	Field("id", connect.StringSchema).Field("total_order", connect.Int64Schema).
	Field("data_collection_order", connect.Int64Schema).Build()

// SourceBlock is the connector's part of a change event: the source
// block, whose fields differ per connector (a Postgres LSN, a MySQL binlog
// position). Struct must build a value of the schema given to NewEvents.
type SourceBlock interface {
	SourceStruct(table TableID) *connect.Struct
}

// Transaction places an event in its transaction
// (provide.transaction.metadata).
type Transaction struct {
	ID                  string // Postgres: "<txId>:<lsn>"
	TotalOrder          int64
	DataCollectionOrder int64
}

// Change is one row change to turn into an event. Before and After hold
// Connect values in column order; nil means absent.
type Change struct {
	Op            Op
	Before, After []any
	Source        SourceBlock
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

// Events holds the schemas of one table's change events; build it once per
// table (and again when the table's columns change).
type Events struct {
	Topic          string
	Table          TableID
	KeySchema      *connect.Schema // nil when the table has no key columns
	RowSchema      *connect.Schema // <topic>.Value, optional
	EnvelopeSchema *connect.Schema
}

// NewEvents derives the key and envelope schemas of table's events on
// topic (<topic.prefix>.<schema>.<table>) from the row's fields in column
// order, the key columns' names and the connector's source block schema.
func NewEvents(topic string, table TableID, fields []connect.Field, keyColumns []string, source *connect.Schema) (*Events, error) {
	row := connect.StructBuilder().Optional().Name(topic + ".Value")
	byName := make(map[string]*connect.Schema, len(fields))
	for _, f := range fields {
		row.Field(f.Name, f.Schema)
		byName[f.Name] = f.Schema
	}
	e := &Events{Topic: topic, Table: table, RowSchema: row.Build()}
	if len(keyColumns) > 0 {
		key := connect.StructBuilder().Name(topic + ".Key")
		for _, k := range keyColumns {
			s, ok := byName[k]
			if !ok {
				return nil, fmt.Errorf("build key schema of %s: no column %q", table, k)
			}
			key.Field(k, s)
		}
		e.KeySchema = key.Build()
	}
	e.EnvelopeSchema = connect.StructBuilder().Name(topic+".Envelope").Version(2).
		Field("before", e.RowSchema).Field("after", e.RowSchema).Field("source", source).
		Field("transaction", TransactionSchema).Field("op", connect.StringSchema).
		Field("ts_ms", connect.OptionalInt64Schema).Field("ts_us", connect.OptionalInt64Schema).
		Field("ts_ns", connect.OptionalInt64Schema).Build()
	return e, nil
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
	v.Set(e.EnvelopeSchema.Field("source"), ch.Source.SourceStruct(e.Table))
	if tx := ch.Transaction; tx != nil {
		t := connect.NewStruct(TransactionSchema)
		t.MustPut("id", tx.ID).MustPut("total_order", tx.TotalOrder).MustPut("data_collection_order", tx.DataCollectionOrder)
		v.Set(e.EnvelopeSchema.Field("transaction"), t)
	}
	v.MustPut("op", string(ch.Op))
	PutTimes(v, "ts_ms", "ts_us", "ts_ns", ch.At)
	ev := Event{Topic: e.Topic, KeySchema: e.KeySchema, ValueSchema: e.EnvelopeSchema, Value: v}
	if ch.Op == OpTruncate || e.KeySchema == nil {
		return ev, nil
	}
	keyRow := ch.After
	if ch.Op == OpDelete {
		keyRow = ch.Before
	}
	key, err := e.Key(keyRow)
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

// Key builds the Key struct from a row in column order; the table must
// have key columns.
func (e *Events) Key(values []any) (*connect.Struct, error) {
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

// KeyChanged reports whether two rows in column order differ in a key
// column; false for a table without key. An update that changes the key
// is emitted as a delete and a create (see KeyChangeHeaders).
func (e *Events) KeyChanged(before, after []any) bool {
	if e.KeySchema == nil {
		return false
	}
	for _, f := range e.KeySchema.Fields {
		i := e.RowSchema.Field(f.Name).Index
		if !reflect.DeepEqual(before[i], after[i]) {
			return true
		}
	}
	return false
}

// Headers of the delete and create an update that changed the key is
// emitted as: the delete carries the new key, the create the old one.
const (
	NewKeyHeader = "__debezium.newkey"
	OldKeyHeader = "__debezium.oldkey"
)

// PutTimes sets a millisecond, microsecond and nanosecond epoch trio.
func PutTimes(st *connect.Struct, ms, us, ns string, t time.Time) {
	st.MustPut(ms, t.UnixMilli()).MustPut(us, t.UnixMicro()).MustPut(ns, t.UnixNano())
}

// KeyChange is an update that changed the key, as Debezium emits it: a
// delete of the old key (followed by its tombstone), then a create with
// the new key; the delete carries the new key in header __debezium.newkey
// and the create the old one in __debezium.oldkey.
type KeyChange struct {
	Delete, Create               Change
	DeleteHeaders, CreateHeaders connect.Headers
}

// SplitKeyChange splits an update whose key changed (KeyChanged) into
// its delete and create.
func (e *Events) SplitKeyChange(ch Change) (KeyChange, error) {
	oldKey, err := e.Key(ch.Before)
	if err != nil {
		return KeyChange{}, err
	}
	newKey, err := e.Key(ch.After)
	if err != nil {
		return KeyChange{}, err
	}
	kc := KeyChange{Delete: ch, Create: ch,
		DeleteHeaders: connect.Headers{{Key: NewKeyHeader, Schema: e.KeySchema, Value: newKey}},
		CreateHeaders: connect.Headers{{Key: OldKeyHeader, Schema: e.KeySchema, Value: oldKey}},
	}
	kc.Delete.Op, kc.Delete.After = OpDelete, nil
	kc.Create.Op, kc.Create.Before = OpCreate, nil
	return kc, nil
}
