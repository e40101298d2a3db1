package postgres

// The SQL side of incremental snapshots, Postgres's debezium.Dialect:
// chunk queries ordered by the table's key and bounded by the last key
// read and the table's maximum key, and the watermark rows.
//
//	SELECT <columns>, <key>::text FROM t
//	WHERE (<additional condition>) AND (k1, k2) > ($1::text::<type>, $2::text::<type>)
//	  AND (k1, k2) <= ($3::text::<type>, $4::text::<type>)
//	ORDER BY k1, k2 LIMIT <incremental.snapshot.chunk.size>
//
// Keys travel as the text of their columns (the offsets keep them so), cast
// back to the column's type on the server, which orders them.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sluicehq/sluice/connectors/debezium"
	"github.com/sluicehq/sluice/runtime/connect"
)

// chunks is the task's debezium.SignalTarget (Dialect and Reads) for a
// signal at position at.
type chunks struct {
	t  *sourceTask
	at position
}

func (t *sourceTask) chunks(at position) chunks { return chunks{t: t, at: at} }

var _ debezium.SignalTarget = chunks{}

// chunkTable is a table being snapshotted incrementally, as its chunk
// queries need it.
type chunkTable struct {
	ref    debezium.TableID
	events *Events
	// columns is the captured columns' select list, as snapshots read it.
	columns string
	// order holds the chunk-ordering columns (the record key, or the
	// surrogate key), qualified; orderText selects their text; casts are
	// their types.
	order     []string
	orderText string
	casts     []string
	where     string // the additional condition; "" for none
}

// ID implements debezium.ChunkTable.
func (ct *chunkTable) ID() debezium.TableID { return ct.ref }

// Events implements debezium.ChunkTable.
func (ct *chunkTable) Events() *debezium.Events { return &ct.events.Events }

// OpenTable implements debezium.Dialect: it describes the table; nil
// means it cannot be snapshotted (not captured, gone, without key), which
// is logged, as Debezium skips such a table.
func (c chunks) OpenTable(ctx context.Context, col debezium.SnapshotCollection) (debezium.ChunkTable, error) {
	t := c.t
	log := t.log.With("table", col.ID)
	ref, ok := debezium.ParseTableID(col.ID)
	if !ok || !t.cfg.filter.Captures(ref) {
		log.Warn("incremental snapshot skips a table that is not captured")
		return nil, nil
	}
	desc, err := describeTable(ctx, t.conn, ref)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && (pgErr.Code == "42P01" || pgErr.Code == "3F000") {
		log.Warn("incremental snapshot skips a table that does not exist")
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("incremental snapshot: %w", err)
	}
	table := mappedColumns(capturedColumns(t.cfg.filter, desc), t.cfg.types, t.log)
	if len(table.KeyColumns) == 0 {
		log.Warn("incremental snapshot skips a table without primary key (message.key.columns can give it one)")
		return nil, nil
	}
	order := table.KeyColumns
	if col.SurrogateKey != nil && *col.SurrogateKey != "" {
		order = []string{*col.SurrogateKey}
	}
	ct := &chunkTable{ref: ref, columns: selectList(table.Columns)}
	if col.Condition != nil {
		ct.where = *col.Condition
	}
	if ct.events, err = t.newEvents(table); err != nil {
		return nil, fmt.Errorf("incremental snapshot of %s: %w", ref, err)
	}
	if err := t.orderColumns(ctx, ct, desc, order); err != nil {
		return nil, err
	}
	if ct.order == nil {
		log.Warn("incremental snapshot skips a table without its surrogate-key column", "column", order[0])
		return nil, nil
	}
	return ct, nil
}

// orderColumns fills the chunk-ordering columns of ct from their names;
// ct.order stays nil when one is not a column of desc.
func (t *sourceTask) orderColumns(ctx context.Context, ct *chunkTable, desc Table, names []string) error {
	cols := make([]Column, 0, len(names))
	for _, name := range names {
		i := slices.IndexFunc(desc.Columns, func(c Column) bool { return c.Name == name })
		if i < 0 {
			return nil
		}
		cols = append(cols, desc.Columns[i])
	}
	for _, c := range cols {
		var typ string
		err := t.conn.QueryRow(ctx, "SELECT format_type($1::oid, $2::int)", c.TypeOID, c.TypeMod).Scan(&typ)
		if err != nil {
			return fmt.Errorf("incremental snapshot of %s: read type of %s: %w", ct.ref, c.Name, err)
		}
		// Qualified, so that ORDER BY means the column, not the text
		// output column of the same name.
		ct.order = append(ct.order, pgx.Identifier{ct.ref.Schema, ct.ref.Name, c.Name}.Sanitize())
		ct.casts = append(ct.casts, typ)
	}
	ct.orderText = selectList(cols)
	return nil
}

// MaximumKey implements debezium.Dialect.
func (c chunks) MaximumKey(ctx context.Context, table debezium.ChunkTable) ([]string, error) {
	ct := table.(*chunkTable)
	q := "SELECT " + ct.orderText + " FROM " + sanitized(ct.ref)
	if ct.where != "" {
		q += " WHERE (" + ct.where + ")"
	}
	q += " ORDER BY " + strings.Join(ct.order, " DESC, ") + " DESC LIMIT 1"
	texts := make([]*string, len(ct.order))
	ptrs := make([]any, len(texts))
	for i := range texts {
		ptrs[i] = &texts[i]
	}
	err := c.t.conn.QueryRow(ctx, q).Scan(ptrs...)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("incremental snapshot of %s: read maximum key: %w", ct.ref, err)
	}
	return derefAll(texts), nil
}

// derefAll returns the strings, "" for nulls.
func derefAll(texts []*string) []string {
	out := make([]string, len(texts))
	for i, s := range texts {
		if s != nil {
			out[i] = *s
		}
	}
	return out
}

// chunkQuery returns the SELECT of a chunk after key after (nil: from the
// start) up to key last, and its arguments.
func (ct *chunkTable) chunkQuery(after, last []string, limit int) (string, []any) {
	var conds []string
	var args []any
	bound := func(op string, key []string) {
		params := make([]string, len(key))
		for i, k := range key {
			args = append(args, k)
			params[i] = "$" + strconv.Itoa(len(args)) + "::text::" + ct.casts[i]
		}
		conds = append(conds, "("+strings.Join(ct.order, ", ")+") "+op+" ("+strings.Join(params, ", ")+")")
	}
	if ct.where != "" {
		conds = append(conds, "("+ct.where+")")
	}
	if after != nil {
		bound(">", after)
	}
	bound("<=", last)
	return "SELECT " + ct.columns + ", " + ct.orderText + " FROM " + sanitized(ct.ref) +
		" WHERE " + strings.Join(conds, " AND ") + " ORDER BY " + strings.Join(ct.order, ", ") +
		" LIMIT " + strconv.Itoa(limit), args
}

// ReadChunk implements debezium.Dialect; a row that cannot be converted
// is handed on without values, or fails the read, as
// event.processing.failure.handling.mode says.
func (c chunks) ReadChunk(ctx context.Context, table debezium.ChunkTable, after, last []string, limit int, row func(debezium.ChunkRow) error) (int, error) {
	ct := table.(*chunkTable)
	q, args := ct.chunkQuery(after, last, limit)
	rows, err := c.t.conn.Query(ctx, q, args...)
	if err != nil {
		return 0, fmt.Errorf("incremental snapshot of %s: read chunk: %w", ct.ref, err)
	}
	defer rows.Close()
	ncols := len(ct.events.table.Columns)
	texts := make([]*string, ncols+len(ct.order))
	ptrs := make([]any, len(texts))
	for i := range texts {
		ptrs[i] = &texts[i]
	}
	n := 0
	for rows.Next() {
		n++
		if err := rows.Scan(ptrs...); err != nil {
			return 0, fmt.Errorf("incremental snapshot of %s: read row: %w", ct.ref, err)
		}
		r := debezium.ChunkRow{Order: derefAll(texts[ncols:])}
		if r.Values, err = c.t.rowValues(ct.events, texts[:ncols]); err != nil {
			if err := c.t.conversionFailed(ct.events, fmt.Errorf("incremental snapshot of %s: %w", ct.ref, err)); err != nil {
				return 0, err
			}
			r.Values = nil
		}
		if err := row(r); err != nil {
			return 0, err
		}
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("incremental snapshot of %s: read chunk: %w", ct.ref, err)
	}
	return n, nil
}

// WriteWatermark implements debezium.Dialect: it inserts a row into the
// signalling table.
func (c chunks) WriteWatermark(ctx context.Context, id, kind, data string) error {
	ref := c.t.cfg.signals.Table
	if _, err := c.t.conn.Exec(ctx, "INSERT INTO "+sanitized(*ref)+" VALUES ($1, $2, $3)", id, kind, data); err != nil {
		return fmt.Errorf("write watermark %s into %s: %w", id, ref, err)
	}
	return nil
}

// DeleteWatermark implements debezium.Dialect (insert_delete).
func (c chunks) DeleteWatermark(ctx context.Context, id string) error {
	ref := c.t.cfg.signals.Table
	if _, err := c.t.conn.Exec(ctx, "DELETE FROM "+sanitized(*ref)+" WHERE id = $1", id); err != nil {
		return fmt.Errorf("delete watermark %s from %s: %w", id, ref, err)
	}
	return nil
}

// CapturedTables implements debezium.Dialect.
func (c chunks) CapturedTables(ctx context.Context) ([]debezium.TableID, error) {
	return capturedTables(ctx, c.t.conn, c.t.cfg.filter, c.t.viaRoot)
}

// ReadSource implements debezium.Reads: reads are at the position of the
// signal or watermark that caused them.
func (c chunks) ReadSource(now time.Time) debezium.SourceBlock {
	lsn := int64(c.at.lsn)
	return &Source{
		Version: connect.BuiltinVersion, Name: c.t.cfg.prefix, DB: c.t.cfg.db, Commit: now, Snapshot: "incremental",
		Sequence: `["` + strconv.FormatInt(lsn, 10) + `","` + strconv.FormatInt(lsn, 10) + `"]`, TxID: int64(c.at.xid), LSN: lsn,
	}
}

// ReadOffset implements debezium.Reads.
func (c chunks) ReadOffset(now time.Time) map[string]any { return c.at.offset(now) }

// Partition implements debezium.Reads.
func (c chunks) Partition() map[string]any { return c.t.sourcePartition() }

// Emit implements debezium.Reads.
func (c chunks) Emit(ctx context.Context, batch []*connect.Record) error { return c.t.emit(ctx, batch) }

// BlockingSnapshot implements debezium.SignalTarget.
func (c chunks) BlockingSnapshot(ctx context.Context, req debezium.SnapshotRequest, log *slog.Logger) error {
	return c.t.blockingSnapshot(ctx, req, c.at, log)
}

// Position implements debezium.SignalTarget.
func (c chunks) Position() []any { return []any{"lsn", c.at.lsn.String()} }
