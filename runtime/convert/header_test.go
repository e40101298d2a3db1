package convert

import (
	"math"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/runtime/connect"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func utc(layout, s string) time.Time {
	t, err := time.ParseInLocation(layout, s, time.UTC)
	if err != nil {
		panic(err)
	}
	return t
}

// Most cases are Kafka's ValuesTest parse cases.
func TestSimpleHeaderConverterParses(t *testing.T) {
	const ws = "\n \t \t\n"
	bigInt, _ := new(big.Int).SetString("9223372036854775808", 10)
	cases := []struct {
		in         string
		wantSchema *connect.Schema
		want       any
	}{
		{"", connect.StringSchema, ""},
		{"simple string", connect.StringSchema, "simple string"},
		{"  ", connect.StringSchema, "  "},
		{"null", nil, nil},
		{ws + "null" + ws, nil, nil},
		{ws + "true" + ws, connect.BooleanSchema, true},
		{"false", connect.BooleanSchema, false},
		{"true}", connect.StringSchema, "true}"},
		{"false]", connect.StringSchema, "false]"},
		{"null=", connect.StringSchema, "null="},
		{"{foo: 3}", connect.StringSchema, "{foo: 3}"},
		{"{3: foo}", connect.StringSchema, "{3: foo}"},
		{"[foo]", connect.StringSchema, "[foo]"},
		{"{6:9 4:20}", connect.StringSchema, "{6:9 4:20}"},
		{"[0 1 2]", connect.StringSchema, "[0 1 2]"},
		{"{null: 3}", connect.StringSchema, "{null: 3}"},
		{"[1, 2, 3,,,]", connect.StringSchema, "[1, 2, 3,,,]"},
		{"12:30", connect.StringSchema, "12:30"},
		{"[true, false]", connect.ArrayOf(connect.BooleanSchema), []any{true, false}},
		{"{true: false, false: true}", connect.MapOf(connect.BooleanSchema, connect.BooleanSchema), map[any]any{true: false, false: true}},
		{"{}", connect.MapOf(nil, nil), map[string]any{}},
		{"[]", connect.ArrayOf(nil), []any{}},
		{"{3: null}", connect.MapOf(connect.Int8Schema, nil), map[any]any{int8(3): nil}},
		{"[null]", connect.ArrayOf(nil), []any{nil}},
		{"[true, null]", connect.ArrayOf(connect.OptionalBooleanSchema), []any{true, nil}},
		{"[1, 2, 32768]", connect.ArrayOf(connect.Int32Schema), []any{int32(1), int32(2), int32(32768)}},
		{"[1, 2.5]", connect.ArrayOf(connect.Float32Schema), []any{float32(1), float32(2.5)}},
		{`[1, 2, 3, "four"]`, connect.ArrayOf(nil), []any{int8(1), int8(2), int8(3), "four"}},
		{`{"foo":"123","bar":"baz"}`, connect.MapOf(connect.StringSchema, connect.StringSchema), map[string]any{"foo": "123", "bar": "baz"}},
		{` { "foo" :  12345 , "bar" : 0,  "baz" : -4321 }  `, connect.MapOf(connect.StringSchema, connect.Int16Schema),
			map[string]any{"foo": int16(12345), "bar": int16(0), "baz": int16(-4321)}},
		{"127", connect.Int8Schema, int8(127)},
		{"-128", connect.Int8Schema, int8(-128)},
		{"1.0", connect.Int8Schema, int8(1)},
		{"32767", connect.Int16Schema, int16(32767)},
		{"2147483647", connect.Int32Schema, int32(math.MaxInt32)},
		{"-9223372036854775808", connect.Int64Schema, int64(math.MinInt64)},
		{"9223372036854775808", connect.DecimalSchema(0).Build(), new(big.Rat).SetInt(bigInt)},
		{"1.5", connect.Float32Schema, float32(1.5)},
		{"3.4028235E38", connect.Float32Schema, float32(math.MaxFloat32)},
		{"1.7976931348623157E308", connect.Float64Schema, math.MaxFloat64},
		{"2019-08-23T14:34:54.346Z", connect.TimestampSchema().Build(), utc(isoTimestamp, "2019-08-23T14:34:54.346Z")},
		{`2019-08-23T14\:34\:54.346Z`, connect.TimestampSchema().Build(), utc(isoTimestamp, "2019-08-23T14:34:54.346Z")},
		{"2019-08-23", connect.DateSchema().Build(), utc(isoDate, "2019-08-23")},
		{"14:34:54.346Z", connect.TimeSchema().Build(), utc(isoTime, "14:34:54.346Z")},
		{"[2019-08-23]", connect.ArrayOf(connect.DateSchema().Build()), []any{utc(isoDate, "2019-08-23")}},
		{"[2019-08-23T14:34:54.346Z,2019-01-23T15:12:34.567Z]", connect.ArrayOf(connect.TimestampSchema().Build()),
			[]any{utc(isoTimestamp, "2019-08-23T14:34:54.346Z"), utc(isoTimestamp, "2019-01-23T15:12:34.567Z")}},
		{`{"k1":"14:34:54.346Z"}`, connect.MapOf(connect.StringSchema, connect.TimeSchema().Build()), map[string]any{"k1": utc(isoTime, "14:34:54.346Z")}},
		{`{"k1":14:34:54.346Z}`, connect.MapOf(connect.StringSchema, connect.TimeSchema().Build()), map[string]any{"k1": utc(isoTime, "14:34:54.346Z")}},
		{"2019-13-45", connect.StringSchema, "2019-13-45"},
	}
	c := NewSimpleHeaderConverter()
	require.NoError(t, c.Configure(nil))
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			s, v, err := c.ToConnectHeader("topic", "h", []byte(tc.in))
			require.NoError(t, err)
			assert.True(t, tc.wantSchema.Equal(s), "schema: want %v, got %v", tc.wantSchema, s)
			assert.True(t, connect.ValuesEqual(tc.want, v), "value: want %#v, got %#v", tc.want, v)
		})
	}
	s, v, err := c.ToConnectHeader("topic", "h", nil)
	require.NoError(t, err)
	assert.Nil(t, s)
	assert.Nil(t, v)
}

func TestSimpleHeaderConverterWrites(t *testing.T) {
	st := connect.StructBuilder().Field("a", connect.Int32Schema).Field("b", connect.NewSchemaBuilder(connect.TypeString).Default("d").Build()).Build()
	cases := []struct {
		name   string
		schema *connect.Schema
		value  any
		want   string
	}{
		{"string", connect.StringSchema, `three"blind\"mice`, `three"blind\"mice`},
		{"embedded string", nil, []any{`three"blind\"mice`}, `["three\"blind\\\"mice"]`},
		{"ints", nil, []any{int32(1234567890), int32(-987654321)}, "[1234567890,-987654321]"},
		{"map", nil, map[string]any{"foo": "123", "bar": "baz"}, `{"bar":"baz","foo":"123"}`},
		{"int map", nil, map[any]any{int16(1): true}, `{1:true}`},
		{"struct with default", st, connect.NewStruct(st).MustPut("a", int32(1)), `{"a":1,"b":"d"}`},
		{"bytes", nil, []byte{0, 1}, "AAE="},
		{"embedded bytes", nil, []any{[]byte{0, 1}}, `["AAE="]`},
		{"double", nil, 1e10, "1.0E10"},
		{"decimal", connect.DecimalSchema(3).Build(), dec(156, 2), "1.560"},
		{"time", connect.TimeSchema().Build(), utc(isoTime, "14:34:54.346Z"), "14:34:54.346Z"},
		{"date", connect.DateSchema().Build(), utc(isoDate, "2019-08-23"), "2019-08-23"},
		{"timestamp", connect.TimestampSchema().Build(), utc(isoTimestamp, "2019-08-23T14:34:54.346Z"), "2019-08-23T14:34:54.346Z"},
		{"nested null", nil, []any{nil}, "[null]"},
	}
	c := NewSimpleHeaderConverter()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := c.FromConnectHeader("topic", "h", tc.schema, tc.value)
			require.NoError(t, err)
			assert.Equal(t, tc.want, string(out))
		})
	}
	out, err := c.FromConnectHeader("topic", "h", connect.StringSchema, nil)
	require.NoError(t, err)
	assert.Nil(t, out)
	_, err = c.FromConnectHeader("topic", "h", nil, time.Second)
	require.ErrorIs(t, err, connect.ErrData)
	assert.Contains(t, err.Error(), "Failed to serialize unexpected value type time.Duration")
}

func TestSimpleHeaderConverterRoundTrip(t *testing.T) {
	values := []struct {
		schema *connect.Schema
		value  any
	}{
		{connect.BooleanSchema, true},
		{connect.Int16Schema, int16(-300)},
		{connect.Int64Schema, int64(1) << 40},
		{connect.Float32Schema, float32(0.1)},
		{connect.Float64Schema, 1e300}, // a double that fits a float comes back a FLOAT32, as in Kafka
		{connect.StringSchema, "hello world"},
		{connect.ArrayOf(connect.StringSchema), []any{"a", "b c"}},
		{connect.MapOf(connect.StringSchema, connect.Int32Schema), map[string]any{"x": int32(100000)}},
		{connect.TimestampSchema().Build(), ms(1566570894346)},
	}
	c := NewSimpleHeaderConverter()
	for _, tc := range values {
		out, err := c.FromConnectHeader("t", "h", tc.schema, tc.value)
		require.NoError(t, err)
		s, v, err := c.ToConnectHeader("t", "h", out)
		require.NoError(t, err)
		assert.True(t, tc.schema.Equal(s), "%s: got %v", out, s)
		assert.True(t, connect.ValuesEqual(tc.value, v), "%s: got %#v", out, v)
	}
}

func TestTokenize(t *testing.T) {
	assert.Equal(t, []string{"a ", "{", " b c ", "}", " d"}, tokenize("a { b c } d"))
	assert.Equal(t, []string{`si\{mple`}, tokenize(`si\{mple`))
	assert.Equal(t, []string{`"`, "simple", `"`, " string"}, tokenize(`"simple" string`))
	assert.Equal(t, []string{`si\\`, "{", "mple"}, tokenize(`si\\{mple`))
}

func FuzzSimpleHeaderConverter(f *testing.F) {
	for _, seed := range []string{"", "null", "[1, 2.5]", `{"a":[true,null]}`, "2019-08-23T14:34:54.346Z", `[ "x\"y" , {3:4}]`, "{,", "[[[]]]"} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c := NewSimpleHeaderConverter()
		s, v, err := c.ToConnectHeader("t", "h", data)
		require.NoError(t, err)
		if v == nil {
			return
		}
		require.NotNil(t, s)
		require.NoError(t, connect.ValidateValue(s, v), "%q parsed as %v %#v", data, s, v)
		_, err = c.FromConnectHeader("t", "h", s, v)
		require.NoError(t, err)
	})
}

func TestSimpleHeaderConverterLargeInputs(t *testing.T) {
	c := NewSimpleHeaderConverter()
	deep := strings.Repeat("[", 100000) + strings.Repeat("]", 100000)
	s, v, err := c.ToConnectHeader("t", "h", []byte(deep))
	require.NoError(t, err)
	assert.Equal(t, connect.StringSchema, s, "nesting beyond the limit stays a string")
	assert.Equal(t, deep, v)

	long := "[" + strings.Repeat("true,", 100000) + "true]"
	start := time.Now()
	s, v, err = c.ToConnectHeader("t", "h", []byte(long))
	require.NoError(t, err)
	assert.Less(t, time.Since(start), 2*time.Second)
	assert.Equal(t, connect.ArrayOf(connect.BooleanSchema).Type, s.Type)
	assert.Len(t, v, 100001)
}
