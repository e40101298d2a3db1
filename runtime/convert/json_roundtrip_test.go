package convert

import (
	"flag"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/sluicehq/sluice/runtime/connect"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// everySchema is a struct with a field of every type, logical types and
// nesting included.
var (
	innerSchema = connect.StructBuilder().Name("inner").Version(2).Doc("nested").
			Field("n", connect.OptionalInt64Schema).
			Field("tags", connect.ArrayOf(connect.StringSchema)).Build()
	everySchema = connect.StructBuilder().Name("com.example.Every").
			Field("b", connect.BooleanSchema).
			Field("i8", connect.Int8Schema).
			Field("i16", connect.Int16Schema).
			Field("i32", connect.Int32Schema).
			Field("i64", connect.Int64Schema).
			Field("f32", connect.Float32Schema).
			Field("f64", connect.Float64Schema).
			Field("s", connect.StringSchema).
			Field("raw", connect.BytesSchema).
			Field("dec", connect.DecimalSchema(3).Build()).
			Field("day", connect.DateSchema().Build()).
			Field("tod", connect.TimeSchema().Build()).
			Field("ts", connect.TimestampSchema().Build()).
			Field("opt", connect.OptionalStringSchema).
			Field("def", connect.NewSchemaBuilder(connect.TypeInt32).Default(int32(7)).Build()).
			Field("list", connect.ArrayOf(innerSchema)).
			Field("smap", connect.MapOf(connect.StringSchema, connect.OptionalFloat64Schema)).
			Field("imap", connect.MapOf(connect.Int16Schema, connect.ArrayOf(connect.BooleanSchema))).
			Field("inner", innerSchema).Build()
)

func everyValue() *connect.Struct {
	inner := connect.NewStruct(innerSchema).MustPut("n", int64(-9007199254740993)).MustPut("tags", []any{"a", "ü", ""})
	return connect.NewStruct(everySchema).
		MustPut("b", true).MustPut("i8", int8(-128)).MustPut("i16", int16(32767)).
		MustPut("i32", int32(-2147483648)).MustPut("i64", int64(math.MaxInt64)).
		MustPut("f32", float32(1.0e-3)).MustPut("f64", 1e21).
		MustPut("s", "tab\there \"quoted\" \u0000 🎉").MustPut("raw", []byte{0, 0xff, 0x10}).
		MustPut("dec", dec(-123456789, 3)).MustPut("day", connect.DateFromDays(-1)).
		MustPut("tod", ms(86399999)).MustPut("ts", ms(-1)).
		MustPut("list", []any{inner, connect.NewStruct(innerSchema).MustPut("tags", []any{})}).
		MustPut("smap", map[string]any{"x": 0.5, "y": nil, "zz": math.Inf(-1)}).
		MustPut("imap", map[any]any{int16(3): []any{true}, int16(-1): []any{}}).
		MustPut("def", int32(-7)).MustPut("inner", inner)
}

func TestJSONGoldenEveryType(t *testing.T) {
	for _, format := range []string{"BASE64", "NUMERIC"} {
		t.Run(format, func(t *testing.T) {
			c := newJSON(t, map[string]string{DecimalFormatConfig: format})
			got, err := c.FromConnect("topic", nil, everySchema, everyValue())
			require.NoError(t, err)
			path := filepath.Join("testdata", "every_type_"+format+".json")
			if *update {
				require.NoError(t, os.WriteFile(path, append(got, '\n'), 0o644))
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err)
			assert.Equal(t, string(want), string(got)+"\n")
		})
	}
}

func TestJSONRoundTrip(t *testing.T) {
	cases := []struct {
		name   string
		schema *connect.Schema
		value  any
	}{
		{"every type", everySchema, everyValue()},
		{"float extremes", connect.ArrayOf(connect.Float64Schema), []any{math.MaxFloat64, math.SmallestNonzeroFloat64, math.Copysign(0, -1), math.Inf(1), 1e-7, 123456.789}},
		{"float32 extremes", connect.ArrayOf(connect.Float32Schema), []any{float32(math.MaxFloat32), float32(math.SmallestNonzeroFloat32), float32(3.3333333)}},
		{"optional null", connect.OptionalInt64Schema, nil},
		{"defaulted schema", connect.NewSchemaBuilder(connect.TypeString).Default("d").Doc("x").Param("a", "1").Param("b", "2").Build(), "v"},
		{"decimal negative scale", connect.DecimalSchema(-2).Build(), dec(15, -2)},
		{"map of maps", connect.MapOf(connect.StringSchema, connect.MapOf(connect.Int64Schema, connect.StringSchema)),
			map[string]any{"a": map[any]any{int64(1): "x", int64(1 << 40): "y"}, "b": map[any]any{}}},
		{"schemaless", nil, map[string]any{"n": int64(1), "f": 2.5, "s": "x", "l": []any{nil, true, map[string]any{}}}},
	}
	for _, format := range []string{"BASE64", "NUMERIC"} {
		c := newJSON(t, map[string]string{DecimalFormatConfig: format})
		for _, tc := range cases {
			t.Run(format+"/"+tc.name, func(t *testing.T) {
				data, err := c.FromConnect("topic", nil, tc.schema, tc.value)
				require.NoError(t, err)
				s, v, err := c.ToConnect("topic", nil, data)
				require.NoError(t, err)
				assert.True(t, tc.schema.Equal(s), "schema changed: %s", data)
				assert.True(t, connect.ValuesEqual(tc.value, v), "value changed: %s", data)
				again, err := c.FromConnect("topic", nil, s, v)
				require.NoError(t, err)
				assert.Equal(t, string(data), string(again), "bytes are stable across a round trip")
			})
		}
	}
}

func TestJSONRoundTripSchemaless(t *testing.T) {
	c := newJSON(t, map[string]string{SchemasEnableConfig: "false"})
	value := map[string]any{"n": int64(-3), "f": 1e-9, "s": "x\ny", "b": false, "z": nil,
		"l": []any{int64(1), []any{}, map[string]any{"k": "v"}}}
	data, err := c.FromConnect("topic", nil, nil, value)
	require.NoError(t, err)
	s, v, err := c.ToConnect("topic", nil, data)
	require.NoError(t, err)
	assert.Nil(t, s)
	assert.True(t, connect.ValuesEqual(value, v), "%s", data)
}

func FuzzJSONToConnect(f *testing.F) {
	for _, seed := range []string{
		`{"schema":{"type":"struct","fields":[{"type":"int8","field":"a"}]},"payload":{"a":1}}`,
		`{"schema":{"type":"map","keys":{"type":"int32"},"values":{"type":"string"}},"payload":[[1,"x"]]}`,
		`{"schema":{"type":"bytes","name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":"2"}},"payload":1e5}`,
		`{"schema":null,"payload":[1,2.5,"x",{"a":null}]}`,
		`[1,"\ud83d\ude00",{"a":[true,false,null]}]`,
	} {
		f.Add([]byte(seed), true)
		f.Add([]byte(seed), false)
	}
	f.Fuzz(func(t *testing.T, data []byte, schemas bool) {
		c := NewJSONConverter()
		c.schemasEnable = schemas
		s, v, err := c.ToConnect("t", nil, data)
		if err != nil {
			require.ErrorIs(t, err, connect.ErrData)
			return
		}
		// Whatever was read writes back and reads again to the same.
		out, err := c.FromConnect("t", nil, s, v)
		if err != nil {
			return // e.g. a Date default that is not midnight cannot be written
		}
		s2, v2, err := c.ToConnect("t", nil, out)
		require.NoError(t, err, "%s", out)
		if !containsNonFinite(v) {
			require.True(t, s.Equal(s2))
			require.True(t, connect.ValuesEqual(v, v2), "%s", out)
		}
	})
}

func containsNonFinite(v any) bool {
	switch x := v.(type) {
	case float64:
		return math.IsNaN(x) || math.IsInf(x, 0) // written as strings, as Jackson does
	case float32:
		return math.IsNaN(float64(x)) || math.IsInf(float64(x), 0)
	case []any:
		for _, e := range x {
			if containsNonFinite(e) {
				return true
			}
		}
	case map[string]any:
		for _, e := range x {
			if containsNonFinite(e) {
				return true
			}
		}
	case map[any]any:
		for k, e := range x {
			if containsNonFinite(k) || containsNonFinite(e) {
				return true
			}
		}
	case *connect.Struct:
		for _, f := range x.Schema().Fields {
			if containsNonFinite(x.GetWithoutDefault(f.Name)) {
				return true
			}
		}
	}
	return false
}
