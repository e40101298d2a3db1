package connect

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestOffsetInt(t *testing.T) {
	cases := []struct {
		name string
		v    any
		want int64
		ok   bool
		err  string // empty: no error
	}{
		{"absent", nil, 0, false, ""},
		{"int64", int64(-7), -7, true, ""},
		{"int64 max", int64(math.MaxInt64), math.MaxInt64, true, ""},
		{"int", 42, 42, true, ""},
		{"int32", int32(-3), -3, true, ""},
		{"int16", int16(3), 3, true, ""},
		{"int8", int8(-3), -3, true, ""},
		{"uint8", uint8(200), 200, true, ""},
		{"uint16", uint16(60000), 60000, true, ""},
		{"uint32", uint32(4000000000), 4000000000, true, ""},
		{"uint", uint(5), 5, true, ""},
		{"uint64", uint64(math.MaxInt64), math.MaxInt64, true, ""},
		{"uint64 overflow", uint64(math.MaxInt64) + 1, 0, false, `invalid source offset: key "k" holds uint64 9223372036854775808, not an integer`},
		{"float64 integral", float64(1000), 1000, true, ""},
		{"float64 negative integral", float64(-2), -2, true, ""},
		{"float64 min int64", float64(math.MinInt64), math.MinInt64, true, ""},
		{"float64 2^63", math.Pow(2, 63), 0, false, `invalid source offset: key "k" holds float64 9.223372036854776e+18, not an integer`},
		{"float64 fraction", 1.5, 0, false, `invalid source offset: key "k" holds float64 1.5, not an integer`},
		{"float64 NaN", math.NaN(), 0, false, `invalid source offset: key "k" holds float64 NaN, not an integer`},
		{"float64 Inf", math.Inf(1), 0, false, `invalid source offset: key "k" holds float64 +Inf, not an integer`},
		{"float32 integral", float32(12), 12, true, ""},
		{"float32 fraction", float32(0.5), 0, false, `invalid source offset: key "k" holds float32 0.5, not an integer`},
		{"json.Number int", json.Number("123"), 123, true, ""},
		{"json.Number exponent", json.Number("1e3"), 1000, true, ""},
		{"json.Number fraction", json.Number("1.25"), 0, false, `invalid source offset: key "k" holds json.Number 1.25, not an integer`},
		{"json.Number overflow", json.Number("9223372036854775808"), 0, false, `invalid source offset: key "k" holds json.Number 9223372036854775808, not an integer`},
		{"json.Number garbage", json.Number("x"), 0, false, `invalid source offset: key "k" holds json.Number x, not an integer`},
		{"string", "12", 0, false, `invalid source offset: key "k" holds string 12, not an integer`},
		{"bool", true, 0, false, `invalid source offset: key "k" holds bool true, not an integer`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			off := Offset{"other": "x"}
			if tc.v != nil {
				off["k"] = tc.v
			}
			n, ok, err := off.Int("k")
			if tc.err != "" {
				require.ErrorIs(t, err, ErrOffset)
				assert.EqualError(t, err, tc.err)
				assert.False(t, ok)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.ok, ok)
			assert.Equal(t, tc.want, n)
		})
	}
}

func TestOffsetStringAndBool(t *testing.T) {
	off := Offset{"s": "pos", "b": true, "null": nil, "n": int64(1), "f": 1.5}
	cases := []struct {
		name string
		get  func() (any, bool, error)
		want any
		ok   bool
		err  string
	}{
		{"string", func() (any, bool, error) { return off.String("s") }, "pos", true, ""},
		{"string absent", func() (any, bool, error) { return off.String("none") }, "", false, ""},
		{"string null", func() (any, bool, error) { return off.String("null") }, "", false, ""},
		{"string of a number", func() (any, bool, error) { return off.String("n") }, "", false, `invalid source offset: key "n" holds int64 1, not a string`},
		{"bool", func() (any, bool, error) { return off.Bool("b") }, true, true, ""},
		{"bool absent", func() (any, bool, error) { return off.Bool("none") }, false, false, ""},
		{"bool null", func() (any, bool, error) { return off.Bool("null") }, false, false, ""},
		{"bool of a string", func() (any, bool, error) { return off.Bool("s") }, false, false, `invalid source offset: key "s" holds string pos, not a boolean`},
		{"bool of a float", func() (any, bool, error) { return off.Bool("f") }, false, false, `invalid source offset: key "f" holds float64 1.5, not a boolean`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v, ok, err := tc.get()
			if tc.err != "" {
				require.ErrorIs(t, err, ErrOffset)
				assert.EqualError(t, err, tc.err)
			} else {
				require.NoError(t, err)
			}
			assert.Equal(t, tc.ok, ok)
			assert.Equal(t, tc.want, v)
		})
	}
}

// A nil Offset (a partition with nothing committed) has no keys.
func TestNilOffsetHasNoKeys(t *testing.T) {
	var off Offset
	n, ok, err := off.Int("k")
	assert.Zero(t, n)
	assert.False(t, ok)
	assert.NoError(t, err)
	_, ok, err = off.String("k")
	assert.False(t, ok)
	assert.NoError(t, err)
}

func TestAddError(t *testing.T) {
	results := []ConfigValue{{Name: "a", Visible: true}, {Name: "b", Errors: []string{"first"}, Visible: true}}
	results = AddError(results, "b", "second")
	results = AddError(results, "column.mask.hash.x", "bad salt")
	results = AddError(results, "column.mask.hash.x", "bad hash")
	assert.Equal(t, []ConfigValue{
		{Name: "a", Visible: true},
		{Name: "b", Errors: []string{"first", "second"}, Visible: true},
		{Name: "column.mask.hash.x", Errors: []string{"bad salt", "bad hash"}, Visible: true},
	}, results)
}

func TestPluginCheck(t *testing.T) {
	conv := func() Converter { return nil }
	tr := func() Transform { return nil }
	cases := []struct {
		name string
		p    Plugin
		err  string
	}{
		{"converter", Plugin{Class: "C", Type: PluginConverter, NewConverter: conv}, ""},
		{"transform", Plugin{Class: "T", Type: PluginTransformation, NewTransform: tr}, ""},
		{"missing", Plugin{Class: "C", Type: PluginConverter}, "plugin C: type converter without its constructor"},
		{"two", Plugin{Class: "C", Type: PluginConverter, NewConverter: conv, NewTransform: tr}, "plugin C: type converter with a transformation constructor"},
		{"wrong one", Plugin{Class: "P", Type: PluginPredicate, NewTransform: tr}, "plugin P: type predicate with a transformation constructor"},
		{"connector type", Plugin{Class: "S", Type: PluginSource}, `plugin S: type "source" is not a converter, header converter, transformation or predicate`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.p.Check()
			if tc.err == "" {
				assert.NoError(t, err)
			} else {
				assert.EqualError(t, err, tc.err)
			}
		})
	}
}
