package schemaconv

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/runtime/connect"
	"github.com/sluicehq/sluice/runtime/convert"
	"github.com/sluicehq/sluice/runtime/convert/rules"
)

// The same ~1 KiB record as runtime/convert's JSON converter benchmark.
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
		MustPut("created", time.UnixMilli(1718000000123).UTC()).
		MustPut("amount", dec(123456789, 2)).
		MustPut("tags", []any{"priority", "express", "gift-wrap", "international", "fragile"}).
		MustPut("attrs", map[string]any{"channel": "web", "region": "eu-west-1", "campaign": "summer-sale-2024"})
}

func benchConverters(b *testing.B) map[string]connect.Converter {
	js := convert.NewJSONConverter()
	require.NoError(b, js.Configure(map[string]string{}, false))
	avroText := mustAvro(b, benchSchema)
	jsText, err := jsonSchemaFormat{}.fromConnect(benchSchema)
	require.NoError(b, err)
	protoText, err := defaultProtobufFormat.fromConnect(benchSchema)
	require.NoError(b, err)
	return map[string]connect.Converter{
		"avro":       testConverter(avroFormat{}, "t-value", avroText, 1),
		"jsonschema": testConverter(jsonSchemaFormat{}, "t-value", jsText, 1),
		"protobuf":   testConverter(defaultProtobufFormat, "t-value", protoText, 1),
		"json":       js,
	}
}

func BenchmarkFromConnect(b *testing.B) {
	v := benchStruct()
	for name, c := range benchConverters(b) {
		b.Run(name, func(b *testing.B) {
			out, err := c.FromConnect("t", nil, benchSchema, v)
			require.NoError(b, err)
			b.SetBytes(int64(len(out)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.FromConnect("t", nil, benchSchema, v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkToConnect(b *testing.B) {
	v := benchStruct()
	for name, c := range benchConverters(b) {
		b.Run(name, func(b *testing.B) {
			data, err := c.FromConnect("t", nil, benchSchema, v)
			require.NoError(b, err)
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := c.ToConnect("t", nil, data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// benchContracts are the data contracts BenchmarkAvroRules compares: none,
// a CEL condition on the record, a CEL_FIELD mask of the PII field, and
// both (all WRITEREAD, so they run on both sides).
func benchContracts() map[string]*contract {
	md := &rules.Metadata{Tags: map[string][]string{"**.customer": {"PII"}}}
	cond := rules.Rule{Name: "valid", Kind: rules.KindCondition, Mode: rules.ModeWriteRead, Type: rules.TypeCEL,
		Expr: "message.quantity > 0 && message.price < 10000.0 && size(message.tags) < 10"}
	mask := rules.Rule{Name: "maskPII", Kind: rules.KindTransform, Mode: rules.ModeWriteRead, Type: rules.TypeCELField,
		Tags: []string{"PII"}, Expr: "'***'"}
	return map[string]*contract{
		"none":      {},
		"condition": {md: md, rs: &rules.RuleSet{DomainRules: []rules.Rule{cond}}},
		"mask":      {md: md, rs: &rules.RuleSet{DomainRules: []rules.Rule{mask}}},
		"both":      {md: md, rs: &rules.RuleSet{DomainRules: []rules.Rule{cond, mask}}},
	}
}

// BenchmarkAvroRules measures the AvroConverter end to end on the ~1 KiB
// record with and without rules: the goal is a rule costing less than the
// conversion itself (compare each to "none").
func BenchmarkAvroRules(b *testing.B) {
	v := benchStruct()
	text := mustAvro(b, benchSchema)
	for name, ct := range benchContracts() {
		c := testConverter(avroFormat{}, "t-value", text, 1)
		c.reg.contracts[1] = ct
		data, err := c.FromConnect("t", nil, benchSchema, v)
		require.NoError(b, err)
		if ct.rs != nil && len(ct.rs.DomainRules) > 0 && ct.rs.DomainRules[len(ct.rs.DomainRules)-1].Name == "maskPII" {
			require.NotContains(b, string(data), "Jane", "the mask ran")
		}
		b.Run("FromConnect/"+name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.FromConnect("t", nil, benchSchema, v); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
		b.Run("ToConnect/"+name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := c.ToConnect("t", nil, data); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}
