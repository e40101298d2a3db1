package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strconv"

	"github.com/sluicehq/sluice/connectors/debezium"
)

// blockingSnapshot runs an execute-snapshot signal of type blocking (see
// debezium.BlockingSnapshot): the tables are read in one REPEATABLE READ
// transaction. The reads' offsets are the signal's position: a restart
// during the snapshot goes on streaming without finishing it.
func (t *sourceTask) blockingSnapshot(ctx context.Context, req debezium.SnapshotRequest, at position, log *slog.Logger) error {
	return debezium.BlockingSnapshot(ctx, req, t.cfg.filter, blocking{chunks: t.chunks(at)}, log)
}

// blocking is the task's debezium.BlockingReader for a signal at a
// position.
type blocking struct{ chunks }

// Begin implements debezium.BlockingReader.
func (b blocking) Begin(ctx context.Context) error {
	if _, err := b.t.conn.Exec(ctx, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"); err != nil {
		return fmt.Errorf("begin blocking snapshot: %w", err)
	}
	return nil
}

// Commit implements debezium.BlockingReader.
func (b blocking) Commit(ctx context.Context) error {
	if _, err := b.t.conn.Exec(ctx, "COMMIT"); err != nil {
		return fmt.Errorf("end blocking snapshot: %w", err)
	}
	return nil
}

// Rollback implements debezium.BlockingReader.
func (b blocking) Rollback(ctx context.Context) { _, _ = b.t.conn.Exec(ctx, "ROLLBACK") }

// ReadTable implements debezium.BlockingReader.
func (b blocking) ReadTable(ctx context.Context, table debezium.TableID, condition string, firstTable bool, held *debezium.HeldRead) error {
	return b.t.blockingTable(ctx, table, condition, firstTable, held, b.at)
}

// blockingTable reads one table through a cursor, snapshot.fetch.size rows
// at a time. The cursor's name is new each time, so that no cached FETCH
// statement describes another table's columns.
func (t *sourceTask) blockingTable(ctx context.Context, ref debezium.TableID, cond string, firstTable bool, held *debezium.HeldRead, at position) error {
	desc, err := describeTable(ctx, t.conn, ref)
	if err != nil {
		return fmt.Errorf("blocking snapshot: %w", err)
	}
	table := mappedColumns(capturedColumns(t.cfg.filter, desc), t.cfg.types, t.log)
	events, err := t.newEvents(table)
	if err != nil {
		return fmt.Errorf("blocking snapshot of %s: %w", ref, err)
	}
	var id [8]byte
	_, _ = rand.Read(id[:])
	cursor := "sluice_blocking_" + hex.EncodeToString(id[:])
	q := "SELECT " + selectList(table.Columns) + " FROM " + sanitized(ref)
	if cond != "" {
		q += " WHERE (" + cond + ")"
	}
	if _, err := t.conn.Exec(ctx, "DECLARE "+cursor+" NO SCROLL CURSOR FOR "+q); err != nil {
		return fmt.Errorf("blocking snapshot of %s: open cursor: %w", ref, err)
	}
	fetch := "FETCH FORWARD " + strconv.Itoa(t.cfg.fetchSize) + " FROM " + cursor
	for rows := 0; ; {
		batch, n, err := t.fetchChunk(ctx, fetch, events, firstTable, rows, held, at.readPosition())
		if err != nil {
			return fmt.Errorf("blocking snapshot of %s: %w", ref, err)
		}
		if err := t.emit(ctx, batch); err != nil {
			return err
		}
		if rows += n; n < t.cfg.fetchSize {
			held.LastInTable = held.LastInTable || rows > 0
			break
		}
	}
	if _, err := t.conn.Exec(ctx, "CLOSE "+cursor); err != nil {
		return fmt.Errorf("blocking snapshot of %s: close cursor: %w", ref, err)
	}
	return nil
}

// readPosition places a blocking snapshot's reads at the signal's
// position; each record gets an offset map of its own, which the running
// incremental snapshot's progress may be added to.
func (p position) readPosition() readPosition {
	lsn := strconv.FormatInt(int64(p.lsn), 10)
	return readPosition{txID: int64(p.xid), lsn: int64(p.lsn), sequence: `["` + lsn + `","` + lsn + `"]`, offset: p.offset}
}
