package debezium

// Incremental snapshots, Debezium's (DDD-3, watermark-based): an
// execute-snapshot signal queues tables; each is read in chunks of
// incremental.snapshot.chunk.size rows ordered by its key, while streaming
// goes on. Per chunk the connector writes an open watermark row into the
// signalling table, selects the chunk into a window keyed by the record
// key, and writes a close watermark row:
//
//	log:  … open ── changes ── close …
//	           │                 └ the window's rows left are emitted, op r,
//	           │                   source.snapshot "incremental"; next chunk
//	           └ from here a streamed change of a row in the window removes
//	             it from the window: the change is newer than the read
//
// The chunk's SELECT runs after the open watermark committed and before the
// close did, so a row changed between them may be read before or after
// the change; dropping it leaves the streamed change as the newest event.
// A row not changed between them was read as it was at the close.
//
// Incremental holds that state and drives it; the connector supplies the
// SQL that differs per database through a Dialect (Debezium's
// ChunkQueryBuilder seam) and places the reads in its stream through
// Reads. The connector calls, from the goroutine that reads the stream:
// Dedup for every change, RunSignal for every signal (watermark rows
// included) once its transaction committed, Stamp on every batch it
// emits, and Load and ReadChunk when it starts (progress.go).
//
// Progress is kept in every source offset while a snapshot runs, under
// Debezium's keys: incremental_snapshot_collections (the tables left, the
// current first, in Debezium's JSON), incremental_snapshot_primary_key
// (the key of the last row emitted) and incremental_snapshot_maximum_key
// (the largest key when the table's snapshot began). Keys are JSON arrays
// of the key columns' text, not Debezium's serialized Java arrays: an
// offset Debezium wrote restarts its current table from the beginning.

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"time"

	"github.com/sluicehq/sluice/runtime/connect"
)

// Offset keys of an incremental snapshot, Debezium's.
const (
	IncrementalCollectionsKey = "incremental_snapshot_collections"
	IncrementalPrimaryKeyKey  = "incremental_snapshot_primary_key"
	IncrementalMaximumKeyKey  = "incremental_snapshot_maximum_key"
	IncrementalCorrelationKey = "incremental_snapshot_correlation_id"
)

// SnapshotCollection is a table queued for the incremental snapshot, in
// the JSON Debezium stores in incremental_snapshot_collections.
type SnapshotCollection struct {
	ID           string  `json:"incremental_snapshot_collections_id"`
	Condition    *string `json:"incremental_snapshot_collections_additional_condition"`
	SurrogateKey *string `json:"incremental_snapshot_collections_surrogate_key"`
}

// ChunkTable is a table being snapshotted incrementally, as the Dialect
// prepared it (a Postgres dialect keeps its select list and key casts).
type ChunkTable interface {
	// ID names the table; streamed changes of it are deduplicated.
	ID() TableID
	// Events builds the table's read events and record keys.
	Events() *Events
}

// ChunkRow is a row a chunk read: its values in column order and the text
// of its chunk-ordering columns (the key, or the surrogate key). Values is
// nil for a row the connector could not convert and skips (see
// event.processing.failure.handling.mode): the chunk still moves past it.
type ChunkRow struct {
	Values []any
	Order  []string
}

// Dialect is the database's part of an incremental snapshot: the queries
// that differ per database. Its methods run on the goroutine that reads
// the change stream.
type Dialect interface {
	// OpenTable prepares the table of c for its chunks; nil (with the
	// reason logged) when it cannot be snapshotted: not captured, gone,
	// without key, without its surrogate-key column. Debezium skips it.
	OpenTable(ctx context.Context, c SnapshotCollection) (ChunkTable, error)
	// MaximumKey returns the largest chunk-ordering key of the rows the
	// snapshot covers (the additional condition applied); nil for none.
	MaximumKey(ctx context.Context, t ChunkTable) ([]string, error)
	// ReadChunk reads at most limit rows ordered by key, with keys above
	// after (nil: from the start) and at most last, handing each to row; it
	// returns how many rows it read, those it could not convert included.
	ReadChunk(ctx context.Context, t ChunkTable, after, last []string, limit int, row func(ChunkRow) error) (int, error)
	// WriteWatermark inserts a watermark row (id, kind, data) into the
	// signalling table.
	WriteWatermark(ctx context.Context, id, kind, data string) error
	// DeleteWatermark deletes the watermark row id (insert_delete).
	DeleteWatermark(ctx context.Context, id string) error
	// CapturedTables lists the captured tables, for execute-snapshot's
	// and stop-snapshot's patterns.
	CapturedTables(ctx context.Context) ([]TableID, error)
}

// Reads places an incremental snapshot's reads in the connector's stream,
// at the position where the signal or watermark that caused them was.
type Reads interface {
	// ReadSource returns the source block of reads made at now
	// (source.snapshot "incremental").
	ReadSource(now time.Time) SourceBlock
	// ReadOffset returns a new offset map for a read made at now; the
	// snapshot's progress is added to it.
	ReadOffset(now time.Time) map[string]any
	// Partition is the source partition of the records.
	Partition() map[string]any
	// Emit hands a batch of records on, waiting while the consumer is
	// behind.
	Emit(ctx context.Context, batch []*connect.Record) error
}

// Incremental is the state of signals and of the incremental snapshot.
// Owned by the goroutine that reads the change stream; the zero value has
// no snapshot running and must get its settings (NewIncremental).
type Incremental struct {
	chunkSize     int
	deleteClose   bool
	watermarks    bool                 // a signalling table takes the watermarks
	collections   []SnapshotCollection // tables left, the current first
	correlationID string               // id of the signal that started the snapshot
	lastSent      []string             // key of the last row emitted; nil at a table's start
	chunkEnd      []string             // key of the last row the current chunk read
	maxKey        []string             // largest key when the current table's snapshot began
	table         ChunkTable           // the current table, opened at its first chunk
	chunkID       string               // id of the current chunk's watermarks
	windowOpen    bool                 // its open watermark arrived
	awaitingClose bool                 // its close watermark is still to come
	paused        bool
	window        window
	// kafkaOffset is the signal topic offset of the last Kafka signal
	// acted on, when kafkaSeen.
	kafkaOffset int64
	kafkaSeen   bool
	log         *slog.Logger
	now         func() time.Time
	newChunkID  func() string
}

// NewIncremental returns the state of a connector without snapshot
// running, reading chunks of s.ChunkSize rows and closing windows as
// s.DeleteClose says; log may be nil.
func NewIncremental(s SignalSettings, log *slog.Logger) *Incremental {
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Incremental{chunkSize: s.ChunkSize, deleteClose: s.DeleteClose, watermarks: s.Table != nil, log: log, now: time.Now, newChunkID: newChunkID}
}

// window holds a chunk's rows by record key, in key order.
type window struct {
	keys []string
	rows map[string]ChunkRow
}

func (w *window) add(key string, row ChunkRow) {
	if w.rows == nil {
		w.rows = map[string]ChunkRow{}
	}
	if _, dup := w.rows[key]; !dup {
		w.keys = append(w.keys, key)
	}
	w.rows[key] = row
}

func (w *window) clear() { *w = window{} }

// Running reports whether an incremental snapshot has tables left.
func (inc *Incremental) Running() bool { return inc != nil && len(inc.collections) > 0 }

// Current returns the table being snapshotted and the key of the last row
// emitted; "" when none runs.
func (inc *Incremental) Current() (table string, lastSent []string) {
	if !inc.Running() {
		return "", nil
	}
	return inc.collections[0].ID, inc.lastSent
}

// nextCollection moves on to the next table.
func (inc *Incremental) nextCollection() {
	inc.collections = inc.collections[1:]
	inc.resetTable()
	if !inc.Running() {
		inc.log.Info("incremental snapshot completed", "signal", inc.correlationID)
		inc.correlationID = ""
	}
}

// resetTable forgets the current table's progress and chunk.
func (inc *Incremental) resetTable() {
	inc.lastSent, inc.chunkEnd, inc.maxKey, inc.table = nil, nil, nil, nil
	inc.window.clear()
}

// OpenWindow opens the current chunk's window when its open watermark
// (id) arrives; watermarks of other chunks (replayed after a restart) are
// ignored.
func (inc *Incremental) OpenWindow(id string) {
	if inc.chunkID == "" || id != inc.chunkID+"-open" {
		inc.log.Debug("watermark of another chunk ignored", "id", id, "chunk", inc.chunkID)
		return
	}
	inc.windowOpen = true
}

// Dedup removes from an open window the row a streamed change of table is
// about (key is the change's record key): the change is newer than the
// chunk's read of it. A truncate of the table empties the window.
func (inc *Incremental) Dedup(table TableID, op Op, key any) {
	if !inc.windowOpen || inc.table == nil || inc.table.ID() != table {
		return
	}
	if op == OpTruncate {
		inc.window.clear()
		return
	}
	if k, ok := key.(*connect.Struct); ok {
		delete(inc.window.rows, k.String())
	}
}

// Pause pauses a running snapshot (pause-snapshot).
func (inc *Incremental) Pause(log *slog.Logger) {
	if inc.Running() && !inc.paused {
		inc.paused = true
		log.Info("incremental snapshot paused")
	}
}

// Queue queues the tables an execute-snapshot signal (id) names, expanded
// to the captured tables (ExpandCollections), with req's conditions and
// surrogate key; it reports whether a snapshot is to start: ReadChunk
// then reads its first chunk.
func (inc *Incremental) Queue(id string, req SnapshotRequest, names []string, log *slog.Logger) (start bool) {
	wasRunning := inc.Running()
	for _, name := range names {
		c := SnapshotCollection{ID: name}
		if cond := req.ConditionFor(name); cond != "" {
			c.Condition = &cond
		}
		if req.SurrogateKey != "" {
			c.SurrogateKey = &req.SurrogateKey
		}
		inc.collections = append(inc.collections, c)
	}
	inc.correlationID = id
	log.Info("incremental snapshot requested", "tables", names)
	if wasRunning {
		return false
	}
	inc.paused = false // a pause ends with the snapshot it paused
	return true
}

// Start runs an execute-snapshot signal (id) of type incremental: it
// queues the tables and, when no snapshot was running, reads the first
// chunk.
func (inc *Incremental) Start(ctx context.Context, id string, req SnapshotRequest, d Dialect, out Reads, log *slog.Logger) error {
	tables, err := d.CapturedTables(ctx)
	if err != nil {
		return err
	}
	if !inc.Queue(id, req, ExpandCollections(req.DataCollections, tables), log) {
		return nil
	}
	return inc.ReadChunk(ctx, d, out)
}

// Stop runs stop-snapshot: it stops the snapshot, or drops the named
// tables (patterns, see ExpandCollections) from it. The current chunk's
// reads are dropped with its table.
func (inc *Incremental) Stop(ctx context.Context, names []string, d Dialect, log *slog.Logger) error {
	if !inc.Running() {
		log.Warn("no incremental snapshot running; stop-snapshot ignored")
		return nil
	}
	if len(names) == 0 {
		inc.collections, inc.correlationID = nil, ""
		inc.resetTable()
		log.Info("incremental snapshot stopped")
		return nil
	}
	tables, err := d.CapturedTables(ctx)
	if err != nil {
		return err
	}
	expanded := ExpandCollections(names, tables)
	stopCurrent := slices.Contains(expanded, inc.collections[0].ID)
	inc.collections = append(inc.collections[:1], slices.DeleteFunc(inc.collections[1:], func(c SnapshotCollection) bool {
		return slices.Contains(expanded, c.ID)
	})...)
	if stopCurrent {
		inc.nextCollection()
	}
	log.Info("tables removed from the incremental snapshot", "tables", expanded)
	return nil
}

// Resume resumes a paused snapshot (resume-snapshot), reading its next
// chunk unless a chunk's watermarks are still on their way.
func (inc *Incremental) Resume(ctx context.Context, d Dialect, out Reads, log *slog.Logger) error {
	if !inc.Running() || !inc.paused {
		return nil
	}
	inc.paused = false
	log.Info("incremental snapshot resumed")
	if inc.awaitingClose {
		return nil
	}
	return inc.ReadChunk(ctx, d, out)
}

// CloseWindow handles the close watermark (id) of the current chunk: the
// rows left in the window are emitted and the next chunk is read.
// Watermarks of other chunks are ignored.
func (inc *Incremental) CloseWindow(ctx context.Context, id string, d Dialect, out Reads) error {
	if inc.chunkID == "" || id != inc.chunkID+"-close" {
		inc.log.Debug("watermark of another chunk ignored", "id", id, "chunk", inc.chunkID)
		return nil
	}
	if err := inc.emitWindow(ctx, out); err != nil {
		return err
	}
	return inc.ReadChunk(ctx, d, out)
}

// ReadChunk reads the next chunk: open watermark, chunk into the window,
// close watermark. Under insert_delete the window is emitted at once and
// the next chunk follows, until the snapshot ends.
func (inc *Incremental) ReadChunk(ctx context.Context, d Dialect, out Reads) error {
	for inc.Running() && !inc.paused {
		inc.chunkID = inc.newChunkID()
		inc.windowOpen, inc.awaitingClose = false, false
		opened := inc.now()
		if err := d.WriteWatermark(ctx, inc.chunkID+"-open", SignalWindowOpen, watermarkData(opened, time.Time{})); err != nil {
			return err
		}
		if err := inc.fillWindow(ctx, d); err != nil {
			return err
		}
		if !inc.deleteClose {
			inc.awaitingClose = true
			return d.WriteWatermark(ctx, inc.chunkID+"-close", SignalWindowClose, watermarkData(opened, inc.now()))
		}
		if err := d.DeleteWatermark(ctx, inc.chunkID+"-open"); err != nil {
			return err
		}
		if err := inc.emitWindow(ctx, out); err != nil {
			return err
		}
	}
	return nil
}

// watermarkData is the data column of a watermark row, Debezium's.
func watermarkData(opened, closed time.Time) string {
	if closed.IsZero() {
		return `{"openWindowTimestamp": "` + opened.UTC().Format(time.RFC3339Nano) + `"}`
	}
	return `{"openWindowTimestamp": "` + opened.UTC().Format(time.RFC3339Nano) +
		`", "closeWindowTimestamp": "` + closed.UTC().Format(time.RFC3339Nano) + `"}`
}

// emitWindow emits the rows left in the window as reads, each offset
// holding its row's key as the last sent.
func (inc *Incremental) emitWindow(ctx context.Context, out Reads) error {
	inc.windowOpen, inc.awaitingClose = false, false
	if inc.table == nil || len(inc.window.rows) == 0 {
		inc.window.clear()
		return nil
	}
	now := inc.now()
	source := out.ReadSource(now)
	events := inc.table.Events()
	batch := make([]*connect.Record, 0, len(inc.window.rows))
	for _, k := range inc.window.keys {
		row, ok := inc.window.rows[k]
		if !ok {
			continue
		}
		ev, err := events.Envelope(Change{Op: OpRead, After: row.Values, At: now, Source: source})
		if err != nil {
			return fmt.Errorf("incremental snapshot of %s: %w", inc.table.ID(), err)
		}
		inc.lastSent = row.Order
		off := out.ReadOffset(now)
		inc.Store(off)
		batch = append(batch, connect.NewSourceRecord(out.Partition(), off, ev.Topic, ev.KeySchema, ev.Key, ev.ValueSchema, ev.Value))
	}
	inc.window.clear()
	return out.Emit(ctx, batch)
}

// fillWindow reads the current table's next chunk into the window, moving
// on to the next table while the current one has no rows left.
func (inc *Incremental) fillWindow(ctx context.Context, d Dialect) error {
	inc.window.clear()
	for inc.Running() {
		if inc.table == nil {
			ct, err := d.OpenTable(ctx, inc.collections[0])
			if err != nil {
				return err
			}
			if ct == nil {
				inc.nextCollection()
				continue
			}
			inc.table = ct
		}
		ct := inc.table
		if inc.maxKey == nil {
			maxKey, err := d.MaximumKey(ctx, ct)
			if err != nil {
				return err
			}
			if inc.maxKey = maxKey; maxKey == nil {
				inc.log.Info("incremental snapshot of an empty table done", "table", ct.ID().String())
				inc.nextCollection()
				continue
			}
		}
		n, err := d.ReadChunk(ctx, ct, inc.chunkEnd, inc.maxKey, inc.chunkSize, func(row ChunkRow) error {
			inc.chunkEnd = row.Order
			if row.Values == nil {
				return nil
			}
			key, err := ct.Events().Key(row.Values)
			if err != nil {
				return fmt.Errorf("incremental snapshot of %s: %w", ct.ID(), err)
			}
			inc.window.add(key.String(), row)
			return nil
		})
		if err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
		inc.log.Info("incremental snapshot of a table done", "table", ct.ID().String())
		inc.nextCollection()
	}
	return nil
}

// newChunkID returns a random UUID naming a chunk's watermarks.
func newChunkID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
