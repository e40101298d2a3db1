package debezium

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/runtime/connect"
)

// testSource is a connector's source block: its table and a position.
type testSource struct{ pos int64 }

var testSourceSchema = connect.StructBuilder().Name("test.Source").
	Field("table", connect.StringSchema).Field("pos", connect.Int64Schema).Build()

func (s testSource) SourceStruct(t TableID) *connect.Struct {
	return connect.NewStruct(testSourceSchema).MustPut("table", t.String()).MustPut("pos", s.pos)
}

var (
	customers = TableID{Schema: "inventory", Name: "customers"}
	custCols  = []connect.Field{
		{Name: "id", Schema: connect.Int32Schema},
		{Name: "name", Schema: connect.OptionalStringSchema},
		{Name: "region", Schema: connect.StringSchema},
	}
)

func newCustomers(t *testing.T, key ...string) *Events {
	t.Helper()
	e, err := NewEvents("srv.inventory.customers", customers, custCols, key, testSourceSchema)
	require.NoError(t, err)
	return e
}

func field(t *testing.T, v any, name string) any {
	t.Helper()
	st, ok := v.(*connect.Struct)
	require.True(t, ok, "%v is not a struct", v)
	got, err := st.Get(name)
	require.NoError(t, err)
	return got
}

func TestNewEventsSchemas(t *testing.T) {
	e := newCustomers(t, "region", "id")
	assert.Equal(t, "srv.inventory.customers.Value", e.RowSchema.Name)
	assert.True(t, e.RowSchema.Optional, "before and after may be null")
	assert.Equal(t, "srv.inventory.customers.Key", e.KeySchema.Name)
	assert.Equal(t, []string{"region", "id"}, fieldNames(e.KeySchema), "key fields in message.key.columns order")
	assert.Equal(t, "srv.inventory.customers.Envelope", e.EnvelopeSchema.Name)
	assert.Equal(t, []string{"before", "after", "source", "transaction", "op", "ts_ms", "ts_us", "ts_ns"}, fieldNames(e.EnvelopeSchema))
	assert.Same(t, testSourceSchema, e.EnvelopeSchema.Field("source").Schema, "the connector's source block")

	assert.Nil(t, newCustomers(t).KeySchema, "no key columns, no key schema")
	_, err := NewEvents("srv.inventory.customers", customers, custCols, []string{"nope"}, testSourceSchema)
	assert.ErrorContains(t, err, `build key schema of inventory.customers: no column "nope"`)
}

func fieldNames(s *connect.Schema) []string {
	var out []string
	for _, f := range s.Fields {
		out = append(out, f.Name)
	}
	return out
}

func TestEnvelopeShapes(t *testing.T) {
	e := newCustomers(t, "id")
	at := time.UnixMilli(1559033904863)
	before := []any{int32(1), "Anne", "eu"}
	after := []any{int32(2), nil, "us"}
	tests := []struct {
		op            Op
		before, after []any
		key           any // id of the key, nil for none
	}{
		{OpCreate, nil, after, int32(2)},
		{OpRead, nil, after, int32(2)},
		{OpUpdate, before, after, int32(2)},
		{OpDelete, before, nil, int32(1)},
		{OpTruncate, nil, nil, nil},
	}
	for _, tt := range tests {
		t.Run(string(tt.op), func(t *testing.T) {
			ev, err := e.Envelope(Change{Op: tt.op, Before: tt.before, After: tt.after, Source: testSource{pos: 7}, At: at})
			require.NoError(t, err)
			assert.Equal(t, "srv.inventory.customers", ev.Topic)
			assert.Equal(t, string(tt.op), field(t, ev.Value, "op"))
			assert.Equal(t, at.UnixMilli(), field(t, ev.Value, "ts_ms"))
			assert.Equal(t, at.UnixMicro(), field(t, ev.Value, "ts_us"))
			assert.Equal(t, at.UnixNano(), field(t, ev.Value, "ts_ns"))
			src := field(t, ev.Value, "source")
			assert.Equal(t, "inventory.customers", field(t, src, "table"))
			assert.Equal(t, int64(7), field(t, src, "pos"))
			assert.Nil(t, field(t, ev.Value, "transaction"))
			if tt.before == nil {
				assert.Nil(t, field(t, ev.Value, "before"))
			} else {
				assert.Equal(t, tt.before[1], field(t, field(t, ev.Value, "before"), "name"))
			}
			if tt.after == nil {
				assert.Nil(t, field(t, ev.Value, "after"))
			} else {
				assert.Equal(t, "us", field(t, field(t, ev.Value, "after"), "region"))
			}
			if tt.key == nil {
				assert.Nil(t, ev.Key)
			} else {
				assert.Equal(t, tt.key, field(t, ev.Key, "id"))
			}
		})
	}
}

func TestEnvelopeTransactionAndTombstone(t *testing.T) {
	e := newCustomers(t, "id")
	ev, err := e.Envelope(Change{Op: OpDelete, Before: []any{int32(1), "Anne", "eu"}, Source: testSource{},
		Transaction: &Transaction{ID: "555:24023128", TotalOrder: 3, DataCollectionOrder: 2}})
	require.NoError(t, err)
	tx := field(t, ev.Value, "transaction")
	assert.Equal(t, "555:24023128", field(t, tx, "id"))
	assert.Equal(t, int64(3), field(t, tx, "total_order"))
	assert.Equal(t, int64(2), field(t, tx, "data_collection_order"))

	tomb := ev.Tombstone()
	assert.Equal(t, Event{Topic: ev.Topic, KeySchema: ev.KeySchema, Key: ev.Key}, tomb, "same key, null value and schema")
}

func TestEnvelopeRefusesBadRows(t *testing.T) {
	e := newCustomers(t, "id")
	_, err := e.Envelope(Change{Op: OpCreate, After: []any{int32(1)}, Source: testSource{}})
	assert.ErrorContains(t, err, "build after of c event on srv.inventory.customers: 1 values for 3 columns")
	_, err = e.Envelope(Change{Op: OpCreate, After: []any{int32(1), "x", nil}, Source: testSource{}})
	assert.Error(t, err, "a required column without value")
}

func TestKeyChanged(t *testing.T) {
	e := newCustomers(t, "id")
	assert.False(t, e.KeyChanged([]any{int32(1), "a", "eu"}, []any{int32(1), "b", "us"}))
	assert.True(t, e.KeyChanged([]any{int32(1), "a", "eu"}, []any{int32(2), "a", "eu"}))
	assert.False(t, newCustomers(t).KeyChanged([]any{int32(1), "a", "eu"}, []any{int32(2), "a", "eu"}), "no key, never changed")
}

func TestTxMetaCountsPerTable(t *testing.T) {
	m := NewTxMeta("555:100")
	var begins []bool
	var orders [][2]int64
	for _, table := range []string{"s.a", "s.b", "s.a"} {
		tx, begin := m.Next(table)
		assert.Equal(t, "555:100", tx.ID)
		begins = append(begins, begin)
		orders = append(orders, [2]int64{tx.TotalOrder, tx.DataCollectionOrder})
	}
	assert.Equal(t, []bool{true, false, false}, begins, "BEGIN before the first event only")
	assert.Equal(t, [][2]int64{{1, 1}, {2, 1}, {3, 2}}, orders)

	commit := time.UnixMilli(1700000000123)
	partition := map[string]any{"server": "srv"}
	begin := m.Record(TxBegin, partition, "srv.transaction", commit)
	assert.Equal(t, "srv.transaction", begin.Topic)
	assert.Equal(t, "555:100", field(t, begin.Key, "id"))
	assert.Equal(t, "BEGIN", field(t, begin.Value, "status"))
	assert.Nil(t, field(t, begin.Value, "event_count"))
	assert.Equal(t, commit.UnixMilli(), field(t, begin.Value, "ts_ms"))

	end := m.Record(TxEnd, partition, "srv.transaction", commit)
	assert.Equal(t, int64(3), field(t, end.Value, "event_count"))
	cols := field(t, end.Value, "data_collections").([]any)
	require.Len(t, cols, 2)
	assert.Equal(t, "s.a", field(t, cols[0], "data_collection"), "tables in first-seen order")
	assert.Equal(t, int64(2), field(t, cols[0], "event_count"))
	assert.Equal(t, "s.b", field(t, cols[1], "data_collection"))
	assert.Equal(t, int64(1), field(t, cols[1], "event_count"))
}

func TestHeartbeat(t *testing.T) {
	now := time.Unix(1000, 0)
	h := Heartbeat{Interval: time.Second, Now: func() time.Time { return now }}
	h.Reset()
	assert.False(t, h.Due())
	now = now.Add(time.Second)
	assert.True(t, h.Due(), "due an interval after the reset")
	h.Reset()
	assert.False(t, h.Due())
	off := Heartbeat{Now: func() time.Time { return now.Add(time.Hour) }}
	assert.False(t, off.Due(), "a zero interval disables heartbeats")

	r := HeartbeatRecord(map[string]any{"server": "srv"}, map[string]any{"lsn": int64(5)}, "__debezium-heartbeat.srv", "srv", now)
	assert.Equal(t, "__debezium-heartbeat.srv", r.Topic)
	assert.Equal(t, "srv", field(t, r.Key, "serverName"))
	assert.Equal(t, now.UnixMilli(), field(t, r.Value, "ts_ms"))
	assert.Equal(t, "io.debezium.connector.common.Heartbeat", r.ValueSchema.Name)
	assert.Equal(t, now, r.Timestamp)
	assert.Equal(t, map[string]any{"lsn": int64(5)}, r.SourceOffset)
}

func TestSplitKeyChange(t *testing.T) {
	e := newCustomers(t, "id")
	ch := Change{Op: OpUpdate, Before: []any{int32(1), "Anne", "eu"}, After: []any{int32(2), "Anne", "eu"}, Source: testSource{}}
	kc, err := e.SplitKeyChange(ch)
	require.NoError(t, err)
	assert.Equal(t, OpDelete, kc.Delete.Op)
	assert.Nil(t, kc.Delete.After)
	assert.Equal(t, ch.Before, kc.Delete.Before)
	assert.Equal(t, OpCreate, kc.Create.Op)
	assert.Nil(t, kc.Create.Before)
	assert.Equal(t, ch.After, kc.Create.After)
	require.Len(t, kc.DeleteHeaders, 1)
	assert.Equal(t, NewKeyHeader, kc.DeleteHeaders[0].Key)
	assert.Equal(t, int32(2), field(t, kc.DeleteHeaders[0].Value, "id"), "the delete carries the new key")
	require.Len(t, kc.CreateHeaders, 1)
	assert.Equal(t, OldKeyHeader, kc.CreateHeaders[0].Key)
	assert.Equal(t, int32(1), field(t, kc.CreateHeaders[0].Value, "id"), "the create carries the old key")
	assert.Same(t, e.KeySchema, kc.CreateHeaders[0].Schema)
}
