package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pglogrepl"

	"github.com/sluicehq/sluice/connectors/debezium"
	"github.com/sluicehq/sluice/runtime/connect"
)

// handleWAL decodes one pgoutput message.
func (t *sourceTask) handleWAL(ctx context.Context, s *stream, xld pglogrepl.XLogData) error {
	msg, err := pglogrepl.Parse(xld.WALData)
	if err != nil {
		return fmt.Errorf("parse pgoutput message at %s: %w", xld.WALStart, err)
	}
	switch m := msg.(type) {
	case *pglogrepl.RelationMessage:
		return t.relation(ctx, s, m)
	case *pglogrepl.BeginMessage:
		s.tx = &txState{xid: m.Xid, final: m.FinalLSN, commit: m.CommitTime, skip: m.FinalLSN <= s.skipUpTo}
		if m.FinalLSN == t.resume.partialTx {
			s.tx.delivered = t.resume.partialRecords
		}
	case *pglogrepl.CommitMessage:
		return t.commitTx(ctx, s, m)
	case *pglogrepl.InsertMessage:
		return t.change(ctx, s, xld.WALStart, m.RelationID, debezium.OpCreate, nil, m.Tuple)
	case *pglogrepl.UpdateMessage:
		return t.change(ctx, s, xld.WALStart, m.RelationID, debezium.OpUpdate, m.OldTuple, m.NewTuple)
	case *pglogrepl.DeleteMessage:
		return t.change(ctx, s, xld.WALStart, m.RelationID, debezium.OpDelete, m.OldTuple, nil)
	case *pglogrepl.LogicalDecodingMessage:
		return t.message(ctx, s, m)
	case *pglogrepl.TruncateMessage:
		for _, id := range m.RelationIDs {
			if err := t.change(ctx, s, xld.WALStart, id, debezium.OpTruncate, nil, nil); err != nil {
				return err
			}
		}
	}
	return nil
}

// relation refreshes the schema of a relation from its RELATION message
// and the catalog (primary key, nullability, enum labels).
func (t *sourceTask) relation(ctx context.Context, s *stream, m *pglogrepl.RelationMessage) error {
	ref := debezium.TableID{Schema: m.Namespace, Name: m.RelationName}
	rel := &relation{ref: ref, captured: t.cfg.filter.Captures(ref)}
	s.rels[m.RelationID] = rel
	if !rel.captured {
		return nil
	}
	cat, err := describeTable(ctx, t.conn, ref)
	if err != nil {
		return fmt.Errorf("stream: %w", err)
	}
	byName := map[string]Column{}
	for _, c := range cat.Columns {
		byName[c.Name] = c
	}
	table := Table{Schema: ref.Schema, Name: ref.Name}
	var dropped []string // columns of types without mapping
	for i, mc := range m.Columns {
		if !t.cfg.filter.CapturesColumn(ref, mc.Name) {
			continue
		}
		c, ok := byName[mc.Name]
		if !ok || c.TypeOID != mc.DataType {
			c = Column{Name: mc.Name, TypeOID: mc.DataType, TypeMod: mc.TypeModifier, Nullable: true}
		}
		if !mapped(ref, c, t.cfg.types, t.log) {
			dropped = append(dropped, c.Name)
			continue
		}
		table.Columns = append(table.Columns, c)
		rel.keep = append(rel.keep, i)
	}
	table.KeyColumns = without(t.cfg.filter.KeyColumns(ref, cat.KeyColumns), dropped)
	rel.events, err = t.newEvents(table)
	if err != nil {
		return fmt.Errorf("stream %s: %w", ref, err)
	}
	return nil
}

// change turns one row change into records of the current transaction.
func (t *sourceTask) change(ctx context.Context, s *stream, lsn pglogrepl.LSN, relID uint32, op debezium.Op, old, tuple *pglogrepl.TupleData) error {
	if s.tx == nil || s.tx.skip {
		return nil
	}
	if t.cfg.skipped[op] && t.incr == nil {
		return nil // signals and snapshot windows need skipped changes too
	}
	rel, ok := s.rels[relID]
	if !ok {
		return fmt.Errorf("stream change at %s for relation %d: %w", lsn, relID, errUnknownRelation)
	}
	if !rel.captured {
		return nil
	}
	s.source = Source{
		Version: connect.BuiltinVersion, Name: t.cfg.prefix, DB: t.cfg.db, Commit: s.tx.commit,
		Sequence: fmt.Sprintf(`["%d","%d"]`, s.lastCommit, lsn), TxID: int64(s.tx.xid), LSN: int64(lsn),
	}
	ch := debezium.Change{Op: op, At: time.Now(), Source: &s.source}
	var err error
	if old != nil {
		ch.Before, err = t.tupleValues(rel, old, nil)
	}
	if tuple != nil && err == nil {
		ch.After, err = t.tupleValues(rel, tuple, old)
	}
	if err != nil {
		return t.conversionFailed(rel.events, fmt.Errorf("stream %s change at %s: %w", rel.ref, lsn, err))
	}
	if op == debezium.OpUpdate && ch.Before != nil && rel.events.KeyChanged(ch.Before, ch.After) {
		err = t.keyChange(s, rel, ch)
	} else {
		err = t.addChange(s, rel, ch, nil)
	}
	if err != nil {
		return err
	}
	return t.flushTx(ctx, s, false)
}

// keyChange emits an update that changed the primary key as Debezium
// does (see debezium.KeyChange).
func (t *sourceTask) keyChange(s *stream, rel *relation, ch debezium.Change) error {
	kc, err := rel.events.SplitKeyChange(ch)
	if err != nil {
		return fmt.Errorf("stream %s: %w", rel.ref, err)
	}
	if err := t.addChange(s, rel, kc.Delete, kc.DeleteHeaders); err != nil {
		return err
	}
	return t.addChange(s, rel, kc.Create, kc.CreateHeaders)
}

// addChange appends a change's event, and a tombstone after a delete, to
// the transaction.
func (t *sourceTask) addChange(s *stream, rel *relation, ch debezium.Change, headers connect.Headers) error {
	skip := t.cfg.skipped[ch.Op]
	if t.cfg.txMetadata && !skip {
		ch.Transaction = t.txEvent(s, rel.ref.String())
	}
	ev, err := rel.events.Envelope(ch)
	if err != nil {
		return fmt.Errorf("stream %s: %w", rel.ref, err)
	}
	t.observe(s, rel, ch.Op, ev) // a signal or a snapshot window sees skipped changes too
	if skip {
		return nil
	}
	t.add(s, ev, headers)
	if ch.Op == debezium.OpDelete && t.cfg.tombstones && ev.Key != nil {
		t.add(s, ev.Tombstone(), headers)
	}
	return nil
}

// add appends an event to the transaction, unless it is one of the
// records delivered before a restart. Its offset says where to resume:
// from the previous commit, skipping the transaction's records up to this
// one; flushTx gives the transaction's last record the commit's offset.
func (t *sourceTask) add(s *stream, ev debezium.Event, headers connect.Headers) {
	r := connect.NewSourceRecord(t.sourcePartition(), nil, ev.Topic, ev.KeySchema, ev.Key, ev.ValueSchema, ev.Value)
	r.Headers = headers.Clone()
	t.queue(s, r)
}

// queue appends any record of the transaction (change, tombstone,
// transaction metadata) with its offset, or drops it when it was
// delivered before a restart.
func (t *sourceTask) queue(s *stream, r *connect.Record) {
	s.tx.count++
	if s.tx.count <= s.tx.delivered {
		return
	}
	r.SourceOffset = map[string]any{
		"lsn": int64(s.lastCommit), "lsn_commit": int64(s.lastCommit), txLSNKey: int64(s.tx.final), txRecordsKey: s.tx.count,
		"txId": int64(s.tx.xid), "ts_usec": s.tx.commit.UnixMicro(),
	}
	s.tx.records = append(s.tx.records, r)
}

// flushTx hands the transaction's records to Poll: all of them at commit,
// else all but the last once a batch is full. The last record of a
// transaction carries the transaction's commit LSN: a restart after it
// skips the whole transaction.
func (t *sourceTask) flushTx(ctx context.Context, s *stream, commit bool) error {
	recs := s.tx.records
	if !commit && len(recs) < t.cfg.batch {
		return nil
	}
	keep := 0
	if !commit {
		keep = 1
	}
	out := recs[:len(recs)-keep]
	if commit && len(out) > 0 {
		out[len(out)-1].SourceOffset = map[string]any{
			"lsn": int64(s.tx.final), "lsn_commit": int64(s.tx.final), "txId": int64(s.tx.xid), "ts_usec": s.tx.commit.UnixMicro(),
		}
	}
	s.tx.records = append([]*connect.Record(nil), recs[len(recs)-keep:]...)
	return t.emit(ctx, out)
}

// commitTx ends the transaction.
func (t *sourceTask) commitTx(ctx context.Context, s *stream, m *pglogrepl.CommitMessage) error {
	if s.tx == nil {
		return nil
	}
	s.tx.final = m.CommitLSN
	if s.tx.meta != nil {
		t.queue(s, s.tx.meta.Record(debezium.TxEnd, t.sourcePartition(), t.cfg.prefix+"."+t.cfg.txTopic, s.tx.commit))
	}
	if err := t.flushTx(ctx, s, true); err != nil {
		return err
	}
	if m.CommitLSN > s.lastCommit {
		s.lastCommit = m.CommitLSN
	}
	s.tx = nil
	return t.signalsCommitted(ctx, s.lastCommit)
}

// tupleValues converts the captured columns of a tuple; an unchanged
// TOASTed value is taken from old when it has it, else replaced by
// unavailable.value.placeholder in the column's type.
func (t *sourceTask) tupleValues(rel *relation, tuple, old *pglogrepl.TupleData) ([]any, error) {
	cols := rel.events.table.Columns
	texts := make([]*string, len(cols))
	var unavailable []int // columns whose value the server did not send
	for i, at := range rel.keep {
		if at >= len(tuple.Columns) {
			return nil, fmt.Errorf("tuple has %d columns, relation more", len(tuple.Columns))
		}
		switch tc := tuple.Columns[at]; tc.DataType {
		case pglogrepl.TupleDataTypeText:
			s := string(tc.Data)
			texts[i] = &s
		case pglogrepl.TupleDataTypeToast:
			if texts[i] = oldText(old, at); texts[i] == nil {
				unavailable = append(unavailable, i)
			}
		}
	}
	values, err := t.rowValues(rel.events, texts)
	if err != nil {
		return nil, err
	}
	for _, i := range unavailable {
		s := rel.events.RowSchema.Fields[i].Schema
		if values[i] = placeholderValue(cols[i], s, t.cfg.placeholder); values[i] == nil {
			values[i] = requiredFill(s)
		}
	}
	return values, nil
}

// oldText returns the text of column i of the old tuple (REPLICA IDENTITY
// FULL sends it), or nil.
func oldText(old *pglogrepl.TupleData, i int) *string {
	if old != nil && i < len(old.Columns) && old.Columns[i].DataType == pglogrepl.TupleDataTypeText {
		s := string(old.Columns[i].Data)
		return &s
	}
	return nil
}

// txEvent places the next event on table in the current transaction
// (provide.transaction.metadata), queueing the BEGIN record before its
// first event.
func (t *sourceTask) txEvent(s *stream, table string) *debezium.Transaction {
	if s.tx.meta == nil {
		s.tx.meta = debezium.NewTxMeta(fmt.Sprintf("%d:%d", s.tx.xid, s.tx.final))
	}
	tx, begin := s.tx.meta.Next(table)
	if begin {
		t.queue(s, s.tx.meta.Record(debezium.TxBegin, t.sourcePartition(), t.cfg.prefix+"."+t.cfg.txTopic, s.tx.commit))
	}
	return tx
}
