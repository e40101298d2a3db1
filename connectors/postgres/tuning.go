package postgres

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/sluicehq/sluice/connectors/debezium"
	"github.com/sluicehq/sluice/runtime/connect"
)

// Keys for topic names, flow control, the slot and failure handling, with
// Debezium's names and defaults.
const (
	TopicHeartbeatPrefixConfig      = debezium.TopicHeartbeatPrefixConfig
	TopicHeartbeatNameConfig        = debezium.TopicHeartbeatNameConfig
	TopicTransactionConfig          = debezium.TopicTransactionConfig
	StatusUpdateIntervalConfig      = "status.update.interval.ms"
	FlushLSNSourceConfig            = "flush.lsn.source"
	LSNFlushModeConfig              = "lsn.flush.mode"
	MaxBatchSizeConfig              = "max.batch.size"
	MaxQueueSizeConfig              = "max.queue.size"
	PollIntervalConfig              = "poll.interval.ms"
	InitialStatementsConfig         = "database.initial.statements"
	SnapshotSelectOverridesConfig   = debezium.SnapshotSelectOverridesConfig
	SnapshotIncludeListConfig       = debezium.SnapshotIncludeListConfig
	SnapshotDelayConfig             = debezium.SnapshotDelayConfig
	StreamingDelayConfig            = debezium.StreamingDelayConfig
	SlotMaxRetriesConfig            = "slot.max.retries"
	SlotRetryDelayConfig            = "slot.retry.delay.ms"
	EventFailureHandlingModeConfig  = debezium.EventFailureHandlingModeConfig
	ColumnPropagateSourceTypeConfig = debezium.ColumnPropagateSourceTypeConfig
	TypePropagateSourceTypeConfig   = debezium.TypePropagateSourceTypeConfig
)

// tuningConfig declares those keys; Config lists them after the others.
var tuningConfig = slices.Concat(debezium.TopicNamesConfig, connect.ConfigDef{
	intKey(StatusUpdateIntervalConfig, 10000, 1, "Milliseconds between status updates to the server on the replication connection (they confirm the flushed LSN and show the connection is alive)."),
	boolean(FlushLSNSourceConfig, true, connect.Low,
		"Whether the connector confirms the LSN of committed offsets to the slot, letting the server recycle WAL; false leaves that to you (the slot holds WAL until you advance it)."),
	str(LSNFlushModeConfig, nil, connect.Low, nullOr{connect.OneOf{Values: []string{"connector", "manual", "connector_and_driver"}}},
		"Debezium 3's replacement for flush.lsn.source: connector (confirm, the default) or manual (never confirm); connector_and_driver behaves as connector. When set it wins over flush.lsn.source."),
	intKey(MaxBatchSizeConfig, 2048, 1, "Most records one poll hands to the worker."),
	intKey(MaxQueueSizeConfig, 8192, 1, "Most records read from Postgres and not yet polled by the worker; must be larger than max.batch.size."),
	intKey(PollIntervalConfig, 500, 1, "Accepted for Debezium compatibility: a poll returns as soon as records are ready, and waits for them otherwise."),
	str(InitialStatementsConfig, nil, connect.Low, nil,
		"Semicolon-separated SQL statements run on every query connection when it opens (not on the replication connection); write ';;' for a semicolon inside a statement."),
}, debezium.SnapshotConfig, connect.ConfigDef{
	intKey(SlotMaxRetriesConfig, 6, 0, "How many times to retry starting replication when the slot is held by another connection (for example the server has not yet noticed a crashed worker)."),
	intKey(SlotRetryDelayConfig, 10000, 0, "Milliseconds between those retries."),
	list(ColumnPropagateSourceTypeConfig, "Regular expressions matching the fully-qualified names (schema.table.column) of the columns whose schema gets the source type parameters __debezium.source.column.type, .length and .scale, so that sinks can size their columns."),
	list(TypePropagateSourceTypeConfig, "Regular expressions matching fully-qualified data type names (schema.table.TYPE, the type as Postgres names it, case-insensitive) whose columns get the source type parameters."),
	debezium.FailureHandlingKey,
})

// nullOr accepts an unset key or what its validator accepts.
type nullOr struct{ connect.OneOf }

// Validate implements connect.Validator.
func (n nullOr) Validate(name string, v any) string {
	if v == nil {
		return ""
	}
	return n.OneOf.Validate(name, v)
}

func intKey(name string, def, atLeast int, doc string) connect.ConfigKey {
	return connect.ConfigKey{Name: name, Type: connect.ConfigInt, Default: def, Validator: connect.AtLeast(float64(atLeast)), Importance: connect.Low, Doc: doc}
}

// tuning is the parsed form of those keys.
type tuning struct {
	heartbeatTopic    string
	txTopic           string
	statusInterval    time.Duration
	flushLSN          bool
	batch, queue      int
	initialStatements []string
	selectOverrides   map[string]string // "schema.table" → SELECT
	snapshotOnly      []*regexp.Regexp
	snapshotDelay     time.Duration
	streamingDelay    time.Duration
	slotRetries       int
	slotRetryDelay    time.Duration
	failureMode       string
	masks             []debezium.ColumnRule
	msgIn, msgEx      []*regexp.Regexp // message prefix lists
	propagate         debezium.PropagateSourceType
}

func parseTuning(c connect.Config, raw map[string]string) (tuning, error) {
	tn := tuning{
		heartbeatTopic:  c.String(TopicHeartbeatPrefixConfig) + "." + c.String(TopicPrefixConfig),
		txTopic:         c.String(TopicTransactionConfig),
		statusInterval:  ms(c.Int(StatusUpdateIntervalConfig)),
		flushLSN:        c.Bool(FlushLSNSourceConfig),
		batch:           int(c.Int(MaxBatchSizeConfig)),
		queue:           int(c.Int(MaxQueueSizeConfig)),
		snapshotOnly:    debezium.CompileList(c.List(SnapshotIncludeListConfig)),
		snapshotDelay:   ms(c.Int(SnapshotDelayConfig)),
		streamingDelay:  ms(c.Int(StreamingDelayConfig)),
		slotRetries:     int(c.Int(SlotMaxRetriesConfig)),
		slotRetryDelay:  ms(c.Int(SlotRetryDelayConfig)),
		failureMode:     c.String(EventFailureHandlingModeConfig),
		selectOverrides: map[string]string{},
		msgIn:           debezium.CompileList(c.List(MessagePrefixIncludeListConfig)),
		propagate: debezium.PropagateSourceType{
			Columns: debezium.CompileList(c.List(ColumnPropagateSourceTypeConfig)),
			Types:   debezium.CompileList(c.List(TypePropagateSourceTypeConfig)),
		},
		msgEx: debezium.CompileList(c.List(MessagePrefixExcludeListConfig)),
	}
	if name := strings.TrimSpace(c.String(TopicHeartbeatNameConfig)); name != "" {
		tn.heartbeatTopic = name
	}
	if !c.IsNull(LSNFlushModeConfig) {
		tn.flushLSN = c.String(LSNFlushModeConfig) != "manual"
	}
	if !c.IsNull(InitialStatementsConfig) {
		tn.initialStatements = splitStatements(c.String(InitialStatementsConfig))
	}
	for _, table := range c.List(SnapshotSelectOverridesConfig) {
		table = strings.TrimSpace(table)
		if q := strings.TrimSpace(raw[SnapshotSelectOverridesConfig+"."+table]); q != "" {
			tn.selectOverrides[table] = q
		}
	}
	var err error
	tn.masks, err = debezium.ParseColumnRules(raw)
	return tn, err
}

// markSourceTypes sets PropagateSourceType on the columns the propagate
// lists match; it returns a copy of the table.
func (tn tuning) markSourceTypes(table Table) Table {
	if tn.propagate.Empty() {
		return table
	}
	table.Columns = slices.Clone(table.Columns)
	id := debezium.TableID{Schema: table.Schema, Name: table.Name}
	for i, c := range table.Columns {
		table.Columns[i].PropagateSourceType = tn.propagate.Matches(id, c.Name, c.TypeName)
	}
	return table
}

func ms(n int64) time.Duration { return time.Duration(n) * time.Millisecond }

// splitStatements splits database.initial.statements on ';', where ';;'
// stands for a semicolon inside a statement.
func splitStatements(s string) []string {
	var out []string
	var cur strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != ';' {
			cur.WriteByte(s[i])
			continue
		}
		if i+1 < len(s) && s[i+1] == ';' {
			cur.WriteByte(';')
			i++
			continue
		}
		out = appendStatement(out, cur.String())
		cur.Reset()
	}
	return appendStatement(out, cur.String())
}

func appendStatement(out []string, s string) []string {
	if s = strings.TrimSpace(s); s != "" {
		out = append(out, s)
	}
	return out
}

// tuningErrors checks the rules between tuning keys.
func tuningErrors(config map[string]string) map[string][]string {
	out := map[string][]string{}
	c, err := Config.Parse(config)
	if err != nil {
		return out
	}
	if c.Int(MaxQueueSizeConfig) <= c.Int(MaxBatchSizeConfig) {
		out[MaxQueueSizeConfig] = append(out[MaxQueueSizeConfig], fmt.Sprintf("Must be larger than the maximum batch size (%d)", c.Int(MaxBatchSizeConfig)))
	}
	for _, table := range c.List(SnapshotSelectOverridesConfig) {
		key := SnapshotSelectOverridesConfig + "." + strings.TrimSpace(table)
		if strings.TrimSpace(config[key]) == "" {
			out[SnapshotSelectOverridesConfig] = append(out[SnapshotSelectOverridesConfig], fmt.Sprintf("No SELECT statement in %s", key))
		}
	}
	if _, err := debezium.ParseColumnRules(config); err != nil {
		var ce *connect.ConfigError
		if errors.As(err, &ce) {
			out[ce.Key] = append(out[ce.Key], ce.Msg)
		}
	}
	return out
}
