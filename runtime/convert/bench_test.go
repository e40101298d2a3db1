package convert

import (
	"strings"
	"testing"

	"github.com/sluicehq/sluice/runtime/connect"
	"github.com/stretchr/testify/require"
)

// A record of about 1 KiB: ten fields of mixed types, as a CDC or
// datagen source would produce.
var benchSchema = connect.StructBuilder().Name("bench.Order").
	Field("id", connect.Int64Schema).
	Field("customer", connect.StringSchema).
	Field("description", connect.OptionalStringSchema).
	Field("price", connect.Float64Schema).
	Field("active", connect.BooleanSchema).
	Field("quantity", connect.Int32Schema).
	Field("created", connect.TimestampSchema().Build()).
	Field("amount", connect.DecimalSchema(2).Build()).
	Field("tags", connect.ArrayOf(connect.StringSchema)).
	Field("attrs", connect.MapOf(connect.StringSchema, connect.StringSchema)).Build()

func benchStruct() *connect.Struct {
	return connect.NewStruct(benchSchema).
		MustPut("id", int64(1234567890123)).
		MustPut("customer", "Jane Q. Customer <jane.customer@example.com>, Account 4421-9921").
		MustPut("description", strings.Repeat("Lorem ipsum dolor sit amet, consectetur adipiscing elit. ", 8)).
		MustPut("price", 1234.5678).
		MustPut("active", true).
		MustPut("quantity", int32(42)).
		MustPut("created", ms(1718000000123)).
		MustPut("amount", dec(123456789, 2)).
		MustPut("tags", []any{"priority", "express", "gift-wrap", "international", "fragile"}).
		MustPut("attrs", map[string]any{"channel": "web", "region": "eu-west-1", "campaign": "summer-sale-2024"})
}

func benchMap() map[string]any {
	return map[string]any{
		"id":          int64(1234567890123),
		"customer":    "Jane Q. Customer <jane.customer@example.com>, Account 4421-9921",
		"description": strings.Repeat("Lorem ipsum dolor sit amet, consectetur adipiscing elit. ", 8),
		"price":       1234.5678,
		"active":      true,
		"quantity":    int64(42),
		"created":     int64(1718000000123),
		"amount":      1234567.89,
		"tags":        []any{"priority", "express", "gift-wrap", "international", "fragile"},
		"attrs":       map[string]any{"channel": "web", "region": "eu-west-1", "campaign": "summer-sale-2024"},
	}
}

func benchFromConnect(b *testing.B, c connect.Converter, s *connect.Schema, v any) {
	out, err := c.FromConnect("t", nil, s, v)
	require.NoError(b, err)
	b.SetBytes(int64(len(out)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.FromConnect("t", nil, s, v); err != nil {
			b.Fatal(err)
		}
	}
}

func benchToConnect(b *testing.B, c connect.Converter, s *connect.Schema, v any) {
	data, err := c.FromConnect("t", nil, s, v)
	require.NoError(b, err)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := c.ToConnect("t", nil, data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkJSONFromConnect(b *testing.B) {
	b.Run("struct/schemas", func(b *testing.B) { benchFromConnect(b, newJSON(b, nil), benchSchema, benchStruct()) })
	b.Run("struct/schemaless", func(b *testing.B) {
		benchFromConnect(b, newJSON(b, map[string]string{SchemasEnableConfig: "false"}), benchSchema, benchStruct())
	})
	b.Run("map/schemaless", func(b *testing.B) {
		benchFromConnect(b, newJSON(b, map[string]string{SchemasEnableConfig: "false"}), nil, benchMap())
	})
}

func BenchmarkJSONToConnect(b *testing.B) {
	b.Run("struct/schemas", func(b *testing.B) { benchToConnect(b, newJSON(b, nil), benchSchema, benchStruct()) })
	b.Run("struct/schemaless", func(b *testing.B) {
		benchToConnect(b, newJSON(b, map[string]string{SchemasEnableConfig: "false"}), benchSchema, benchStruct())
	})
	b.Run("map/schemaless", func(b *testing.B) {
		benchToConnect(b, newJSON(b, map[string]string{SchemasEnableConfig: "false"}), nil, benchMap())
	})
}

func BenchmarkStringConverter(b *testing.B) {
	value := strings.Repeat("a line of log text, ", 50)
	b.Run("FromConnect", func(b *testing.B) { benchFromConnect(b, NewStringConverter(), connect.StringSchema, value) })
	b.Run("ToConnect", func(b *testing.B) { benchToConnect(b, NewStringConverter(), connect.StringSchema, value) })
}

func BenchmarkByteArrayConverter(b *testing.B) {
	value := []byte(strings.Repeat("x", 1024))
	b.Run("FromConnect", func(b *testing.B) { benchFromConnect(b, NewByteArrayConverter(), connect.BytesSchema, value) })
	b.Run("ToConnect", func(b *testing.B) { benchToConnect(b, NewByteArrayConverter(), connect.BytesSchema, value) })
}
