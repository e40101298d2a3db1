package postgres

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/runtime/connect"
)

// Keys for topic names, flow control, the slot and failure handling, with
// Debezium's names and defaults.
const (
	TopicHeartbeatPrefixConfig      = "topic.heartbeat.prefix"
	TopicHeartbeatNameConfig        = "topic.heartbeat.name"
	TopicTransactionConfig          = "topic.transaction"
	StatusUpdateIntervalConfig      = "status.update.interval.ms"
	FlushLSNSourceConfig            = "flush.lsn.source"
	LSNFlushModeConfig              = "lsn.flush.mode"
	MaxBatchSizeConfig              = "max.batch.size"
	MaxQueueSizeConfig              = "max.queue.size"
	PollIntervalConfig              = "poll.interval.ms"
	InitialStatementsConfig         = "database.initial.statements"
	SnapshotSelectOverridesConfig   = "snapshot.select.statement.overrides"
	SnapshotIncludeListConfig       = "snapshot.include.collection.list"
	SnapshotDelayConfig             = "snapshot.delay.ms"
	StreamingDelayConfig            = "streaming.delay.ms"
	SlotMaxRetriesConfig            = "slot.max.retries"
	SlotRetryDelayConfig            = "slot.retry.delay.ms"
	EventFailureHandlingModeConfig  = "event.processing.failure.handling.mode"
	ColumnPropagateSourceTypeConfig = "column.propagate.source.type"
	TypePropagateSourceTypeConfig   = "datatype.propagate.source.type"
	columnMaskPrefix, columnMaskEnd = "column.mask.with.", ".chars"
	columnTruncatePrefix            = "column.truncate.to."
)

// tuningConfig declares those keys; Config lists them after the others.
var tuningConfig = connect.ConfigDef{
	str(TopicHeartbeatPrefixConfig, "__debezium-heartbeat", connect.Low, connect.NonEmpty{},
		"Prefix of the heartbeat topic: heartbeats go to <prefix>.<topic.prefix>."),
	str(TopicHeartbeatNameConfig, nil, connect.Low, nil,
		"Full name of the heartbeat topic, instead of <topic.heartbeat.prefix>.<topic.prefix>; several connectors may share one."),
	str(TopicTransactionConfig, "transaction", connect.Low, connect.NonEmpty{},
		"Suffix of the transaction metadata topic: BEGIN and END records go to <topic.prefix>.<suffix>."),
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
	{
		Name: SnapshotSelectOverridesConfig, Type: connect.ConfigList, Default: nil, Importance: connect.Medium,
		Doc: "Fully-qualified tables (schema.table) whose snapshot rows come from the SELECT statement in snapshot.select.statement.overrides.<schema>.<table> instead of the whole table.",
	},
	list(SnapshotIncludeListConfig, "Regular expressions matching the fully-qualified names of the captured tables to snapshot; the others are only streamed."),
	intKey(SnapshotDelayConfig, 0, 0, "Milliseconds to wait before starting the snapshot."),
	intKey(StreamingDelayConfig, 0, 0, "Milliseconds to wait after the snapshot before streaming starts."),
	intKey(SlotMaxRetriesConfig, 6, 0, "How many times to retry starting replication when the slot is held by another connection (for example the server has not yet noticed a crashed worker)."),
	intKey(SlotRetryDelayConfig, 10000, 0, "Milliseconds between those retries."),
	list(ColumnPropagateSourceTypeConfig, "Regular expressions matching the fully-qualified names (schema.table.column) of the columns whose schema gets the source type parameters __debezium.source.column.type, .length and .scale, so that sinks can size their columns."),
	list(TypePropagateSourceTypeConfig, "Regular expressions matching fully-qualified data type names (schema.table.TYPE, the type as Postgres names it, case-insensitive) whose columns get the source type parameters."),
	str(EventFailureHandlingModeConfig, "fail", connect.Low, connect.OneOf{Values: []string{"fail", "warn", "skip", "ignore"}},
		"What a change that cannot be converted does: fail the task (naming the table, column and value), or warn (log it) or skip (silently; ignore is Debezium's old name) and go on."),
}

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
	masks             []columnRule
	msgIn, msgEx      []*regexp.Regexp // message prefix lists
	propagateColumns  []*regexp.Regexp
	propagateTypes    []*regexp.Regexp
}

// columnRule masks or truncates the string values of the columns it
// matches (column.mask.with.N.chars, column.truncate.to.N.chars).
type columnRule struct {
	columns  []*regexp.Regexp // fully-qualified schema.table.column
	n        int
	truncate bool
}

// apply masks or truncates s.
func (r columnRule) apply(s string) string {
	if !r.truncate {
		return strings.Repeat("*", r.n)
	}
	n := 0
	for i := range s { // i steps over characters, not bytes
		if n == r.n {
			return s[:i]
		}
		n++
	}
	return s
}

func parseTuning(c connect.Config, raw map[string]string) (tuning, error) {
	tn := tuning{
		heartbeatTopic:   c.String(TopicHeartbeatPrefixConfig) + "." + c.String(TopicPrefixConfig),
		txTopic:          c.String(TopicTransactionConfig),
		statusInterval:   ms(c.Int(StatusUpdateIntervalConfig)),
		flushLSN:         c.Bool(FlushLSNSourceConfig),
		batch:            int(c.Int(MaxBatchSizeConfig)),
		queue:            int(c.Int(MaxQueueSizeConfig)),
		snapshotOnly:     compileList(c.List(SnapshotIncludeListConfig)),
		snapshotDelay:    ms(c.Int(SnapshotDelayConfig)),
		streamingDelay:   ms(c.Int(StreamingDelayConfig)),
		slotRetries:      int(c.Int(SlotMaxRetriesConfig)),
		slotRetryDelay:   ms(c.Int(SlotRetryDelayConfig)),
		failureMode:      c.String(EventFailureHandlingModeConfig),
		selectOverrides:  map[string]string{},
		msgIn:            compileList(c.List(MessagePrefixIncludeListConfig)),
		propagateColumns: compileList(c.List(ColumnPropagateSourceTypeConfig)),
		propagateTypes:   compileList(c.List(TypePropagateSourceTypeConfig)),
		msgEx:            compileList(c.List(MessagePrefixExcludeListConfig)),
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
	tn.masks, err = columnRules(raw)
	return tn, err
}

// markSourceTypes sets PropagateSourceType on the columns the propagate
// lists match; it returns a copy of the table.
func (tn tuning) markSourceTypes(table Table) Table {
	if len(tn.propagateColumns) == 0 && len(tn.propagateTypes) == 0 {
		return table
	}
	table.Columns = slices.Clone(table.Columns)
	prefix := table.Schema + "." + table.Name + "."
	for i, c := range table.Columns {
		table.Columns[i].PropagateSourceType = matchAny(tn.propagateColumns, prefix+c.Name) ||
			(c.TypeName != "" && matchAny(tn.propagateTypes, prefix+c.TypeName))
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

// columnRules reads the column.mask.with.N.chars and
// column.truncate.to.N.chars keys, whose names carry N.
func columnRules(raw map[string]string) ([]columnRule, error) {
	var out []columnRule
	for key, v := range raw {
		rule := columnRule{}
		var digits string
		switch {
		case strings.HasPrefix(key, columnMaskPrefix) && strings.HasSuffix(key, columnMaskEnd):
			digits = strings.TrimSuffix(strings.TrimPrefix(key, columnMaskPrefix), columnMaskEnd)
		case strings.HasPrefix(key, columnTruncatePrefix) && strings.HasSuffix(key, columnMaskEnd):
			digits, rule.truncate = strings.TrimSuffix(strings.TrimPrefix(key, columnTruncatePrefix), columnMaskEnd), true
		default:
			continue
		}
		n, err := strconv.Atoi(digits)
		if err != nil || n < 0 {
			return nil, connect.NewConfigError(key, "Invalid value %s for configuration %s: the number of characters must be a non-negative integer", v, key)
		}
		rule.n = n
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p == "" {
				continue
			}
			re, err := regexp.Compile("(?i)^(?:" + p + ")$")
			if err != nil {
				return nil, connect.NewConfigError(key, "Invalid value %s for configuration %s: %v", v, key, err)
			}
			rule.columns = append(rule.columns, re)
		}
		out = append(out, rule)
	}
	return out, nil
}

// columnOps returns, per column of table, the mask or truncate rule that
// applies to it (nil for none); only string columns are masked, as in
// Debezium.
func (tn tuning) columnOps(table Table, row *connect.Schema) []*columnRule {
	var ops []*columnRule
	for i, c := range table.Columns {
		if row.Fields[i].Schema.Type != connect.TypeString {
			continue
		}
		name := table.Schema + "." + table.Name + "." + c.Name
		for r := range tn.masks {
			if matchAny(tn.masks[r].columns, name) {
				if ops == nil {
					ops = make([]*columnRule, len(table.Columns))
				}
				ops[i] = &tn.masks[r]
			}
		}
	}
	return ops
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
	if _, err := columnRules(config); err != nil {
		var ce *connect.ConfigError
		if errors.As(err, &ce) {
			out[ce.Key] = append(out[ce.Key], ce.Msg)
		}
	}
	return out
}
