package debezium

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/runtime/connect"
)

// memTable is a table in memory whose key is an int32 id.
type memTable struct {
	id     TableID
	events *Events
	rows   map[int32]string // id → name
	bad    map[int32]bool   // rows that cannot be converted
}

func (m *memTable) ID() TableID     { return m.id }
func (m *memTable) Events() *Events { return m.events }
func (m *memTable) sorted() []int32 {
	var ids []int32
	for id := range m.rows {
		ids = append(ids, id)
	}
	for i := range ids { // insertion sort: tables are small
		for j := i; j > 0 && ids[j] < ids[j-1]; j-- {
			ids[j], ids[j-1] = ids[j-1], ids[j]
		}
	}
	return ids
}

// memDB is a Dialect and Reads over memTables, recording what it was asked.
type memDB struct {
	t          *testing.T
	tables     map[string]*memTable
	watermarks []string // ids written, "-id" for deleted
	chunks     [][2]string
	emitted    []*connect.Record
}

func newMemDB(t *testing.T, names ...string) *memDB {
	db := &memDB{t: t, tables: map[string]*memTable{}}
	for _, n := range names {
		id, _ := ParseTableID(n)
		e, err := NewEvents("srv."+n, id, []connect.Field{{Name: "id", Schema: connect.Int32Schema}, {Name: "name", Schema: connect.StringSchema}},
			[]string{"id"}, testSourceSchema)
		require.NoError(t, err)
		db.tables[n] = &memTable{id: id, events: e, rows: map[int32]string{}, bad: map[int32]bool{}}
	}
	return db
}

func (db *memDB) OpenTable(_ context.Context, c SnapshotCollection) (ChunkTable, error) {
	if m, ok := db.tables[c.ID]; ok {
		return m, nil
	}
	return nil, nil
}

func (db *memDB) MaximumKey(_ context.Context, t ChunkTable) ([]string, error) {
	ids := t.(*memTable).sorted()
	if len(ids) == 0 {
		return nil, nil
	}
	return []string{strconv.Itoa(int(ids[len(ids)-1]))}, nil
}

func (db *memDB) ReadChunk(_ context.Context, t ChunkTable, after, last []string, limit int, row func(ChunkRow) error) (int, error) {
	m := t.(*memTable)
	from, to := int32(-1<<31), mustAtoi(last[0])
	if after != nil {
		from = mustAtoi(after[0])
	}
	a := ""
	if after != nil {
		a = after[0]
	}
	db.chunks = append(db.chunks, [2]string{a, last[0]})
	n := 0
	for _, id := range m.sorted() {
		if id <= from || id > to || n == limit {
			continue
		}
		n++
		r := ChunkRow{Order: []string{strconv.Itoa(int(id))}}
		if !m.bad[id] {
			r.Values = []any{id, m.rows[id]}
		}
		if err := row(r); err != nil {
			return 0, err
		}
	}
	return n, nil
}

func mustAtoi(s string) int32 {
	n, _ := strconv.Atoi(s)
	return int32(n)
}

func (db *memDB) WriteWatermark(_ context.Context, id, kind, data string) error {
	assert.Contains(db.t, data, `"openWindowTimestamp": "`)
	if kind == SignalWindowClose {
		assert.Contains(db.t, data, `"closeWindowTimestamp": "`)
	}
	db.watermarks = append(db.watermarks, id)
	return nil
}

func (db *memDB) DeleteWatermark(_ context.Context, id string) error {
	db.watermarks = append(db.watermarks, "-"+id)
	return nil
}

func (db *memDB) CapturedTables(context.Context) ([]TableID, error) {
	var out []TableID
	for _, m := range db.tables {
		out = append(out, m.id)
	}
	slices.SortFunc(out, func(a, b TableID) int { return strings.Compare(a.String(), b.String()) })
	return out, nil
}

func (db *memDB) ReadSource(time.Time) SourceBlock    { return testSource{pos: 99} }
func (db *memDB) ReadOffset(time.Time) map[string]any { return map[string]any{"pos": int64(99)} }
func (db *memDB) Partition() map[string]any           { return map[string]any{"server": "srv"} }
func (db *memDB) Emit(_ context.Context, batch []*connect.Record) error {
	db.emitted = append(db.emitted, batch...)
	return nil
}

// ids returns the ids of the emitted reads and forgets them.
func (db *memDB) ids() []int32 {
	var out []int32
	for _, r := range db.emitted {
		out = append(out, field(db.t, r.Key, "id").(int32))
	}
	db.emitted = nil
	return out
}

func newTestIncremental(chunk int, deleteClose bool) *Incremental {
	inc := NewIncremental(SignalSettings{ChunkSize: chunk, DeleteClose: deleteClose}, nil)
	n := 0
	inc.newChunkID = func() string { n++; return "chunk" + strconv.Itoa(n) }
	return inc
}

func keyOf(t *testing.T, db *memDB, table string, id int32) any {
	k, err := db.tables[table].events.Key([]any{id, ""})
	require.NoError(t, err)
	return k
}

// A change streamed between a chunk's watermarks wins over the chunk's
// read of the same row; rows of other tables, and rows outside the window,
// are left alone.
func TestIncrementalWindowDedup(t *testing.T) {
	ctx := context.Background()
	db := newMemDB(t, "s.a", "s.b")
	for i := int32(1); i <= 5; i++ {
		db.tables["s.a"].rows[i] = "a" + strconv.Itoa(int(i))
	}
	inc := newTestIncremental(3, false)
	req, _ := ParseSnapshotRequest(`{"data-collections": ["s\\.a"]}`)
	require.NoError(t, inc.Start(ctx, "sig-1", req, db, db, discard))
	assert.Equal(t, []string{"chunk1-open", "chunk1-close"}, db.watermarks)
	assert.Equal(t, [][2]string{{"", "5"}}, db.chunks, "the first chunk reads from the start to the maximum key")

	inc.Dedup(customers, OpUpdate, keyOf(t, db, "s.a", 2))
	inc.OpenWindow("chunk0-open")
	inc.Dedup(TableID{Schema: "s", Name: "a"}, OpUpdate, keyOf(t, db, "s.a", 1))
	assert.Empty(t, db.emitted, "before its open watermark a change does not touch the window")
	inc.OpenWindow("chunk1-open")
	inc.Dedup(TableID{Schema: "s", Name: "b"}, OpUpdate, keyOf(t, db, "s.a", 1))
	inc.Dedup(TableID{Schema: "s", Name: "a"}, OpUpdate, keyOf(t, db, "s.a", 2))
	require.NoError(t, inc.CloseWindow(ctx, "chunk0-close", db, db))
	assert.Empty(t, db.emitted, "another chunk's watermark is ignored")
	require.NoError(t, inc.CloseWindow(ctx, "chunk1-close", db, db))
	assert.Equal(t, []int32{1, 3}, db.ids(), "row 2 changed while the window was open")
	assert.Equal(t, [][2]string{{"", "5"}, {"3", "5"}}, db.chunks, "the next chunk starts after the last row read")

	inc.OpenWindow("chunk2-open")
	inc.Dedup(TableID{Schema: "s", Name: "a"}, OpTruncate, nil)
	require.NoError(t, inc.CloseWindow(ctx, "chunk2-close", db, db))
	assert.Empty(t, db.ids(), "a truncate empties the window")
	assert.False(t, inc.Running(), "the table has no rows after 5")
	assert.Equal(t, "", inc.correlationID)
}

// A restart resumes the current table after the last key emitted, with the
// tables left, from the offset.
func TestIncrementalResumesFromOffset(t *testing.T) {
	ctx := context.Background()
	db := newMemDB(t, "s.a", "s.b")
	for i := int32(1); i <= 4; i++ {
		db.tables["s.a"].rows[i] = "a"
		db.tables["s.b"].rows[i*10] = "b"
	}
	inc := newTestIncremental(2, true)
	req, _ := ParseSnapshotRequest(`{"data-collections": ["s.a", "s.b"], "additional-condition": "x > 1", "surrogate-key": "k"}`)
	assert.True(t, inc.Queue("sig-1", req, req.DataCollections, discard))
	inc.maxKey = []string{"4"}
	require.NoError(t, inc.fillWindow(ctx, db))
	require.NoError(t, inc.emitWindow(ctx, db))
	require.Equal(t, []int32{1, 2}, db.ids())

	off := map[string]any{"pos": int64(1)}
	inc.Store(off)
	assert.Equal(t, `["2"]`, off[IncrementalPrimaryKeyKey])
	assert.Equal(t, `["4"]`, off[IncrementalMaximumKeyKey])
	assert.Equal(t, "sig-1", off[IncrementalCorrelationKey])
	assert.JSONEq(t, `[{"incremental_snapshot_collections_id":"s.a","incremental_snapshot_collections_additional_condition":"x > 1","incremental_snapshot_collections_surrogate_key":"k"},
		{"incremental_snapshot_collections_id":"s.b","incremental_snapshot_collections_additional_condition":"x > 1","incremental_snapshot_collections_surrogate_key":"k"}]`,
		off[IncrementalCollectionsKey].(string))

	again := newTestIncremental(2, true)
	again.Load(off)
	table, after := again.Current()
	assert.Equal(t, "s.a", table)
	assert.Equal(t, []string{"2"}, after)
	db.chunks = nil
	require.NoError(t, again.ReadChunk(ctx, db, db))
	assert.Equal(t, []int32{3, 4, 10, 20, 30, 40}, db.ids(), "insert_delete emits each chunk at once, to the end")
	assert.Equal(t, [][2]string{{"2", "4"}, {"4", "4"}, {"", "40"}, {"20", "40"}, {"40", "40"}}, db.chunks)
	assert.Contains(t, db.watermarks, "-chunk1-open", "insert_delete deletes the open row")
	assert.False(t, again.Running())
}

// An offset written by Debezium holds serialized Java arrays as keys: the
// tables are kept, the current one starts over.
func TestIncrementalOffsetFromDebezium(t *testing.T) {
	inc := NewIncremental(SignalSettings{}, nil)
	inc.Load(map[string]any{
		IncrementalCollectionsKey: `[{"incremental_snapshot_collections_id":"public.customers",` +
			`"incremental_snapshot_collections_additional_condition":"id > 3","incremental_snapshot_collections_surrogate_key":null}]`,
		IncrementalPrimaryKeyKey:  "aced0005757200135b4c6a6176612e6c616e672e4f626a6563743b",
		IncrementalMaximumKeyKey:  "aced0005757200135b4c6a6176612e6c616e672e4f626a6563743b",
		IncrementalCorrelationKey: "sig-1",
	})
	require.True(t, inc.Running())
	assert.Equal(t, "public.customers", inc.collections[0].ID)
	assert.Equal(t, "id > 3", *inc.collections[0].Condition)
	assert.Nil(t, inc.lastSent)
	assert.Nil(t, inc.maxKey)

	inc.lastSent, inc.maxKey = []string{"7", "a\"b"}, []string{"9", "z"}
	off := map[string]any{}
	inc.Store(off)
	again := NewIncremental(SignalSettings{}, nil)
	again.Load(off)
	assert.Equal(t, inc.lastSent, again.lastSent)
	assert.Equal(t, inc.lastSent, again.chunkEnd)
	assert.Equal(t, inc.maxKey, again.maxKey)
	assert.Equal(t, "sig-1", again.correlationID)

	bad := NewIncremental(SignalSettings{}, nil)
	bad.Load(map[string]any{IncrementalCollectionsKey: "not json"})
	assert.False(t, bad.Running(), "unreadable tables are not resumed")
}

// Rows that cannot be converted are skipped, but the chunk moves past
// them; tables that cannot be opened or are empty are skipped.
func TestIncrementalSkipsBadRowsAndTables(t *testing.T) {
	ctx := context.Background()
	db := newMemDB(t, "s.a", "s.empty")
	for i := int32(1); i <= 3; i++ {
		db.tables["s.a"].rows[i] = "a"
	}
	db.tables["s.a"].bad[2], db.tables["s.a"].bad[3] = true, true
	inc := newTestIncremental(2, true)
	inc.Queue("sig", SnapshotRequest{}, []string{"s.gone", "s.empty", "s.a"}, discard)
	require.NoError(t, inc.ReadChunk(ctx, db, db))
	assert.Equal(t, []int32{1}, db.ids())
	assert.Equal(t, [][2]string{{"", "3"}, {"2", "3"}, {"3", "3"}}, db.chunks, "no chunk repeats an unconvertible row")
	assert.False(t, inc.Running())
}

func TestIncrementalStopPauseResume(t *testing.T) {
	ctx := context.Background()
	db := newMemDB(t, "s.a", "s.b", "s.c")
	for _, n := range []string{"s.a", "s.b", "s.c"} {
		db.tables[n].rows[1] = n
	}
	inc := newTestIncremental(10, false)
	require.NoError(t, inc.Stop(ctx, nil, db, discard), "nothing to stop")
	req, _ := ParseSnapshotRequest(`{"data-collections": ["s\\.[ab]", "s.c"]}`)
	require.NoError(t, inc.Start(ctx, "sig", req, db, db, discard))
	table, _ := inc.Current()
	assert.Equal(t, "s.a", table)

	require.NoError(t, inc.Stop(ctx, []string{"s.(a|c)"}, db, discard))
	assert.Equal(t, []SnapshotCollection{{ID: "s.b"}}, inc.collections, "the current table and a queued one removed")
	assert.Nil(t, inc.table, "the current chunk is dropped with its table")

	inc.Pause(discard)
	require.NoError(t, inc.Resume(ctx, db, db, discard))
	assert.False(t, inc.paused)
	assert.Len(t, db.chunks, 1, "the chunk's close watermark is still on its way: no read")
	inc.Pause(discard)
	require.NoError(t, inc.CloseWindow(ctx, "chunk1-close", db, db))
	assert.Empty(t, db.ids(), "the stopped table's reads are dropped")
	assert.Len(t, db.chunks, 1, "paused: no next chunk")
	require.NoError(t, inc.Resume(ctx, db, db, discard))
	require.NoError(t, inc.Resume(ctx, db, db, discard), "resuming a running snapshot does nothing")
	assert.Equal(t, [][2]string{{"", "1"}, {"", "1"}}, db.chunks, "the resume read s.b's first chunk")

	inc.Pause(discard)
	more, _ := ParseSnapshotRequest(`{"data-collections": ["s.c"]}`)
	require.NoError(t, inc.Start(ctx, "sig-2", more, db, db, discard))
	assert.True(t, inc.paused, "queueing onto a running snapshot keeps its pause")
	require.NoError(t, inc.Stop(ctx, nil, db, discard))
	assert.False(t, inc.Running())
}

// A Kafka signal offset that is not a number is refused, naming the key,
// rather than read as "no signal acted on", which would run it again.
func TestLoadSignalOffsetRefusesAWrongType(t *testing.T) {
	for _, bad := range []any{"41", 41.5, true} {
		inc := NewIncremental(SignalSettings{}, nil)
		err := inc.LoadSignalOffset(connect.Offset{SignalOffsetKey: bad})
		require.ErrorIs(t, err, connect.ErrOffset)
		assert.ErrorContains(t, err, SignalOffsetKey)
		_, seen := inc.KafkaPosition()
		assert.False(t, seen)
	}
	inc := NewIncremental(SignalSettings{}, nil)
	require.NoError(t, inc.LoadSignalOffset(nil))
	_, seen := inc.KafkaPosition()
	assert.False(t, seen)
}

func TestStamp(t *testing.T) {
	var none *Incremental
	none.Stamp([]*connect.Record{{SourceOffset: map[string]any{}}}) // safe on nil

	inc := NewIncremental(SignalSettings{}, nil)
	require.NoError(t, inc.LoadSignalOffset(connect.Offset{SignalOffsetKey: float64(41)}))
	offset, seen := inc.KafkaPosition()
	assert.True(t, seen)
	assert.Equal(t, int64(41), offset)
	inc.KafkaSignal(42)
	shared := map[string]any{"lsn": int64(1)}
	batch := []*connect.Record{{SourceOffset: shared}, {SourceOffset: shared}, {}, {SourceOffset: map[string]any{SignalOffsetKey: int64(7)}}}
	inc.Stamp(batch)
	assert.Equal(t, map[string]any{"lsn": int64(1)}, shared, "a shared offset is copied, not changed")
	assert.Equal(t, int64(42), batch[0].SourceOffset[SignalOffsetKey])
	assert.Equal(t, int64(42), batch[1].SourceOffset[SignalOffsetKey])
	assert.Nil(t, batch[2].SourceOffset)
	assert.Equal(t, int64(7), batch[3].SourceOffset[SignalOffsetKey], "an offset that has one keeps it")
	assert.NotContains(t, batch[0].SourceOffset, IncrementalCollectionsKey, "no snapshot running")
}
