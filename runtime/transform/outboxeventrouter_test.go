package transform

import (
	"bytes"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/runtime/connect"
)

const outboxClass = "io.debezium.transforms.outbox.EventRouter"

// The fixtures follow the outbox example of Debezium's documentation: an
// inventory.outboxevent table (id uuid, aggregatetype, aggregateid and
// type varchar, payload jsonb) captured by a Postgres connector whose
// topic.prefix is dbserver1, and an OrderCreated event inserted into it.
var (
	outboxUUID = connect.NewSchemaBuilder(connect.TypeString).Name("io.debezium.data.Uuid").Version(1).Build()
	outboxJSON = connect.NewSchemaBuilder(connect.TypeString).Optional().Name("io.debezium.data.Json").Version(1).Build()
	outboxRow  = outboxRowSchema()
	// outboxWide adds the columns the options below read.
	outboxWide = outboxRowSchema("created", microTimestamp(true), "version", connect.OptionalInt32Schema,
		"part", connect.OptionalInt32Schema, "region", connect.OptionalStringSchema)
	outboxKeySchema = connect.StructBuilder().Name("dbserver1.inventory.outboxevent.Key").Field("id", outboxUUID).Build()
	outboxSource    = connect.StructBuilder().Name("io.debezium.connector.postgresql.Source").
			Field("version", connect.StringSchema).Field("connector", connect.StringSchema).
			Field("name", connect.StringSchema).Field("ts_ms", connect.Int64Schema).
			Field("db", connect.StringSchema).Field("schema", connect.StringSchema).
			Field("table", connect.StringSchema).Field("txId", connect.OptionalInt64Schema).
			Field("lsn", connect.OptionalInt64Schema).Build()
	outboxTrace = connect.Header{Key: "trace", Schema: connect.StringSchema, Value: "t-1"}
)

const (
	outboxEventID = "406c07f3-26f0-4eea-a50c-109940064b8f"
	outboxPayload = `{"id": 1, "lineItems": [{"id": 1, "item": "Debezium in Action", "status": "ENTERED", "quantity": 2, ` +
		`"totalPrice": 39.98}, {"id": 2, "item": "Debezium for Dummies", "status": "ENTERED", "quantity": 1, ` +
		`"totalPrice": 29.99}], "orderDate": "2019-01-31T12:13:01", "customerId": 123}`
	outboxTSMs    = int64(1556890294484)
	outboxRowName = "dbserver1.inventory.outboxevent.Value"
)

func microTimestamp(optional bool) *connect.Schema {
	b := connect.NewSchemaBuilder(connect.TypeInt64).Name("io.debezium.time.MicroTimestamp").Version(1)
	if optional {
		b.Optional()
	}
	return b.Build()
}

// outboxRowSchema is the outboxevent row schema, with extra name, schema
// column pairs after the documented columns.
func outboxRowSchema(extra ...any) *connect.Schema {
	b := connect.StructBuilder().Optional().Name(outboxRowName).
		Field("id", outboxUUID).Field("aggregatetype", connect.StringSchema).
		Field("aggregateid", connect.StringSchema).Field("type", connect.StringSchema).Field("payload", outboxJSON)
	for i := 0; i < len(extra); i += 2 {
		b.Field(extra[i].(string), extra[i+1].(*connect.Schema))
	}
	return b.Build()
}

// orderCreated is the documented outbox row on schema s (which must have
// the documented columns), with extra column, value pairs.
func orderCreated(s *connect.Schema, kv ...any) *connect.Struct {
	st := structOf(s, "id", outboxEventID, "aggregatetype", "Order", "aggregateid", "1", "type", "OrderCreated",
		"payload", outboxPayload)
	for i := 0; i < len(kv); i += 2 {
		st.MustPut(kv[i].(string), kv[i+1])
	}
	return st
}

// outboxEvent is the change event of op on row as the Postgres connector
// emits it, with a trace header set by an earlier transform.
func outboxEvent(op string, row *connect.Struct) *connect.Record {
	envSchema := connect.StructBuilder().Name("dbserver1.inventory.outboxevent.Envelope").Version(2).
		Field("before", row.Schema()).Field("after", row.Schema()).Field("source", outboxSource).
		Field("op", connect.StringSchema).Field("ts_ms", connect.OptionalInt64Schema).Build()
	source := structOf(outboxSource, "version", "2.7.0.Final", "connector", "postgresql", "name", "dbserver1",
		"ts_ms", outboxTSMs-36, "db", "orderdb", "schema", "inventory", "table", "outboxevent",
		"txId", int64(584), "lsn", int64(24064704))
	env := structOf(envSchema, "op", op, "source", source, "ts_ms", outboxTSMs)
	switch op {
	case "d":
		env.MustPut("before", row)
	case "u":
		env.MustPut("before", row).MustPut("after", row)
	case "t":
	default:
		env.MustPut("after", row)
	}
	r := connect.NewSourceRecord(map[string]any{"server": "dbserver1"}, map[string]any{"lsn": int64(24064704)},
		"dbserver1.inventory.outboxevent", outboxKeySchema, structOf(outboxKeySchema, "id", outboxEventID), envSchema, env)
	r.Timestamp = testTime
	r.Headers = connect.Headers{outboxTrace}
	return r
}

// outboxRouter returns a configured EventRouter logging into a buffer.
func outboxRouter(t *testing.T, props map[string]string) (*eventRouter, *bytes.Buffer) {
	t.Helper()
	tr := newTransform(t, outboxClass, props).(*eventRouter)
	var logs bytes.Buffer
	tr.logger = slog.New(slog.NewTextHandler(&logs, nil))
	return tr, &logs
}

// idHeader is the header every routed event carries.
var idHeader = connect.Header{Key: "id", Schema: outboxUUID, Value: outboxEventID}

func TestEventRouterDocsExample(t *testing.T) {
	tr, logs := outboxRouter(t, nil)
	in := outboxEvent("c", orderCreated(outboxRow))
	in.Partition = 5
	out := apply(t, tr, in)

	assert.Equal(t, "outbox.event.Order", out.Topic)
	assert.Equal(t, connect.AnyPartition, out.Partition, "the partition is the producer's choice, as in Debezium")
	assert.Same(t, connect.StringSchema, out.KeySchema, "the aggregateid column's schema")
	assert.Equal(t, "1", out.Key)
	assert.Same(t, outboxJSON, out.ValueSchema, "the payload column's schema")
	assert.Equal(t, outboxPayload, out.Value)
	assert.Equal(t, connect.TimestampFromMillis(outboxTSMs), out.Timestamp, "the envelope's ts_ms")
	assert.Equal(t, connect.Headers{outboxTrace, idHeader}, out.Headers)
	assert.Equal(t, in.SourcePartition, out.SourcePartition)
	assert.Equal(t, in.SourceOffset, out.SourceOffset)
	assert.Equal(t, connect.Headers{outboxTrace}, in.Headers, "input untouched")
	assert.Empty(t, logs.String())
}

func TestEventRouterOperations(t *testing.T) {
	tombstone := outboxEvent("c", orderCreated(outboxRow))
	tombstone.ValueSchema, tombstone.Value = nil, nil
	heartbeatSchema := connect.StructBuilder().Name("io.debezium.connector.common.Heartbeat").
		Field("ts_ms", connect.Int64Schema).Build()
	heartbeat := &connect.Record{Topic: "__debezium-heartbeat.dbserver1", ValueSchema: heartbeatSchema,
		Value: structOf(heartbeatSchema, "ts_ms", outboxTSMs)}
	schemaless := valueRecord(nil, map[string]any{"op": "c"})

	for _, tc := range []struct {
		name    string
		in      *connect.Record
		want    string // routed topic; "" dropped, "=" unchanged
		logLine string
	}{
		{name: "insert", in: outboxEvent("c", orderCreated(outboxRow)), want: "outbox.event.Order"},
		{name: "snapshot read", in: outboxEvent("r", orderCreated(outboxRow)), want: "outbox.event.Order"},
		{name: "delete", in: outboxEvent("d", orderCreated(outboxRow))},
		{name: "update", in: outboxEvent("u", orderCreated(outboxRow)),
			logLine: `level=WARN msg="Unexpected update message received and ignored" topic=dbserver1.inventory.outboxevent key="Struct{id=406c07f3-26f0-4eea-a50c-109940064b8f}"`},
		{name: "tombstone", in: tombstone},
		{name: "heartbeat", in: heartbeat, want: "="},
		{name: "schemaless value", in: schemaless, want: "="},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr, logs := outboxRouter(t, nil)
			out := apply(t, tr, tc.in)
			switch tc.want {
			case "":
				assert.Nil(t, out)
			case "=":
				assert.Same(t, tc.in, out)
			default:
				require.NotNil(t, out)
				assert.Equal(t, tc.want, out.Topic)
			}
			if tc.logLine == "" {
				assert.Empty(t, logs.String())
			} else {
				assert.Contains(t, logs.String(), tc.logLine)
			}
		})
	}
}

func TestEventRouterInvalidOperationBehavior(t *testing.T) {
	for _, tc := range []struct {
		name  string
		props map[string]string
		level string // logged level; "" fails
	}{
		{"default warn", nil, "WARN"},
		{"error", map[string]string{outboxInvalidOpKey: "error"}, "ERROR"},
		{"case insensitive", map[string]string{outboxInvalidOpKey: "ERROR"}, "ERROR"},
		{"fatal", map[string]string{outboxInvalidOpKey: "fatal"}, ""},
		{"deprecated key", map[string]string{outboxLegacyInvalidOpKey: "fatal"}, ""},
		{"deprecated key error", map[string]string{outboxLegacyInvalidOpKey: "error"}, "ERROR"},
		{"new key wins", map[string]string{outboxInvalidOpKey: "warn", outboxLegacyInvalidOpKey: "fatal"}, "WARN"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr, logs := outboxRouter(t, tc.props)
			in := outboxEvent("u", orderCreated(outboxRow))
			if tc.level == "" {
				err := applyErr(t, tr, in)
				assert.EqualError(t, err, "Unexpected update message received Struct{id=406c07f3-26f0-4eea-a50c-109940064b8f}, fail.")
				assert.Empty(t, logs.String())
				return
			}
			assert.Nil(t, apply(t, tr, in))
			assert.Contains(t, logs.String(), "level="+tc.level+` msg="Unexpected update message received and ignored"`)
		})
	}
}

func TestEventRouterColumns(t *testing.T) {
	row := connect.StructBuilder().Optional().Name("dbserver1.public.events.Value").
		Field("event_id", connect.Int64Schema).Field("kind", connect.StringSchema).
		Field("agg", connect.Int32Schema).Field("body", connect.OptionalBytesSchema).Build()
	event := outboxEvent("c", structOf(row, "event_id", int64(77), "kind", "customers", "agg", int32(9), "body", []byte{1, 2}))
	props := map[string]string{outboxIDKey: "event_id", outboxKeyKey: "agg", outboxPayloadKey: "body",
		routeByFieldKey: "kind", outboxTypeKey: "no_such_column"}

	tr, _ := outboxRouter(t, props)
	out := apply(t, tr, event)
	assert.Equal(t, "outbox.event.customers", out.Topic)
	assert.Same(t, connect.Int32Schema, out.KeySchema)
	assert.Equal(t, int32(9), out.Key)
	assert.Same(t, connect.OptionalBytesSchema, out.ValueSchema)
	assert.Equal(t, []byte{1, 2}, out.Value)
	assert.Equal(t, connect.Headers{outboxTrace, {Key: "id", Schema: connect.Int64Schema, Value: int64(77)}}, out.Headers)

	props[outboxKeyKey] = ""
	tr, _ = outboxRouter(t, props)
	out = apply(t, tr, event)
	assert.Same(t, connect.StringSchema, out.KeySchema, "a blank key column gives a null key")
	assert.Nil(t, out.Key)
}

func TestEventRouterTopicRouting(t *testing.T) {
	for _, tc := range []struct {
		regex, replacement, want string
	}{
		{"", "", "outbox.event.Order"},
		{"", "${routedByValue}-events", "Order-events"},
		{"(.*)", "outbox.$1", "outbox.Order"},
		{"(?<type>Ord)(?<rest>.*)", "${rest}.${type}", "er.Ord"},
		{"Customer", "customers", "Order"},
		{"Ord", "orders", "Order"},
		{"(?i)order", "orders", "orders"},
	} {
		t.Run(tc.regex+" "+tc.replacement, func(t *testing.T) {
			props := map[string]string{}
			if tc.regex != "" {
				props[outboxTopicRegexKey] = tc.regex
			}
			if tc.replacement != "" {
				props[outboxTopicReplaceKey] = tc.replacement
			}
			tr, _ := outboxRouter(t, props)
			out := apply(t, tr, outboxEvent("c", orderCreated(outboxRow)))
			assert.Equal(t, tc.want, out.Topic, "a routed value the regex does not match whole is the topic as is")
		})
	}
}

func TestEventRouterTimestamp(t *testing.T) {
	const ms = int64(1556890294344)
	typed := func(s *connect.Schema) *connect.Schema { return outboxRowSchema("created", s) }
	for _, tc := range []struct {
		name   string
		column string // table.field.event.timestamp
		row    *connect.Struct
		want   int64
		err    string
	}{
		{name: "unset", row: orderCreated(outboxWide, "created", ms*1000), want: outboxTSMs},
		{name: "MicroTimestamp", column: "created", row: orderCreated(outboxWide, "created", ms*1000+999), want: ms},
		{name: "Timestamp", column: "created", want: ms,
			row: orderCreated(typed(connect.NewSchemaBuilder(connect.TypeInt64).Name(debeziumTimestamp).Build()), "created", ms)},
		{name: "NanoTimestamp", column: "created", want: ms,
			row: orderCreated(typed(connect.NewSchemaBuilder(connect.TypeInt64).Name(debeziumNanoTimestamp).Build()), "created", ms*1_000_000+999_999)},
		{name: "null", column: "created", row: orderCreated(outboxWide), want: outboxTSMs},
		{name: "missing", column: "created", row: orderCreated(outboxRow),
			err: "Unable to find timestamp field created in event"},
		{name: "ZonedTimestamp", column: "created", err: "Field 'created' is not of type INT64",
			row: orderCreated(typed(connect.NewSchemaBuilder(connect.TypeString).Name("io.debezium.time.ZonedTimestamp").Build()),
				"created", "2019-05-03T13:31:34.344Z")},
		{name: "plain long", column: "created", row: orderCreated(typed(connect.Int64Schema), "created", ms),
			err: "Unsupported field type INT64 (without logical schema name) for event timestamp"},
		{name: "Connect Timestamp", column: "created", row: orderCreated(typed(connect.TimestampSchema().Build()), "created", time.UnixMilli(ms).UTC()),
			err: "Unsupported field type org.apache.kafka.connect.data.Timestamp for event timestamp"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr, _ := outboxRouter(t, map[string]string{outboxTimestampKey: tc.column})
			in := outboxEvent("c", tc.row)
			if tc.err != "" {
				err := applyErr(t, tr, in)
				assert.ErrorIs(t, err, connect.ErrData)
				assert.Contains(t, err.Error(), tc.err)
				return
			}
			assert.Equal(t, connect.TimestampFromMillis(tc.want), apply(t, tr, in).Timestamp)
		})
	}

	t.Run("no ts_ms", func(t *testing.T) {
		tr, _ := outboxRouter(t, nil)
		in := outboxEvent("c", orderCreated(outboxRow))
		env := in.Value.(*connect.Struct)
		env.Set(env.Schema().Field("ts_ms"), nil)
		assert.True(t, apply(t, tr, in).Timestamp.IsZero())
	})
}

func TestEventRouterPlacements(t *testing.T) {
	row := orderCreated(outboxWide, "part", int32(3), "region", "eu")
	t.Run("headers", func(t *testing.T) {
		tr, _ := outboxRouter(t, map[string]string{outboxPlacementKey: "type:header:eventType, region:HEADER"})
		out := apply(t, tr, outboxEvent("c", row))
		assert.Equal(t, connect.Headers{outboxTrace, idHeader,
			{Key: "eventType", Schema: connect.StringSchema, Value: "OrderCreated"},
			{Key: "region", Schema: connect.OptionalStringSchema, Value: "eu"}}, out.Headers)
		assert.Same(t, outboxJSON, out.ValueSchema, "without envelope placements the value is the payload")
		assert.Equal(t, outboxPayload, out.Value)
	})
	t.Run("envelope", func(t *testing.T) {
		tr, _ := outboxRouter(t, map[string]string{outboxPlacementKey: "type:envelope:eventType,region:envelope"})
		out := apply(t, tr, outboxEvent("c", row))
		want := connect.StructBuilder().Name("dbserver1.inventory.outboxevent.Order.Value").
			Field("payload", outboxJSON).Field("eventType", connect.StringSchema).
			Field("region", connect.OptionalStringSchema).Build()
		assert.True(t, want.Equal(out.ValueSchema), "got %v", out.ValueSchema)
		requireStructEqual(t, structOf(want, "payload", outboxPayload, "eventType", "OrderCreated", "region", "eu"), out.Value)
		assert.Equal(t, connect.Headers{outboxTrace, idHeader}, out.Headers)

		again := apply(t, tr, outboxEvent("c", row))
		assert.Same(t, out.ValueSchema, again.ValueSchema, "cached")
		customer := orderCreated(outboxWide)
		customer.MustPut("aggregatetype", "Customer")
		other := apply(t, tr, outboxEvent("c", customer))
		assert.Equal(t, "dbserver1.inventory.outboxevent.Customer.Value", other.ValueSchema.Name,
			"named after each record's own routed value")
		assert.Equal(t, "outbox.event.Customer", other.Topic)
	})
	t.Run("partition", func(t *testing.T) {
		tr, _ := outboxRouter(t, map[string]string{outboxPlacementKey: "part:partition:ignored"})
		out := apply(t, tr, outboxEvent("c", row))
		assert.Equal(t, int32(3), out.Partition)
		assert.Equal(t, connect.Headers{outboxTrace, idHeader}, out.Headers)
		assert.Equal(t, outboxPayload, out.Value)
		out = apply(t, tr, outboxEvent("c", orderCreated(outboxWide)))
		assert.Equal(t, connect.AnyPartition, out.Partition, "a null partition column leaves the choice to the producer")
	})
	t.Run("missing columns", func(t *testing.T) {
		const placements = "region:header,type:envelope,missing:envelope,gone:header,nowhere:partition"
		tr, _ := outboxRouter(t, map[string]string{outboxPlacementKey: placements})
		err := applyErr(t, tr, outboxEvent("c", row))
		assert.ErrorIs(t, err, connect.ErrData)
		assert.Contains(t, err.Error(), "Unable to find additional field missing in event")

		tr, _ = outboxRouter(t, map[string]string{outboxPlacementKey: placements, outboxErrorOnMissingKey: "false"})
		out := apply(t, tr, outboxEvent("c", row))
		want := connect.StructBuilder().Name("dbserver1.inventory.outboxevent.Order.Value").
			Field("payload", outboxJSON).Field("type", connect.StringSchema).Build()
		requireStructEqual(t, structOf(want, "payload", outboxPayload, "type", "OrderCreated"), out.Value)
		assert.Equal(t, connect.Headers{outboxTrace, idHeader,
			{Key: "region", Schema: connect.OptionalStringSchema, Value: "eu"}}, out.Headers)
		assert.Equal(t, connect.AnyPartition, out.Partition)
	})
}

func TestEventRouterSchemaVersion(t *testing.T) {
	props := map[string]string{outboxVersionKey: "version", outboxPlacementKey: "type:envelope"}
	tr, _ := outboxRouter(t, props)
	v2 := apply(t, tr, outboxEvent("c", orderCreated(outboxWide, "version", int32(2))))
	assert.Equal(t, 2, v2.ValueSchema.Version)
	v3 := apply(t, tr, outboxEvent("c", orderCreated(outboxWide, "version", int32(3))))
	assert.Equal(t, 3, v3.ValueSchema.Version)
	assert.Equal(t, v2.ValueSchema.Name, v3.ValueSchema.Name)
	unversioned := apply(t, tr, outboxEvent("c", orderCreated(outboxWide)))
	assert.Zero(t, unversioned.ValueSchema.Version, "a null version column leaves the version unset")

	err := applyErr(t, tr, outboxEvent("c", orderCreated(outboxRow)))
	assert.Contains(t, err.Error(), "version is not a valid field name")

	props[outboxVersionKey] = "aggregateid"
	tr, _ = outboxRouter(t, props)
	err = applyErr(t, tr, outboxEvent("c", orderCreated(outboxRow)))
	assert.Contains(t, err.Error(), "Field 'aggregateid' is not of type INT32")

	delete(props, outboxPlacementKey)
	tr, _ = outboxRouter(t, props)
	out := apply(t, tr, outboxEvent("c", orderCreated(outboxRow)))
	assert.Same(t, outboxJSON, out.ValueSchema, "without envelope placements the payload schema is kept as is")
}

func TestEventRouterTombstoneOnEmptyPayload(t *testing.T) {
	for _, tc := range []struct {
		name      string
		payload   any
		tombstone bool // with route.tombstone.on.empty.payload=true
	}{
		{"null", nil, true},
		{"empty", "", true},
		{"blank", " \t\n", true},
		{"json", "{}", false},
	} {
		for _, envelope := range []bool{false, true} {
			for _, enabled := range []bool{false, true} {
				props := map[string]string{outboxTombstoneKey: "false"}
				if enabled {
					props[outboxTombstoneKey] = "true"
				}
				if envelope {
					props[outboxPlacementKey] = "type:envelope"
				}
				t.Run(fmt.Sprintf("%s envelope=%v enabled=%v", tc.name, envelope, enabled), func(t *testing.T) {
					tr, _ := outboxRouter(t, props)
					row := orderCreated(outboxRow)
					row.MustPut("payload", tc.payload)
					out := apply(t, tr, outboxEvent("c", row))
					require.NotNil(t, out)
					assert.Equal(t, "outbox.event.Order", out.Topic)
					assert.Equal(t, "1", out.Key)
					assert.Equal(t, connect.Headers{outboxTrace, idHeader}, out.Headers)
					switch {
					case enabled && tc.tombstone:
						assert.Nil(t, out.Value)
						assert.Nil(t, out.ValueSchema)
					case envelope:
						require.NotNil(t, out.ValueSchema)
						assert.Equal(t, tc.payload, out.Value.(*connect.Struct).GetWithoutDefault("payload"))
					default:
						assert.Same(t, outboxJSON, out.ValueSchema)
						assert.Equal(t, tc.payload, out.Value)
					}
				})
			}
		}
	}
}

func TestEventRouterApplyErrors(t *testing.T) {
	noPayload := connect.StructBuilder().Optional().Name(outboxRowName).Field("id", outboxUUID).
		Field("aggregatetype", connect.StringSchema).Field("aggregateid", connect.StringSchema).Build()
	noID := connect.StructBuilder().Optional().Name(outboxRowName).Field("aggregatetype", connect.StringSchema).
		Field("aggregateid", connect.StringSchema).Field("payload", outboxJSON).Build()
	nullRoute := outboxRowSchema("kind", connect.OptionalStringSchema)
	for _, tc := range []struct {
		name  string
		props map[string]string
		in    *connect.Record
		err   string
	}{
		{"no payload column", nil, outboxEvent("c", structOf(noPayload, "id", outboxEventID, "aggregatetype", "Order", "aggregateid", "1")),
			"Unable to find payload field payload in event"},
		{"no id column", nil, outboxEvent("c", structOf(noID, "aggregatetype", "Order", "aggregateid", "1")),
			"Unable to find event-id field id in event"},
		{"no key column", map[string]string{outboxKeyKey: "order_id"}, outboxEvent("c", orderCreated(outboxRow)),
			"Unable to find event key field order_id in event"},
		{"no route column", map[string]string{routeByFieldKey: "kind"}, outboxEvent("c", orderCreated(outboxRow)),
			"kind is not a valid field name"},
		{"route column not a string", map[string]string{routeByFieldKey: "version"}, outboxEvent("c", orderCreated(outboxWide)),
			"Field 'version' is not of type STRING"},
		{"null route column", map[string]string{routeByFieldKey: "kind"}, outboxEvent("c", orderCreated(nullRoute)),
			"route.by.field column kind is null"},
		{"partition column not INT32", map[string]string{outboxPlacementKey: "aggregateid:partition"},
			outboxEvent("c", orderCreated(outboxRow)), "Field 'aggregateid' is not of type INT32"},
		{"truncate", nil, outboxEvent("t", orderCreated(outboxRow)),
			"Only Struct objects supported for [Read Outbox Event], found: null"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr, _ := outboxRouter(t, tc.props)
			err := applyErr(t, tr, tc.in)
			assert.ErrorIs(t, err, connect.ErrData)
			assert.Contains(t, err.Error(), tc.err)
		})
	}
}

func TestEventRouterConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		key, value, msg string
	}{
		{outboxPlacementKey, "type", "A comma-separated list of valid String pairs or trios is expected but got: [type]"},
		{outboxPlacementKey, "id:header, type:envelope:a:b", "A comma-separated list of valid String pairs or trios is expected but got: [id:header, type:envelope:a:b]"},
		{outboxPlacementKey, "type:footer", "Unknown placement 'footer' in type:footer"},
		{outboxPlacementKey, "type:envelope,aggregateid:envelope:type", "Envelope field type is used twice"},
		{outboxPlacementKey, "type:envelope:payload", "Envelope field payload is used twice"},
		{outboxInvalidOpKey, "ignore", "String must be one of (case insensitive): warn, error, fatal"},
		{outboxLegacyInvalidOpKey, "skip", "String must be one of (case insensitive): warn, error, fatal"},
		{outboxJSONNullKey, "keep", "String must be one of (case insensitive): ignore, optional_bytes"},
		{outboxTopicRegexKey, "(", "Invalid regex"},
		{outboxTopicReplaceKey, "outbox.${nope}", "No group with name {nope}"},
		{outboxExpandJSONKey, "maybe", "Expected value to be either true or false"},
		{outboxTombstoneKey, "yes", "Expected value to be either true or false"},
	} {
		t.Run(tc.key+"="+tc.value, func(t *testing.T) {
			err := configureErr(t, outboxClass, map[string]string{tc.key: tc.value})
			assert.Contains(t, err.Error(), tc.key)
			assert.Contains(t, err.Error(), tc.msg)
		})
	}
}

func TestEventRouterPlugin(t *testing.T) {
	p := connect.FindPlugin(Plugins(), connect.PluginTransformation, outboxClass)
	require.NotNil(t, p)
	assert.Equal(t, connect.PluginTransformation, p.Type)
	for key, want := range map[string]any{
		outboxIDKey: "id", outboxKeyKey: "aggregateid", outboxTypeKey: "type", outboxPayloadKey: "payload",
		outboxTimestampKey: nil, outboxPlacementKey: "", outboxErrorOnMissingKey: true, outboxVersionKey: nil,
		outboxInvalidOpKey: "warn", outboxExpandJSONKey: false, outboxJSONNullKey: "ignore",
		routeByFieldKey: "aggregatetype", outboxTopicRegexKey: "(?<routedByValue>.*)",
		outboxTopicReplaceKey: "outbox.event.${routedByValue}", outboxTombstoneKey: false, outboxLegacyInvalidOpKey: nil,
		outboxLegacyExpandKey: nil,
	} {
		k := p.Config.Key(key)
		require.NotNil(t, k, key)
		assert.Equal(t, want, k.Default, key)
	}
	assert.Len(t, p.Config, 17)
	assert.Equal(t, "Router", p.Config.Key(routeByFieldKey).Group)
	assert.Equal(t, 1, p.Config.Key(routeByFieldKey).OrderInGroup)

	// README.md's example: applied only to the outbox table's topic, so
	// that the connector's other records pass.
	c, err := NewChain(map[string]string{
		"transforms":                  "outbox",
		"transforms.outbox.type":      "io.debezium.transforms.outbox.EventRouter",
		"transforms.outbox.predicate": "isOutbox",
		"transforms.outbox.table.fields.additional.placement": "type:header:eventType",
		"transforms.outbox.table.expand.json.payload":         "true",
		"predicates":                  "isOutbox",
		"predicates.isOutbox.type":    "org.apache.kafka.connect.transforms.predicates.TopicNameMatches",
		"predicates.isOutbox.pattern": "dbserver1\\.inventory\\.outboxevent",
	}, Plugins(), nil)
	require.NoError(t, err)
	out, err := c.Apply(outboxEvent("c", orderCreated(outboxRow)))
	require.NoError(t, err)
	assert.Equal(t, "outbox.event.Order", out.Topic)
	assert.Equal(t, "payload", out.ValueSchema.Name, "expanded")
	assert.Equal(t, connect.Headers{outboxTrace, idHeader,
		{Key: "eventType", Schema: connect.StringSchema, Value: "OrderCreated"}}, out.Headers)
	other := outboxEvent("c", orderCreated(outboxRow))
	other.Topic = "dbserver1.inventory.customers"
	out, err = c.Apply(other)
	require.NoError(t, err)
	assert.Same(t, other, out)
}

// withPayload is the documented event with another payload.
func withPayload(payload any) *connect.Record {
	row := orderCreated(outboxRow)
	row.MustPut("payload", payload)
	return outboxEvent("c", row)
}

func optionalStruct(name string, kv ...any) *connect.Schema {
	b := connect.StructBuilder().Name(name).Optional()
	for i := 0; i < len(kv); i += 2 {
		b.Field(kv[i].(string), kv[i+1].(*connect.Schema))
	}
	return b.Build()
}

func optionalArray(elem *connect.Schema) *connect.Schema {
	s := connect.ArrayOf(elem)
	s.Optional = true
	return s
}

func TestEventRouterExpandJSONDocsExample(t *testing.T) {
	tr, logs := outboxRouter(t, map[string]string{outboxExpandJSONKey: "true"})
	out := apply(t, tr, outboxEvent("c", orderCreated(outboxRow)))

	item := optionalStruct("payload.lineItems", "id", connect.OptionalInt32Schema, "item", connect.OptionalStringSchema,
		"status", connect.OptionalStringSchema, "quantity", connect.OptionalInt32Schema, "totalPrice", connect.OptionalFloat64Schema)
	order := optionalStruct("payload", "id", connect.OptionalInt32Schema, "lineItems", optionalArray(item),
		"orderDate", connect.OptionalStringSchema, "customerId", connect.OptionalInt32Schema)
	assert.True(t, order.Equal(out.ValueSchema), "got %v", out.ValueSchema)
	requireStructEqual(t, structOf(order, "id", int32(1), "lineItems", []any{
		structOf(item, "id", int32(1), "item", "Debezium in Action", "status", "ENTERED", "quantity", int32(2), "totalPrice", 39.98),
		structOf(item, "id", int32(2), "item", "Debezium for Dummies", "status", "ENTERED", "quantity", int32(1), "totalPrice", 29.99),
	}, "orderDate", "2019-01-31T12:13:01", "customerId", int32(123)), out.Value)
	assert.Equal(t, "outbox.event.Order", out.Topic)
	assert.Equal(t, connect.Headers{outboxTrace, idHeader}, out.Headers)
	assert.Empty(t, logs.String())

	again := apply(t, tr, withPayload(`{"id": 2, "lineItems": [], "orderDate": "2019-02-01T08:00:00", "customerId": 7}`))
	assert.NotSame(t, out.ValueSchema, again.ValueSchema, "no lineItems field: another shape")
	third := apply(t, tr, outboxEvent("c", orderCreated(outboxRow)))
	assert.Same(t, out.ValueSchema, third.ValueSchema, "payloads of one shape share their schema")

	tr, _ = outboxRouter(t, map[string]string{outboxExpandJSONKey: "true", outboxPlacementKey: "type:envelope"})
	first := apply(t, tr, outboxEvent("c", orderCreated(outboxRow)))
	assert.True(t, order.Equal(first.ValueSchema.Field("payload").Schema))
	assert.Same(t, first.ValueSchema, apply(t, tr, outboxEvent("c", orderCreated(outboxRow))).ValueSchema)
}

func TestEventRouterExpandJSONDeprecatedKey(t *testing.T) {
	for _, tc := range []struct {
		props    map[string]string
		expanded bool
	}{
		{map[string]string{outboxLegacyExpandKey: "true"}, true},
		{map[string]string{outboxLegacyExpandKey: "false"}, false},
		{map[string]string{outboxExpandJSONKey: "false", outboxLegacyExpandKey: "true"}, false},
		{map[string]string{outboxExpandJSONKey: "true", outboxLegacyExpandKey: "false"}, true},
	} {
		tr, _ := outboxRouter(t, tc.props)
		out := apply(t, tr, outboxEvent("c", orderCreated(outboxRow)))
		_, isStruct := out.Value.(*connect.Struct)
		assert.Equal(t, tc.expanded, isStruct, "%v", tc.props)
	}
}

func TestEventRouterExpandJSONShapes(t *testing.T) {
	i32, i64, f64 := connect.OptionalInt32Schema, connect.OptionalInt64Schema, connect.OptionalFloat64Schema
	str, boolean := connect.OptionalStringSchema, connect.OptionalBooleanSchema
	numbers := optionalStruct("payload", "i", i32, "l", i64, "d", f64, "e", f64, "neg", i64)
	ignored := optionalStruct("payload", "b", boolean)
	nullBytes := optionalStruct("payload", "a", connect.OptionalBytesSchema, "b", boolean)
	merged := connect.StructBuilder().Name("payload").Field("a", i32).Field("b", str).Build()
	typed := connect.StructBuilder().Name("payload").Field("a", i32).Build()
	dup := optionalStruct("payload", "a", str, "b", i32)
	q := optionalStruct("payload.o.p", "q", i32)
	p := optionalStruct("payload.o", "p", q)
	nested := optionalStruct("payload", "o", p)
	matrix := optionalStruct("payload", "m", optionalArray(optionalArray(i32)))
	sparse := optionalStruct("payload", "s", optionalArray(str))
	y := optionalStruct("null.x", "y", i32)
	unnamed := optionalStruct("", "x", y)

	for _, tc := range []struct {
		name, json string
		nullBytes  bool
		schema     *connect.Schema
		value      any
	}{
		{"numbers", `{"i": 1, "l": 5000000000, "d": 1.5, "e": 1e3, "neg": -2147483649}`, false, numbers,
			structOf(numbers, "i", int32(1), "l", int64(5000000000), "d", 1.5, "e", 1000.0, "neg", int64(-2147483649))},
		{"nulls and empty arrays left out", `{"a": null, "b": true, "c": []}`, false, ignored, structOf(ignored, "b", true)},
		{"nulls as optional bytes", `{"a": null, "b": true}`, true, nullBytes, structOf(nullBytes, "b", true)},
		{"top-level array of merged objects", `[{"a": 1}, {"b": "x"}, {"a": 2}]`, false, optionalArray(merged),
			[]any{structOf(merged, "a", int32(1)), structOf(merged, "b", "x"), structOf(merged, "a", int32(2))}},
		{"typed field replaces null bytes", `[{"a": null}, {"a": 2}]`, true, optionalArray(typed),
			[]any{structOf(typed), structOf(typed, "a", int32(2))}},
		{"repeated member", `{"a": 1, "b": 2, "a": "x"}`, false, dup, structOf(dup, "a", "x", "b", int32(2))},
		{"nested objects", `{"o": {"p": {"q": 1}}}`, false, nested,
			structOf(nested, "o", structOf(p, "p", structOf(q, "q", int32(1))))},
		{"arrays of arrays", `{"m": [[1, 2], [3]]}`, false, matrix,
			structOf(matrix, "m", []any{[]any{int32(1), int32(2)}, []any{int32(3)}})},
		{"nulls in arrays", `{"s": [null, "a", null]}`, false, sparse, structOf(sparse, "s", []any{nil, "a", nil})},
		{"Java's null key", `[[{"x": {"y": 1}}]]`, false, optionalArray(optionalArray(unnamed)),
			[]any{[]any{structOf(unnamed, "x", structOf(y, "y", int32(1)))}}},
		{"trailing content ignored", `{"b": false} and more`, false, ignored, structOf(ignored, "b", false)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			props := map[string]string{outboxExpandJSONKey: "true"}
			if tc.nullBytes {
				props[outboxJSONNullKey] = "optional_bytes"
			}
			tr, logs := outboxRouter(t, props)
			out := apply(t, tr, withPayload(tc.json))
			assert.True(t, tc.schema.Equal(out.ValueSchema), "got %v", out.ValueSchema)
			requireStructEqual(t, tc.value, out.Value)
			assert.Empty(t, logs.String())
		})
	}
}

func TestEventRouterExpandJSONKeepsPayload(t *testing.T) {
	for _, tc := range []struct {
		name    string
		payload any
		log     string
	}{
		{"not a string", nil, "Expand JSON payload is turned on but payload is not a string"},
		{"leading space", ` {"a": 1}`, "JSON expansion failed"},
		{"not JSON", "hello", "JSON expansion failed"},
		{"empty", "", "JSON expansion failed"},
		{"truncated", `{"a": `, "JSON expansion failed"},
		{"integer beyond a long", `{"n": 12345678901234567890}`, "does not fit a long"},
		{"mixed array", `{"h": [1, "a"]}`, "Field is not a homogenous array"},
		{"mixed number types", `{"h": [1, 5000000000]}`, "Field is not a homogenous array"},
		{"only nulls", `{"h": [null]}`, "Array has unrecognized member schema"},
		{"empty array", `[]`, "empty array"},
		{"merged types conflict", `[{"a": 1}, {"a": "x"}]`, "JSON expansion failed"},
		{"empty member name", `{"": 1}`, "fieldName cannot be null"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr, logs := outboxRouter(t, map[string]string{outboxExpandJSONKey: "true"})
			out := apply(t, tr, withPayload(tc.payload))
			assert.Same(t, outboxJSON, out.ValueSchema)
			assert.Equal(t, tc.payload, out.Value)
			assert.Contains(t, logs.String(), "level=WARN")
			assert.Contains(t, logs.String(), tc.log)
		})
	}
}
