package debezium

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/runtime/connect"
)

// blockingDB is a BlockingReader over a memDB that records its calls.
type blockingDB struct {
	*memDB
	calls   []string
	readErr error
}

func (b *blockingDB) Begin(context.Context) error  { b.calls = append(b.calls, "begin"); return nil }
func (b *blockingDB) Commit(context.Context) error { b.calls = append(b.calls, "commit"); return nil }
func (b *blockingDB) Rollback(context.Context)     { b.calls = append(b.calls, "rollback") }

func (b *blockingDB) ReadTable(_ context.Context, table TableID, cond string, first bool, held *HeldRead) error {
	b.calls = append(b.calls, "read "+table.String()+" "+cond)
	if b.readErr != nil {
		return b.readErr
	}
	m := b.tables[table.String()]
	var batch []*connect.Record
	for i, id := range m.sorted() {
		ev, err := m.events.Envelope(Change{Op: OpRead, After: []any{id, m.rows[id]}, Source: markerSource{}})
		require.NoError(b.t, err)
		r := connect.NewSourceRecord(nil, map[string]any{}, ev.Topic, ev.KeySchema, ev.Key, ev.ValueSchema, ev.Value)
		batch = held.Hold(r, first, i == 0, batch)
	}
	held.LastInTable = len(m.rows) > 0
	return b.Emit(context.Background(), batch)
}

func TestBlockingSnapshot(t *testing.T) {
	ctx := context.Background()
	db := &blockingDB{memDB: newMemDB(t, "s.a", "s.b", "s.x")}
	for _, id := range []int32{1, 2} {
		db.tables["s.a"].rows[id] = "a"
	}
	db.tables["s.b"].rows[7] = "b"
	for _, m := range db.tables { // a source block with the snapshot marker
		e, err := NewEvents(m.events.Topic, m.id, []connect.Field{{Name: "id", Schema: connect.Int32Schema}, {Name: "name", Schema: connect.StringSchema}},
			[]string{"id"}, markerSchema)
		require.NoError(t, err)
		m.events = e
	}
	filter := Filter{TableExclude: CompileList([]string{`s\.x`})}
	req, err := ParseSnapshotRequest(`{"data-collections": ["s\\.[ab]", "s.x"], "type": "blocking",
		"additional-conditions": [{"data-collection": "s.b", "filter": "id > 5"}]}`)
	require.NoError(t, err)
	require.NoError(t, BlockingSnapshot(ctx, req, filter, db, discard))
	assert.Equal(t, []string{"begin", "read s.a ", "read s.b id > 5", "commit"}, db.calls, "tables not captured are skipped")
	var markers []any
	for _, r := range db.emitted {
		markers = append(markers, field(t, field(t, r.Value, "source"), "snapshot"))
	}
	assert.Equal(t, []any{"first", "last_in_data_collection", "last"}, markers)
	assert.Equal(t, true, db.emitted[2].SourceOffset[LastSnapshotRecordKey])

	db.calls, db.emitted = nil, nil
	require.NoError(t, BlockingSnapshot(ctx, SnapshotRequest{DataCollections: []string{"s.x"}}, filter, db, discard))
	assert.Empty(t, db.calls, "nothing to read, no transaction")

	db.readErr = errors.New("boom")
	err = BlockingSnapshot(ctx, SnapshotRequest{DataCollections: []string{"s.a"}}, filter, db, discard)
	assert.ErrorIs(t, err, db.readErr)
	assert.Equal(t, []string{"begin", "read s.a ", "rollback"}, db.calls)
}
