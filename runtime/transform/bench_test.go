package transform

import (
	"fmt"
	"testing"

	"github.com/sluicehq/sluice/runtime/connect"
)

var benchSchema = func() *connect.Schema {
	b := connect.StructBuilder().Name("bench")
	for i := 0; i < 10; i++ {
		if i%2 == 0 {
			b.Field(fmt.Sprintf("f%d", i), connect.Int64Schema)
		} else {
			b.Field(fmt.Sprintf("f%d", i), connect.StringSchema)
		}
	}
	return b.Build()
}()

func benchStruct() *connect.Struct {
	st := connect.NewStruct(benchSchema)
	for i := 0; i < 10; i++ {
		if i%2 == 0 {
			st.MustPut(fmt.Sprintf("f%d", i), int64(i))
		} else {
			st.MustPut(fmt.Sprintf("f%d", i), fmt.Sprint(i))
		}
	}
	return st
}

func benchMap() map[string]any {
	m := make(map[string]any, 10)
	for i := 0; i < 10; i++ {
		if i%2 == 0 {
			m[fmt.Sprintf("f%d", i)] = int64(i)
		} else {
			m[fmt.Sprintf("f%d", i)] = fmt.Sprint(i)
		}
	}
	return m
}

var benchChainProps = map[string]string{
	"transforms":                     "insert,replace,cast",
	"transforms.insert.type":         "InsertField$Value",
	"transforms.insert.topic.field":  "topic",
	"transforms.insert.offset.field": "offset",
	"transforms.replace.type":        "ReplaceField$Value",
	"transforms.replace.exclude":     "f9",
	"transforms.replace.renames":     "f1:one,f2:two",
	"transforms.cast.type":           "Cast$Value",
	"transforms.cast.spec":           "f0:int32,two:string",
}

func benchRecord(schema *connect.Schema, value any) *connect.Record {
	return &connect.Record{Topic: "bench", Partition: 0, Offset: 7, ValueSchema: schema, Value: value}
}

func runChain(b *testing.B, r *connect.Record) {
	c, err := NewChain(benchChainProps, Plugins(), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := c.Apply(r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkChainStruct(b *testing.B)     { runChain(b, benchRecord(benchSchema, benchStruct())) }
func BenchmarkChainSchemaless(b *testing.B) { runChain(b, benchRecord(nil, benchMap())) }

func BenchmarkTransform(b *testing.B) {
	for _, tc := range []struct {
		class string
		props map[string]string
	}{
		{"Cast$Value", map[string]string{"spec": "f0:int32,f1:int64"}},
		{"ExtractField$Value", map[string]string{"field": "f3"}},
		{"Flatten$Value", nil},
		{"HoistField$Value", map[string]string{"field": "wrapped"}},
		{"InsertField$Value", map[string]string{"topic.field": "topic", "offset.field": "offset"}},
		{"MaskField$Value", map[string]string{"fields": "f1,f2"}},
		{"ReplaceField$Value", map[string]string{"exclude": "f9", "renames": "f1:one"}},
		{"SetSchemaMetadata$Value", map[string]string{"schema.name": "renamed"}},
		{"TimestampConverter$Value", map[string]string{"field": "f0", "target.type": "Timestamp"}},
		{"ValueToKey", map[string]string{"fields": "f0,f1"}},
		{"HeaderFrom$Value", map[string]string{"fields": "f1", "headers": "h", "operation": "copy"}},
		{"RegexRouter", map[string]string{"regex": "(.*)", "replacement": "$1-routed"}},
		{"TimestampRouter", nil},
	} {
		for _, schemaless := range []bool{false, true} {
			if schemaless && tc.class == "SetSchemaMetadata$Value" {
				continue // needs a schema
			}
			name := tc.class + "/struct"
			r := benchRecord(benchSchema, benchStruct())
			if schemaless {
				name = tc.class + "/schemaless"
				r = benchRecord(nil, benchMap())
			}
			r.Timestamp = testTime
			b.Run(name, func(b *testing.B) {
				p := connect.FindPlugin(Plugins(), connect.PluginTransformation, tc.class)
				tr := p.NewTransform()
				if err := tr.Configure(tc.props); err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				for b.Loop() {
					if _, err := tr.Apply(r); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
