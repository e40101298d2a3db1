package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strconv"

	"github.com/sluicehq/sluice/connectors/debezium"

	"github.com/sluicehq/sluice/runtime/connect"
)

// blockingSnapshot runs an execute-snapshot signal of type blocking, as
// Debezium 2.4+ does: streaming waits while the named tables are read in
// one REPEATABLE READ transaction and emitted as an initial snapshot emits
// them (op r, source.snapshot first, true, last_in_data_collection, …,
// last). Streaming then goes on from the signal, replaying the changes
// made meanwhile after the reads. The reads' offsets are the signal's
// position: a restart during the snapshot goes on streaming without
// finishing it.
func (t *sourceTask) blockingSnapshot(ctx context.Context, req debezium.SnapshotRequest, at position, log *slog.Logger) error {
	names, err := t.expandCollections(ctx, req.DataCollections)
	if err != nil {
		return err
	}
	var refs []debezium.TableID
	for _, name := range names {
		if ref, ok := debezium.ParseTableID(name); ok && t.cfg.filter.Captures(ref) {
			refs = append(refs, ref)
		} else {
			log.Warn("blocking snapshot skips a table that is not captured", "table", name)
		}
	}
	if len(refs) == 0 {
		return nil
	}
	log.Info("blocking snapshot started; streaming waits", "tables", names)
	if _, err := t.conn.Exec(ctx, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"); err != nil {
		return fmt.Errorf("begin blocking snapshot: %w", err)
	}
	if err := t.blockingReads(ctx, req, refs, at); err != nil {
		_, _ = t.conn.Exec(context.WithoutCancel(ctx), "ROLLBACK")
		return err
	}
	if _, err := t.conn.Exec(ctx, "COMMIT"); err != nil {
		return fmt.Errorf("end blocking snapshot: %w", err)
	}
	log.Info("blocking snapshot completed; streaming goes on")
	return nil
}

// blockingReads reads the tables inside the snapshot's transaction.
func (t *sourceTask) blockingReads(ctx context.Context, req debezium.SnapshotRequest, refs []debezium.TableID, at position) error {
	var held debezium.HeldRead
	for i, ref := range refs {
		if err := t.blockingTable(ctx, ref, req.ConditionFor(ref.String()), i == 0, &held, at); err != nil {
			return err
		}
	}
	if held.Record == nil {
		return nil
	}
	held.Release(true)
	return t.emit(ctx, []*connect.Record{held.Record})
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
