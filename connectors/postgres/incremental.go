package postgres

// Incremental snapshots, Debezium's (DDD-3, watermark-based): an
// execute-snapshot signal queues tables; each is read in chunks of
// incremental.snapshot.chunk.size rows ordered by its key, while streaming
// goes on. Per chunk the connector writes an open watermark row into the
// signalling table, selects the chunk into a window keyed by the record
// key, and writes a close watermark row:
//
//	WAL:  … open ── changes ── close …
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
// Progress is kept in every source offset while a snapshot runs, under
// Debezium's keys: incremental_snapshot_collections (the tables left, the
// current first, in Debezium's JSON), incremental_snapshot_primary_key
// (the key of the last row emitted) and incremental_snapshot_maximum_key
// (the largest key when the table's snapshot began). Keys are JSON arrays
// of the key columns' text, not Debezium's serialized Java arrays: an
// offset Debezium wrote restarts its current table from the beginning.

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"time"

	"github.com/sluicehq/sluice/connectors/debezium"

	"github.com/jackc/pglogrepl"

	"github.com/sluicehq/sluice/runtime/connect"
)

// Offset keys of an incremental snapshot, Debezium's.
const (
	incrementalCollectionsKey = "incremental_snapshot_collections"
	incrementalPrimaryKeyKey  = "incremental_snapshot_primary_key"
	incrementalMaximumKeyKey  = "incremental_snapshot_maximum_key"
	incrementalCorrelationKey = "incremental_snapshot_correlation_id"
)

// incremental is the state of signals and of the incremental snapshot,
// owned by run's goroutine.
type incremental struct {
	collections   []snapshotCollection // tables left, the current first
	correlationID string               // id of the signal that started the snapshot
	lastSent      []string             // key of the last row emitted; nil at a table's start
	chunkEnd      []string             // key of the last row the current chunk read
	maxKey        []string             // largest key when the current table's snapshot began
	table         *chunkTable          // the current table, described at its first chunk
	chunkID       string               // id of the current chunk's watermarks
	windowOpen    bool                 // its open watermark arrived
	awaitingClose bool                 // its close watermark is still to come
	paused        bool
	window        window
	pending       []signal // signals of the transaction being decoded
	// kafkaOffset is the signal topic offset of the last Kafka signal
	// acted on, when kafkaSeen.
	kafkaOffset int64
	kafkaSeen   bool
	log         *slog.Logger // the task's
}

// snapshotCollection is a table queued for the incremental snapshot, in
// the JSON Debezium stores in incremental_snapshot_collections.
type snapshotCollection struct {
	ID           string  `json:"incremental_snapshot_collections_id"`
	Condition    *string `json:"incremental_snapshot_collections_additional_condition"`
	SurrogateKey *string `json:"incremental_snapshot_collections_surrogate_key"`
}

// window holds a chunk's rows by record key, in key order.
type window struct {
	keys []string
	rows map[string]windowRow
}

// windowRow is a row of the chunk: its values in column order and its
// chunk-ordering key.
type windowRow struct {
	values []any
	order  []string
}

func (w *window) add(key string, row windowRow) {
	if w.rows == nil {
		w.rows = map[string]windowRow{}
	}
	if _, dup := w.rows[key]; !dup {
		w.keys = append(w.keys, key)
	}
	w.rows[key] = row
}

func (w *window) clear() { *w = window{} }

// running reports whether an incremental snapshot has tables left.
func (inc *incremental) running() bool { return inc != nil && len(inc.collections) > 0 }

// position is where records emitted between transactions (snapshot
// reads) are in the stream: their offset resumes streaming there.
type position struct {
	lsn pglogrepl.LSN
	xid uint32
	// partialTx and partialRecords carry a resume point inside a partly
	// delivered transaction (see txLSNKey).
	partialTx      pglogrepl.LSN
	partialRecords int64
}

// offset is the source offset of a record emitted at p.
func (p position) offset(now time.Time) map[string]any {
	off := map[string]any{"lsn": int64(p.lsn), "lsn_commit": int64(p.lsn), "ts_usec": now.UnixMicro()}
	if p.xid != 0 {
		off["txId"] = int64(p.xid)
	}
	if p.partialTx != 0 {
		off[txLSNKey], off[txRecordsKey] = int64(p.partialTx), p.partialRecords
	}
	return off
}

// store adds the snapshot's progress to an offset while it runs.
func (inc *incremental) store(off map[string]any) {
	if !inc.running() {
		return
	}
	cols, _ := json.Marshal(inc.collections)
	off[incrementalCollectionsKey] = string(cols)
	off[incrementalPrimaryKeyKey] = encodeKey(inc.lastSent)
	off[incrementalMaximumKeyKey] = encodeKey(inc.maxKey)
	off[incrementalCorrelationKey] = nil
	if inc.correlationID != "" {
		off[incrementalCorrelationKey] = inc.correlationID
	}
}

// load restores the progress an offset holds.
func (inc *incremental) load(off map[string]any) {
	s, _ := off[incrementalCollectionsKey].(string)
	if s == "" {
		return
	}
	if err := json.Unmarshal([]byte(s), &inc.collections); err != nil {
		orDiscard(inc.log).Warn("incremental snapshot in the offset not resumed: unreadable tables", "value", s, "error", err)
		inc.collections = nil
		return
	}
	inc.correlationID, _ = off[incrementalCorrelationKey].(string)
	last, errLast := decodeKey(off[incrementalPrimaryKeyKey])
	maxKey, errMax := decodeKey(off[incrementalMaximumKeyKey])
	if errLast != nil || errMax != nil {
		orDiscard(inc.log).Warn("incremental snapshot resumes its current table from the beginning: its keys in the offset are not Sluice's",
			"table", inc.collections[0].ID)
		return
	}
	inc.lastSent, inc.chunkEnd, inc.maxKey = last, last, maxKey
}

// encodeKey renders a key for an offset: a JSON array of the key columns'
// text, or nil.
func encodeKey(key []string) any {
	if key == nil {
		return nil
	}
	b, _ := json.Marshal(key)
	return string(b)
}

func decodeKey(v any) ([]string, error) {
	s, _ := v.(string)
	if v == nil || s == "" {
		return nil, nil
	}
	var key []string
	if err := json.Unmarshal([]byte(s), &key); err != nil {
		return nil, err
	}
	return key, nil
}

// nextCollection moves on to the next table.
func (inc *incremental) nextCollection() {
	inc.collections = inc.collections[1:]
	inc.resetTable()
	if !inc.running() {
		orDiscard(inc.log).Info("incremental snapshot completed", "signal", inc.correlationID)
		inc.correlationID = ""
	}
}

// resetTable forgets the current table's progress and chunk.
func (inc *incremental) resetTable() {
	inc.lastSent, inc.chunkEnd, inc.maxKey, inc.table = nil, nil, nil, nil
	inc.window.clear()
}

// openWindow opens the current chunk's window when its open watermark
// arrives; watermarks of other chunks (replayed after a restart) are
// ignored.
func (inc *incremental) openWindow(id string) {
	if inc.chunkID == "" || id != inc.chunkID+"-open" {
		orDiscard(inc.log).Debug("watermark of another chunk ignored", "id", id, "chunk", inc.chunkID)
		return
	}
	inc.windowOpen = true
}

// dedup removes from an open window the row a streamed change is about:
// the change is newer than the chunk's read of it. A truncate of the
// table empties the window.
func (inc *incremental) dedup(ref debezium.TableID, op debezium.Op, key any) {
	if !inc.windowOpen || inc.table == nil || inc.table.ref != ref {
		return
	}
	if op == debezium.OpTruncate {
		inc.window.clear()
		return
	}
	if k, ok := key.(*connect.Struct); ok {
		delete(inc.window.rows, k.String())
	}
}

func (inc *incremental) pause(log *slog.Logger) {
	if inc.running() && !inc.paused {
		inc.paused = true
		log.Info("incremental snapshot paused")
	}
}

// startSignals sets up signals before streaming: it restores the offset of
// the last Kafka signal and resumes an incremental snapshot the committed
// offset holds, reading its next chunk. A task that
// just snapshotted, or does not stream, starts with none.
func (t *sourceTask) startSignals(ctx context.Context) error {
	t.incr = nil
	if (t.cfg.signals.table == nil && t.cfg.signals.kafka == nil) || !t.plan.stream {
		return nil
	}
	t.incr = &incremental{log: t.log}
	if t.cfg.signals.source && t.cfg.signals.table != nil {
		if err := t.checkSignalTable(ctx); err != nil {
			return err
		}
	}
	off, err := t.ctx.Offset(t.sourcePartition())
	if err != nil {
		return fmt.Errorf("read committed offset: %w", err)
	}
	t.incr.loadSignalOffset(off)
	if t.plan.snapshot || t.cfg.signals.table == nil {
		return nil
	}
	if t.incr.load(off); !t.incr.running() {
		return nil
	}
	t.log.Info("resuming incremental snapshot", "table", t.incr.collections[0].ID, "after", t.incr.lastSent)
	at := position{lsn: t.resume.lsn, partialTx: t.resume.partialTx, partialRecords: t.resume.partialRecords}
	return t.readChunk(ctx, at)
}

// startIncremental queues the requested tables; a snapshot not yet
// running starts with its first chunk.
func (t *sourceTask) startIncremental(ctx context.Context, id string, req snapshotRequest, at position, log *slog.Logger) error {
	inc := t.incr
	wasRunning := inc.running()
	names, err := t.expandCollections(ctx, req.DataCollections)
	if err != nil {
		return err
	}
	for _, name := range names {
		c := snapshotCollection{ID: name}
		if cond := req.conditionFor(name); cond != "" {
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
		return nil
	}
	inc.paused = false // a pause ends with the snapshot it paused
	return t.readChunk(ctx, at)
}

// stopIncremental stops the snapshot, or drops the named tables from it.
// The current chunk's reads are dropped with its table.
func (t *sourceTask) stopIncremental(ctx context.Context, names []string, log *slog.Logger) error {
	inc := t.incr
	if !inc.running() {
		log.Warn("no incremental snapshot running; stop-snapshot ignored")
		return nil
	}
	if len(names) == 0 {
		inc.collections, inc.correlationID = nil, ""
		inc.resetTable()
		log.Info("incremental snapshot stopped")
		return nil
	}
	expanded, err := t.expandCollections(ctx, names)
	if err != nil {
		return err
	}
	stopCurrent := slices.Contains(expanded, inc.collections[0].ID)
	inc.collections = append(inc.collections[:1], slices.DeleteFunc(inc.collections[1:], func(c snapshotCollection) bool {
		return slices.Contains(expanded, c.ID)
	})...)
	if stopCurrent {
		inc.nextCollection()
	}
	log.Info("tables removed from the incremental snapshot", "tables", expanded)
	return nil
}

// resumeIncremental resumes a paused snapshot, reading its next chunk
// unless a chunk's watermarks are still on their way.
func (t *sourceTask) resumeIncremental(ctx context.Context, at position, log *slog.Logger) error {
	inc := t.incr
	if !inc.running() || !inc.paused {
		return nil
	}
	inc.paused = false
	log.Info("incremental snapshot resumed")
	if inc.awaitingClose {
		return nil
	}
	return t.readChunk(ctx, at)
}

// closeWindow handles the close watermark of the current chunk: the rows
// left in the window are emitted and the next chunk is read.
func (t *sourceTask) closeWindow(ctx context.Context, id string, at position) error {
	inc := t.incr
	if inc.chunkID == "" || id != inc.chunkID+"-close" {
		t.log.Debug("watermark of another chunk ignored", "id", id, "chunk", inc.chunkID)
		return nil
	}
	if err := t.emitWindow(ctx, at); err != nil {
		return err
	}
	return t.readChunk(ctx, at)
}

// readChunk reads the next chunk: open watermark, SELECT into the window,
// close watermark. Under insert_delete the window is emitted at once and
// the next chunk follows, until the snapshot ends.
func (t *sourceTask) readChunk(ctx context.Context, at position) error {
	inc := t.incr
	for inc.running() && !inc.paused {
		inc.chunkID = newChunkID()
		inc.windowOpen, inc.awaitingClose = false, false
		opened := time.Now()
		if err := t.writeWatermark(ctx, inc.chunkID+"-open", signalWindowOpen, opened, time.Time{}); err != nil {
			return err
		}
		if err := t.fillWindow(ctx); err != nil {
			return err
		}
		if !t.cfg.signals.deleteClose {
			inc.awaitingClose = true
			return t.writeWatermark(ctx, inc.chunkID+"-close", signalWindowClose, opened, time.Now())
		}
		if err := t.deleteWatermark(ctx, inc.chunkID+"-open"); err != nil {
			return err
		}
		if err := t.emitWindow(ctx, at); err != nil {
			return err
		}
	}
	return nil
}

// emitWindow emits the rows left in the window as reads marked
// "incremental", each offset holding its row's key as the last sent.
func (t *sourceTask) emitWindow(ctx context.Context, at position) error {
	inc := t.incr
	inc.windowOpen, inc.awaitingClose = false, false
	if inc.table == nil || len(inc.window.rows) == 0 {
		inc.window.clear()
		return nil
	}
	now := time.Now()
	lsn := int64(at.lsn)
	source := Source{
		Version: connect.BuiltinVersion, Name: t.cfg.prefix, DB: t.cfg.db, Commit: now, Snapshot: "incremental",
		Sequence: `["` + strconv.FormatInt(lsn, 10) + `","` + strconv.FormatInt(lsn, 10) + `"]`, TxID: int64(at.xid), LSN: lsn,
	}
	batch := make([]*connect.Record, 0, len(inc.window.rows))
	for _, k := range inc.window.keys {
		row, ok := inc.window.rows[k]
		if !ok {
			continue
		}
		ev, err := inc.table.events.Envelope(debezium.Change{Op: debezium.OpRead, After: row.values, At: now, Source: source})
		if err != nil {
			return fmt.Errorf("incremental snapshot of %s: %w", inc.table.ref, err)
		}
		inc.lastSent = row.order
		off := at.offset(now)
		inc.store(off)
		batch = append(batch, connect.NewSourceRecord(t.sourcePartition(), off, ev.Topic, ev.KeySchema, ev.Key, ev.ValueSchema, ev.Value))
	}
	inc.window.clear()
	return t.emit(ctx, batch)
}

// fillWindow reads the current table's next chunk into the window, moving
// on to the next table while the current one has no rows left.
func (t *sourceTask) fillWindow(ctx context.Context) error {
	inc := t.incr
	inc.window.clear()
	for inc.running() {
		ct, err := t.currentTable(ctx)
		if err != nil {
			return err
		}
		if ct == nil {
			inc.nextCollection()
			continue
		}
		if inc.maxKey == nil {
			if inc.maxKey, err = t.maximumKey(ctx, ct); err != nil {
				return err
			}
			if inc.maxKey == nil {
				t.log.Info("incremental snapshot of an empty table done", "table", ct.ref.String())
				inc.nextCollection()
				continue
			}
		}
		n, err := t.selectChunk(ctx, ct)
		if err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
		t.log.Info("incremental snapshot of a table done", "table", ct.ref.String())
		inc.nextCollection()
	}
	return nil
}
