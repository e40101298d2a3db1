package javavalue

import (
	"math"
	"math/big"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/sluicehq/sluice/runtime/connect"
)

// Expected strings are what Java prints for the Java values Kafka's
// converters produce (HashMap, ArrayList, BigDecimal, Struct), checked
// with JDK 25.
func TestAppend(t *testing.T) {
	st := connect.NewStruct(connect.StructBuilder().
		Field("a", connect.Int32Schema).
		Field("b", connect.OptionalStringSchema).
		Field("c", connect.OptionalFloat64Schema).
		Field("d", connect.OptionalBytesSchema).
		Build())
	st.MustPut("a", int32(1))
	st.MustPut("c", 1e10)
	st.MustPut("d", []byte("hi"))
	decimal := connect.DecimalSchema(2).Build()
	for _, tc := range []struct {
		name   string
		schema *connect.Schema
		value  any
		want   string
	}{
		{"null", nil, nil, "null"},
		{"double", nil, 1e-5, "1.0E-5"},
		{"float", nil, float32(0.1), "0.1"},
		{"negative zero", nil, math.Copysign(0, -1), "-0.0"},
		{"bytes at the top are written as they are", nil, []byte("raw"), "raw"},
		{"struct: unset fields left out, nested bytes as base64", nil, st, "Struct{a=1,c=1.0E10,d=aGk=}"},
		{"map in HashMap order", nil, map[string]any{"key3": int32(1), "key2": 1e10,
			"b": []any{"a", int32(1), nil, math.NaN(), float32(0.1), math.Copysign(0, -1)}},
			"{key2=1.0E10, b=[a, 1, null, NaN, 0.1, -0.0], key3=1}"},
		{"map with other keys", nil, map[any]any{int32(2): "two", int32(3): big.NewRat(1, 10000000), true: 100.0, "a": big.NewRat(-15600, 1)},
			"{a=-15600, 2=two, 3=1E-7, true=100.0}"}, // without a schema, the smallest exact scale (Java: a BigDecimal of scale 0)
		{"decimal at its schema's scale", decimal, big.NewRat(150, 100), "1.50"},
		{"decimal without a schema at its exact scale", nil, big.NewRat(3, 2), "1.5"},
		{"timestamp as java.util.Date in UTC", nil, time.UnixMilli(0).UTC(), "Thu Jan 01 00:00:00 UTC 1970"},
		{"unknown type", nil, struct{}{}, "struct {}"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, string(Append(nil, tc.schema, tc.value)))
		})
	}
}
