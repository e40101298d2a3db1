package convert

import (
	"encoding/binary"
	"math/big"

	"github.com/sluicehq/sluice/internal/javafmt"
	"github.com/sluicehq/sluice/runtime/connect"
)

// Decimal values are *big.Rat in Connect, and Kafka's Decimal is an
// unscaled integer with a scale; the arithmetic between the two, and
// BigDecimal's printing, are in internal/javafmt.

// decimalScale returns a Decimal schema's scale, refusing scales beyond
// maxDecimalScale.
func decimalScale(s *connect.Schema) (int, error) {
	scale, err := connect.DecimalScale(s)
	if err != nil {
		return 0, err
	}
	if scale > maxDecimalScale || scale < -maxDecimalScale {
		return 0, errScaleRange(int64(scale))
	}
	return scale, nil
}

func errScaleRange(scale int64) error {
	return dataErr("Decimal scale %d is beyond the supported range of ±%d", scale, maxDecimalScale)
}

var pow10u64 = func() (p [19]uint64) {
	p[0] = 1
	for i := 1; i < len(p); i++ {
		p[i] = p[i-1] * 10
	}
	return p
}()

// appendDecimalBase64 appends Kafka's Decimal bytes for r at scale,
// base64 in quotes.
func appendDecimalBase64(b []byte, r *big.Rat, scale int) ([]byte, error) {
	if v, ok := javafmt.UnscaledInt64(r, scale); ok {
		var buf [8]byte
		return appendBase64(b, minimalTwosComplement(&buf, v)), nil
	}
	u, exact := javafmt.Unscaled(r, scale)
	if !exact {
		return b, dataErr("BigDecimal has mismatching scale value for given Decimal schema")
	}
	return appendBase64(b, twosComplement(u)), nil
}

// minimalTwosComplement writes v big-endian into buf and drops the
// leading bytes that only repeat the sign, as BigInteger.toByteArray.
func minimalTwosComplement(buf *[8]byte, v int64) []byte {
	binary.BigEndian.PutUint64(buf[:], uint64(v))
	i := 0
	for i < 7 && ((buf[i] == 0 && buf[i+1]&0x80 == 0) || (buf[i] == 0xff && buf[i+1]&0x80 != 0)) {
		i++
	}
	return buf[i:]
}

// twosComplement renders n as the shortest big-endian two's complement,
// as Java's BigInteger.toByteArray (Kafka's Decimal encoding).
func twosComplement(n *big.Int) []byte {
	if n.Sign() >= 0 {
		b := n.Bytes()
		if len(b) == 0 || b[0]&0x80 != 0 {
			b = append([]byte{0}, b...)
		}
		return b
	}
	m := new(big.Int).Neg(n)
	b := m.Sub(m, big.NewInt(1)).Bytes() // -n-1, whose complement is n
	for i := range b {
		b[i] = ^b[i]
	}
	if len(b) == 0 || b[0]&0x80 == 0 {
		b = append([]byte{0xff}, b...)
	}
	return b
}

// decimalFromBytes decodes Kafka's Decimal bytes.
func decimalFromBytes(scale int, raw []byte) *big.Rat {
	if len(raw) > 0 && len(raw) <= 8 && scale >= 0 && scale < len(pow10u64) {
		var buf [8]byte
		if raw[0]&0x80 != 0 {
			buf = [8]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
		}
		copy(buf[8-len(raw):], raw)
		v := int64(binary.BigEndian.Uint64(buf[:]))
		return new(big.Rat).SetFrac64(v, int64(pow10u64[scale]))
	}
	return connect.DecimalFromBytes(scale, raw)
}
