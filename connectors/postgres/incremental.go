package postgres

// Incremental snapshots (see connectors/debezium's Incremental): the
// watermarks are rows of the signalling table, which arrive in the
// replication stream; the chunk reads are placed at the LSN of the
// signal's commit or of the close watermark's. Progress is kept in every
// source offset while a snapshot runs, beside the lsn.

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pglogrepl"

	"github.com/sluicehq/sluice/connectors/debezium"
	"github.com/sluicehq/sluice/runtime/connect"
)

// incremental is the state of signals and of the incremental snapshot,
// owned by run's goroutine.
type incremental struct {
	*debezium.Incremental
	pending []pendingSignal // signals of the transaction being decoded
}

// stamp adds the snapshot's progress and the last Kafka signal's offset to
// the offsets of a batch; safe on nil.
func (inc *incremental) stamp(batch []*connect.Record) {
	if inc != nil {
		inc.Stamp(batch)
	}
}

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

// startSignals sets up signals before streaming: it restores the offset of
// the last Kafka signal and resumes an incremental snapshot the committed
// offset holds, reading its next chunk. A task that
// just snapshotted, or does not stream, starts with none.
func (t *sourceTask) startSignals(ctx context.Context) error {
	t.incr = nil
	if (t.cfg.signals.Table == nil && t.cfg.signals.Kafka == nil) || !t.plan.stream {
		return nil
	}
	t.incr = &incremental{Incremental: debezium.NewIncremental(t.cfg.signals, t.log)}
	if t.cfg.signals.Source && t.cfg.signals.Table != nil {
		if err := t.checkSignalTable(ctx); err != nil {
			return err
		}
	}
	off, err := t.ctx.Offset(t.sourcePartition())
	if err != nil {
		return fmt.Errorf("read committed offset: %w", err)
	}
	if err := t.incr.LoadSignalOffset(off); err != nil {
		return fmt.Errorf("read committed offset: %w", err)
	}
	if t.plan.snapshot || t.cfg.signals.Table == nil {
		return nil
	}
	if t.incr.Load(off); !t.incr.Running() {
		return nil
	}
	table, after := t.incr.Current()
	t.log.Info("resuming incremental snapshot", "table", table, "after", after)
	c := t.chunks(position{lsn: t.resume.lsn, partialTx: t.resume.partialTx, partialRecords: t.resume.partialRecords})
	return t.incr.ReadChunk(ctx, c, c)
}

// runKafkaSignal runs a signal from the signal topic between transactions:
// records it emits resume streaming after the last commit, and they and
// every later record carry its offset, so a restart does not run it again.
// Watermarks belong to the signalling table and are ignored here.
func (t *sourceTask) runKafkaSignal(ctx context.Context, s *stream, sig debezium.KafkaSignal) error {
	t.incr.KafkaSignal(sig.Offset)
	if sig.IsWatermark() {
		t.log.Warn("Kafka signal ignored: watermarks come from the signalling table", "signal", sig.ID, "type", sig.Type)
		return nil
	}
	if err := t.runSignal(ctx, sig.Signal, position{lsn: s.lastCommit}); err != nil {
		return fmt.Errorf("run %s signal %q from Kafka offset %d: %w", sig.Type, sig.ID, sig.Offset, err)
	}
	return nil
}
