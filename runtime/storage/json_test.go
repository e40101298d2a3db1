package storage

import (
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAppendJavaDouble(t *testing.T) {
	// Expected strings are Java's Double.toString.
	for _, tc := range []struct {
		in   float64
		want string
	}{
		{1, "1.0"},
		{0.5, "0.5"},
		{100, "100.0"},
		{-42.25, "-42.25"},
		{0.1, "0.1"},
		{0.001, "0.001"},
		{123456.789, "123456.789"},
		{1234567, "1234567.0"},
		{1e7, "1.0E7"},
		{12345678.9, "1.23456789E7"},
		{1e21, "1.0E21"},
		{1e-4, "1.0E-4"},
		{-2.5e-10, "-2.5E-10"},
		{math.MaxFloat64, "1.7976931348623157E308"},
		{0, "0.0"},
		{math.Copysign(0, -1), "-0.0"},
		{math.NaN(), `"NaN"`},
		{math.Inf(1), `"Infinity"`},
		{math.Inf(-1), `"-Infinity"`},
	} {
		t.Run(tc.want, func(t *testing.T) {
			assert.Equal(t, tc.want, string(appendJavaDouble(nil, tc.in)))
		})
	}
}

func TestAppendJSONString(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"plain", "abc", `"abc"`},
		{"quote and backslash", `a"b\c`, `"a\"b\\c"`},
		{"short escapes", "\b\t\n\f\r", `"\b\t\n\f\r"`},
		{"other controls upper hex", "\x00\x01\x1f", `"\u0000\u0001\u001F"`},
		{"html and slash kept", "<a href='/x'>&</a>", `"<a href='/x'>&</a>"`},
		{"non-ASCII kept", "é\u2028日本", "\"é\u2028日本\""},
		{"DEL kept", "\x7f", "\"\x7f\""},
		{"invalid UTF-8", "a\xffb", "\"a\uFFFDb\""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, string(appendJSONString(nil, tc.in)))
		})
	}
}

func TestAppendJSONShapes(t *testing.T) {
	v := object{
		{"z", map[string]string{"b": "2", "a": "1"}},
		{"a", []any{"c", map[string]any{"y": int64(1), "x": nil, "w": true, "v": 2.0}}},
	}
	assert.Equal(t, `{"z":{"a":"1","b":"2"},"a":["c",{"v":2.0,"w":true,"x":null,"y":1}]}`, string(appendJSON(nil, v)))
	assert.Equal(t, `{}`, string(appendJSON(nil, map[string]string(nil))))
}

func TestDecodeJSON(t *testing.T) {
	v, err := decodeJSON([]byte(` {"i":1,"neg":-5,"f":1.0,"e":1e3,"big":123456789012345678901,"s":"x","n":null,"b":false,"a":[2,2.5]} `))
	require.NoError(t, err)
	assert.Equal(t, map[string]any{
		"i": int64(1), "neg": int64(-5), "f": 1.0, "e": 1000.0, "big": 123456789012345678901.0,
		"s": "x", "n": nil, "b": false, "a": []any{int64(2), 2.5},
	}, v)

	_, err = decodeJSON([]byte(`{} {}`))
	require.ErrorContains(t, err, "data after the top-level value")
	_, err = decodeJSON([]byte(`{`))
	require.Error(t, err)
}

func TestNormalizeOffsetMap(t *testing.T) {
	got, err := normalizeOffsetMap(map[string]any{
		"int": 1, "i8": int8(-2), "i16": int16(3), "i32": int32(4), "i64": int64(5),
		"u": uint(6), "u8": uint8(7), "u16": uint16(8), "u32": uint32(9), "u64": uint64(10),
		"f32": float32(0.1), "f64": 0.25, "num": json.Number("12"), "numf": json.Number("1.5"),
		"s": "x", "b": true, "nil": nil, "bytes": []byte("hi"),
	})
	require.NoError(t, err)
	assert.Equal(t, map[string]any{
		"int": int64(1), "i8": int64(-2), "i16": int64(3), "i32": int64(4), "i64": int64(5),
		"u": int64(6), "u8": int64(7), "u16": int64(8), "u32": int64(9), "u64": int64(10),
		"f32": 0.1, "f64": 0.25, "num": int64(12), "numf": 1.5,
		"s": "x", "b": true, "nil": nil, "bytes": "aGk=",
	}, got)

	got, err = normalizeOffsetMap(nil)
	require.NoError(t, err)
	assert.Nil(t, got)
}

func TestValidateOffset(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   map[string]any
		want string
	}{
		{"map", map[string]any{"ok": 1, "f": map[string]any{}}, "Offsets may only contain primitive types as values, but field f contains MAP"},
		{"slice", map[string]any{"f": []any{1}}, "Offsets may only contain primitive types as values, but field f contains ARRAY"},
		{"struct", map[string]any{"f": time.Time{}}, "Offsets may only contain primitive types as values, but field f contains time.Time"},
		{"huge uint64", map[string]any{"f": uint64(math.MaxUint64)}, "Offsets may only contain primitive types as values, but field f contains uint64"},
		{"first field in order", map[string]any{"b": []int{}, "a": map[int]int{}}, "but field a contains MAP"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateOffset(tc.in)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	require.NoError(t, ValidateOffset(map[string]any{"a": 1, "b": "x", "c": nil, "d": 1.5, "e": []byte{1}}))
	require.NoError(t, ValidateOffset(nil))
}

func TestOffsetKey(t *testing.T) {
	assert.Equal(t, `["c",{"a":1,"b":"x"}]`, string(offsetKey("c", map[string]any{"b": "x", "a": int64(1)})))
	assert.Equal(t, `["c",null]`, string(offsetKey("c", nil)))

	for _, tc := range []struct{ name, key, err string }{
		{"not json", `i-am-not-json`, "unknown serialization"},
		{"not array", `{"a":1}`, "is a object, expected a JSON array"},
		{"three elements", `["c",{},1]`, "has 3 elements"},
		{"number connector", `[1,{}]`, "first element is a number"},
		{"string partition", `["c","p"]`, "second element is a string"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := parseOffsetKey([]byte(tc.key))
			require.ErrorContains(t, err, tc.err)
		})
	}
	c, p, err := parseOffsetKey([]byte(`["c",{"z":1.0,"a":[1]}]`))
	require.NoError(t, err)
	assert.Equal(t, "c", c)
	assert.Equal(t, map[string]any{"z": 1.0, "a": []any{int64(1)}}, p)
}

func TestMurmur2MatchesKafka(t *testing.T) {
	// Kafka's UtilsTest.testMurmur2 vectors.
	for in, want := range map[string]int32{
		"21": -973932308, "foobar": -790332482, "a-little-bit-long-string": -985981536,
		"a-little-bit-longer-string": -1486304829, "lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
		"abc": 479470107,
	} {
		assert.Equal(t, want, murmur2([]byte(in)), in)
	}
}
