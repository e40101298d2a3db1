package transform

import (
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/sluicehq/sluice/runtime/connect"
)

// eventRouter is Debezium's io.debezium.transforms.outbox.EventRouter, the
// transactional outbox pattern on a CDC connector: an application inserts
// each event into an outbox table in the transaction that changes its
// data, and every insert captured there becomes one event record:
//
//	outboxevent row (op c or r)            record
//	id            406c07f3-…         ->    header id=406c07f3-…
//	aggregatetype Order              ->    topic outbox.event.Order
//	aggregateid   1                  ->    key "1" (the column's schema)
//	payload       {"id": 1, …}       ->    value (the column's schema)
//	                                       timestamp: the envelope's ts_ms
//
// Deletes and tombstones are dropped (an outbox table is usually emptied
// right after each insert), updates are skipped with a warning or error
// log or fail the task (table.op.invalid.behavior); values whose schema is
// not a change event Envelope (heartbeats, schema changes, transaction
// metadata) pass through. A truncate event fails, as in Debezium, which
// only works because its connectors skip truncates by default.
//
// With envelope placements (table.fields.additional.placement) the value
// is a struct holding the payload field and the placed columns, named
// after the row schema with the routed value inserted before its last
// part (<prefix>.<schema>.<table>.<aggregatetype>.Value) and versioned by
// table.field.event.schema.version. Debezium caches that schema per
// payload schema (per version when versioned), so every aggregate type
// gets the name of the first one it saw; here each record's schema is
// named after its own routed value.
type eventRouter struct {
	idColumn, keyColumn, payloadColumn string
	timestampColumn, versionColumn     string
	routeBy                            string
	placements                         []placement
	errorOnMissing                     bool
	payloadOnly                        bool // no envelope placement: the value is the payload itself
	tombstoneOnEmpty                   bool
	invalidOp                          string
	expandJSON                         bool
	json                               jsonSchemaData

	after    *extractField
	router   *regexRouter
	values   map[outboxSchemaKey]*connect.Schema
	expanded []*connect.Schema
	// logger receives the warnings Debezium logs; the worker sets it
	// (connect.LoggerSetter), nil drops them.
	logger *slog.Logger
}

// Config keys, as Debezium names them; route.by.field is routeByFieldKey.
const (
	outboxInvalidOpKey       = "table.op.invalid.behavior"
	outboxLegacyInvalidOpKey = "debezium.op.invalid.behavior"
	outboxIDKey              = "table.field.event.id"
	outboxKeyKey             = "table.field.event.key"
	outboxTypeKey            = "table.field.event.type"
	outboxPayloadKey         = "table.field.event.payload"
	outboxTimestampKey       = "table.field.event.timestamp"
	outboxPlacementKey       = "table.fields.additional.placement"
	outboxErrorOnMissingKey  = "table.fields.additional.error.on.missing"
	outboxVersionKey         = "table.field.event.schema.version"
	outboxExpandJSONKey      = "table.expand.json.payload"
	outboxLegacyExpandKey    = "debezium.expand.json.payload"
	outboxJSONNullKey        = "table.json.payload.null.behavior"
	outboxTopicRegexKey      = "route.topic.regex"
	outboxTopicReplaceKey    = "route.topic.replacement"
	outboxTombstoneKey       = "route.tombstone.on.empty.payload"
)

// outboxPayloadField is the payload's field in an envelope value.
const outboxPayloadField = "payload"

// Debezium's epoch timestamp schema names, the logical types an event
// timestamp column may have.
const (
	debeziumTimestamp      = "io.debezium.time.Timestamp"
	debeziumMicroTimestamp = "io.debezium.time.MicroTimestamp"
	debeziumNanoTimestamp  = "io.debezium.time.NanoTimestamp"
)

// placementKind is where table.fields.additional.placement puts a column.
type placementKind int

const (
	placeHeader placementKind = iota
	placeEnvelope
	placePartition
)

var placementKinds = map[string]placementKind{"header": placeHeader, "envelope": placeEnvelope, "partition": placePartition}

// placement is one column:placement[:alias] entry.
type placement struct {
	kind   placementKind
	column string
	alias  string
}

// parsePlacements reads table.fields.additional.placement as Debezium
// does, and returns what is wrong with it, or "". Unknown placements and
// envelope fields named twice are refused here; Debezium fails on them
// only when the first event arrives.
func parsePlacements(entries []string) ([]placement, string) {
	var out []placement
	envelope := map[string]bool{outboxPayloadField: true}
	for _, e := range entries {
		if e == "" {
			continue
		}
		parts := javaSplit(e, ":")
		if len(parts) != 2 && len(parts) != 3 {
			return nil, "A comma-separated list of valid String pairs or trios is expected but got: [" +
				strings.Join(entries, ", ") + "]"
		}
		kind, ok := placementKinds[strings.ToLower(strings.TrimSpace(parts[1]))]
		if !ok {
			return nil, fmt.Sprintf("Unknown placement '%s' in %s: expected header, envelope or partition", parts[1], e)
		}
		p := placement{kind: kind, column: parts[0], alias: parts[0]}
		if len(parts) == 3 {
			p.alias = parts[2]
		}
		if kind == placeEnvelope {
			if envelope[p.alias] {
				return nil, fmt.Sprintf("Envelope field %s is used twice (payload is taken by the payload)", p.alias)
			}
			envelope[p.alias] = true
		}
		out = append(out, p)
	}
	return out, ""
}

var placementsValidator = connect.ValidatorFunc{
	Fn: func(_ string, v any) string {
		l, _ := v.([]string)
		_, msg := parsePlacements(l)
		return msg
	},
	Desc: "comma-separated column:placement[:alias] entries, placement one of header, envelope, partition",
}

var invalidOpBehaviors = caseInsensitiveValidString("warn", "error", "fatal")

// inGroup places keys in a Debezium config group, numbered in order.
func inGroup(group string, keys ...connect.ConfigKey) connect.ConfigDef {
	for i := range keys {
		keys[i].Group, keys[i].OrderInGroup, keys[i].Width = group, i+1, connect.WidthMedium
	}
	return keys
}

var eventRouterConfig = slices.Concat(
	inGroup("Table",
		connect.ConfigKey{Name: outboxIDKey, Type: connect.ConfigString, Default: "id", Importance: connect.Low,
			DisplayName: "Event ID Field", Doc: "Outbox column holding the unique event ID, sent as the id header."},
		connect.ConfigKey{Name: outboxKeyKey, Type: connect.ConfigString, Default: "aggregateid", Importance: connect.Low,
			DisplayName: "Event Key Field", Doc: "Outbox column holding the event key, which becomes the record key " +
				"with the column's schema; blank for a null key."},
		connect.ConfigKey{Name: outboxTypeKey, Type: connect.ConfigString, Default: "type", Importance: connect.Low,
			DisplayName: "Event Type Field", Doc: "Outbox column holding the event type; accepted for compatibility, " +
				"Debezium does not use it (place it with table.fields.additional.placement)."},
		connect.ConfigKey{Name: outboxPayloadKey, Type: connect.ConfigString, Default: outboxPayloadField, Importance: connect.Low,
			DisplayName: "Event Payload Field", Doc: "Outbox column holding the event payload, which becomes the value."},
		connect.ConfigKey{Name: outboxTimestampKey, Type: connect.ConfigString, Default: nil, Importance: connect.Medium,
			DisplayName: "Event Timestamp Field", Doc: "Outbox column (io.debezium.time.Timestamp, MicroTimestamp or " +
				"NanoTimestamp) whose value becomes the record timestamp; unset or null, the envelope's ts_ms."},
		connect.ConfigKey{Name: outboxPlacementKey, Type: connect.ConfigList, Default: "", Validator: placementsValidator,
			Importance: connect.High, DisplayName: "Settings for each additional column in the outbox table",
			Doc: "Further columns as column:placement[:alias] entries: header adds a header, envelope a field next " +
				"to payload in a struct value, partition (an INT32 column; no alias) sets the Kafka partition."},
		connect.ConfigKey{Name: outboxErrorOnMissingKey, Type: connect.ConfigBoolean, Default: true, Importance: connect.Medium,
			DisplayName: "Should the transform error if an additional field is missing in the change data",
			Doc:         "Whether an additional column missing from the row fails the record (true) or is left out (false)."},
		connect.ConfigKey{Name: outboxVersionKey, Type: connect.ConfigString, Default: nil, Importance: connect.Low,
			DisplayName: "Event Schema Version Field", Doc: "INT32 outbox column whose value becomes the version " +
				"of the struct value's schema; has no effect without envelope placements."},
		connect.ConfigKey{Name: outboxInvalidOpKey, Type: connect.ConfigString, Default: "warn", Validator: invalidOpBehaviors,
			Importance: connect.Medium, DisplayName: "Behavior when capturing an unexpected outbox event",
			Doc: "What an update on the outbox table does: warn or error logs it at that level and drops it, fatal fails the task."},
		connect.ConfigKey{Name: outboxExpandJSONKey, Type: connect.ConfigBoolean, Default: false, Importance: connect.Medium,
			DisplayName: "Expand Payload escaped string as real JSON", Doc: "Whether a string payload holding a JSON " +
				"object or array becomes a struct or array with a schema inferred from it; other payloads are kept as they are."},
		connect.ConfigKey{Name: outboxJSONNullKey, Type: connect.ConfigString, Default: "ignore",
			Validator: caseInsensitiveValidString("ignore", "optional_bytes"), Importance: connect.Medium,
			DisplayName: "Behavior when json payload including null value", Doc: "What becomes of null members when " +
				"the payload is expanded: ignore leaves them out of the schema, optional_bytes keeps them as optional BYTES fields."},
	),
	inGroup("Router",
		connect.ConfigKey{Name: routeByFieldKey, Type: connect.ConfigString, Default: "aggregatetype", Importance: connect.High,
			DisplayName: "Field to route events by", Doc: "Outbox column whose value routes the event: it replaces " +
				"the topic and is then rewritten by route.topic.regex and route.topic.replacement."},
		connect.ConfigKey{Name: outboxTopicRegexKey, Type: connect.ConfigString, Default: "(?<routedByValue>.*)",
			Validator: javaRegex, Importance: connect.Low, DisplayName: "The name of the routed topic",
			Doc: "Regular expression the routed value must match whole to be rewritten by route.topic.replacement."},
		connect.ConfigKey{Name: outboxTopicReplaceKey, Type: connect.ConfigString, Default: "outbox.event.${routedByValue}",
			Importance: connect.High, DisplayName: "The name of the routed topic",
			Doc: "Topic of a routed event; $n and ${name} insert groups of route.topic.regex."},
		connect.ConfigKey{Name: outboxTombstoneKey, Type: connect.ConfigBoolean, Default: false, Importance: connect.High,
			DisplayName: "Empty payloads cause a tombstone message",
			Doc:         "Whether a null or blank payload gives a tombstone (null value and schema) instead of a null payload."},
	),
	inGroup("Debezium",
		connect.ConfigKey{Name: outboxLegacyInvalidOpKey, Type: connect.ConfigString, Default: nil,
			Validator: nullOr(invalidOpBehaviors), Importance: connect.Low, DisplayName: "Behavior when the route fails to apply",
			Doc: "Deprecated name of table.op.invalid.behavior (Debezium 1.x), used when that is not set."},
		connect.ConfigKey{Name: outboxLegacyExpandKey, Type: connect.ConfigBoolean, Default: nil, Importance: connect.Low,
			DisplayName: "Expand Payload escaped string as real JSON",
			Doc:         "Deprecated name of table.expand.json.payload (Debezium 1.x), used when that is not set."},
	),
)

func (t *eventRouter) Configure(props map[string]string) error {
	cfg, err := eventRouterConfig.Parse(props)
	if err != nil {
		return err
	}
	t.idColumn, t.keyColumn = cfg.String(outboxIDKey), cfg.String(outboxKeyKey)
	t.payloadColumn, t.timestampColumn = cfg.String(outboxPayloadKey), cfg.String(outboxTimestampKey)
	t.versionColumn, t.routeBy = cfg.String(outboxVersionKey), cfg.String(routeByFieldKey)
	t.placements, _ = parsePlacements(cfg.List(outboxPlacementKey))
	t.payloadOnly = !slices.ContainsFunc(t.placements, func(p placement) bool { return p.kind == placeEnvelope })
	t.errorOnMissing = cfg.Bool(outboxErrorOnMissingKey)
	t.tombstoneOnEmpty = cfg.Bool(outboxTombstoneKey)
	t.expandJSON = cfg.Bool(outboxExpandJSONKey)
	if _, set := props[outboxExpandJSONKey]; !set && !cfg.IsNull(outboxLegacyExpandKey) {
		t.expandJSON = cfg.Bool(outboxLegacyExpandKey)
	}
	t.json = jsonSchemaData{nullAsBytes: strings.EqualFold(cfg.String(outboxJSONNullKey), "optional_bytes")}
	t.invalidOp = strings.ToLower(cfg.String(outboxInvalidOpKey))
	if _, set := props[outboxInvalidOpKey]; !set && cfg.String(outboxLegacyInvalidOpKey) != "" {
		t.invalidOp = strings.ToLower(cfg.String(outboxLegacyInvalidOpKey))
	}
	t.values, t.expanded = nil, nil

	re, err := regexp.Compile(`^(?:` + cfg.String(outboxTopicRegexKey) + `)$`)
	if err != nil {
		return connect.NewConfigError(outboxTopicRegexKey, "Invalid value %s for configuration %s: %s",
			cfg.String(outboxTopicRegexKey), outboxTopicRegexKey, err)
	}
	repl := cfg.String(outboxTopicReplaceKey)
	template, err := javaReplacement(repl, re)
	if err != nil {
		return connect.NewConfigError(outboxTopicReplaceKey, "Invalid value %s for configuration %s: %s",
			repl, outboxTopicReplaceKey, err)
	}
	t.router = &regexRouter{re: re, template: template}
	t.after = &extractField{side: valueSide}
	if err := t.after.Configure(map[string]string{"field": "after"}); err != nil {
		return fmt.Errorf("configure EventRouter after extraction: %w", err)
	}
	return nil
}

// SetLogger implements connect.LoggerSetter.
func (t *eventRouter) SetLogger(l *slog.Logger) { t.logger = l }

func (t *eventRouter) log() *slog.Logger { return connect.OrDiscard(t.logger) }

func (t *eventRouter) Apply(r *connect.Record) (*connect.Record, error) {
	if r.Value == nil {
		return nil, nil // tombstones of deleted outbox rows
	}
	if s := r.ValueSchema; s == nil || !strings.HasSuffix(s.Name, envelopeSuffix) {
		return r, nil
	}
	env, err := requireStruct(r.Value, "Detect Debezium Operation")
	if err != nil {
		return nil, err
	}
	op, err := typedField(env, "op", connect.TypeString)
	if err != nil {
		return nil, err
	}
	switch op {
	case nil:
		return nil, fmt.Errorf("%w: change event without op", connect.ErrData)
	case "d":
		return nil, nil
	case "u":
		return nil, t.unexpectedUpdate(r)
	}
	after, err := t.after.Apply(r)
	if err != nil {
		return nil, err
	}
	row, err := requireStruct(after.Value, "Read Outbox Event")
	if err != nil {
		return nil, err
	}
	return t.route(r, env, row)
}

// unexpectedUpdate applies table.op.invalid.behavior to an update.
func (t *eventRouter) unexpectedUpdate(r *connect.Record) error {
	switch t.invalidOp {
	case "fatal":
		return fmt.Errorf("Unexpected update message received %v, fail.", r.Key)
	case "error":
		t.log().Error("Unexpected update message received and ignored", "topic", r.Topic, "key", fmt.Sprint(r.Key))
	default:
		t.log().Warn("Unexpected update message received and ignored", "topic", r.Topic, "key", fmt.Sprint(r.Key))
	}
	return nil
}

// route turns the outbox row of r's envelope env into the event record.
func (t *eventRouter) route(r *connect.Record, env, row *connect.Struct) (*connect.Record, error) {
	schema := row.Schema()
	payloadField := schema.Field(t.payloadColumn)
	if payloadField == nil {
		return nil, fmt.Errorf("%w: Unable to find payload field %s in event", connect.ErrData, t.payloadColumn)
	}
	ts, err := t.timestamp(env, row)
	if err != nil {
		return nil, err
	}
	idField := schema.Field(t.idColumn)
	if idField == nil {
		return nil, fmt.Errorf("%w: Unable to find event-id field %s in event", connect.ErrData, t.idColumn)
	}
	payload, payloadSchema := row.GetField(payloadField), payloadField.Schema
	if t.expandJSON {
		payload, payloadSchema = t.expand(r, payload, payloadSchema)
	}
	routed, err := typedField(row, t.routeBy, connect.TypeString)
	if err != nil {
		return nil, fmt.Errorf("read %s %s: %w", routeByFieldKey, t.routeBy, err)
	}
	if routed == nil {
		return nil, fmt.Errorf("%w: %s column %s is null, no topic to route to", connect.ErrData, routeByFieldKey, t.routeBy)
	}
	c := r.Copy()
	c.Topic, c.Partition, c.Timestamp = routed.(string), connect.AnyPartition, ts
	c.Headers = append(c.Headers, connect.Header{Key: "id", Schema: idField.Schema, Value: row.GetField(idField)})
	var envelope *connect.Struct
	if !t.payloadOnly {
		if envelope, err = t.envelope(row, payload, payloadSchema, c.Topic); err != nil {
			return nil, err
		}
	}
	if err := t.placeColumns(c, row, envelope); err != nil {
		return nil, err
	}
	switch s, isString := payload.(string); {
	case t.tombstoneOnEmpty && (payload == nil || isString && javaTrim(s) == ""):
		c.ValueSchema, c.Value = nil, nil
	case envelope != nil:
		c.ValueSchema, c.Value = envelope.Schema(), envelope
	default:
		c.ValueSchema, c.Value = payloadSchema, payload
	}
	if err := t.key(c, row); err != nil {
		return nil, err
	}
	return t.router.Apply(c)
}

// key sets the record key from table.field.event.key; a blank key column
// gives a null STRING key.
func (t *eventRouter) key(c *connect.Record, row *connect.Struct) error {
	c.KeySchema, c.Key = connect.StringSchema, nil
	if t.keyColumn == "" {
		return nil
	}
	f := row.Schema().Field(t.keyColumn)
	if f == nil {
		return fmt.Errorf("%w: Unable to find event key field %s in event", connect.ErrData, t.keyColumn)
	}
	c.KeySchema, c.Key = f.Schema, row.GetField(f)
	return nil
}

// timestamp is the record timestamp: the table.field.event.timestamp
// column in milliseconds, or the envelope's ts_ms when that is unset or
// null.
func (t *eventRouter) timestamp(env, row *connect.Struct) (time.Time, error) {
	if t.timestampColumn != "" {
		f := row.Schema().Field(t.timestampColumn)
		if f == nil {
			return time.Time{}, fmt.Errorf("%w: Unable to find timestamp field %s in event", connect.ErrData, t.timestampColumn)
		}
		v, err := typedField(row, t.timestampColumn, connect.TypeInt64)
		if err != nil {
			return time.Time{}, err
		}
		if v != nil {
			return eventMillis(f.Schema, v)
		}
	}
	v, err := typedField(env, "ts_ms", connect.TypeInt64)
	if err != nil || v == nil {
		return time.Time{}, err
	}
	return connect.TimestampFromMillis(v.(int64)), nil
}

// eventMillis converts an event timestamp column value to a time.
func eventMillis(s *connect.Schema, v any) (time.Time, error) {
	n, _ := v.(int64)
	switch s.Name {
	case debeziumTimestamp:
	case debeziumMicroTimestamp:
		n /= 1_000
	case debeziumNanoTimestamp:
		n /= 1_000_000
	case "":
		return time.Time{}, fmt.Errorf("%w: Unsupported field type %s (without logical schema name) for event timestamp", connect.ErrData, s.Type)
	default:
		return time.Time{}, fmt.Errorf("%w: Unsupported field type %s for event timestamp", connect.ErrData, s.Name)
	}
	return connect.TimestampFromMillis(n), nil
}

// envelope builds the struct value of envelope placements, the payload
// set; placeColumns sets the placed columns.
func (t *eventRouter) envelope(row *connect.Struct, payload any, payloadSchema *connect.Schema, routed string) (*connect.Struct, error) {
	version := 0
	if t.versionColumn != "" {
		v, err := typedField(row, t.versionColumn, connect.TypeInt32)
		if err != nil {
			return nil, fmt.Errorf("read %s %s: %w", outboxVersionKey, t.versionColumn, err)
		}
		if v != nil {
			version = int(v.(int32))
		}
	}
	s := t.envelopeSchema(row.Schema(), payloadSchema, routed, version)
	st := connect.NewStruct(s)
	if _, err := st.Put(outboxPayloadField, payload); err != nil {
		return nil, err
	}
	return st, nil
}

// outboxSchemaKey identifies an envelope value schema.
type outboxSchemaKey struct {
	row, payload *connect.Schema
	routed       string
	version      int
}

// envelopeSchema returns, cached, the schema of an envelope value: the
// payload field and the envelope placements the row has.
func (t *eventRouter) envelopeSchema(row, payload *connect.Schema, routed string, version int) *connect.Schema {
	key := outboxSchemaKey{row, payload, routed, version}
	if s, ok := t.values[key]; ok {
		return s
	}
	b := connect.StructBuilder().Name(outboxSchemaName(row.Name, routed)).Version(version).Field(outboxPayloadField, payload)
	for _, p := range t.placements {
		if f := row.Field(p.column); p.kind == placeEnvelope && f != nil {
			b.Field(p.alias, f.Schema)
		}
	}
	if t.values == nil || len(t.values) >= schemaCacheSize {
		t.values = make(map[outboxSchemaKey]*connect.Schema, schemaCacheSize)
	}
	s := b.Build()
	t.values[key] = s
	return s
}

// outboxSchemaName inserts the routed value before the last part of the
// row schema's name.
func outboxSchemaName(row, routed string) string {
	if row == "" {
		return routed
	}
	i := strings.LastIndexByte(row, '.')
	return row[:i+1] + routed + "." + row[i+1:]
}

// placeColumns applies table.fields.additional.placement to c; envelope
// is nil without envelope placements.
func (t *eventRouter) placeColumns(c *connect.Record, row, envelope *connect.Struct) error {
	for _, p := range t.placements {
		f := row.Schema().Field(p.column)
		if f == nil {
			if !t.errorOnMissing {
				continue
			}
			return fmt.Errorf("%w: Unable to find additional field %s in event", connect.ErrData, p.column)
		}
		switch p.kind {
		case placeEnvelope:
			envelope.Set(envelope.Schema().Field(p.alias), row.GetField(f))
		case placeHeader:
			c.Headers = append(c.Headers, connect.Header{Key: p.alias, Schema: f.Schema, Value: row.GetField(f)})
		case placePartition:
			v, err := typedField(row, p.column, connect.TypeInt32)
			if err != nil {
				return fmt.Errorf("read partition column %s: %w", p.column, err)
			}
			c.Partition = connect.AnyPartition
			if v != nil {
				c.Partition = v.(int32)
			}
		}
	}
	return nil
}

// typedField reads a field of type want, as Kafka's Struct.getString,
// getInt32 and getInt64 do: its value or default, nil when null.
func typedField(st *connect.Struct, name string, want connect.Type) (any, error) {
	f := st.Schema().Field(name)
	if f == nil {
		return nil, fmt.Errorf("%w: %s is not a valid field name", connect.ErrData, name)
	}
	if f.Schema.Type != want {
		return nil, fmt.Errorf("%w: Field '%s' is not of type %s", connect.ErrData, name, want)
	}
	return st.GetField(f), nil
}

// javaTrim is Java's String.trim: it strips characters up to U+0020.
func javaTrim(s string) string {
	return strings.TrimFunc(s, func(r rune) bool { return r <= ' ' })
}

// expand is table.expand.json.payload: a string payload holding a JSON
// object or array becomes a struct or array with a schema inferred from
// it, as Debezium's JsonSchemaData infers it; any other payload, or one
// that fails to parse or to convert, is kept and a warning logged.
// Debezium also accepts a top-level array but then fails on it; here it
// becomes an array.
func (t *eventRouter) expand(r *connect.Record, payload any, schema *connect.Schema) (any, *connect.Schema) {
	s, ok := payload.(string)
	if !ok {
		t.log().Warn("Expand JSON payload is turned on but payload is not a string", "topic", r.Topic, "key", fmt.Sprint(r.Key))
		return payload, schema
	}
	v, vs, err := t.expandString(s)
	if err != nil {
		t.log().Warn("JSON expansion failed", "topic", r.Topic, "key", fmt.Sprint(r.Key), "error", err)
		return payload, schema
	}
	return v, vs
}

// expandString converts a JSON object or array to Connect data.
func (t *eventRouter) expandString(s string) (any, *connect.Schema, error) {
	if !strings.HasPrefix(s, "{") && !strings.HasPrefix(s, "[") {
		return nil, nil, errors.New("payload is neither a JSON object nor an array")
	}
	n, schema, err := t.json.parse(t.payloadColumn, s)
	if err != nil {
		return nil, nil, err
	}
	schema = t.intern(schema)
	v, err := jsonData(n, schema)
	if err != nil {
		return nil, nil, err
	}
	return v, schema, nil
}

// intern returns an earlier inferred schema equal to s, or s, so that
// payloads of one shape share one schema and the caches keyed by schema
// downstream (the envelope's here, a converter's) hit.
func (t *eventRouter) intern(s *connect.Schema) *connect.Schema {
	if i := slices.IndexFunc(t.expanded, s.Equal); i >= 0 {
		return t.expanded[i]
	}
	if len(t.expanded) >= schemaCacheSize {
		t.expanded = t.expanded[:0]
	}
	t.expanded = append(t.expanded, s)
	return s
}
