package debezium

import (
	"fmt"
	"log/slog"
	"regexp"
	"strings"

	"github.com/sluicehq/sluice/runtime/connect"
)

// The keys every Debezium connector shares, with Debezium's names.
const (
	TopicPrefixConfig               = "topic.prefix"
	SchemaIncludeListConfig         = "schema.include.list"
	SchemaExcludeListConfig         = "schema.exclude.list"
	TableIncludeListConfig          = "table.include.list"
	TableExcludeListConfig          = "table.exclude.list"
	ColumnIncludeListConfig         = "column.include.list"
	ColumnExcludeListConfig         = "column.exclude.list"
	SnapshotFetchSizeConfig         = "snapshot.fetch.size"
	HeartbeatIntervalConfig         = "heartbeat.interval.ms"
	HeartbeatActionQueryConfig      = "heartbeat.action.query"
	TombstonesOnDeleteConfig        = "tombstones.on.delete"
	DecimalHandlingModeConfig       = "decimal.handling.mode"
	TimePrecisionModeConfig         = "time.precision.mode"
	BinaryHandlingModeConfig        = "binary.handling.mode"
	MessageKeyColumnsConfig         = "message.key.columns"
	SkippedOperationsConfig         = "skipped.operations"
	ProvideTxMetadataConfig         = "provide.transaction.metadata"
	TopicHeartbeatPrefixConfig      = "topic.heartbeat.prefix"
	TopicHeartbeatNameConfig        = "topic.heartbeat.name"
	TopicTransactionConfig          = "topic.transaction"
	SnapshotSelectOverridesConfig   = "snapshot.select.statement.overrides"
	SnapshotIncludeListConfig       = "snapshot.include.collection.list"
	SnapshotDelayConfig             = "snapshot.delay.ms"
	StreamingDelayConfig            = "streaming.delay.ms"
	EventFailureHandlingModeConfig  = "event.processing.failure.handling.mode"
	ColumnPropagateSourceTypeConfig = "column.propagate.source.type"
	TypePropagateSourceTypeConfig   = "datatype.propagate.source.type"
)

// Declarations of the shared keys, in groups a connector lists where its
// ConfigDef has them (the order is the order /config/validate answers in).
var (
	// TopicPrefixKey declares topic.prefix.
	TopicPrefixKey = str(TopicPrefixConfig, connect.NoDefault, connect.High, TopicPrefix{},
		"Prefix of every topic name the connector writes to, and the logical name of the captured server.")
	// FilterConfig declares the include and exclude lists (see Filter).
	FilterConfig = connect.ConfigDef{
		list(SchemaIncludeListConfig, "Regular expressions matching the names of the schemas to capture; no other schema is captured."),
		list(SchemaExcludeListConfig, "Regular expressions matching the names of the schemas not to capture."),
		list(TableIncludeListConfig, "Regular expressions matching the fully-qualified names (schema.table) of the tables to capture; no other table is captured."),
		list(TableExcludeListConfig, "Regular expressions matching the fully-qualified names (schema.table) of the tables not to capture."),
		list(ColumnIncludeListConfig, "Regular expressions matching the fully-qualified names (schema.table.column) of the columns to include in change events."),
		list(ColumnExcludeListConfig, "Regular expressions matching the fully-qualified names (schema.table.column) of the columns to leave out of change events."),
	}
	// SnapshotFetchSizeKey declares snapshot.fetch.size.
	SnapshotFetchSizeKey = connect.ConfigKey{
		Name: SnapshotFetchSizeConfig, Type: connect.ConfigInt, Default: 10240, Validator: connect.AtLeast(1),
		Importance: connect.Medium, Doc: "Maximum number of rows read from a table in one round trip during a snapshot.",
	}
	// HeartbeatConfig declares heartbeat.interval.ms and heartbeat.action.query.
	HeartbeatConfig = connect.ConfigDef{
		{
			Name: HeartbeatIntervalConfig, Type: connect.ConfigInt, Default: 0, Validator: connect.AtLeast(0),
			Importance: connect.Medium, Doc: "Milliseconds between heartbeat records, which keep offsets and the slot advancing on quiet databases; 0 disables them.",
		},
		str(HeartbeatActionQueryConfig, nil, connect.Low, nil, "Statement run on the source database at every heartbeat, so that a quiet captured database produces WAL."),
	}
	// TombstonesOnDeleteKey declares tombstones.on.delete.
	TombstonesOnDeleteKey = boolean(TombstonesOnDeleteConfig, true, connect.Medium,
		"Whether a delete event is followed by a tombstone (same key, null value) so log compaction can drop the row.")
	// HandlingModesConfig declares decimal.handling.mode,
	// time.precision.mode and binary.handling.mode.
	HandlingModesConfig = connect.ConfigDef{
		str(DecimalHandlingModeConfig, DecimalPrecise, connect.Medium, connect.OneOf{Values: []string{DecimalPrecise, DecimalDouble, DecimalString}},
			"How numeric and decimal columns are represented: Connect Decimal, double, or string."),
		str(TimePrecisionModeConfig, TimeAdaptive, connect.Medium, connect.OneOf{Values: []string{TimeAdaptive, TimeAdaptiveMicroseconds, TimeConnect}},
			"How temporal columns are represented: Debezium's types at the column's precision, the same with time as microseconds, or Connect's logical types."),
		str(BinaryHandlingModeConfig, BinaryBytes, connect.Low, connect.OneOf{Values: []string{BinaryBytes, BinaryBase64, BinaryBase64URLSafe, BinaryHex}},
			"How binary columns are represented: bytes, or a base64, URL-safe base64 or hex string."),
	}
	// EventConfig declares message.key.columns, skipped.operations and
	// provide.transaction.metadata.
	EventConfig = connect.ConfigDef{
		str(MessageKeyColumnsConfig, nil, connect.Low, nil,
			"Semicolon-separated schema.table:column,… entries naming the columns that form the key of each table's records instead of its primary key."),
		{
			Name: SkippedOperationsConfig, Type: connect.ConfigList, Default: "t", Validator: SkippedOperations{},
			Importance: connect.Low, Doc: "Operations not to emit: c (create), u (update), d (delete), t (truncate), or none.",
		},
		boolean(ProvideTxMetadataConfig, false, connect.Low, "Whether to emit transaction BEGIN and END records and add transaction fields to change events."),
	}
	// TopicNamesConfig declares the heartbeat and transaction topic keys.
	TopicNamesConfig = connect.ConfigDef{
		str(TopicHeartbeatPrefixConfig, "__debezium-heartbeat", connect.Low, connect.NonEmpty{},
			"Prefix of the heartbeat topic: heartbeats go to <prefix>.<topic.prefix>."),
		str(TopicHeartbeatNameConfig, nil, connect.Low, nil,
			"Full name of the heartbeat topic, instead of <topic.heartbeat.prefix>.<topic.prefix>; several connectors may share one."),
		str(TopicTransactionConfig, "transaction", connect.Low, connect.NonEmpty{},
			"Suffix of the transaction metadata topic: BEGIN and END records go to <topic.prefix>.<suffix>."),
	}
	// SnapshotConfig declares which tables and rows the initial snapshot
	// reads, and the delays around it.
	SnapshotConfig = connect.ConfigDef{
		{
			Name: SnapshotSelectOverridesConfig, Type: connect.ConfigList, Default: nil, Importance: connect.Medium,
			Doc: "Fully-qualified tables (schema.table) whose snapshot rows come from the SELECT statement in snapshot.select.statement.overrides.<schema>.<table> instead of the whole table.",
		},
		list(SnapshotIncludeListConfig, "Regular expressions matching the fully-qualified names of the captured tables to snapshot; the others are only streamed."),
		intKey(SnapshotDelayConfig, 0, 0, "Milliseconds to wait before starting the snapshot."),
		intKey(StreamingDelayConfig, 0, 0, "Milliseconds to wait after the snapshot before streaming starts."),
	}
	// FailureHandlingKey declares event.processing.failure.handling.mode.
	FailureHandlingKey = str(EventFailureHandlingModeConfig, "fail", connect.Low, connect.OneOf{Values: []string{"fail", "warn", "skip", "ignore"}},
		"What a change that cannot be converted does: fail the task (naming the table, column and value), or warn (log it) or skip (silently; ignore is Debezium's old name) and go on.")
)

func str(name string, def any, imp connect.Importance, v connect.Validator, doc string) connect.ConfigKey {
	return connect.ConfigKey{Name: name, Type: connect.ConfigString, Default: def, Validator: v, Importance: imp, Doc: doc}
}

func list(name, doc string) connect.ConfigKey {
	return connect.ConfigKey{Name: name, Type: connect.ConfigList, Default: nil, Validator: RegexList{}, Importance: connect.Medium, Doc: doc}
}

func boolean(name string, def bool, imp connect.Importance, doc string) connect.ConfigKey {
	return connect.ConfigKey{Name: name, Type: connect.ConfigBoolean, Default: def, Importance: imp, Doc: doc}
}

func intKey(name string, def, atLeast int, doc string) connect.ConfigKey {
	return connect.ConfigKey{Name: name, Type: connect.ConfigInt, Default: def, Validator: connect.AtLeast(float64(atLeast)), Importance: connect.Low, Doc: doc}
}

// RegexList accepts a null list or one whose every entry compiles.
type RegexList struct{}

// Validate implements connect.Validator.
func (RegexList) Validate(name string, v any) string {
	if v == nil {
		return ""
	}
	return connect.ValidRegex{}.Validate(name, v)
}

func (RegexList) String() string { return "comma-separated list of regular expressions" }

// TopicPrefix is Debezium's topic name check on topic.prefix.
type TopicPrefix struct{}

var topicNameChars = regexp.MustCompile(`^[a-zA-Z0-9_.\-]+$`)

// Validate implements connect.Validator.
func (TopicPrefix) Validate(_ string, v any) string {
	s, _ := v.(string)
	if !topicNameChars.MatchString(s) {
		return fmt.Sprintf("%s has invalid format (only the underscore, hyphen, dot and alphanumeric characters are allowed)", s)
	}
	return ""
}

func (TopicPrefix) String() string { return "letters, digits, '_', '-' and '.'" }

// SkippedOperations accepts a list of c, u, d, t, or none alone.
type SkippedOperations struct{}

// Validate implements connect.Validator.
func (SkippedOperations) Validate(_ string, v any) string {
	ops, _ := v.([]string)
	for _, op := range ops {
		switch strings.TrimSpace(op) {
		case "c", "u", "d", "t":
		case "none":
			if len(ops) > 1 {
				return "'none' cannot be combined with other operations"
			}
		default:
			return fmt.Sprintf("Unknown operation %q; valid operations are c, u, d, t and none", op)
		}
	}
	return ""
}

func (SkippedOperations) String() string { return "[c, u, d, t, none]" }

// Skipped is the set of operations skipped.operations names; none names
// no operation.
type Skipped map[Op]bool

// ParseSkipped reads skipped.operations as a parsed list.
func ParseSkipped(ops []string) Skipped {
	s := Skipped{}
	for _, op := range ops {
		s[Op(strings.TrimSpace(op))] = true
	}
	return s
}

// FilterFromConfig reads the include and exclude lists and
// message.key.columns of a parsed config (see FilterConfig).
func FilterFromConfig(c connect.Config) Filter {
	f := Filter{
		SchemaInclude: CompileList(c.List(SchemaIncludeListConfig)), SchemaExclude: CompileList(c.List(SchemaExcludeListConfig)),
		TableInclude: CompileList(c.List(TableIncludeListConfig)), TableExclude: CompileList(c.List(TableExcludeListConfig)),
		ColumnInclude: CompileList(c.List(ColumnIncludeListConfig)), ColumnExclude: CompileList(c.List(ColumnExcludeListConfig)),
	}
	if !c.IsNull(MessageKeyColumnsConfig) {
		f.Keys = ParseKeyColumns(c.String(MessageKeyColumnsConfig))
	}
	return f
}

// ConversionFailed applies event.processing.failure.handling.mode (mode)
// to a change of table that could not be converted (err): nil means skip
// it, logged on log under warn; under fail the error, saying how to go on.
func ConversionFailed(mode string, log *slog.Logger, table TableID, err error) error {
	switch mode {
	case "warn":
		log.Warn("skipping a change that cannot be converted", "table", table.String(), "error", err)
		return nil
	case "skip", "ignore":
		return nil
	}
	return fmt.Errorf("%w (set %s to warn or skip to go on without it)", err, EventFailureHandlingModeConfig)
}
