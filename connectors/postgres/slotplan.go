package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pglogrepl"
)

// prepare creates the publication as configured, checks the slot, decides
// whether to snapshot and from where to stream, and creates the slot when
// there is none.
func (t *sourceTask) prepare(ctx context.Context) error {
	if err := t.ensurePublication(ctx); err != nil {
		return err
	}
	st, err := readSlot(ctx, t.conn, t.cfg.slot)
	if err != nil {
		return err
	}
	streams := t.cfg.snapshotMode != "initial_only"
	if msgs := slotProblems(st, t.cfg.raw); streams && len(msgs) > 0 {
		return t.slotError("%s", strings.Join(msgs, "; "))
	}
	if t.plan, err = t.decide(st); err != nil {
		return err
	}
	if !t.plan.stream {
		if t.plan.snapshot {
			return t.beginSnapshot(ctx) // initial_only needs no slot, as in Debezium
		}
		return nil
	}
	t.usesSlot = true
	if t.plan.dropFirst {
		if err := pglogrepl.DropReplicationSlot(ctx, t.repl, t.cfg.slot, pglogrepl.DropReplicationSlotOptions{}); err != nil {
			return fmt.Errorf("drop replication slot %s, created by this task, to snapshot again: %w", t.cfg.slot, err)
		}
	}
	if t.plan.createSlot {
		if err := t.createSlot(ctx); err != nil {
			return err
		}
	}
	if t.plan.snapshot {
		return t.beginSnapshot(ctx)
	}
	return nil
}

// createSlot creates the slot, exporting a snapshot when one is due: the
// snapshot then sees exactly what precedes the slot's consistent point.
func (t *sourceTask) createSlot(ctx context.Context) error {
	action := "NOEXPORT_SNAPSHOT"
	if t.plan.snapshot {
		action = "EXPORT_SNAPSHOT"
	}
	res, err := pglogrepl.CreateReplicationSlot(ctx, t.repl, t.cfg.slot, "pgoutput",
		pglogrepl.CreateReplicationSlotOptions{SnapshotAction: action})
	if err != nil {
		return fmt.Errorf("create replication slot %s: %w", t.cfg.slot, err)
	}
	t.createdSlot = true
	t.log.Info("replication slot created", "slot", t.cfg.slot, "consistent_point", res.ConsistentPoint)
	if !t.plan.snapshot {
		return nil
	}
	if t.plan.consistentPoint, err = pglogrepl.ParseLSN(res.ConsistentPoint); err != nil {
		return fmt.Errorf("read consistent point of slot %s: %w", t.cfg.slot, err)
	}
	t.plan.snapshotName = res.SnapshotName
	return nil
}

// decide applies snapshot.mode to the committed offset, and
// offset.mismatch.strategy to the slot the offsets should account for
// (see slot.go). A snapshot on a slot that exists, which the task did not
// create, reads a snapshot of its own and streams from the slot's
// confirmed position, as Debezium does: changes committed between that
// position and the snapshot arrive twice, none is lost.
func (t *sourceTask) decide(st slotState) (snapshotPlan, error) {
	completed := t.resume.found && t.resume.snapshotComplete
	p := snapshotPlan{stream: true}
	switch t.cfg.snapshotMode {
	case "always":
		p.snapshot = true
	case "initial", "when_needed":
		p.snapshot = !completed
	case "initial_only":
		p.snapshot, p.stream = !completed, false
	}
	if p.stream {
		var err error
		switch {
		case !st.exists:
			p.createSlot = true
			if completed && !p.snapshot {
				err = t.slotGone(&p)
			}
		case t.createdSlot:
			p.dropFirst, p.createSlot = p.snapshot, p.snapshot
		case !t.resume.found:
			err = t.slotWithoutOffsets(st, p.snapshot)
		case st.confirmed > t.resume.lsn && !p.snapshot:
			err = t.slotAhead(st, &p)
		}
		if err != nil {
			return p, err
		}
	}
	if p.snapshot {
		t.resume = resumePoint{}
		if p.stream && !p.createSlot {
			p.consistentPoint = st.confirmed
		}
	}
	return p, nil
}

// slotGone handles offsets that stream from a slot that no longer exists:
// the changes since the offsets are no longer on the server.
func (t *sourceTask) slotGone(p *snapshotPlan) error {
	switch {
	case t.cfg.dropSlot:
		t.log.Warn("replication slot was dropped when the connector stopped (slot.drop.on.stop): creating it again; changes made meanwhile are not captured",
			"slot", t.cfg.slot, "offset_lsn", t.resume.lsn.String())
	case t.cfg.snapshotMode == "when_needed":
		t.log.Warn("replication slot does not exist: snapshotting again (snapshot.mode=when_needed)", "slot", t.cfg.slot, "offset_lsn", t.resume.lsn.String())
		p.snapshot = true
	case t.cfg.mismatch == mismatchTrustOffset:
		return t.slotError("replication slot %q does not exist, but this connector's offsets stream from it at LSN %s: the changes since then are no longer on the server. "+
			"Set snapshot.mode=when_needed to snapshot again, or %s=%s to stream from a new slot without those changes",
			t.cfg.slot, t.resume.lsn, OffsetMismatchStrategyConfig, mismatchTrustSlot)
	default:
		t.log.Warn("replication slot does not exist: creating it and streaming from it; the changes since the offsets are not captured",
			"slot", t.cfg.slot, "offset_lsn", t.resume.lsn.String(), OffsetMismatchStrategyConfig, t.cfg.mismatch)
	}
	return nil
}

// slotWithoutOffsets handles an existing slot the connector has no offsets
// for: someone else's, or one whose connector's offsets are gone. A
// snapshot still due reads a snapshot of its own; otherwise streaming
// starts from the slot's confirmed position.
func (t *sourceTask) slotWithoutOffsets(st slotState, snapshot bool) error {
	if t.cfg.mismatch == mismatchTrustOffset {
		return t.slotError("replication slot %q already exists (confirmed up to LSN %s) and this connector has no offsets that account for it: "+
			"it may be another connector's, which would then miss every change this one reads. %s",
			t.cfg.slot, st.confirmed, t.howToGoOn())
	}
	t.log.Warn("reading from a replication slot that existed before this connector had offsets",
		"slot", t.cfg.slot, "confirmed_flush_lsn", st.confirmed.String(), OffsetMismatchStrategyConfig, t.cfg.mismatch)
	if !snapshot {
		t.resume = resumePoint{found: true, lsn: st.confirmed, snapshotComplete: true}
	}
	return nil
}

// slotAhead handles a slot confirmed past the offsets: another consumer
// read from it, or it was dropped and created again; the changes in
// between are no longer on the server.
func (t *sourceTask) slotAhead(st slotState, p *snapshotPlan) error {
	switch {
	case t.cfg.snapshotMode == "when_needed":
		t.log.Warn("replication slot was confirmed past this connector's offsets: snapshotting again (snapshot.mode=when_needed)",
			"slot", t.cfg.slot, "confirmed_flush_lsn", st.confirmed.String(), "offset_lsn", t.resume.lsn.String())
		p.snapshot = true
	case t.cfg.mismatch == mismatchTrustOffset:
		return t.slotError("replication slot %q was confirmed up to LSN %s, past this connector's offsets (LSN %s): "+
			"another consumer read from it, or it was dropped and created again, and the changes in between are no longer on the server. %s",
			t.cfg.slot, st.confirmed, t.resume.lsn, t.howToGoOn())
	default:
		t.log.Warn("replication slot was confirmed past this connector's offsets: streaming from the slot; the changes in between are not captured",
			"slot", t.cfg.slot, "confirmed_flush_lsn", st.confirmed.String(), "offset_lsn", t.resume.lsn.String(), OffsetMismatchStrategyConfig, t.cfg.mismatch)
		t.resume = resumePoint{found: true, lsn: st.confirmed, snapshotComplete: true}
	}
	return nil
}

// beginSnapshot opens the snapshot transaction: on the snapshot the slot
// exported, whose import must be the transaction's first statement, or on
// a snapshot of its own. Without a slot (initial_only) the snapshot's
// position is the WAL position it starts at, as in Debezium.
func (t *sourceTask) beginSnapshot(ctx context.Context) error {
	if _, err := t.conn.Exec(ctx, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"); err != nil {
		return fmt.Errorf("begin snapshot transaction: %w", err)
	}
	if t.plan.snapshotName != "" {
		if _, err := t.conn.Exec(ctx, "SET TRANSACTION SNAPSHOT "+quoteLiteral(t.plan.snapshotName)); err != nil {
			return fmt.Errorf("import snapshot %s: %w", t.plan.snapshotName, err)
		}
	}
	// Snapshot events carry the snapshot transaction's id, as Debezium's.
	var walPos string
	if err := t.conn.QueryRow(ctx, "SELECT txid_current(), pg_current_wal_lsn()::text").Scan(&t.plan.snapshotTxID, &walPos); err != nil {
		return fmt.Errorf("read snapshot transaction id: %w", err)
	}
	if !t.usesSlot {
		lsn, err := pglogrepl.ParseLSN(walPos)
		if err != nil {
			return fmt.Errorf("read WAL position of the snapshot: %w", err)
		}
		t.plan.consistentPoint = lsn
	}
	return nil
}

func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
