package transform

import (
	"math/big"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/sluicehq/sluice/runtime/connect"
)

func TestFilterDropsEverything(t *testing.T) {
	out, err := newTransform(t, "Filter", nil).Apply(valueRecord(nil, "x"))
	assert.NoError(t, err)
	assert.Nil(t, out)
}

func TestDropHeaders(t *testing.T) {
	r := valueRecord(nil, "x")
	r.Headers = connect.Headers{{Key: "a", Value: "1"}, {Key: "b", Value: "2"}, {Key: "a", Value: "3"}, {Key: "c", Value: "4"}}
	out := apply(t, newTransform(t, "DropHeaders", map[string]string{"headers": "a,c,missing"}), r)
	assert.Equal(t, connect.Headers{{Key: "b", Value: "2"}}, out.Headers)
	assert.Len(t, r.Headers, 4)
	assert.Equal(t, "x", out.Value)

	assert.Contains(t, configureErr(t, "DropHeaders", map[string]string{"headers": ""}).Error(), "Empty list")
	assert.Contains(t, configureErr(t, "DropHeaders", nil).Error(), `Missing required configuration "headers"`)
}

func TestInsertHeader(t *testing.T) {
	for _, tc := range []struct {
		literal string
		schema  *connect.Schema
		value   any
	}{
		{"hello", connect.StringSchema, "hello"},
		{"hello world", connect.StringSchema, "hello world"},
		{"true", connect.BooleanSchema, true},
		{"42", connect.Int8Schema, int8(42)},
		{"-300", connect.Int16Schema, int16(-300)},
		{"70000", connect.Int32Schema, int32(70000)},
		{"5000000000", connect.Int64Schema, int64(5000000000)},
		{"1.0", connect.Int8Schema, int8(1)},
		{"1.5", connect.Float32Schema, float32(1.5)},
		{"null", nil, nil},
		{"2024-03-05", connect.DateSchema().Build(), testTime.Truncate(24 * 60 * 60 * 1e9)},
		{"[1,2]", connect.StringSchema, "[1,2]"},
	} {
		t.Run(tc.literal, func(t *testing.T) {
			r := valueRecord(nil, "x")
			r.Headers = connect.Headers{{Key: "old", Value: "o"}}
			out := apply(t, newTransform(t, "InsertHeader", map[string]string{"header": "h", "value.literal": tc.literal}), r)
			assert.Len(t, out.Headers, 2)
			assert.Len(t, r.Headers, 1)
			h := out.Headers[1]
			assert.Equal(t, "h", h.Key)
			assert.True(t, tc.schema.Equal(h.Schema), "schema %v", h.Schema)
			assert.True(t, connect.ValuesEqual(tc.value, h.Value), "value %v", h.Value)
		})
	}
	s, v := parseLiteral("123456789012345678901234567890")
	assert.Equal(t, connect.DecimalName, s.Name)
	assert.Equal(t, 0, big.NewRat(0, 1).Cmp(new(big.Rat).Sub(v.(*big.Rat), mustRat("123456789012345678901234567890"))))

	assert.Contains(t, configureErr(t, "InsertHeader", map[string]string{"header": "", "value.literal": "x"}).Error(),
		"Invalid value  for configuration header: String must be non-empty")
	assert.Contains(t, configureErr(t, "InsertHeader", map[string]string{"header": "h"}).Error(), `Missing required configuration "value.literal"`)
}

func mustRat(s string) *big.Rat {
	r, _ := new(big.Rat).SetString(s)
	return r
}
