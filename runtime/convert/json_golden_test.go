package convert

import (
	"math"
	"math/big"
	"testing"
	"time"

	"github.com/sluicehq/sluice/runtime/connect"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The expected bytes below come from Kafka's JsonConverterTest (which
// states them as JSON and compares trees) written out in the member order
// Kafka's asJsonSchema produces, and from output of Kafka's JsonConverter
// published in the Confluent and Debezium documentation.

func newJSON(t testing.TB, config map[string]string) *JSONConverter {
	t.Helper()
	c := NewJSONConverter()
	require.NoError(t, c.Configure(config, false))
	return c
}

func ms(n int64) time.Time { return time.UnixMilli(n).UTC() }

func dec(unscaled int64, scale int) *big.Rat {
	return connect.DecimalFromUnscaled(scale, big.NewInt(unscaled))
}

var (
	usersSchema = connect.StructBuilder().Name("ksql.users").
			Field("registertime", connect.Int64Schema).
			Field("userid", connect.StringSchema).
			Field("regionid", connect.StringSchema).
			Field("gender", connect.StringSchema).Build()
	fourFields = connect.StructBuilder().
			Field("field1", connect.BooleanSchema).Field("field2", connect.StringSchema).
			Field("field3", connect.StringSchema).Field("field4", connect.BooleanSchema).Build()
	defaultedField = connect.StructBuilder().
			Field("field1", connect.NewSchemaBuilder(connect.TypeString).Optional().Default("default").Build()).Build()
	debeziumBirth = connect.StructBuilder().Name("dbserver1.inventory.customers.Value").
			Field("id", connect.Int32Schema).
			Field("birth_date", connect.NewSchemaBuilder(connect.TypeInt32).Optional().Name("io.debezium.time.Date").Version(1).Build()).
			Build()
)

type golden struct {
	name   string
	config map[string]string
	schema *connect.Schema
	value  any
	want   string
}

func TestJSONFromConnectGolden(t *testing.T) {
	cases := []golden{
		{name: "boolean", schema: connect.BooleanSchema, value: true,
			want: `{"schema":{"type":"boolean","optional":false},"payload":true}`},
		{name: "optional null", schema: connect.OptionalBooleanSchema,
			want: `{"schema":{"type":"boolean","optional":true},"payload":null}`},
		{name: "default", schema: connect.NewSchemaBuilder(connect.TypeBoolean).Default(true).Build(), value: true,
			want: `{"schema":{"type":"boolean","optional":false,"default":true},"payload":true}`},
		{name: "metadata", value: true,
			schema: connect.NewSchemaBuilder(connect.TypeBoolean).Name("bool").Version(3).Doc("the documentation").Param("foo", "bar").Build(),
			want:   `{"schema":{"type":"boolean","optional":false,"name":"bool","version":3,"doc":"the documentation","parameters":{"foo":"bar"}},"payload":true}`},
		{name: "int8", schema: connect.Int8Schema, value: int8(12),
			want: `{"schema":{"type":"int8","optional":false},"payload":12}`},
		{name: "int16", schema: connect.Int16Schema, value: int16(12),
			want: `{"schema":{"type":"int16","optional":false},"payload":12}`},
		{name: "int32", schema: connect.Int32Schema, value: int32(12),
			want: `{"schema":{"type":"int32","optional":false},"payload":12}`},
		{name: "int64", schema: connect.Int64Schema, value: int64(4398046511104),
			want: `{"schema":{"type":"int64","optional":false},"payload":4398046511104}`},
		{name: "float", schema: connect.Float32Schema, value: float32(12.34),
			want: `{"schema":{"type":"float","optional":false},"payload":12.34}`},
		{name: "double", schema: connect.Float64Schema, value: 12.34,
			want: `{"schema":{"type":"double","optional":false},"payload":12.34}`},
		{name: "double exponent", schema: connect.Float64Schema, value: 1e10,
			want: `{"schema":{"type":"double","optional":false},"payload":1.0E10}`},
		{name: "double NaN", schema: connect.Float64Schema, value: math.NaN(),
			want: `{"schema":{"type":"double","optional":false},"payload":"NaN"}`},
		{name: "bytes", schema: connect.BytesSchema, value: []byte("test-string"),
			want: `{"schema":{"type":"bytes","optional":false},"payload":"dGVzdC1zdHJpbmc="}`},
		{name: "string", schema: connect.StringSchema, value: "test-string",
			want: `{"schema":{"type":"string","optional":false},"payload":"test-string"}`},
		{name: "string escapes", schema: connect.StringSchema, value: "a\"b\\c/\n\t\x01\x1fé\u2028",
			want: `{"schema":{"type":"string","optional":false},"payload":"a\"b\\c/\n\t\u0001\u001Fé` + "\u2028" + `"}`},
		{name: "array", schema: connect.ArrayOf(connect.Int32Schema), value: []any{int32(1), int32(2), int32(3)},
			want: `{"schema":{"type":"array","items":{"type":"int32","optional":false},"optional":false},"payload":[1,2,3]}`},
		{name: "map string keys", schema: connect.MapOf(connect.StringSchema, connect.Int32Schema),
			value: map[string]any{"key2": int32(15), "key1": int32(12)},
			want:  `{"schema":{"type":"map","keys":{"type":"string","optional":false},"values":{"type":"int32","optional":false},"optional":false},"payload":{"key1":12,"key2":15}}`},
		{name: "map int keys", schema: connect.MapOf(connect.Int32Schema, connect.Int32Schema),
			value: map[any]any{int32(2): int32(15), int32(1): int32(12)},
			want:  `{"schema":{"type":"map","keys":{"type":"int32","optional":false},"values":{"type":"int32","optional":false},"optional":false},"payload":[[1,12],[2,15]]}`},
		{name: "struct", schema: fourFields,
			value: connect.NewStruct(fourFields).MustPut("field1", true).MustPut("field2", "string2").MustPut("field3", "string3").MustPut("field4", false),
			want:  `{"schema":{"type":"struct","fields":[{"type":"boolean","optional":false,"field":"field1"},{"type":"string","optional":false,"field":"field2"},{"type":"string","optional":false,"field":"field3"},{"type":"boolean","optional":false,"field":"field4"}],"optional":false},"payload":{"field1":true,"field2":"string2","field3":"string3","field4":false}}`},
		{name: "confluent users", schema: usersSchema,
			value: connect.NewStruct(usersSchema).MustPut("registertime", int64(1493819497170)).MustPut("userid", "User_1").MustPut("regionid", "Region_5").MustPut("gender", "MALE"),
			want:  `{"schema":{"type":"struct","fields":[{"type":"int64","optional":false,"field":"registertime"},{"type":"string","optional":false,"field":"userid"},{"type":"string","optional":false,"field":"regionid"},{"type":"string","optional":false,"field":"gender"}],"optional":false,"name":"ksql.users"},"payload":{"registertime":1493819497170,"userid":"User_1","regionid":"Region_5","gender":"MALE"}}`},
		{name: "debezium named field", schema: debeziumBirth,
			value: connect.NewStruct(debeziumBirth).MustPut("id", int32(1001)).MustPut("birth_date", int32(-3632)),
			want:  `{"schema":{"type":"struct","fields":[{"type":"int32","optional":false,"field":"id"},{"type":"int32","optional":true,"name":"io.debezium.time.Date","version":1,"field":"birth_date"}],"optional":false,"name":"dbserver1.inventory.customers.Value"},"payload":{"id":1001,"birth_date":-3632}}`},
		{name: "decimal base64", schema: connect.DecimalSchema(2).Build(), value: dec(156, 2),
			want: `{"schema":{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2"}},"payload":"AJw="}`},
		{name: "decimal numeric", config: map[string]string{DecimalFormatConfig: "NUMERIC"}, schema: connect.DecimalSchema(2).Build(), value: dec(156, 2),
			want: `{"schema":{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2"}},"payload":1.56}`},
		{name: "decimal numeric trailing zeros", config: map[string]string{DecimalFormatConfig: "numeric"}, schema: connect.DecimalSchema(4).Build(), value: dec(15600, 4),
			want: `{"schema":{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"4"}},"payload":1.5600}`},
		{name: "decimal numeric small", config: map[string]string{DecimalFormatConfig: "NUMERIC"}, schema: connect.DecimalSchema(10).Build(), value: dec(1, 10),
			want: `{"schema":{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"10"}},"payload":1E-10}`},
		{name: "decimal negative scale", schema: connect.DecimalSchema(-2).Build(), value: dec(15, -2),
			want: `{"schema":{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"-2"}},"payload":"Dw=="}`},
		{name: "decimal numeric negative scale", config: map[string]string{DecimalFormatConfig: "NUMERIC"}, schema: connect.DecimalSchema(-2).Build(), value: dec(15, -2),
			want: `{"schema":{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"-2"}},"payload":1.5E+3}`},
		{name: "decimal default", schema: connect.DecimalSchema(2).Default(dec(156, 2)).Build(), value: dec(-1, 2),
			want: `{"schema":{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2"},"default":"AJw="},"payload":"/w=="}`},
		{name: "date", schema: connect.DateSchema().Build(), value: connect.DateFromDays(10000),
			want: `{"schema":{"type":"int32","optional":false,"name":"org.apache.kafka.connect.data.Date","version":1},"payload":10000}`},
		{name: "time", schema: connect.TimeSchema().Build(), value: ms(14400000),
			want: `{"schema":{"type":"int32","optional":false,"name":"org.apache.kafka.connect.data.Time","version":1},"payload":14400000}`},
		{name: "timestamp", schema: connect.TimestampSchema().Build(), value: ms(4000000000),
			want: `{"schema":{"type":"int64","optional":false,"name":"org.apache.kafka.connect.data.Timestamp","version":1},"payload":4000000000}`},
		{name: "timestamp default", schema: connect.TimestampSchema().Optional().Default(ms(42)).Build(), value: ms(-1),
			want: `{"schema":{"type":"int64","optional":true,"name":"org.apache.kafka.connect.data.Timestamp","version":1,"default":42},"payload":-1}`},
		{name: "no schema primitive", value: true, want: `{"schema":null,"payload":true}`},
		{name: "no schema array", value: []any{int32(1), "string", true}, want: `{"schema":null,"payload":[1,"string",true]}`},
		{name: "no schema map", value: map[string]any{"key1": int32(12), "key2": "string", "key3": true},
			want: `{"schema":null,"payload":{"key1":12,"key2":"string","key3":true}}`},
		{name: "no schema map pairs", value: map[any]any{int32(52): "string", false: true},
			want: `{"schema":null,"payload":[[52,"string"],[false,true]]}`},
		{name: "null to default", schema: connect.NewSchemaBuilder(connect.TypeString).Optional().Default("default").Build(),
			want: `{"schema":{"type":"string","optional":true,"default":"default"},"payload":"default"}`},
		{name: "null kept", config: map[string]string{ReplaceNullWithDefaultConfig: "false"},
			schema: connect.NewSchemaBuilder(connect.TypeString).Optional().Default("default").Build(),
			want:   `{"schema":{"type":"string","optional":true,"default":"default"},"payload":null}`},
		{name: "field null to default", schema: defaultedField, value: connect.NewStruct(defaultedField),
			want: `{"schema":{"type":"struct","fields":[{"type":"string","optional":true,"default":"default","field":"field1"}],"optional":false},"payload":{"field1":"default"}}`},
		{name: "field null kept", config: map[string]string{ReplaceNullWithDefaultConfig: "false"}, schema: defaultedField, value: connect.NewStruct(defaultedField),
			want: `{"schema":{"type":"struct","fields":[{"type":"string","optional":true,"default":"default","field":"field1"}],"optional":false},"payload":{"field1":null}}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			conv := newJSON(t, c.config)
			got, err := conv.FromConnect("topic", nil, c.schema, c.value)
			require.NoError(t, err)
			assert.Equal(t, c.want, string(got))
			// A second call is served from the schema cache.
			again, err := conv.FromConnect("topic", nil, c.schema, c.value)
			require.NoError(t, err)
			assert.Equal(t, c.want, string(again))
		})
	}
}

func TestJSONFromConnectSchemaless(t *testing.T) {
	off := map[string]string{SchemasEnableConfig: "false"}
	cases := []golden{
		{name: "boolean", value: true, want: `true`},
		{name: "optional null", schema: connect.OptionalBooleanSchema, want: `null`},
		{name: "string", schema: connect.StringSchema, value: "x", want: `"x"`},
		{name: "double", value: 1e-5, want: `1.0E-5`},
		{name: "float", value: float32(100), want: `100.0`},
		{name: "int", value: 7, want: `7`},
		{name: "decimal", schema: connect.DecimalSchema(2).Build(), value: dec(156, 2), want: `"AJw="`},
		{name: "struct", schema: usersSchema,
			value: connect.NewStruct(usersSchema).MustPut("registertime", int64(1)).MustPut("userid", "u").MustPut("regionid", "r").MustPut("gender", "g"),
			want:  `{"registertime":1,"userid":"u","regionid":"r","gender":"g"}`},
		{name: "map", value: map[string]any{"b": int64(2), "a": []any{nil, 1.5}}, want: `{"a":[null,1.5],"b":2}`},
		{name: "bytes", value: []byte{0, 1, 2}, want: `"AAEC"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := newJSON(t, off).FromConnect("topic", nil, c.schema, c.value)
			require.NoError(t, err)
			assert.Equal(t, c.want, string(got))
		})
	}
}

func TestJSONTombstone(t *testing.T) {
	for _, enable := range []string{"true", "false"} {
		t.Run("schemas.enable="+enable, func(t *testing.T) {
			got, err := newJSON(t, map[string]string{SchemasEnableConfig: enable}).FromConnect("topic", nil, nil, nil)
			require.NoError(t, err)
			assert.Nil(t, got)
		})
	}
}
