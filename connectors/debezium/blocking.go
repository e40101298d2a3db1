package debezium

import (
	"context"
	"log/slog"

	"github.com/sluicehq/sluice/runtime/connect"
)

// BlockingReader is the database's part of a blocking snapshot: reading
// tables in one consistent view while the change stream waits.
type BlockingReader interface {
	// CapturedTables lists the captured tables, for the request's
	// patterns.
	CapturedTables(ctx context.Context) ([]TableID, error)
	// Begin starts the consistent view (Postgres: a REPEATABLE READ
	// transaction).
	Begin(ctx context.Context) error
	// ReadTable reads the rows of table that match condition ("" for
	// all), holding each read in held (HeldRead.Hold) and emitting those
	// it releases; it sets held.LastInTable after a table's last row.
	// firstTable says table is the snapshot's first.
	ReadTable(ctx context.Context, table TableID, condition string, firstTable bool, held *HeldRead) error
	// Commit ends the view after every table was read; Rollback ends it
	// after a failure.
	Commit(ctx context.Context) error
	Rollback(ctx context.Context)
	// Emit hands a batch of records on.
	Emit(ctx context.Context, batch []*connect.Record) error
}

// BlockingSnapshot runs an execute-snapshot signal of type blocking, as
// Debezium 2.4+ does: the change stream waits while the named tables the
// filter captures are read in one consistent view and emitted as an
// initial snapshot emits them (op r, source.snapshot first, true,
// last_in_data_collection, …, last). The stream then goes on from the
// signal, the changes made meanwhile following the reads.
func BlockingSnapshot(ctx context.Context, req SnapshotRequest, filter Filter, r BlockingReader, log *slog.Logger) error {
	captured, err := r.CapturedTables(ctx)
	if err != nil {
		return err
	}
	names := ExpandCollections(req.DataCollections, captured)
	var tables []TableID
	for _, name := range names {
		if id, ok := ParseTableID(name); ok && filter.Captures(id) {
			tables = append(tables, id)
		} else {
			log.Warn("blocking snapshot skips a table that is not captured", "table", name)
		}
	}
	if len(tables) == 0 {
		return nil
	}
	log.Info("blocking snapshot started; streaming waits", "tables", names)
	if err := r.Begin(ctx); err != nil {
		return err
	}
	if err := blockingReads(ctx, req, tables, r); err != nil {
		r.Rollback(context.WithoutCancel(ctx))
		return err
	}
	if err := r.Commit(ctx); err != nil {
		return err
	}
	log.Info("blocking snapshot completed; streaming goes on")
	return nil
}

// blockingReads reads the tables inside the snapshot's view.
func blockingReads(ctx context.Context, req SnapshotRequest, tables []TableID, r BlockingReader) error {
	var held HeldRead
	for i, id := range tables {
		if err := r.ReadTable(ctx, id, req.ConditionFor(id.String()), i == 0, &held); err != nil {
			return err
		}
	}
	if held.Record == nil {
		return nil
	}
	held.Release(true)
	return r.Emit(ctx, []*connect.Record{held.Record})
}
