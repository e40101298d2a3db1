package postgres

// Signals, as Debezium's source signal channel reads them: a row inserted
// into the signalling table (signal.data.collection, columns id, type,
// data) and seen in the replication stream asks the connector to do
// something. The table is always captured, whatever the include and
// exclude lists say, as Debezium captures it: it is in a filtered
// publication, and its rows, the connector's own watermarks included, are
// change events on its topic. A signal takes effect when its transaction
// commits, after that transaction's records.
//
//	INSERT INTO public.debezium_signal (id, type, data) VALUES ('ad-hoc-1', 'execute-snapshot',
//	  '{"data-collections": ["public.orders"], "type": "incremental"}');

import (
	"context"
	"fmt"

	"github.com/jackc/pglogrepl"

	"github.com/sluicehq/sluice/connectors/debezium"
)

// Signal and incremental snapshot keys, with Debezium's names.
const (
	SignalDataCollectionConfig  = debezium.SignalDataCollectionConfig
	SignalEnabledChannelsConfig = debezium.SignalEnabledChannelsConfig
	IncrementalChunkSizeConfig  = debezium.IncrementalChunkSizeConfig
	WatermarkingStrategyConfig  = debezium.WatermarkingStrategyConfig

	SignalKafkaTopicConfig            = debezium.SignalKafkaTopicConfig
	SignalKafkaBootstrapServersConfig = debezium.SignalKafkaBootstrapServersConfig
	SignalKafkaGroupIDConfig          = debezium.SignalKafkaGroupIDConfig
	SignalKafkaPollTimeoutConfig      = debezium.SignalKafkaPollTimeoutConfig
)

// pendingSignal is a row inserted into the signalling table, waiting for
// its transaction to commit.
type pendingSignal struct {
	debezium.Signal
	xid uint32 // transaction that inserted it
}

// observe shows the signal and incremental snapshot machinery a change
// event the stream is about to emit: a row inserted into the signalling
// table is a signal, run when its transaction commits (only watermarks
// when the source channel is not enabled); a change to a row
// of the chunk being snapshotted removes that row from the chunk's window,
// the streamed change being newer than the chunk's read.
func (t *sourceTask) observe(s *stream, rel *relation, op debezium.Op, ev debezium.Event) {
	inc := t.incr
	if inc == nil {
		return
	}
	if op == debezium.OpCreate && t.cfg.signals.IsSignalTable(rel.ref) {
		// Watermarks are read from the table whichever channels are
		// enabled: incremental snapshots requested over Kafka need them.
		if sig, ok := debezium.SignalFromEvent(ev, t.log); ok && (t.cfg.signals.Source || sig.IsWatermark()) {
			inc.pending = append(inc.pending, pendingSignal{Signal: sig, xid: s.tx.xid})
		}
	}
	inc.Dedup(rel.ref, op, ev.Key)
}

// signalsCommitted runs the signals of the transaction that committed at
// lsn, in insertion order.
func (t *sourceTask) signalsCommitted(ctx context.Context, lsn pglogrepl.LSN) error {
	inc := t.incr
	if inc == nil || len(inc.pending) == 0 {
		return nil
	}
	signals := inc.pending
	inc.pending = nil
	for _, sig := range signals {
		if err := t.runSignal(ctx, sig.Signal, position{lsn: lsn, xid: sig.xid}); err != nil {
			return fmt.Errorf("run %s signal %q: %w", sig.Type, sig.ID, err)
		}
	}
	return nil
}

// runSignal runs one signal; records it emits are at position at.
func (t *sourceTask) runSignal(ctx context.Context, sig debezium.Signal, at position) error {
	return t.incr.RunSignal(ctx, sig, t.chunks(at), t.log)
}

// checkSignalTable warns when the publication does not publish the
// signalling table: its signals and watermarks would never arrive.
func (t *sourceTask) checkSignalTable(ctx context.Context) error {
	ref := t.cfg.signals.Table
	var published bool
	err := t.conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_publication_tables
		WHERE pubname = $1 AND lower(schemaname) = lower($2) AND lower(tablename) = lower($3))`,
		t.cfg.pub, ref.Schema, ref.Name).Scan(&published)
	if err != nil {
		return fmt.Errorf("look up signalling table %s in publication %s: %w", ref, t.cfg.pub, err)
	}
	if !published {
		t.log.Warn("the signalling table is not in the publication: signals and incremental snapshots will not work until it is added",
			"table", ref.String(), "publication", t.cfg.pub)
	}
	return nil
}

// kafkaSignalErrors is the Kafka channel's rule between keys.
func kafkaSignalErrors(config map[string]string) map[string][]string {
	return debezium.KafkaSignalErrors(config)
}
