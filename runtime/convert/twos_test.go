package convert

import (
	"math/big"
	"testing"

	"github.com/stretchr/testify/assert"
)

// Expected bytes are Java's BigInteger.toByteArray.
func TestTwosComplement(t *testing.T) {
	cases := []struct {
		n    int64
		want []byte
	}{
		{0, []byte{0}},
		{156, []byte{0, 0x9c}},
		{127, []byte{0x7f}},
		{128, []byte{0, 0x80}},
		{-1, []byte{0xff}},
		{-128, []byte{0x80}},
		{-129, []byte{0xff, 0x7f}},
		{-123456789, []byte{0xf8, 0xa4, 0x32, 0xeb}},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, twosComplement(big.NewInt(c.n)), "%d", c.n)
	}
}
