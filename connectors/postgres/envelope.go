package postgres

import (
	"fmt"
	"time"

	"github.com/sluicehq/sluice/connectors/debezium"
	"github.com/sluicehq/sluice/runtime/connect"
)

// SourceSchemaName is the name of the source block's schema.
const SourceSchemaName = "io.debezium.connector.postgresql.Source"

// snapshotSchema is source.snapshot: an optional Enum string defaulting to
// "false".
var snapshotSchema = connect.NewSchemaBuilder(connect.TypeString).Optional().Name(debezium.EnumName).Version(1).
	Param(debezium.EnumAllowedParam, "true,first,first_in_data_collection,last_in_data_collection,last,false,incremental").
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

// Table is a captured table: its columns in table order and the columns
// forming the record key (the primary key, or message.key.columns).
type Table struct {
	Schema     string
	Name       string
	Columns    []Column
	KeyColumns []string
}

// Events holds the schemas of one table's change events, and what
// converting its rows needs: the described columns and the column masks.
type Events struct {
	debezium.Events
	table Table
	ops   []*debezium.ColumnRule // column masks, per column; nil when none
}

// NewEvents derives the topic and schemas of table t's events under
// topic.prefix prefix.
func NewEvents(prefix string, t Table, opts TypeOptions) (*Events, error) {
	fields := make([]connect.Field, len(t.Columns))
	for i, c := range t.Columns {
		s, err := ColumnSchema(c, opts)
		if err != nil {
			return nil, fmt.Errorf("build event schemas of %s.%s: %w", t.Schema, t.Name, err)
		}
		fields[i] = connect.Field{Name: c.Name, Schema: s}
	}
	id := debezium.TableID{Schema: t.Schema, Name: t.Name}
	e, err := debezium.NewEvents(prefix+"."+id.String(), id, fields, t.KeyColumns, SourceSchema)
	if err != nil {
		return nil, err
	}
	return &Events{Events: *e, table: t}, nil
}

// Source is the position and origin of one change: Postgres's source
// block.
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

// SourceStruct implements debezium.SourceBlock.
func (s Source) SourceStruct(table debezium.TableID) *connect.Struct {
	return sourceStruct(s, table.Schema, table.Name)
}

// sourceStruct builds the source block of an event on schema.table (both
// empty for a logical decoding message).
func sourceStruct(s Source, schema, table string) *connect.Struct {
	st := connect.NewStruct(SourceSchema)
	st.MustPut("version", s.Version).MustPut("connector", "postgresql").MustPut("name", s.Name).
		MustPut("db", s.DB).MustPut("schema", schema).MustPut("table", table)
	debezium.PutTimes(st, "ts_ms", "ts_us", "ts_ns", s.Commit)
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
