package convert

import (
	"math"
	"math/big"
	"testing"

	"github.com/sluicehq/sluice/runtime/connect"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The int64 fast paths must agree with the general big.Int ones.
func TestDecimalFastPathsAgree(t *testing.T) {
	values := []int64{0, 1, -1, 127, 128, -128, -129, 255, 256, 32767, -32769, 1 << 40, -(1 << 40) - 7,
		math.MaxInt64, math.MinInt64 + 1, math.MinInt64}
	for _, v := range values {
		var buf [8]byte
		assert.Equal(t, twosComplement(big.NewInt(v)), minimalTwosComplement(&buf, v), "%d", v)
		for _, scale := range []int{0, 2, 18} {
			raw := twosComplement(big.NewInt(v))
			assert.Equal(t, 0, connect.DecimalFromBytes(scale, raw).Cmp(decimalFromBytes(scale, raw)), "%d scale %d", v, scale)
		}
	}
}

func TestDecimalsBeyondInt64(t *testing.T) {
	huge, ok := new(big.Rat).SetString("12345678901234567890.12345678901234567890")
	require.True(t, ok)
	schema := connect.DecimalSchema(20).Build()
	for _, format := range []string{"BASE64", "NUMERIC"} {
		c := newJSON(t, map[string]string{DecimalFormatConfig: format})
		data, err := c.FromConnect("t", nil, schema, huge)
		require.NoError(t, err)
		_, v, err := c.ToConnect("t", nil, data)
		require.NoError(t, err)
		assert.Equal(t, 0, huge.Cmp(v.(*big.Rat)), "%s: %s", format, data)
		if format == "NUMERIC" {
			assert.Contains(t, string(data), `"payload":12345678901234567890.12345678901234567890}`)
		}
	}
	minUnscaled := connect.DecimalFromUnscaled(2, big.NewInt(math.MinInt64))
	data, err := NewJSONConverter().FromConnect("t", nil, connect.DecimalSchema(2).Build(), minUnscaled)
	require.NoError(t, err)
	assert.Contains(t, string(data), `"payload":"gAAAAAAAAAA="}`)
}

func TestDecimalScaleIsBounded(t *testing.T) {
	for _, in := range []string{
		`{"schema":{"type":"bytes","name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":"100000000"}},"payload":"AJw="}`,
		`{"schema":{"type":"bytes","name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":"2"}},"payload":1e-20000}`,
	} {
		_, _, err := NewJSONConverter().ToConnect("t", nil, []byte(in))
		require.ErrorIs(t, err, connect.ErrData)
		assert.Contains(t, err.Error(), "beyond the supported range")
	}
	_, err := NewJSONConverter().FromConnect("t", nil, connect.DecimalSchema(-20000).Build(), big.NewRat(1, 1))
	require.ErrorIs(t, err, connect.ErrData)
}
