package convert

import (
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/runtime/connect"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestJSONFromConnectErrors(t *testing.T) {
	other := connect.StructBuilder().Field("x", connect.Int32Schema).Build()
	cases := []struct {
		name   string
		schema *connect.Schema
		value  any
		want   string
	}{
		{"mismatched schema", connect.Float64Schema, true, "Invalid type for FLOAT64: bool"},
		{"wrong int width", connect.Int32Schema, int64(1), "Invalid type for INT32: int64"},
		{"required null", connect.StringSchema, nil, "Conversion error: null value for field that is required and has no default value"},
		{"struct of another schema", fourFields, connect.NewStruct(other), "Mismatching schema."},
		{"struct without schema", nil, connect.NewStruct(other), "Mismatching schema."},
		{"decimal without schema", nil, dec(156, 2), "Go type *big.Rat does not have corresponding schema type."},
		{"decimal of wrong type", connect.DecimalSchema(2).Build(), 1.56, "Invalid type for Decimal, expected *big.Rat but was float64"},
		{"decimal beyond scale", connect.DecimalSchema(1).Build(), dec(156, 2), "BigDecimal has mismatching scale value for given Decimal schema"},
		{"date with time of day", connect.DateSchema().Build(), ms(1), "Date type should not have any time fields"},
		{"date of wrong type", connect.DateSchema().Build(), int32(1), "Invalid type for Date, expected time.Time but was int32"},
		{"time past a day", connect.TimeSchema().Build(), ms(msPerDay), "Time type should not have any date fields"},
		{"array element", connect.ArrayOf(connect.StringSchema), []any{"a", 1}, "Invalid type for STRING: int"},
		{"unknown Go type", nil, time.Second, "Go type time.Duration does not have corresponding schema type."},
		{"map key not a string", connect.MapOf(connect.StringSchema, connect.Int8Schema), map[any]any{int8(1): int8(1)}, "Invalid type for STRING: int8"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := NewJSONConverter().FromConnect("topic", nil, c.schema, c.value)
			require.Error(t, err)
			assert.ErrorIs(t, err, connect.ErrData)
			assert.Contains(t, err.Error(), c.want)
			assert.Nil(t, out)
		})
	}
}

func TestJSONDecimalNumericWithoutExactForm(t *testing.T) {
	c := newJSON(t, map[string]string{DecimalFormatConfig: "NUMERIC"})
	out, err := c.FromConnect("t", nil, connect.DecimalSchema(0).Build(), dec(15, 1))
	require.NoError(t, err)
	assert.Contains(t, string(out), `"payload":1.5}`, "a value finer than the scale keeps its own digits, as Kafka writes the BigDecimal it is given")
}

func TestJSONToConnectErrors(t *testing.T) {
	envelopeMsg := `JsonConverter with schemas.enable requires "schema" and "payload" fields and may not contain additional fields. If you are trying to deserialize plain JSON data, set schemas.enable=false in your converter configuration.`
	serialization := "Converting byte[] to Kafka Connect data failed due to serialization error"
	cases := []struct {
		name string
		in   string
		want string
	}{
		{"not an object", `[1]`, envelopeMsg},
		{"plain string", `"x"`, envelopeMsg},
		{"missing payload", `{"schema":null}`, envelopeMsg},
		{"missing schema", `{"payload":1}`, envelopeMsg},
		{"extra member", `{"schema":null,"payload":1,"x":2}`, envelopeMsg},
		{"extra member before payload", `{"schema":{"type":"int8"},"x":2,"payload":"no"}`, envelopeMsg},
		{"bad payload with extra member", `{"schema":{"type":"int8"},"payload":"no","x":2}`, envelopeMsg},
		{"truncated", `{"schema":null,"payload":`, serialization},
		{"trailing garbage", `{"schema":null,"payload":1} x`, serialization},
		{"bad literal", `{"schema":null,"payload":tru}`, serialization},
		{"leading zero", `{"schema":null,"payload":01}`, serialization},
		{"control char", "{\"schema\":null,\"payload\":\"a\x01\"}", serialization},
		{"bad escape", `{"schema":null,"payload":"\x"}`, serialization},
		{"syntax error after a data error", `{"schema":{"type":"int8"},"payload":"no",}`, serialization},
		{"invalid utf-8", "{\"schema\":null,\"payload\":\"\xff\"}", serialization},
		{"no type", `{"schema":{},"payload":1}`, "Schema must contain 'type' field"},
		{"unknown type", `{"schema":{"type":"int128"},"payload":1}`, "Unknown schema type: int128"},
		{"array without items", `{"schema":{"type":"array"},"payload":[]}`, "Array schema did not specify the element type"},
		{"map without keys", `{"schema":{"type":"map","values":{"type":"int8"}},"payload":{}}`, "Map schema did not specify the key type"},
		{"map without values", `{"schema":{"type":"map","keys":{"type":"int8"}},"payload":[]}`, "Map schema did not specify the value type"},
		{"fields not an array", `{"schema":{"type":"struct","fields":{}},"payload":{}}`, `Struct schema's "fields" argument is not an array.`},
		{"field without name", `{"schema":{"type":"struct","fields":[{"type":"int8"}]},"payload":{}}`, "Struct schema's field name not specified properly"},
		{"duplicate field", `{"schema":{"type":"struct","fields":[{"type":"int8","field":"a"},{"type":"int8","field":"a"}]},"payload":{}}`, "field name duplication a"},
		{"parameter not a string", `{"schema":{"type":"int8","parameters":{"a":1}},"payload":1}`, "Schema parameters must have string values."},
		{"required null", `{"schema":{"type":"int8"},"payload":null}`, "Invalid null value for required INT8 field"},
		{"required field missing", `{"schema":{"type":"struct","fields":[{"type":"string","field":"a"}]},"payload":{}}`, "Invalid null value for required STRING field"},
		{"struct not an object", `{"schema":{"type":"struct","fields":[]},"payload":[]}`, "Structs should be encoded as JSON objects, but found ARRAY"},
		{"string map not an object", `{"schema":{"type":"map","keys":{"type":"string"},"values":{"type":"int8"}},"payload":[]}`, "Maps with string fields should be encoded as JSON objects, but found ARRAY"},
		{"pair map not an array", `{"schema":{"type":"map","keys":{"type":"int8"},"values":{"type":"int8"}},"payload":{}}`, "Maps with non-string fields should be encoded as JSON array of tuples, but found OBJECT"},
		{"pair not an array", `{"schema":{"type":"map","keys":{"type":"int8"},"values":{"type":"int8"}},"payload":[1]}`, "Found invalid map entry instead of array tuple: NUMBER"},
		{"pair too long", `{"schema":{"type":"map","keys":{"type":"int8"},"values":{"type":"int8"}},"payload":[[1,2,3]]}`, "expected length 2 but found :3"},
		{"pair too short", `{"schema":{"type":"map","keys":{"type":"int8"},"values":{"type":"int8"}},"payload":[[1]]}`, "expected length 2 but found :1"},
		{"bytes key", `{"schema":{"type":"map","keys":{"type":"bytes"},"values":{"type":"int8"}},"payload":[["AA==",1]]}`, "Map keys of type []uint8 are not supported"},
		{"bad base64", `{"schema":{"type":"bytes"},"payload":"!!"}`, "Invalid bytes field"},
		{"decimal of wrong kind", `{"schema":{"type":"bytes","name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":"2"}},"payload":true}`, "Invalid type for Decimal, underlying representation should be numeric or bytes but was BOOLEAN"},
		{"decimal without scale", `{"schema":{"type":"bytes","name":"org.apache.kafka.connect.data.Decimal"},"payload":"AJw="}`, "scale parameter not found"},
		{"date not an int", `{"schema":{"type":"int32","name":"org.apache.kafka.connect.data.Date"},"payload":1.5}`, "Invalid type for Date, underlying representation should be integer but was NUMBER"},
		{"date too large", `{"schema":{"type":"int32","name":"org.apache.kafka.connect.data.Date"},"payload":3000000000}`, "Invalid type for Date, underlying representation should be integer but was NUMBER"},
		{"timestamp a string", `{"schema":{"type":"int64","name":"org.apache.kafka.connect.data.Timestamp"},"payload":"1"}`, "Invalid type for Timestamp, underlying representation should be integral but was STRING"},
		{"int from a string", `{"schema":{"type":"int32"},"payload":"12"}`, "Invalid value for INT32 field: expected a number but found STRING"},
		{"string from a number", `{"schema":{"type":"string"},"payload":12}`, "Invalid value for STRING field: expected a string but found NUMBER"},
		{"required default null", `{"schema":{"type":"int8","default":null},"payload":1}`, "Invalid null value for required INT8 field"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, v, err := NewJSONConverter().ToConnect("topic", nil, []byte(c.in))
			require.Error(t, err)
			assert.ErrorIs(t, err, connect.ErrData)
			assert.Contains(t, err.Error(), c.want)
			assert.Nil(t, s)
			assert.Nil(t, v)
		})
	}
}

func TestJSONDepthLimit(t *testing.T) {
	deep := strings.Repeat("[", maxJSONDepth+1) + strings.Repeat("]", maxJSONDepth+1)
	_, _, err := newJSON(t, map[string]string{SchemasEnableConfig: "false"}).ToConnect("t", nil, []byte(deep))
	require.ErrorIs(t, err, connect.ErrData)
	assert.Contains(t, err.Error(), "nesting depth")
}

func TestJSONConfigure(t *testing.T) {
	c := NewJSONConverter()
	err := c.Configure(map[string]string{DecimalFormatConfig: "HEX"}, false)
	require.ErrorIs(t, err, connect.ErrConfig)
	assert.Contains(t, err.Error(), "Invalid value HEX for configuration decimal.format")
	require.ErrorIs(t, c.Configure(map[string]string{SchemasEnableConfig: "maybe"}, true), connect.ErrConfig)
	require.NoError(t, c.Configure(map[string]string{ConverterTypeConfig: "bogus"}, true), "Configure sets converter.type itself")
}
