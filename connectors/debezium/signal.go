package debezium

// Signals, as Debezium's signal channels deliver them: a row inserted into
// the signalling table (signal.data.collection, columns id, type and data)
// and seen in the change stream (the source channel), or a record on the
// signal topic (the kafka channel, see KafkaSignals), asks the connector to
// do something: run an ad-hoc snapshot, stop, pause or resume it, or log a
// message. The connector reads the channels and runs the signals; this
// file reads their keys and their rows.

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"regexp"
	"strings"

	"github.com/sluicehq/sluice/runtime/connect"
)

// Signal and incremental snapshot keys, with Debezium's names.
const (
	SignalDataCollectionConfig  = "signal.data.collection"
	SignalEnabledChannelsConfig = "signal.enabled.channels"
	IncrementalChunkSizeConfig  = "incremental.snapshot.chunk.size"
	WatermarkingStrategyConfig  = "incremental.snapshot.watermarking.strategy"
)

// SignalConfig declares the signal, incremental snapshot and Kafka signal
// channel keys. signal.enabled.channels defaults to source, as in
// Debezium's code.
var SignalConfig = append(connect.ConfigDef{
	str(SignalDataCollectionConfig, nil, connect.Medium, SignalTable{},
		"Fully-qualified name (schema.table) of the signalling table, with text columns id, type and data: a row inserted there is a signal "+
			"(execute-snapshot, stop-snapshot, pause-snapshot, resume-snapshot, log). The table is always captured and must be in the publication; "+
			"incremental snapshots write their watermarks to it. Unset, there are no signals."),
	{
		Name: SignalEnabledChannelsConfig, Type: connect.ConfigList, Default: "source", Validator: SignalChannels{}, Importance: connect.Medium,
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
}, kafkaSignalConfig...)

// SignalTable accepts an unset signal.data.collection or schema.table.
type SignalTable struct{}

// Validate implements connect.Validator.
func (SignalTable) Validate(_ string, v any) string {
	s, _ := v.(string)
	if v == nil {
		return ""
	}
	if _, ok := ParseTableID(s); !ok {
		return fmt.Sprintf("%q is not a fully-qualified table name (schema.table)", s)
	}
	return ""
}

func (SignalTable) String() string { return "schema.table" }

// SignalChannels accepts source and kafka: the other channels of Debezium
// are refused rather than silently never read.
type SignalChannels struct{}

// Validate implements connect.Validator.
func (SignalChannels) Validate(_ string, v any) string {
	channels, _ := v.([]string)
	for _, ch := range channels {
		if ch = strings.TrimSpace(ch); !strings.EqualFold(ch, "source") && !strings.EqualFold(ch, "kafka") {
			return fmt.Sprintf("The %q signal channel is not supported; Sluice reads signals from the source (signal.data.collection) and kafka channels only", ch)
		}
	}
	return ""
}

func (SignalChannels) String() string { return "[source, kafka]" }

// SignalSettings is the parsed form of the signal keys.
type SignalSettings struct {
	// Table is the signalling table; nil when signal.data.collection is
	// unset.
	Table *TableID
	// Source is whether signals are read from the table.
	Source bool
	// Kafka holds the Kafka channel's settings; nil when it is not
	// enabled.
	Kafka     *KafkaSignalSettings
	ChunkSize int
	// DeleteClose is insert_delete: the close of a window deletes its
	// open row instead of inserting a close row.
	DeleteClose bool
}

// ParseSignals reads the signal keys of a validated config.
func ParseSignals(c connect.Config) SignalSettings {
	s := SignalSettings{
		ChunkSize:   int(c.Int(IncrementalChunkSizeConfig)),
		DeleteClose: strings.EqualFold(c.String(WatermarkingStrategyConfig), "insert_delete"),
	}
	if !c.IsNull(SignalDataCollectionConfig) {
		if ref, ok := ParseTableID(c.String(SignalDataCollectionConfig)); ok {
			s.Table = &ref
		}
	}
	for _, ch := range c.List(SignalEnabledChannelsConfig) {
		s.Source = s.Source || strings.EqualFold(strings.TrimSpace(ch), "source")
		if strings.EqualFold(strings.TrimSpace(ch), "kafka") && s.Kafka == nil {
			s.Kafka = parseKafkaSignals(c)
		}
	}
	return s
}

// IsSignalTable reports whether t is the signalling table.
func (s SignalSettings) IsSignalTable(t TableID) bool { return SameTable(s.Table, t) }

// Signal types, Debezium's.
const (
	SignalLog             = "log"
	SignalExecuteSnapshot = "execute-snapshot"
	SignalStopSnapshot    = "stop-snapshot"
	SignalPauseSnapshot   = "pause-snapshot"
	SignalResumeSnapshot  = "resume-snapshot"
	SignalWindowOpen      = "snapshot-window-open"
	SignalWindowClose     = "snapshot-window-close"
)

// Signal is one signal: a row of the signalling table or a record of the
// signal topic.
type Signal struct {
	ID, Type, Data string
}

// IsWatermark reports whether the signal is an incremental snapshot's
// window watermark rather than a request.
func (s Signal) IsWatermark() bool { return s.Type == SignalWindowOpen || s.Type == SignalWindowClose }

// SignalFromEvent reads id, type and data, the first three columns of the
// row an insert into the signalling table created, as Debezium reads
// them; ok is false for an event without such a row.
func SignalFromEvent(ev Event, log *slog.Logger) (Signal, bool) {
	v, _ := ev.Value.(*connect.Struct)
	if v == nil {
		return Signal{}, false
	}
	after, _ := v.Get("after")
	row, _ := after.(*connect.Struct)
	if row == nil {
		return Signal{}, false
	}
	fields := row.Schema().Fields
	if len(fields) != 3 {
		log.Warn("signal ignored: the signalling table must have 3 columns (id, type, data)", "columns", len(fields))
		return Signal{}, false
	}
	text := func(i int) string {
		if s, ok := row.GetField(&fields[i]).(string); ok {
			return s
		}
		return ""
	}
	return Signal{ID: text(0), Type: text(1), Data: text(2)}, true
}

// SnapshotRequest is the data of execute-snapshot and stop-snapshot.
type SnapshotRequest struct {
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

// Snapshot types of a SnapshotRequest.
const (
	SnapshotIncremental = "incremental"
	SnapshotBlocking    = "blocking"
)

// ParseSnapshotRequest reads the data of a snapshot signal, its tables
// trimmed; empty data is an empty request. The error is the JSON decoder's.
func ParseSnapshotRequest(data string) (SnapshotRequest, error) {
	var req SnapshotRequest
	if strings.TrimSpace(data) != "" {
		if err := json.Unmarshal([]byte(data), &req); err != nil {
			return SnapshotRequest{}, err
		}
	}
	for i, dc := range req.DataCollections {
		req.DataCollections[i] = strings.TrimSpace(dc)
	}
	return req, nil
}

// Kind returns the snapshot type, lower-cased, incremental when absent;
// ok is false for a type other than incremental and blocking.
func (r SnapshotRequest) Kind() (kind string, ok bool) {
	kind = strings.ToLower(r.Type)
	if kind == "" {
		kind = SnapshotIncremental
	}
	return kind, kind == SnapshotIncremental || kind == SnapshotBlocking
}

// ConditionFor returns the additional condition of the first entry whose
// data-collection (a regular expression, without regard to case) matches
// table.
func (r SnapshotRequest) ConditionFor(table string) string {
	for _, c := range r.AdditionalConditions {
		if re, err := regexp.Compile(`(?i)^(?:` + c.DataCollection + `)$`); err == nil && re.MatchString(table) {
			return c.Filter
		}
	}
	return r.AdditionalCondition
}

// ExpandCollections replaces each requested name, a regular expression,
// by the captured tables it matches; one matching none stays as it is
// (and is skipped when its turn comes), as in Debezium.
func ExpandCollections(requested []string, captured []TableID) []string {
	var out []string
	for _, name := range requested {
		re, err := regexp.Compile(`^(?:` + name + `)$`)
		n := len(out)
		for _, tb := range captured {
			if err == nil && re.MatchString(tb.String()) {
				out = append(out, tb.String())
			}
		}
		if len(out) == n {
			out = append(out, name)
		}
	}
	return out
}
