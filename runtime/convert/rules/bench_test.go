package rules

import (
	"context"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/runtime/connect"
)

// The same ~1 KiB record as the converter benchmarks in
// runtime/convert/schemaconv (bench_test.go), so the cost of a rule can be
// set against the cost of a conversion in one run:
//
//	go test -run '^$' -bench . -benchmem ./runtime/convert/rules/ ./runtime/convert/schemaconv/
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
		MustPut("amount", big.NewRat(123456789, 100)).
		MustPut("tags", []any{"priority", "express", "gift-wrap", "international", "fragile"}).
		MustPut("attrs", map[string]any{"channel": "web", "region": "eu-west-1", "campaign": "summer-sale-2024"})
}

func BenchmarkExecute(b *testing.B) {
	md := &Metadata{Tags: map[string][]string{"bench.Order.customer": {"PII"}}}
	condition := Rule{Name: "checkOrder", Kind: KindCondition, Mode: ModeWrite, Type: TypeCEL,
		Expr: "message.quantity > 0 && message.price < 10000.0 && message.active"}
	mask := Rule{Name: "maskPii", Kind: KindTransform, Mode: ModeWrite, Type: TypeCELField, Tags: []string{"PII"},
		Expr: "typeName == 'STRING' ; value.substring(0, 4) + '****'"}
	e, err := NewExecutor(Options{})
	if err != nil {
		b.Fatal(err)
	}
	v := benchStruct()
	for _, bc := range []struct {
		name  string
		rules []Rule
	}{
		{"none", nil},
		{"condition", []Rule{condition}},
		{"pii-mask", []Rule{mask}},
		{"condition+pii-mask", []Rule{condition, mask}},
	} {
		rs := &RuleSet{DomainRules: bc.rules}
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := e.Execute(context.Background(), ModeWrite, rs, md, benchSchema, v, RecordInfo{Topic: "t"}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}
