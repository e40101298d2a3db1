package postgres

// Who a replication slot belongs to.
//
// A logical replication slot is the server's memory of how far one
// consumer has read: the server keeps the WAL from the slot's position on,
// and a consumer confirming a position lets it go. Two consumers of one
// slot each lose what the other confirmed. Postgres keeps no note of whom a
// slot serves, so the connector judges from what it can see:
//
//   - the slot's state (pg_replication_slots): its database and plugin,
//     whether a process reads from it now and which (its application_name:
//     Sluice names its connections "sluice:<connector name>"), and the
//     position confirmed last (confirmed_flush_lsn);
//   - the connector's committed offsets: the position it delivered up to.
//
// A slot is this connector's when its offsets account for it: the slot was
// never confirmed past the offsets' position, which the connector itself
// never does. A slot without offsets (another connector's, or one left
// behind) and a slot confirmed past them (used by another consumer
// meanwhile, or dropped and created again) are refused under
// offset.mismatch.strategy=trust_offset, Sluice's default, naming
// slot.name; the other strategies take the slot's position with a warning.
// A slot is dropped only by slot.drop.on.stop, or, to snapshot again, when
// this task created it itself.

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strings"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5"
)

// OffsetMismatchStrategyConfig is Debezium's key for what to do when the
// offsets and the slot disagree.
const OffsetMismatchStrategyConfig = "offset.mismatch.strategy"

// The offset.mismatch.strategy values.
const (
	mismatchTrustOffset     = "trust_offset"
	mismatchTrustSlot       = "trust_slot"
	mismatchTrustGreaterLSN = "trust_greater_lsn"
	mismatchNoValidation    = "no_validation"
)

// slotState is a replication slot as pg_replication_slots shows it.
type slotState struct {
	exists    bool
	database  string // empty for a physical slot
	plugin    string
	kind      string // logical or physical
	active    bool
	pid       int32  // the process reading from it, when active
	holder    string // that process's application_name, when visible
	confirmed pglogrepl.LSN
	walStatus string // lost once the server removed WAL it needs; empty before Postgres 13
}

// readSlot reads the slot's state; a missing slot is exists=false.
func readSlot(ctx context.Context, conn *pgx.Conn, name string) (slotState, error) {
	var db, plugin, holder, confirmed, walStatus *string
	var pid *int32
	st := slotState{exists: true}
	// wal_status came with Postgres 13: read through to_jsonb, which has
	// no column to miss.
	err := conn.QueryRow(ctx, `SELECT s.database, s.plugin, s.slot_type, s.active, s.active_pid, a.application_name,
		s.confirmed_flush_lsn::text, to_jsonb(s) ->> 'wal_status'
		FROM pg_catalog.pg_replication_slots s LEFT JOIN pg_catalog.pg_stat_activity a ON a.pid = s.active_pid
		WHERE s.slot_name = $1`, name).Scan(&db, &plugin, &st.kind, &st.active, &pid, &holder, &confirmed, &walStatus)
	if errors.Is(err, pgx.ErrNoRows) {
		return slotState{}, nil
	}
	if err != nil {
		return slotState{}, fmt.Errorf("look up replication slot %s: %w", name, err)
	}
	st.database, st.plugin, st.holder, st.walStatus = deref(db), deref(plugin), deref(holder), deref(walStatus)
	if pid != nil {
		st.pid = *pid
	}
	if confirmed != nil {
		if st.confirmed, err = pglogrepl.ParseLSN(*confirmed); err != nil {
			return slotState{}, fmt.Errorf("read confirmed_flush_lsn of replication slot %s: %w", name, err)
		}
	}
	return st, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// applicationName is the application_name of the connector's connections,
// which shows in pg_stat_activity and tells the connector's own walsender
// from another's: "sluice:" and the connector's name (its topic.prefix
// when the config has no name). Postgres keeps 63 bytes of printable
// ASCII; a longer or non-ASCII name is cut and given a hash of the whole.
func applicationName(config map[string]string) string {
	id := strings.TrimSpace(config["name"])
	if id == "" {
		id = "topic.prefix=" + strings.TrimSpace(config[TopicPrefixConfig])
	}
	var b strings.Builder
	for _, r := range id {
		if r >= 0x20 && r < 0x7f && r != '\'' && r != '\\' {
			b.WriteRune(r)
		}
	}
	name := "sluice:" + b.String()
	if b.Len() == len(id) && len(name) <= 63 {
		return name
	}
	h := fnv.New32a()
	h.Write([]byte(id))
	return fmt.Sprintf("%.54s~%08x", name, h.Sum32())
}

// slotNameOf returns slot.name, or its default.
func slotNameOf(config map[string]string) string {
	if s := strings.TrimSpace(config[SlotNameConfig]); s != "" {
		return s
	}
	return "debezium"
}

// slotProblems returns what keeps the connector from using the slot, each
// message naming slot.name and saying how to go on; none for a missing
// slot. The connector's own walsender (its application name) may hold the
// slot: it is the running task's, or that of a worker that died.
func slotProblems(st slotState, config map[string]string) []string {
	if !st.exists {
		return nil
	}
	slot := slotNameOf(config)
	db := strings.TrimSpace(config[DBNameConfig])
	drop := fmt.Sprintf("SELECT pg_drop_replication_slot('%s')", slot)
	var out []string
	switch {
	case st.kind != "logical":
		out = append(out, fmt.Sprintf("Replication slot %q is a %s slot, not a logical one: pick another %s", slot, st.kind, SlotNameConfig))
	case st.database != db:
		out = append(out, fmt.Sprintf("Replication slot %q belongs to database %s, not %s (slot names are shared by the whole server): pick another %s",
			slot, st.database, db, SlotNameConfig))
	case st.plugin != "pgoutput":
		out = append(out, fmt.Sprintf("Replication slot %q decodes with plugin %s, not pgoutput: pick another %s, or drop the slot (%s) if nothing uses it",
			slot, st.plugin, SlotNameConfig, drop))
	}
	if st.active && st.holder != applicationName(config) {
		holder := ""
		if st.holder != "" {
			holder = fmt.Sprintf(" (application_name %q)", st.holder)
		}
		out = append(out, fmt.Sprintf("replication slot %q is active for PID %d%s: another connector or client reads from it; pick another %s for this connector",
			slot, st.pid, holder, SlotNameConfig))
	}
	if st.walStatus == "lost" {
		out = append(out, fmt.Sprintf("Replication slot %q can no longer stream: the server removed WAL it needs (wal_status lost, see max_slot_wal_keep_size); "+
			"drop it (%s) and start the connector again with a snapshot", slot, drop))
	}
	return out
}

// errSlot is wrapped by the errors that refuse a slot.
var errSlot = errors.New("replication slot refused")

// slotError is a refusal of the slot with its reason and the ways on.
func (t *sourceTask) slotError(format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", errSlot, SlotNameConfig, fmt.Sprintf(format, args...))
}

// howToGoOn ends a refusal: the three ways on.
func (t *sourceTask) howToGoOn() string {
	return fmt.Sprintf("pick another %s; or, if the slot is abandoned, drop it (SELECT pg_drop_replication_slot('%s')) and start again; "+
		"or, if this connector is meant to read from it, set %s=%s to start from the slot's position",
		SlotNameConfig, t.cfg.slot, OffsetMismatchStrategyConfig, mismatchTrustSlot)
}
