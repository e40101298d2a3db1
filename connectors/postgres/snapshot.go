package postgres

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/sluicehq/sluice/connectors/debezium"
	"github.com/sluicehq/sluice/connectors/kit"
	"github.com/sluicehq/sluice/runtime/connect"
)

// snapshot reads every captured table in the exported snapshot's
// transaction, emitting read events marked as Debezium marks them.
func (t *sourceTask) snapshot(ctx context.Context) error {
	if err := kit.Sleep(ctx, t.cfg.snapshotDelay); err != nil {
		return err
	}
	tables, err := capturedTables(ctx, t.conn, t.cfg.filter, t.viaRoot)
	if err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	if len(t.cfg.snapshotOnly) > 0 {
		tables = slices.DeleteFunc(tables, func(r debezium.TableID) bool { return !debezium.MatchAny(t.cfg.snapshotOnly, r.String()) })
	}
	var held debezium.HeldRead // emitted once the next row shows what it is
	for i, ref := range tables {
		if err := t.snapshotTable(ctx, ref, "sluice_snapshot_"+strconv.Itoa(i), i == 0, &held); err != nil {
			return err
		}
	}
	if held.Record != nil {
		held.Release(true)
		if err := t.emit(ctx, []*connect.Record{held.Record}); err != nil {
			return err
		}
	}
	if _, err := t.conn.Exec(ctx, "COMMIT"); err != nil {
		return fmt.Errorf("end snapshot transaction: %w", err)
	}
	return nil
}

// snapshotTable reads one table through a cursor, snapshot.fetch.size rows
// at a time. Each table has its own cursor name, so that no cached FETCH
// statement describes another table's columns.
func (t *sourceTask) snapshotTable(ctx context.Context, ref debezium.TableID, cursor string, firstTable bool, held *debezium.HeldRead) error {
	table, err := describeTable(ctx, t.conn, ref)
	if err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	table = mappedColumns(capturedColumns(t.cfg.filter, table), t.cfg.types, t.log)
	events, err := t.newEvents(table)
	if err != nil {
		return fmt.Errorf("snapshot %s: %w", ref, err)
	}
	from := sanitized(ref)
	if q, ok := t.cfg.selectOverrides[ref.String()]; ok {
		from = "(" + q + ") AS sluice_snapshot_override"
	}
	if _, err := t.conn.Exec(ctx, "DECLARE "+cursor+" NO SCROLL CURSOR FOR SELECT "+selectList(table.Columns)+" FROM "+from); err != nil {
		return fmt.Errorf("snapshot %s: open cursor: %w", ref, err)
	}
	fetch := "FETCH FORWARD " + strconv.Itoa(t.cfg.fetchSize) + " FROM " + cursor
	pos := t.initialPosition()
	rows := 0
	for {
		batch, n, err := t.fetchChunk(ctx, fetch, events, firstTable, rows, held, pos)
		if err != nil {
			return fmt.Errorf("snapshot %s: %w", ref, err)
		}
		if err := t.emit(ctx, batch); err != nil {
			return err
		}
		rows += n
		if n < t.cfg.fetchSize {
			break
		}
	}
	if rows > 0 {
		held.LastInTable = true
	}
	if _, err := t.conn.Exec(ctx, "CLOSE "+cursor); err != nil {
		return fmt.Errorf("snapshot %s: close cursor: %w", ref, err)
	}
	return nil
}

// selectList reads every column in its text output form, as pgoutput
// sends it: col::text, except for char(n), whose cast to text drops the
// padding its output function keeps.
func selectList(cols []Column) string {
	list := make([]string, len(cols))
	for i, c := range cols {
		id := pgx.Identifier{c.Name}.Sanitize()
		if c.TypeOID == pgtype.BPCharOID {
			list[i] = "bpcharout(" + id + ")::text"
		} else {
			list[i] = id + "::text"
		}
	}
	return strings.Join(list, ", ")
}

// readPosition places snapshot reads: the source block's transaction,
// LSN and sequence, and the offset of each record read at a time.
// shareOffset lets a chunk's records share one offset map.
type readPosition struct {
	txID        int64
	lsn         int64
	sequence    string
	offset      func(now time.Time) map[string]any
	shareOffset bool
}

// initialPosition is where the initial snapshot's reads stand: the slot's
// consistent point, in the snapshot transaction. The records of a chunk
// share one offset map: nothing changes an offset once emitted (the
// last record's is replaced, see debezium.HeldRead.Release).
func (t *sourceTask) initialPosition() readPosition {
	lsn := int64(t.plan.consistentPoint)
	return readPosition{txID: t.plan.snapshotTxID, lsn: lsn, sequence: `[null,"` + strconv.FormatInt(lsn, 10) + `"]`,
		shareOffset: true, offset: func(now time.Time) map[string]any {
			return map[string]any{"lsn": lsn, "txId": t.plan.snapshotTxID, "ts_usec": now.UnixMicro(), "snapshot": true, debezium.LastSnapshotRecordKey: false}
		}}
}

// fetchChunk fetches one chunk and returns the records ready to emit and
// the number of rows read; before is the number of rows of the table read
// in earlier chunks.
func (t *sourceTask) fetchChunk(ctx context.Context, fetch string, events *Events, firstTable bool, before int, held *debezium.HeldRead, pos readPosition) ([]*connect.Record, int, error) {
	rows, err := t.conn.Query(ctx, fetch)
	if err != nil {
		return nil, 0, fmt.Errorf("fetch rows: %w", err)
	}
	defer rows.Close()
	var batch []*connect.Record
	n := 0
	texts := make([]*string, len(events.table.Columns))
	ptrs := make([]any, len(texts))
	for i := range texts {
		ptrs[i] = &texts[i]
	}
	now := time.Now()
	source := &Source{ // one per chunk, not one per row
		Version: connect.BuiltinVersion, Name: t.cfg.prefix, DB: t.cfg.db, Commit: now, Snapshot: "true",
		Sequence: pos.sequence, TxID: pos.txID, LSN: pos.lsn,
	}
	var shared map[string]any // the chunk's offset, when shared
	for rows.Next() {
		n++
		if err := rows.Scan(ptrs...); err != nil {
			return nil, 0, fmt.Errorf("read row: %w", err)
		}
		values, err := t.rowValues(events, texts)
		if err != nil {
			if err := t.conversionFailed(events, err); err != nil {
				return nil, 0, err
			}
			continue
		}
		ev, err := events.Envelope(debezium.Change{Op: debezium.OpRead, After: values, At: now, Source: source})
		if err != nil {
			return nil, 0, err
		}
		offset := shared
		if offset == nil {
			offset = pos.offset(now)
			if pos.shareOffset {
				shared = offset
			}
		}
		r := connect.NewSourceRecord(t.sourcePartition(), offset, ev.Topic, ev.KeySchema, ev.Key, ev.ValueSchema, ev.Value)
		batch = held.Hold(r, firstTable, before+n == 1, batch)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("fetch rows: %w", err)
	}
	return batch, n, nil
}

// newEvents builds a table's event schemas and the column masks that
// apply to it.
func (t *sourceTask) newEvents(table Table) (*Events, error) {
	events, err := NewEvents(t.cfg.prefix, t.cfg.markSourceTypes(table), t.cfg.types)
	if err != nil {
		return nil, err
	}
	events.ops = debezium.ColumnOps(t.cfg.masks, events.Table, events.RowSchema)
	return events, nil
}

// conversionFailed applies event.processing.failure.handling.mode to a
// row that could not be converted: nil means skip it.
func (t *sourceTask) conversionFailed(events *Events, err error) error {
	return debezium.ConversionFailed(t.cfg.failureMode, t.log, events.Table, err)
}

// rowValues converts a row's text values in column order; a null in a
// required column (a delete's non-key columns under REPLICA IDENTITY
// DEFAULT) becomes the schema's default or zero value.
func (t *sourceTask) rowValues(events *Events, texts []*string) ([]any, error) {
	out := make([]any, len(texts))
	for i, c := range events.table.Columns {
		v, err := ConvertText(c, texts[i], t.cfg.types)
		if err != nil {
			return nil, err
		}
		if v == nil {
			v = requiredFill(events.RowSchema.Fields[i].Schema)
		}
		if events.ops != nil && events.ops[i] != nil {
			if s, ok := v.(string); ok {
				v = events.ops[i].Apply(s)
			}
		}
		out[i] = v
	}
	return out, nil
}

// requiredFill is the value standing in for a null in a required column:
// nil when the schema accepts it, else the type's zero value (nil for
// logical and structured types, which then fail validation).
func requiredFill(s *connect.Schema) any {
	if s.Optional || s.Default != nil || s.Name != "" {
		return nil
	}
	switch s.Type {
	case connect.TypeInt16:
		return int16(0)
	case connect.TypeInt32:
		return int32(0)
	case connect.TypeInt64:
		return int64(0)
	case connect.TypeFloat32:
		return float32(0)
	case connect.TypeFloat64:
		return float64(0)
	case connect.TypeBoolean:
		return false
	case connect.TypeString:
		return ""
	case connect.TypeBytes:
		return []byte{}
	}
	return nil
}
