package convert

import (
	"testing"

	"github.com/sluicehq/sluice/runtime/connect"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Inputs are Kafka's JsonConverterTest documents, whitespace included.

type readCase struct {
	name       string
	config     map[string]string
	in         string
	wantSchema *connect.Schema
	want       any
}

func runReadCases(t *testing.T, cases []readCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, v, err := newJSON(t, c.config).ToConnect("topic", nil, []byte(c.in))
			require.NoError(t, err)
			assert.True(t, c.wantSchema.Equal(s), "schema: want %+v, got %+v", c.wantSchema, s)
			assert.True(t, connect.ValuesEqual(c.want, v), "value: want %#v, got %#v", c.want, v)
		})
	}
}

func TestJSONToConnectTypes(t *testing.T) {
	structSchema := connect.StructBuilder().Field("field1", connect.BooleanSchema).Field("field2", connect.StringSchema).Build()
	optionalField := connect.StructBuilder().Field("optional", connect.OptionalStringSchema).Field("required", connect.StringSchema).Build()
	runReadCases(t, []readCase{
		{name: "boolean", in: `{ "schema": { "type": "boolean" }, "payload": true }`, wantSchema: connect.BooleanSchema, want: true},
		{name: "boolean false", in: `{ "schema": { "type": "boolean" }, "payload": false }`, wantSchema: connect.BooleanSchema, want: false},
		{name: "optional null", in: `{ "schema": { "type": "boolean", "optional": true }, "payload": null }`, wantSchema: connect.OptionalBooleanSchema},
		{name: "default", in: `{ "schema": { "type": "boolean", "default": true }, "payload": null }`,
			wantSchema: connect.NewSchemaBuilder(connect.TypeBoolean).Default(true).Build(), want: true},
		{name: "metadata", in: `{ "schema": { "type": "boolean", "optional": false, "name": "bool", "version": 2, "doc": "the documentation", "parameters": { "foo": "bar" }}, "payload": true }`,
			wantSchema: connect.NewSchemaBuilder(connect.TypeBoolean).Name("bool").Version(2).Doc("the documentation").Param("foo", "bar").Build(), want: true},
		{name: "int8", in: `{ "schema": { "type": "int8" }, "payload": 12 }`, wantSchema: connect.Int8Schema, want: int8(12)},
		{name: "int16", in: `{ "schema": { "type": "int16" }, "payload": 12 }`, wantSchema: connect.Int16Schema, want: int16(12)},
		{name: "int32", in: `{ "schema": { "type": "int32" }, "payload": 12 }`, wantSchema: connect.Int32Schema, want: int32(12)},
		{name: "int64", in: `{ "schema": { "type": "int64" }, "payload": 4398046511104 }`, wantSchema: connect.Int64Schema, want: int64(4398046511104)},
		{name: "int32 wraps as Java", in: `{ "schema": { "type": "int32" }, "payload": 4294967297 }`, wantSchema: connect.Int32Schema, want: int32(1)},
		{name: "int from decimal truncates", in: `{ "schema": { "type": "int32" }, "payload": -12.9 }`, wantSchema: connect.Int32Schema, want: int32(-12)},
		{name: "int64 exponent", in: `{ "schema": { "type": "int64" }, "payload": 1.5e3 }`, wantSchema: connect.Int64Schema, want: int64(1500)},
		{name: "float", in: `{ "schema": { "type": "float" }, "payload": 12.34 }`, wantSchema: connect.Float32Schema, want: float32(12.34)},
		{name: "double", in: `{ "schema": { "type": "double" }, "payload": 12.34 }`, wantSchema: connect.Float64Schema, want: 12.34},
		{name: "bytes", in: `{ "schema": { "type": "bytes" }, "payload": "dGVzdC1zdHJpbmc=" }`, wantSchema: connect.BytesSchema, want: []byte("test-string")},
		{name: "string", in: `{ "schema": { "type": "string" }, "payload": "foo-bar-baz" }`, wantSchema: connect.StringSchema, want: "foo-bar-baz"},
		{name: "string escapes", in: `{ "schema": { "type": "string" }, "payload": "a\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00" }`,
			wantSchema: connect.StringSchema, want: "a\"\\/\b\f\n\r\té\U0001F600"},
		{name: "array", in: `{ "schema": { "type": "array", "items": { "type" : "int32" } }, "payload": [1, 2, 3] }`,
			wantSchema: connect.ArrayOf(connect.Int32Schema), want: []any{int32(1), int32(2), int32(3)}},
		{name: "map string keys", in: `{ "schema": { "type": "map", "keys": { "type" : "string" }, "values": { "type" : "int32" } }, "payload": { "key1": 12, "key2": 15} }`,
			wantSchema: connect.MapOf(connect.StringSchema, connect.Int32Schema), want: map[string]any{"key1": int32(12), "key2": int32(15)}},
		{name: "map int keys", in: `{ "schema": { "type": "map", "keys": { "type" : "int32" }, "values": { "type" : "int32" } }, "payload": [ [1, 12], [2, 15] ] }`,
			wantSchema: connect.MapOf(connect.Int32Schema, connect.Int32Schema), want: map[any]any{int32(1): int32(12), int32(2): int32(15)}},
		{name: "struct", in: `{ "schema": { "type": "struct", "fields": [{ "field": "field1", "type": "boolean" }, { "field": "field2", "type": "string" }] }, "payload": { "field1": true, "field2": "string" } }`,
			wantSchema: structSchema, want: connect.NewStruct(structSchema).MustPut("field1", true).MustPut("field2", "string")},
		{name: "struct members in any order", in: `{"payload":{"field2":"string","extra":[1,{"x":null}],"field1":true},"schema":{"type":"struct","fields":[{"field":"field1","type":"boolean"},{"field":"field2","type":"string"}]}}`,
			wantSchema: structSchema, want: connect.NewStruct(structSchema).MustPut("field1", true).MustPut("field2", "string")},
		{name: "struct optional field", in: `{ "schema": { "type": "struct", "fields": [{ "field":"optional", "type": "string", "optional": true }, {  "field": "required", "type": "string" }] }, "payload": { "required": "required" } }`,
			wantSchema: optionalField, want: connect.NewStruct(optionalField).MustPut("required", "required")},
	})
}

func TestJSONToConnectNulls(t *testing.T) {
	defaulted := connect.NewSchemaBuilder(connect.TypeString).Optional().Default("default").Build()
	field := connect.StructBuilder().Field("f", defaulted).Build()
	runReadCases(t, []readCase{
		{name: "null schema and payload", in: `{ "schema": null, "payload": null }`},
		{name: "null to default", in: `{"schema":{"type":"string","optional":true,"default":"default"},"payload":null}`, wantSchema: defaulted, want: "default"},
		{name: "null kept", config: map[string]string{ReplaceNullWithDefaultConfig: "false"},
			in: `{"schema":{"type":"string","optional":true,"default":"default"},"payload":null}`, wantSchema: defaulted},
		{name: "missing field to default", in: `{"schema":{"type":"struct","fields":[{"type":"string","optional":true,"default":"default","field":"f"}]},"payload":{}}`,
			wantSchema: field, want: connect.NewStruct(field).MustPut("f", "default")},
		{name: "missing field kept", config: map[string]string{ReplaceNullWithDefaultConfig: "false"},
			in:         `{"schema":{"type":"struct","fields":[{"type":"string","optional":true,"default":"default","field":"f"}]},"payload":{"f":null}}`,
			wantSchema: field, want: connect.NewStruct(field)},
	})
}

func TestJSONToConnectEmptyInput(t *testing.T) {
	for _, enable := range []string{"true", "false"} {
		for _, in := range [][]byte{nil, {}, []byte(" \n")} {
			s, v, err := newJSON(t, map[string]string{SchemasEnableConfig: enable}).ToConnect("topic", nil, in)
			require.NoError(t, err)
			assert.Nil(t, s)
			assert.Nil(t, v)
		}
	}
}

func TestJSONToConnectSchemaless(t *testing.T) {
	off := map[string]string{SchemasEnableConfig: "false"}
	runReadCases(t, []readCase{
		{name: "envelope with null schema bool", in: `{ "schema": null, "payload": true }`, want: true},
		{name: "integral is int64", in: `{ "schema": null, "payload": 12 }`, want: int64(12)},
		{name: "fraction is float64", in: `{ "schema": null, "payload": 12.24 }`, want: 12.24},
		{name: "string", in: `{ "schema": null, "payload": "a string" }`, want: "a string"},
		{name: "array", in: `{ "schema": null, "payload": [1, "2", 3] }`, want: []any{int64(1), "2", int64(3)}},
		{name: "object", in: `{ "schema": null, "payload": { "field1": 1, "field2": 2} }`, want: map[string]any{"field1": int64(1), "field2": int64(2)}},
		{name: "plain true", config: off, in: `true`, want: true},
		{name: "plain object", config: off, in: `{ "a": "", "b": null}`, want: map[string]any{"a": "", "b": nil}},
		{name: "plain envelope stays data", config: off, in: `{"schema":null,"payload":1}`, want: map[string]any{"schema": nil, "payload": int64(1)}},
		{name: "plain nested", config: off, in: `[{"x":[true,null,-0.5e1]},[]]`, want: []any{map[string]any{"x": []any{true, nil, -5.0}}, []any{}}},
		{name: "plain big integer wraps", config: off, in: `18446744073709551617`, want: int64(1)},
	})
}

func TestJSONToConnectLogical(t *testing.T) {
	numeric := map[string]string{DecimalFormatConfig: "NUMERIC"}
	big17, _ := parseDecimal([]byte("1.23456789123456789"))
	ref17, err := big17.rat()
	require.NoError(t, err)
	runReadCases(t, []readCase{
		{name: "decimal", in: `{ "schema": { "type": "bytes", "name": "org.apache.kafka.connect.data.Decimal", "version": 1, "parameters": { "scale": "2" } }, "payload": "AJw=" }`,
			wantSchema: connect.DecimalSchema(2).Build(), want: dec(156, 2)},
		{name: "decimal optional", in: `{ "schema": { "type": "bytes", "name": "org.apache.kafka.connect.data.Decimal", "version": 1, "optional": true, "parameters": { "scale": "2" } }, "payload": null }`,
			wantSchema: connect.DecimalSchema(2).Optional().Build()},
		{name: "decimal default", in: `{ "schema": { "type": "bytes", "name": "org.apache.kafka.connect.data.Decimal", "version": 1, "default": "AJw=", "parameters": { "scale": "2" } }, "payload": null }`,
			wantSchema: connect.DecimalSchema(2).Default(dec(156, 2)).Build(), want: dec(156, 2)},
		{name: "decimal numeric", config: numeric, in: `{ "schema": { "type": "bytes", "name": "org.apache.kafka.connect.data.Decimal", "version": 1, "parameters": { "scale": "2" } }, "payload": 1.56 }`,
			wantSchema: connect.DecimalSchema(2).Build(), want: dec(156, 2)},
		{name: "decimal numeric trailing zeros", in: `{ "schema": { "type": "bytes", "name": "org.apache.kafka.connect.data.Decimal", "version": 1, "parameters": { "scale": "4" } }, "payload": 1.5600 }`,
			wantSchema: connect.DecimalSchema(4).Build(), want: dec(15600, 4)},
		{name: "decimal high precision", in: `{ "schema": { "type": "bytes", "name": "org.apache.kafka.connect.data.Decimal", "version": 1, "parameters": { "scale": "17" } }, "payload": 1.23456789123456789 }`,
			wantSchema: connect.DecimalSchema(17).Build(), want: ref17},
		{name: "date", in: `{ "schema": { "type": "int32", "name": "org.apache.kafka.connect.data.Date", "version": 1 }, "payload": 10000 }`,
			wantSchema: connect.DateSchema().Build(), want: connect.DateFromDays(10000)},
		{name: "date optional", in: `{ "schema": { "type": "int32", "name": "org.apache.kafka.connect.data.Date", "version": 1, "optional": true }, "payload": null }`,
			wantSchema: connect.DateSchema().Optional().Build()},
		{name: "date default", in: `{ "schema": { "type": "int32", "name": "org.apache.kafka.connect.data.Date", "version": 1, "default": 0 }, "payload": null }`,
			wantSchema: connect.DateSchema().Default(ms(0)).Build(), want: ms(0)},
		{name: "time", in: `{ "schema": { "type": "int32", "name": "org.apache.kafka.connect.data.Time", "version": 1 }, "payload": 14400000 }`,
			wantSchema: connect.TimeSchema().Build(), want: ms(14400000)},
		{name: "time optional default", in: `{ "schema": { "type": "int32", "name": "org.apache.kafka.connect.data.Time", "version": 1, "optional": true, "default": 0 }, "payload": null }`,
			wantSchema: connect.TimeSchema().Optional().Default(ms(0)).Build(), want: ms(0)},
		{name: "timestamp", in: `{ "schema": { "type": "int64", "name": "org.apache.kafka.connect.data.Timestamp", "version": 1 }, "payload": 4000000000 }`,
			wantSchema: connect.TimestampSchema().Build(), want: ms(4000000000)},
		{name: "timestamp default", in: `{ "schema": { "type": "int64", "name": "org.apache.kafka.connect.data.Timestamp", "version": 1,  "optional": true, "default": 42 }, "payload": null }`,
			wantSchema: connect.TimestampSchema().Optional().Default(ms(42)).Build(), want: ms(42)},
	})
}

func TestJSONHeaderConverterDelegates(t *testing.T) {
	h := &headerAdapter{conv: NewJSONConverter()}
	require.NoError(t, h.Configure(nil))
	out, err := h.FromConnectHeader("topic", "headerName", connect.StringSchema, "test-string")
	require.NoError(t, err)
	assert.Equal(t, `{"schema":{"type":"string","optional":false},"payload":"test-string"}`, string(out))
	s, v, err := h.ToConnectHeader("topic", "headerName", []byte(`{ "schema": { "type": "string" }, "payload": "foo-bar-baz" }`))
	require.NoError(t, err)
	assert.True(t, connect.StringSchema.Equal(s))
	assert.Equal(t, "foo-bar-baz", v)
}

func TestJSONSchemaCaches(t *testing.T) {
	c := NewJSONConverter()
	for _, in := range []string{
		`{ "schema": { "type": "boolean" }, "payload": true }`,
		`{ "schema": { "type": "boolean" }, "payload": true }`,
		`{ "schema": { "type": "boolean", "optional": true }, "payload": true }`,
		`{ "schema": { "type": "boolean", "optional": false }, "payload": true }`,
	} {
		_, _, err := c.ToConnect("topic", nil, []byte(in))
		require.NoError(t, err)
	}
	assert.Equal(t, 3, c.toCache.len(), "equal schemas spelled differently are cached apart, as in Kafka")

	for _, s := range []*connect.Schema{connect.BooleanSchema, connect.BooleanSchema, connect.OptionalBooleanSchema} {
		_, err := c.FromConnect("topic", nil, s, true)
		require.NoError(t, err)
	}
	assert.Equal(t, 2, c.fromCache.len())

	small := newJSON(t, map[string]string{SchemasCacheSizeConfig: "1"})
	_, _, _ = small.ToConnect("t", nil, []byte(`{"schema":{"type":"int8"},"payload":1}`))
	_, _, _ = small.ToConnect("t", nil, []byte(`{"schema":{"type":"int16"},"payload":1}`))
	assert.Equal(t, 1, small.toCache.len())
}

// Jackson keeps the last of duplicate members, and Kafka then sees an
// envelope of two.
func TestJSONEnvelopeDuplicateMembers(t *testing.T) {
	runReadCases(t, []readCase{
		{name: "schema repeated after payload", in: `{"schema":{"type":"int8"},"payload":"x","schema":{"type":"string"}}`,
			wantSchema: connect.StringSchema, want: "x"},
		{name: "payload repeated", in: `{"schema":{"type":"int8"},"payload":1,"payload":2}`,
			wantSchema: connect.Int8Schema, want: int8(2)},
	})
}

func TestJSONConverterConcurrentUse(t *testing.T) {
	c := newJSON(t, map[string]string{SchemasCacheSizeConfig: "2"})
	schemas := []*connect.Schema{everySchema, benchSchema, connect.Int64Schema}
	values := []any{everyValue(), benchStruct(), int64(3)}
	done := make(chan error)
	for g := 0; g < 4; g++ {
		go func() {
			for i := 0; i < 200; i++ {
				k := (g + i) % len(schemas)
				data, err := c.FromConnect("t", nil, schemas[k], values[k])
				if err == nil {
					_, _, err = c.ToConnect("t", nil, data)
				}
				if err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for g := 0; g < 4; g++ {
		require.NoError(t, <-done)
	}
}
