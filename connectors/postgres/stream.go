package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/sluicehq/sluice/connectors/debezium"
	"github.com/sluicehq/sluice/connectors/kit"
	"github.com/sluicehq/sluice/runtime/connect"
)

// stream is the state of the streaming phase, owned by run's goroutine.
type stream struct {
	rels       map[uint32]*relation
	tx         *txState
	lastCommit pglogrepl.LSN // commit LSN of the last transaction fully handed to Poll
	skipUpTo   pglogrepl.LSN // transactions committed at or before it were committed already
	walEnd     pglogrepl.LSN // server WAL end of the last keepalive outside a transaction
	sent       uint64        // last LSN confirmed to the server
	lastStatus time.Time
	heartbeat  debezium.Heartbeat
	// recv bounds waiting for server messages; one context serves every
	// receive until its second is up.
	recv       context.Context
	recvCancel context.CancelFunc
	// signals delivers signals read from the Kafka signal channel; nil
	// without it.
	signals <-chan debezium.KafkaSignal
	// source is the source block of the change being converted, one
	// value reused so that no change allocates one for the interface.
	source Source
}

// receiveContext returns the context bounding the next receive, a new
// one each second.
func (s *stream) receiveContext(ctx context.Context) context.Context {
	if s.recv == nil || s.recv.Err() != nil {
		s.stopReceiving()
		s.recv, s.recvCancel = context.WithTimeout(ctx, time.Second)
	}
	return s.recv
}

func (s *stream) stopReceiving() {
	if s.recvCancel != nil {
		s.recvCancel()
	}
}

// relation is a relation as the last RELATION message described it.
type relation struct {
	ref      debezium.TableID
	captured bool
	events   *Events
	keep     []int // tuple positions of the captured columns
}

// txState is the transaction being decoded.
type txState struct {
	xid     uint32
	final   pglogrepl.LSN
	commit  time.Time
	skip    bool
	records []*connect.Record
	meta    *debezium.TxMeta // provide.transaction.metadata
	// count is the number of records of the transaction so far, skipped
	// ones included; the first delivered were delivered before a restart.
	count, delivered int64
}

// stream starts replication from the committed offset or the slot's
// consistent point and turns pgoutput messages into records.
func (t *sourceTask) stream(ctx context.Context) error {
	s := &stream{rels: map[uint32]*relation{}, skipUpTo: t.resume.lsn}
	start := t.resume.lsn
	if t.plan.snapshot {
		start = t.plan.consistentPoint
	}
	if err := t.initConfirm(ctx, start); err != nil {
		return err
	}
	s.lastCommit = pglogrepl.LSN(t.confirm.Load())
	if start > s.lastCommit {
		s.lastCommit = start
	}
	if err := t.startReplication(ctx, start); err != nil {
		return err
	}
	if t.cfg.signals.Kafka != nil {
		last, seen := t.incr.KafkaPosition()
		ks, err := debezium.StartKafkaSignals(ctx, t.cfg.signals.Kafka, t.cfg.prefix, last, seen, t.log)
		if err != nil {
			return err
		}
		defer ks.Stop()
		s.signals = ks.Signals()
	}
	s.heartbeat = debezium.Heartbeat{Interval: t.cfg.heartbeat}
	s.heartbeat.Reset()
	defer s.stopReceiving()
	for {
		if err := t.streamStep(ctx, s); err != nil {
			return err
		}
	}
}

// sqlStateObjectInUse is Postgres's object_in_use error code, which
// START_REPLICATION returns while another connection holds the slot.
const sqlStateObjectInUse = "55006"

// startReplication starts streaming from the slot, retrying (up to
// slot.max.retries times, slot.retry.delay.ms apart) while another
// connection holds the slot, as the walsender of a crashed worker does
// until the server notices.
func (t *sourceTask) startReplication(ctx context.Context, start pglogrepl.LSN) error {
	args := []string{"proto_version '1'", "publication_names " + quoteLiteral(t.cfg.pub)}
	var version int
	if err := t.conn.QueryRow(ctx, "SELECT current_setting('server_version_num')::int").Scan(&version); err != nil {
		return fmt.Errorf("read server version: %w", err)
	}
	if version >= 140000 {
		args = append(args, "messages 'true'") // logical decoding messages, Postgres 14+
	}
	for attempt := 0; ; attempt++ {
		err := pglogrepl.StartReplication(ctx, t.repl, t.cfg.slot, start, pglogrepl.StartReplicationOptions{PluginArgs: args})
		if err == nil {
			return nil
		}
		err = fmt.Errorf("start replication from slot %s at %s: %w", t.cfg.slot, start, err)
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != sqlStateObjectInUse || attempt >= t.cfg.slotRetries {
			return err
		}
		t.log.Warn("replication slot in use, retrying", "slot", t.cfg.slot, "attempt", attempt+1, "of", t.cfg.slotRetries, "error", err)
		if err := kit.Sleep(ctx, t.cfg.slotRetryDelay); err != nil {
			return err
		}
	}
}

// initConfirm starts the confirmed LSN at the slot's confirmed flush
// position, so no status update ever reports less, or more, than that.
func (t *sourceTask) initConfirm(ctx context.Context, start pglogrepl.LSN) error {
	var flushed *string
	err := t.conn.QueryRow(ctx, "SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = $1", t.cfg.slot).Scan(&flushed)
	if err != nil {
		return fmt.Errorf("read confirmed position of slot %s: %w", t.cfg.slot, err)
	}
	lsn := start
	if flushed != nil {
		if l, err := pglogrepl.ParseLSN(*flushed); err == nil && l > lsn {
			lsn = l
		}
	}
	for cur := t.confirm.Load(); uint64(lsn) > cur; cur = t.confirm.Load() {
		if t.confirm.CompareAndSwap(cur, uint64(lsn)) {
			break
		}
	}
	return nil
}

// streamStep sends a status update or heartbeat when due, then runs a
// signal from Kafka when one waits and no transaction is being decoded, or
// else handles at most one server message.
func (t *sourceTask) streamStep(ctx context.Context, s *stream) error {
	if c := t.confirm.Load(); c != s.sent || time.Since(s.lastStatus) >= t.cfg.statusInterval {
		if err := t.sendStatus(ctx, s); err != nil {
			return err
		}
	}
	if s.tx == nil && s.heartbeat.Due() {
		if err := t.sendHeartbeat(ctx, s); err != nil {
			return err
		}
	}
	if s.tx == nil && s.signals != nil {
		select {
		case sig := <-s.signals:
			return t.runKafkaSignal(ctx, s, sig)
		default:
		}
	}
	msg, err := t.repl.ReceiveMessage(s.receiveContext(ctx))
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if pgconn.Timeout(err) {
			return nil
		}
		return fmt.Errorf("receive from slot %s: %w", t.cfg.slot, err)
	}
	switch m := msg.(type) {
	case *pgproto3.ErrorResponse:
		return fmt.Errorf("stream from slot %s: %w", t.cfg.slot, pgconn.ErrorResponseToPgError(m))
	case *pgproto3.CopyData:
		return t.handleCopyData(ctx, s, m.Data)
	}
	return nil
}

func (t *sourceTask) handleCopyData(ctx context.Context, s *stream, data []byte) error {
	if len(data) == 0 {
		return nil
	}
	switch data[0] {
	case pglogrepl.PrimaryKeepaliveMessageByteID:
		ka, err := pglogrepl.ParsePrimaryKeepaliveMessage(data[1:])
		if err != nil {
			return fmt.Errorf("parse keepalive: %w", err)
		}
		if s.tx == nil && ka.ServerWALEnd > s.walEnd {
			s.walEnd = ka.ServerWALEnd
		}
		if ka.ReplyRequested {
			return t.sendStatus(ctx, s)
		}
	case pglogrepl.XLogDataByteID:
		xld, err := pglogrepl.ParseXLogData(data[1:])
		if err != nil {
			return fmt.Errorf("parse XLogData: %w", err)
		}
		return t.handleWAL(ctx, s, xld)
	}
	return nil
}

// sendStatus confirms the LSN of the committed offsets; write, flush and
// apply all report it, never the received position.
func (t *sourceTask) sendStatus(ctx context.Context, s *stream) error {
	c := t.confirm.Load()
	lsn := pglogrepl.LSN(c)
	err := pglogrepl.SendStandbyStatusUpdate(ctx, t.repl, pglogrepl.StandbyStatusUpdate{
		WALWritePosition: lsn, WALFlushPosition: lsn, WALApplyPosition: lsn,
	})
	if err != nil {
		return fmt.Errorf("send standby status to slot %s: %w", t.cfg.slot, err)
	}
	s.sent, s.lastStatus = c, time.Now()
	return nil
}

// sendHeartbeat runs heartbeat.action.query and emits a heartbeat record
// whose offset holds the position every earlier change is behind: the
// last commit, or the server's WAL end seen outside a transaction.
func (t *sourceTask) sendHeartbeat(ctx context.Context, s *stream) error {
	s.heartbeat.Reset()
	if t.cfg.heartbeatQuery != "" {
		if _, err := t.conn.Exec(ctx, t.cfg.heartbeatQuery); err != nil {
			return fmt.Errorf("run heartbeat.action.query: %w", err)
		}
	}
	if s.walEnd > s.lastCommit {
		s.lastCommit = s.walEnd
	}
	now := time.Now()
	r := debezium.HeartbeatRecord(t.sourcePartition(), map[string]any{"lsn": int64(s.lastCommit), "ts_usec": now.UnixMicro()},
		t.cfg.heartbeatTopic, t.cfg.prefix, now)
	return t.emit(ctx, []*connect.Record{r})
}

// errUnknownRelation is wrapped when a change names a relation no
// RELATION message described.
var errUnknownRelation = errors.New("change for a relation not described by a RELATION message")
