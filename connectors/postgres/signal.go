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
	"encoding/json"
	"fmt"
	"log/slog"
	"regexp"
	"strings"

	"github.com/sluicehq/sluice/connectors/debezium"

	"github.com/jackc/pglogrepl"

	"github.com/sluicehq/sluice/runtime/connect"
)

// Signal and incremental snapshot keys, with Debezium's names.
const (
	SignalDataCollectionConfig  = "signal.data.collection"
	SignalEnabledChannelsConfig = "signal.enabled.channels"
	IncrementalChunkSizeConfig  = "incremental.snapshot.chunk.size"
	WatermarkingStrategyConfig  = "incremental.snapshot.watermarking.strategy"
)

// signalConfig declares those keys; Config lists them after the others.
// signal.enabled.channels defaults to source, as in Debezium's code.
var signalConfig = connect.ConfigDef{
	str(SignalDataCollectionConfig, nil, connect.Medium, signalTable{},
		"Fully-qualified name (schema.table) of the signalling table, with text columns id, type and data: a row inserted there is a signal "+
			"(execute-snapshot, stop-snapshot, pause-snapshot, resume-snapshot, log). The table is always captured and must be in the publication; "+
			"incremental snapshots write their watermarks to it. Unset, there are no signals."),
	{
		Name: SignalEnabledChannelsConfig, Type: connect.ConfigList, Default: "source", Validator: signalChannels{}, Importance: connect.Medium,
		Doc: "Channels signals are read from: source, the signalling table; kafka, the topic signal.kafka.topic. Debezium's jmx and file channels are not supported.",
	},
	{
		Name: IncrementalChunkSizeConfig, Type: connect.ConfigInt, Default: 1024, Validator: connect.AtLeast(1), Importance: connect.Medium,
		Doc: "Most rows an incremental snapshot reads from a table in one chunk (one pair of watermarks).",
	},
	str(WatermarkingStrategyConfig, "insert_insert", connect.Low, connect.OneOf{Values: []string{"insert_insert", "insert_delete"}, CaseInsensitive: true},
		"How an incremental snapshot marks a chunk in the signalling table: insert_insert writes an open and a close row per chunk, "+
			"reads arriving between them losing to streamed changes of the same rows; insert_delete writes the open row and deletes it after the chunk, "+
			"emitting the chunk at once (streaming waits, and later changes follow the reads), which keeps the table small."),
}

// signalTable accepts an unset signal.data.collection or schema.table.
type signalTable struct{}

// Validate implements connect.Validator.
func (signalTable) Validate(_ string, v any) string {
	s, _ := v.(string)
	if v == nil {
		return ""
	}
	if _, ok := debezium.ParseTableID(s); !ok {
		return fmt.Sprintf("%q is not a fully-qualified table name (schema.table)", s)
	}
	return ""
}

func (signalTable) String() string { return "schema.table" }

// signalChannels accepts source and kafka: the other channels of Debezium
// are refused rather than silently never read.
type signalChannels struct{}

// Validate implements connect.Validator.
func (signalChannels) Validate(_ string, v any) string {
	channels, _ := v.([]string)
	for _, ch := range channels {
		if ch = strings.TrimSpace(ch); !strings.EqualFold(ch, "source") && !strings.EqualFold(ch, "kafka") {
			return fmt.Sprintf("The %q signal channel is not supported; Sluice reads signals from the source (signal.data.collection) and kafka channels only", ch)
		}
	}
	return ""
}

func (signalChannels) String() string { return "[source, kafka]" }

// signalSettings is the parsed form of the signal keys.
type signalSettings struct {
	// table is the signalling table; nil when signal.data.collection is
	// unset.
	table *debezium.TableID
	// source is whether signals are read from the table.
	source bool
	// kafka holds the Kafka channel's settings; nil when it is not
	// enabled.
	kafka     *kafkaSignalSettings
	chunkSize int
	// deleteClose is insert_delete: the close of a window deletes its
	// open row instead of inserting a close row.
	deleteClose bool
}

// parseSignals reads the signal keys of a validated config.
func parseSignals(c connect.Config) signalSettings {
	s := signalSettings{
		chunkSize:   int(c.Int(IncrementalChunkSizeConfig)),
		deleteClose: strings.EqualFold(c.String(WatermarkingStrategyConfig), "insert_delete"),
	}
	if !c.IsNull(SignalDataCollectionConfig) {
		if ref, ok := debezium.ParseTableID(c.String(SignalDataCollectionConfig)); ok {
			s.table = &ref
		}
	}
	for _, ch := range c.List(SignalEnabledChannelsConfig) {
		s.source = s.source || strings.EqualFold(strings.TrimSpace(ch), "source")
		if strings.EqualFold(strings.TrimSpace(ch), "kafka") && s.kafka == nil {
			s.kafka = parseKafkaSignals(c)
		}
	}
	return s
}

// isSignalTable reports whether t is the signalling table.
func (s signalSettings) isSignalTable(t debezium.TableID) bool { return debezium.SameTable(s.table, t) }

// Signal types, Debezium's.
const (
	signalLog             = "log"
	signalExecuteSnapshot = "execute-snapshot"
	signalStopSnapshot    = "stop-snapshot"
	signalPauseSnapshot   = "pause-snapshot"
	signalResumeSnapshot  = "resume-snapshot"
	signalWindowOpen      = "snapshot-window-open"
	signalWindowClose     = "snapshot-window-close"
)

// signal is one row inserted into the signalling table.
type signal struct {
	id, kind, data string
	xid            uint32 // transaction that inserted it
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
	if op == debezium.OpCreate && t.cfg.signals.isSignalTable(rel.ref) {
		// Watermarks are read from the table whichever channels are
		// enabled: incremental snapshots requested over Kafka need them.
		if sig, ok := signalFromEvent(ev, t.log); ok && (t.cfg.signals.source || sig.kind == signalWindowOpen || sig.kind == signalWindowClose) {
			sig.xid = s.tx.xid
			inc.pending = append(inc.pending, sig)
		}
	}
	inc.dedup(rel.ref, op, ev.Key)
}

// signalFromEvent reads id, type and data, the first three columns of the
// inserted row, as Debezium reads them.
func signalFromEvent(ev debezium.Event, log *slog.Logger) (signal, bool) {
	v, _ := ev.Value.(*connect.Struct)
	if v == nil {
		return signal{}, false
	}
	after, _ := v.Get("after")
	row, _ := after.(*connect.Struct)
	if row == nil {
		return signal{}, false
	}
	fields := row.Schema().Fields
	if len(fields) != 3 {
		log.Warn("signal ignored: the signalling table must have 3 columns (id, type, data)", "columns", len(fields))
		return signal{}, false
	}
	text := func(i int) string {
		if s, ok := row.GetField(&fields[i]).(string); ok {
			return s
		}
		return ""
	}
	return signal{id: text(0), kind: text(1), data: text(2)}, true
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
		if err := t.runSignal(ctx, sig, position{lsn: lsn, xid: sig.xid}); err != nil {
			return fmt.Errorf("run %s signal %q: %w", sig.kind, sig.id, err)
		}
	}
	return nil
}

// runSignal runs one signal; records it emits are at position at. A
// signal that cannot be understood is logged and ignored, as Debezium
// ignores it.
func (t *sourceTask) runSignal(ctx context.Context, sig signal, at position) error {
	log := t.log.With("signal", sig.id, "type", sig.kind)
	switch sig.kind {
	case signalWindowOpen:
		t.incr.openWindow(sig.id)
		return nil
	case signalWindowClose:
		return t.closeWindow(ctx, sig.id, at)
	case signalLog:
		var data struct{ Message string }
		if err := json.Unmarshal([]byte(sig.data), &data); err != nil || data.Message == "" {
			log.Warn("log signal without a message", "data", sig.data)
			return nil
		}
		log.Info(data.Message, "lsn", at.lsn.String())
		return nil
	case signalExecuteSnapshot, signalStopSnapshot, signalPauseSnapshot, signalResumeSnapshot:
		return t.snapshotSignal(ctx, sig, at, log)
	}
	log.Warn("signal of an unknown type ignored")
	return nil
}

// snapshotRequest is the data of execute-snapshot and stop-snapshot.
type snapshotRequest struct {
	DataCollections      []string `json:"data-collections"`
	Type                 string   `json:"type"`
	AdditionalConditions []struct {
		DataCollection string `json:"data-collection"`
		Filter         string `json:"filter"`
	} `json:"additional-conditions"`
	// AdditionalCondition is the single filter of Debezium before 2.5,
	// applied to every table.
	AdditionalCondition string `json:"additional-condition"`
	SurrogateKey        string `json:"surrogate-key"`
}

// snapshotSignal runs the signals that drive ad-hoc snapshots.
func (t *sourceTask) snapshotSignal(ctx context.Context, sig signal, at position, log *slog.Logger) error {
	var req snapshotRequest
	if strings.TrimSpace(sig.data) != "" {
		if err := json.Unmarshal([]byte(sig.data), &req); err != nil {
			log.Warn("snapshot signal ignored: data is not a JSON object of the expected shape", "data", sig.data, "error", err)
			return nil
		}
	}
	for i, dc := range req.DataCollections {
		req.DataCollections[i] = strings.TrimSpace(dc)
	}
	kind := strings.ToLower(req.Type)
	if kind == "" {
		kind = "incremental"
	}
	if kind != "incremental" && kind != "blocking" {
		log.Warn("snapshot signal ignored: unknown snapshot type", "snapshot_type", req.Type)
		return nil
	}
	switch sig.kind {
	case signalExecuteSnapshot:
		if len(req.DataCollections) == 0 {
			log.Warn("execute-snapshot signal ignored: data-collections is missing or empty", "data", sig.data)
			return nil
		}
		if kind == "blocking" {
			return t.blockingSnapshot(ctx, req, at, log)
		}
		if t.cfg.signals.table == nil {
			log.Warn("execute-snapshot signal ignored: incremental snapshots write watermarks to the signalling table, and signal.data.collection is unset")
			return nil
		}
		return t.startIncremental(ctx, sig.id, req, at, log)
	case signalStopSnapshot:
		if kind == "blocking" {
			log.Warn("stop-snapshot signal ignored: a blocking snapshot cannot be stopped")
			return nil
		}
		return t.stopIncremental(ctx, req.DataCollections, log)
	case signalPauseSnapshot:
		t.incr.pause(log)
		return nil
	}
	return t.resumeIncremental(ctx, at, log)
}

// conditionFor returns the additional condition of the first entry whose
// data-collection (a regular expression, without regard to case) matches
// table.
func (r snapshotRequest) conditionFor(table string) string {
	for _, c := range r.AdditionalConditions {
		if re, err := regexp.Compile(`(?i)^(?:` + c.DataCollection + `)$`); err == nil && re.MatchString(table) {
			return c.Filter
		}
	}
	return r.AdditionalCondition
}

// expandCollections replaces each requested name, a regular expression,
// by the captured tables it matches; one matching none stays as it is
// (and is skipped when its turn comes), as in Debezium.
func (t *sourceTask) expandCollections(ctx context.Context, requested []string) ([]string, error) {
	tables, err := capturedTables(ctx, t.conn, t.cfg.filter, t.viaRoot)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, name := range requested {
		re, err := regexp.Compile(`^(?:` + name + `)$`)
		n := len(out)
		for _, tb := range tables {
			if err == nil && re.MatchString(tb.String()) {
				out = append(out, tb.String())
			}
		}
		if len(out) == n {
			out = append(out, name)
		}
	}
	return out, nil
}

// checkSignalTable warns when the publication does not publish the
// signalling table: its signals and watermarks would never arrive.
func (t *sourceTask) checkSignalTable(ctx context.Context) error {
	ref := t.cfg.signals.table
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
