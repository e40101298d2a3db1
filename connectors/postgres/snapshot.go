package postgres

import (
	"context"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sluicehq/sluice/runtime/connect"
)

// snapshot reads every captured table in the exported snapshot's
// transaction, emitting read events; the last one is marked "last".
func (t *sourceTask) snapshot(ctx context.Context) error {
	tables, err := capturedTables(ctx, t.conn, t.cfg.filter)
	if err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	var held *connect.Record // emitted once the next record shows it is not last
	for i, ref := range tables {
		if err := t.snapshotTable(ctx, ref, "sluice_snapshot_"+strconv.Itoa(i), &held); err != nil {
			return err
		}
	}
	if held != nil {
		markLast(held)
		if err := t.emit(ctx, []*connect.Record{held}); err != nil {
			return err
		}
	}
	if _, err := t.conn.Exec(ctx, "COMMIT"); err != nil {
		return fmt.Errorf("end snapshot transaction: %w", err)
	}
	return nil
}

// markLast turns r into the snapshot's last record; its offset map,
// shared with other records, is replaced, not changed.
func markLast(r *connect.Record) {
	r.SourceOffset = maps.Clone(r.SourceOffset)
	r.SourceOffset["last_snapshot_record"] = true
	src, _ := r.Value.(*connect.Struct).Get("source")
	src.(*connect.Struct).MustPut("snapshot", "last")
}

// snapshotTable reads one table through a cursor, snapshot.fetch.size rows
// at a time. Each table has its own cursor name, so that no cached FETCH
// statement describes another table's columns.
func (t *sourceTask) snapshotTable(ctx context.Context, ref tableRef, cursor string, held **connect.Record) error {
	table, err := describeTable(ctx, t.conn, ref)
	if err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	table = t.cfg.filter.capturedColumns(table)
	events, err := NewEvents(t.cfg.prefix, table, t.cfg.types)
	if err != nil {
		return fmt.Errorf("snapshot %s: %w", ref, err)
	}
	cols := make([]string, len(table.Columns))
	for i, c := range table.Columns {
		cols[i] = pgx.Identifier{c.Name}.Sanitize() + "::text"
	}
	if _, err := t.conn.Exec(ctx, "DECLARE "+cursor+" NO SCROLL CURSOR FOR SELECT "+strings.Join(cols, ", ")+" FROM "+ref.sanitized()); err != nil {
		return fmt.Errorf("snapshot %s: open cursor: %w", ref, err)
	}
	fetch := "FETCH FORWARD " + strconv.Itoa(t.cfg.fetchSize) + " FROM " + cursor
	for {
		batch, n, err := t.fetchChunk(ctx, fetch, events, held)
		if err != nil {
			return fmt.Errorf("snapshot %s: %w", ref, err)
		}
		if err := t.emit(ctx, batch); err != nil {
			return err
		}
		if n < t.cfg.fetchSize {
			break
		}
	}
	if _, err := t.conn.Exec(ctx, "CLOSE "+cursor); err != nil {
		return fmt.Errorf("snapshot %s: close cursor: %w", ref, err)
	}
	return nil
}

// fetchChunk fetches one chunk and returns the records ready to emit and
// the number of rows read.
func (t *sourceTask) fetchChunk(ctx context.Context, fetch string, events *Events, held **connect.Record) ([]*connect.Record, int, error) {
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
	offset := map[string]any{"lsn": int64(t.plan.consistentPoint), "snapshot": true, "last_snapshot_record": false}
	for rows.Next() {
		n++
		if err := rows.Scan(ptrs...); err != nil {
			return nil, 0, fmt.Errorf("read row: %w", err)
		}
		values, err := t.rowValues(events, texts)
		if err != nil {
			return nil, 0, err
		}
		ev, err := events.Envelope(Change{Op: OpRead, After: values, At: now, Source: Source{
			Version: connect.BuiltinVersion, Name: t.cfg.prefix, DB: t.cfg.db, Commit: now,
			Snapshot: "true", LSN: int64(t.plan.consistentPoint),
		}})
		if err != nil {
			return nil, 0, err
		}
		r := connect.NewSourceRecord(t.sourcePartition(), offset, ev.Topic, ev.KeySchema, ev.Key, ev.ValueSchema, ev.Value)
		if *held != nil {
			batch = append(batch, *held)
		}
		*held = r
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("fetch rows: %w", err)
	}
	return batch, n, nil
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
