package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sluicehq/sluice/connectors/kit"
	"github.com/sluicehq/sluice/runtime/connect"
)

// sourceTask snapshots the captured tables, then streams their changes
// from the replication slot. One goroutine (run) owns both connections
// and hands batches of records to Poll.
type sourceTask struct {
	cfg     taskConfig
	ctx     connect.SourceTaskContext
	conn    *pgx.Conn      // queries: catalog, snapshot, heartbeat action
	repl    *pgconn.PgConn // replication=database
	resume  resumePoint    // from the committed offset
	plan    snapshotPlan   // what Start decided
	viaRoot bool           // the publication publishes partitions via their root
	batches *kit.Queue     // run's batches for Poll
	done    chan struct{}
	err     error // run's error, read after done is closed
	cancel  context.CancelFunc
	confirm atomic.Uint64 // LSN the committed offsets allow confirming
	stopped sync.Once
	// partition is the source partition every record carries, one map
	// shared by all of them.
	partition map[string]any
	// msgBlock and msgValue are the message event schemas, built on the
	// first logical decoding message.
	msgBlock, msgValue *connect.Schema
	// incr is the state of signals and incremental snapshots, owned by
	// run's goroutine; nil without signal.data.collection.
	incr *incremental
	log  *slog.Logger // names the connector and task
	// createdSlot says this task created the slot: it is its own even
	// before any offset was committed. usesSlot says it streams from one.
	createdSlot, usesSlot bool
}

// resumePoint is what a committed offset says.
type resumePoint struct {
	found            bool
	lsn              pglogrepl.LSN
	snapshotComplete bool // false while a snapshot was in progress
	// partialTx is the commit LSN of a transaction whose first
	// partialRecords records were committed, but not the rest; zero when
	// the offset ends a transaction.
	partialTx      pglogrepl.LSN
	partialRecords int64
}

// snapshotPlan is the slot and snapshot decision of Start.
type snapshotPlan struct {
	snapshot        bool
	stream          bool
	createSlot      bool // no slot exists, or dropFirst
	dropFirst       bool // drop the slot this task created, to snapshot again
	snapshotName    string
	snapshotTxID    int64
	consistentPoint pglogrepl.LSN
}

// sourcePartition is the only source partition, Debezium's.
func (t *sourceTask) sourcePartition() map[string]any {
	if t.partition == nil {
		t.partition = map[string]any{"server": t.cfg.prefix}
	}
	return t.partition
}

// Start implements connect.SourceTask: it connects, creates the publication
// and slot as configured and starts reading.
func (t *sourceTask) Start(ctx connect.SourceTaskContext, config map[string]string) error {
	cfg, err := parseTaskConfig(config)
	if err != nil {
		return fmt.Errorf("start postgres source task: %w", err)
	}
	t.cfg, t.ctx = cfg, ctx
	t.log = pluginLogger(ctx)
	t.partition = map[string]any{"server": t.cfg.prefix}
	t.resume, err = readResume(ctx, t.sourcePartition())
	if err != nil {
		return fmt.Errorf("start postgres source task: %w", err)
	}
	startCtx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := t.connect(startCtx, config); err != nil {
		t.closeConns()
		return fmt.Errorf("start postgres source task: %w", err)
	}
	if err := t.prepare(startCtx); err != nil {
		t.closeConns()
		if t.unclaimedSlot() { // created just now: the next start would refuse it
			err = errors.Join(err, t.dropSlot())
		}
		return fmt.Errorf("start postgres source task: %w", err)
	}
	t.launch()
	return nil
}

// launch starts the goroutine that snapshots and streams.
func (t *sourceTask) launch() {
	runCtx, runCancel := context.WithCancel(context.Background())
	t.cancel = runCancel
	if t.batches == nil {
		t.batches = kit.NewQueue(kit.QueueOptions{MaxRecords: t.cfg.queue, Batch: t.cfg.batch})
	}
	t.done = make(chan struct{})
	t.err = nil
	go t.run(runCtx)
}

// readResume reads the committed offset, if any.
func readResume(ctx connect.SourceTaskContext, partition map[string]any) (resumePoint, error) {
	off, err := ctx.Offset(partition)
	if err != nil {
		return resumePoint{}, fmt.Errorf("read committed offset: %w", err)
	}
	if off == nil {
		return resumePoint{}, nil
	}
	lsn, err := offsetLSN(off)
	if err != nil {
		return resumePoint{}, err
	}
	snap, errSnap := offsetSnapshot(off)
	last, _, errLast := off.Bool("last_snapshot_record")
	tx, hasTx, errTx := off.Int(txLSNKey)
	records, _, errRecords := off.Int(txRecordsKey)
	if err := errors.Join(errSnap, errLast, errTx, errRecords); err != nil {
		return resumePoint{}, fmt.Errorf("read committed offset: %w", err)
	}
	r := resumePoint{found: true, lsn: lsn, snapshotComplete: !snap || last}
	if hasTx {
		r.partialTx, r.partialRecords = pglogrepl.LSN(tx), records
	}
	return r, nil
}

// Offset keys of a record inside a transaction that was not yet fully
// delivered: the transaction's commit LSN and how many of its records
// were delivered up to and including this one. A restart replays the
// transaction and skips those records, so a transaction split over
// several polls (or exactly-once transactions) is not delivered twice.
const (
	txLSNKey     = "lsn_tx"
	txRecordsKey = "tx_records"
)

// offsetSnapshot reads whether an offset was taken during a snapshot.
// Debezium wrote true there, and from 2.6 on the snapshot's kind
// (INITIAL, BLOCKING); false, "false" or no key mean streaming. Anything
// else is refused: read as false, it would take an unfinished snapshot for
// a finished one and skip the rows not yet read.
func offsetSnapshot(off connect.Offset) (bool, error) {
	switch v := off["snapshot"].(type) {
	case nil:
		return false, nil
	case bool:
		return v, nil
	case string:
		switch strings.ToUpper(v) {
		case "TRUE", "INITIAL", "BLOCKING":
			return true, nil
		case "FALSE":
			return false, nil
		}
	}
	return false, fmt.Errorf("%w: key \"snapshot\" holds %T %v, not a boolean or a snapshot kind (INITIAL, BLOCKING)",
		connect.ErrOffset, off["snapshot"], off["snapshot"])
}

// offsetLSN reads the lsn of an offset, which every offset has.
func offsetLSN(off connect.Offset) (pglogrepl.LSN, error) {
	n, ok, err := off.Int("lsn")
	if err == nil && !ok {
		err = fmt.Errorf("%w: no lsn", connect.ErrOffset)
	}
	if err != nil {
		return 0, fmt.Errorf("read lsn of committed offset %v: %w", off, err)
	}
	return pglogrepl.LSN(n), nil
}

// connect opens the query and replication connections.
func (t *sourceTask) connect(ctx context.Context, config map[string]string) error {
	var err error
	if t.conn, err = pgx.Connect(ctx, connString(config)); err != nil {
		return fmt.Errorf("connect to %s: %w", config[HostnameConfig], err)
	}
	if t.repl, err = pgconn.Connect(ctx, connString(config)+"replication='database'"); err != nil {
		return fmt.Errorf("open replication connection to %s: %w", config[HostnameConfig], err)
	}
	for _, stmt := range t.cfg.initialStatements {
		if _, err := t.conn.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("run %s statement %q: %w", InitialStatementsConfig, stmt, err)
		}
	}
	return nil
}

func (t *sourceTask) closeConns() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if t.repl != nil {
		_ = t.repl.Close(ctx)
	}
	if t.conn != nil {
		_ = t.conn.Close(ctx)
	}
}

// run snapshots and streams until ctx ends or an error occurs.
func (t *sourceTask) run(ctx context.Context) {
	defer close(t.done)
	t.err = t.produce(ctx)
	if errors.Is(t.err, context.Canceled) && ctx.Err() != nil {
		t.err = nil
	}
	if t.err != nil {
		t.batches.Fail(t.err)
	} else {
		t.batches.Fail(errReadingStopped)
	}
}

func (t *sourceTask) produce(ctx context.Context) error {
	if err := t.startSignals(ctx); err != nil {
		return err
	}
	if t.plan.snapshot {
		if err := t.snapshot(ctx); err != nil {
			return err
		}
	}
	if !t.plan.stream {
		<-ctx.Done()
		return nil
	}
	if err := kit.Sleep(ctx, t.cfg.streamingDelay); err != nil {
		return err
	}
	return t.stream(ctx)
}

// emit hands a batch to Poll, waiting while Poll is behind.
func (t *sourceTask) emit(ctx context.Context, batch []*connect.Record) error {
	if len(batch) == 0 {
		return nil
	}
	t.incr.stamp(batch)
	return t.batches.Put(ctx, batch...)
}

var errReadingStopped = errors.New("reading stopped")

// Poll implements connect.SourceTask: it returns at most max.batch.size
// records, what is ready, waiting only when nothing is.
func (t *sourceTask) Poll(ctx context.Context) ([]*connect.Record, error) {
	recs, err := t.batches.Poll(ctx)
	if err == nil {
		return recs, nil
	}
	<-t.done
	if lostConnection(err) {
		if rerr := t.restart(); rerr != nil {
			t.batches.Fail(err) // not running again: the next Poll retries the restart
			rerr = fmt.Errorf("poll postgres source task: reconnect after %v: %w", err, rerr)
			if errors.Is(rerr, errSlot) {
				return nil, rerr // the slot is taken or gone: retrying cannot help
			}
			return nil, connect.Retriable(rerr)
		}
		return nil, nil
	}
	return nil, fmt.Errorf("poll postgres source task: %w", err)
}

// CommitRecord implements connect.SourceTaskCommitter; the confirmed LSN
// follows the committed offsets (Commit), not single acknowledgements.
func (t *sourceTask) CommitRecord(*connect.Record) error { return nil }

// Commit implements connect.SourceTaskCommitter: the worker committed
// offsets, so the LSN they hold may be confirmed to the server (sent with
// the next standby status update). Snapshot offsets confirm nothing. The
// task has one source partition, so committed holds at most its offset.
func (t *sourceTask) Commit(committed []connect.SourceOffset) error {
	if len(committed) == 0 {
		return nil
	}
	off := committed[len(committed)-1].Offset
	snap, _, err := off.Bool("snapshot")
	if err != nil || snap || !t.cfg.flushLSN {
		return err
	}
	lsn, err := offsetLSN(off)
	if err != nil {
		return err
	}
	for {
		cur := t.confirm.Load()
		if uint64(lsn) <= cur || t.confirm.CompareAndSwap(cur, uint64(lsn)) {
			return nil
		}
	}
}

// Stop implements connect.SourceTask: it stops reading, closes the
// connections and drops the slot when slot.drop.on.stop is set; otherwise
// it warns that the slot holds WAL on the server until the connector reads
// on or the slot is dropped.
func (t *sourceTask) Stop() error {
	var err error
	t.stopped.Do(func() {
		if t.cancel != nil {
			t.cancel()
			<-t.done
		}
		t.closeConns()
		switch {
		case !t.usesSlot:
		case t.cfg.dropSlot:
			if err = t.dropSlot(); err == nil {
				t.log.Info("replication slot dropped (slot.drop.on.stop)", "slot", t.cfg.slot)
			}
		case t.unclaimedSlot():
			if err = t.dropSlot(); err == nil {
				t.log.Info("replication slot dropped: this task created it and no offset was committed, so the next start snapshots again",
					"slot", t.cfg.slot)
			}
		default:
			t.log.Warn("replication slot keeps the server's WAL from its position on until the connector runs again or the slot is dropped; "+
				"if the connector is deleted for good, drop it: SELECT pg_drop_replication_slot('"+t.cfg.slot+"')",
				"slot", t.cfg.slot, "retained_wal", t.retainedWAL())
		}
	})
	return err
}

// unclaimedSlot reports whether the slot is one this task created that no
// committed offset accounts for, and that the next start does not need:
// without offsets it snapshots again (snapshot.mode initial, always or
// when_needed). Left behind, the slot would only hold WAL, and the next
// start would refuse it as another connector's (see slot.go).
func (t *sourceTask) unclaimedSlot() bool {
	if !t.createdSlot {
		return false
	}
	switch t.cfg.snapshotMode {
	case "initial", "always", "when_needed":
	default:
		return false
	}
	off, err := t.ctx.Offset(t.sourcePartition())
	return err == nil && off == nil
}

// retainedWAL returns how much WAL the slot holds on the server now, as
// Postgres prints sizes ("53 MB"), or "unknown". It asks over a connection
// of its own: the task's may have been closed by the stop.
func (t *sourceTask) retainedWAL() string {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, connString(t.cfg.raw))
	if err != nil {
		return "unknown"
	}
	defer conn.Close(ctx)
	var size *string
	err = conn.QueryRow(ctx, "SELECT pg_size_pretty(pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)) FROM pg_catalog.pg_replication_slots WHERE slot_name = $1",
		t.cfg.slot).Scan(&size)
	if err != nil || size == nil {
		return "unknown"
	}
	return *size
}

// dropSlot drops the slot over a fresh replication connection, waiting
// for the old one's walsender to release it.
func (t *sourceTask) dropSlot() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgconn.Connect(ctx, connString(t.cfg.raw)+"replication='database'")
	if err != nil {
		return fmt.Errorf("drop slot %s: %w", t.cfg.slot, err)
	}
	defer conn.Close(ctx)
	if err := pglogrepl.DropReplicationSlot(ctx, conn, t.cfg.slot, pglogrepl.DropReplicationSlotOptions{Wait: true}); err != nil {
		return fmt.Errorf("drop slot %s: %w", t.cfg.slot, err)
	}
	return nil
}
