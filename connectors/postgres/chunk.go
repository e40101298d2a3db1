package postgres

// The SQL side of incremental snapshots: chunk queries ordered by the
// table's key and bounded by the last key read and the table's maximum
// key, and the watermark rows.
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
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/connectors/debezium"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

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

// currentTable describes the current table at its first chunk; nil means
// it cannot be snapshotted (not captured, gone, without key), which is
// logged, as Debezium skips such a table.
func (t *sourceTask) currentTable(ctx context.Context) (*chunkTable, error) {
	inc := t.incr
	if inc.table != nil {
		return inc.table, nil
	}
	c := inc.collections[0]
	log := t.log.With("table", c.ID)
	ref, ok := debezium.ParseTableID(c.ID)
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
	if c.SurrogateKey != nil && *c.SurrogateKey != "" {
		order = []string{*c.SurrogateKey}
	}
	ct := &chunkTable{ref: ref, columns: selectList(table.Columns)}
	if c.Condition != nil {
		ct.where = *c.Condition
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
	inc.table = ct
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

// maximumKey reads the largest key of the rows the snapshot covers; nil
// when there are none.
func (t *sourceTask) maximumKey(ctx context.Context, ct *chunkTable) ([]string, error) {
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
	err := t.conn.QueryRow(ctx, q).Scan(ptrs...)
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

// chunkQuery returns the current chunk's SELECT and its arguments.
func (t *sourceTask) chunkQuery(ct *chunkTable) (string, []any) {
	inc := t.incr
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
	if inc.chunkEnd != nil {
		bound(">", inc.chunkEnd)
	}
	bound("<=", inc.maxKey)
	return "SELECT " + ct.columns + ", " + ct.orderText + " FROM " + sanitized(ct.ref) +
		" WHERE " + strings.Join(conds, " AND ") + " ORDER BY " + strings.Join(ct.order, ", ") +
		" LIMIT " + strconv.Itoa(t.cfg.signals.chunkSize), args
}

// selectChunk reads the next chunk into the window and returns how many
// rows it read.
func (t *sourceTask) selectChunk(ctx context.Context, ct *chunkTable) (int, error) {
	inc := t.incr
	q, args := t.chunkQuery(ct)
	rows, err := t.conn.Query(ctx, q, args...)
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
		order := derefAll(texts[ncols:])
		inc.chunkEnd = order
		values, err := t.rowValues(ct.events, texts[:ncols])
		if err != nil {
			if err := t.conversionFailed(ct.events, fmt.Errorf("incremental snapshot of %s: %w", ct.ref, err)); err != nil {
				return 0, err
			}
			continue
		}
		key, err := ct.events.Key(values)
		if err != nil {
			return 0, fmt.Errorf("incremental snapshot of %s: %w", ct.ref, err)
		}
		inc.window.add(key.String(), windowRow{values: values, order: order})
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("incremental snapshot of %s: read chunk: %w", ct.ref, err)
	}
	return n, nil
}

// writeWatermark inserts a watermark row into the signalling table, with
// Debezium's id, type and data.
func (t *sourceTask) writeWatermark(ctx context.Context, id, kind string, opened, closed time.Time) error {
	data := `{"openWindowTimestamp": "` + opened.UTC().Format(time.RFC3339Nano) + `"}`
	if !closed.IsZero() {
		data = `{"openWindowTimestamp": "` + opened.UTC().Format(time.RFC3339Nano) +
			`", "closeWindowTimestamp": "` + closed.UTC().Format(time.RFC3339Nano) + `"}`
	}
	ref := t.cfg.signals.table
	if _, err := t.conn.Exec(ctx, "INSERT INTO "+sanitized(*ref)+" VALUES ($1, $2, $3)", id, kind, data); err != nil {
		return fmt.Errorf("write watermark %s into %s: %w", id, ref, err)
	}
	return nil
}

// deleteWatermark deletes a chunk's open watermark (insert_delete).
func (t *sourceTask) deleteWatermark(ctx context.Context, id string) error {
	ref := t.cfg.signals.table
	if _, err := t.conn.Exec(ctx, "DELETE FROM "+sanitized(*ref)+" WHERE id = $1", id); err != nil {
		return fmt.Errorf("delete watermark %s from %s: %w", id, ref, err)
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
