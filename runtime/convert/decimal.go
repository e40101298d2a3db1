package convert

import (
	"encoding/binary"
	"math"
	"math/big"
	"math/bits"
	"strconv"

	"github.com/sluicehq/sluice/runtime/connect"
)

// Decimal values are *big.Rat in Connect, and Kafka's Decimal is an
// unscaled integer with a scale. Most decimals seen in practice (prices,
// amounts) have an unscaled value that fits an int64 and a small scale;
// those take a path without big-number arithmetic.

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

// unscaledSmall returns r × 10^scale when it is an exact int64 and
// 0 <= scale <= 18.
func unscaledSmall(r *big.Rat, scale int) (int64, bool) {
	if scale < 0 || scale >= len(pow10u64) {
		return 0, false
	}
	num, den := r.Num(), r.Denom()
	if !num.IsInt64() || !den.IsUint64() {
		return 0, false
	}
	p, d := pow10u64[scale], den.Uint64()
	if p%d != 0 {
		return 0, false
	}
	n := num.Int64()
	if n == math.MinInt64 {
		return 0, false
	}
	neg := n < 0
	if neg {
		n = -n
	}
	hi, lo := bits.Mul64(uint64(n), p/d)
	if hi != 0 || lo > math.MaxInt64 {
		return 0, false
	}
	if neg {
		return -int64(lo), true
	}
	return int64(lo), true
}

// unscaledAt returns r × 10^scale when that is an integer.
func unscaledAt(r *big.Rat, scale int) (*big.Int, error) {
	if v, ok := unscaledSmall(r, scale); ok {
		return big.NewInt(v), nil
	}
	var num big.Int
	num.Set(r.Num())
	den := new(big.Int).Set(r.Denom())
	p := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(abs(scale))), nil)
	if scale >= 0 {
		num.Mul(&num, p)
	} else {
		den.Mul(den, p)
	}
	q, m := new(big.Int).QuoRem(&num, den, new(big.Int))
	if m.Sign() != 0 {
		return nil, errNotExact
	}
	return q, nil
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// appendDecimalBase64 appends Kafka's Decimal bytes for r at scale,
// base64 in quotes.
func appendDecimalBase64(b []byte, r *big.Rat, scale int) ([]byte, error) {
	if v, ok := unscaledSmall(r, scale); ok {
		var buf [8]byte
		return appendBase64(b, minimalTwosComplement(&buf, v)), nil
	}
	u, err := unscaledAt(r, scale)
	if err != nil {
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

// appendDecimal appends a Decimal value as BigDecimal.toString would for a
// BigDecimal of the given scale; when the scale is not known or r does not
// fit it, the smallest exact scale is used. ok is false when r has no
// finite decimal expansion.
func appendDecimal(b []byte, r *big.Rat, scale int, known bool) (_ []byte, ok bool) {
	if known {
		if v, small := unscaledSmall(r, scale); small {
			var digits [20]byte
			coeff := strconv.AppendUint(digits[:0], absU64(v), 10)
			return appendJavaDecimal(b, v < 0, coeff, scale), true
		}
		if u, err := unscaledAt(r, scale); err == nil {
			return appendJavaBigDecimal(b, u, scale), true
		}
	}
	s, ok := exactScale(r)
	if !ok || s > maxDecimalScale {
		return b, false
	}
	u, _ := unscaledAt(r, s)
	return appendJavaBigDecimal(b, u, s), true
}

func absU64(v int64) uint64 {
	if v < 0 {
		return uint64(-v)
	}
	return uint64(v)
}

// appendJavaBigDecimal appends unscaled × 10^-scale as Java's
// BigDecimal.toString.
func appendJavaBigDecimal(b []byte, unscaled *big.Int, scale int) []byte {
	coeff := new(big.Int).Abs(unscaled).Append(nil, 10)
	return appendJavaDecimal(b, unscaled.Sign() < 0, coeff, scale)
}

// appendJavaDecimal lays out the coefficient digits as BigDecimal.toString
// does: plain when scale >= 0 and the adjusted exponent is at least -6,
// otherwise scientific with an explicit exponent sign ("1.56", "1E-7",
// "1.56E+5").
func appendJavaDecimal(b []byte, neg bool, coeff []byte, scale int) []byte {
	if neg {
		b = append(b, '-')
	}
	adjusted := -scale + len(coeff) - 1
	if scale >= 0 && adjusted >= -6 {
		switch {
		case scale == 0:
			return append(b, coeff...)
		case len(coeff) > scale:
			b = append(b, coeff[:len(coeff)-scale]...)
			b = append(b, '.')
			return append(b, coeff[len(coeff)-scale:]...)
		default:
			b = append(b, '0', '.')
			for i := len(coeff); i < scale; i++ {
				b = append(b, '0')
			}
			return append(b, coeff...)
		}
	}
	b = append(b, coeff[0])
	if len(coeff) > 1 {
		b = append(b, '.')
		b = append(b, coeff[1:]...)
	}
	b = append(b, 'E')
	if adjusted >= 0 {
		b = append(b, '+')
	}
	return strconv.AppendInt(b, int64(adjusted), 10)
}

// exactScale returns the smallest scale at which r is an exact decimal, or
// false when r has no finite decimal expansion (a denominator with a prime
// factor other than 2 and 5).
func exactScale(r *big.Rat) (int, bool) {
	twos := int(r.Denom().TrailingZeroBits())
	d := new(big.Int).Rsh(r.Denom(), uint(twos))
	if d.BitLen() == 1 {
		return twos, true
	}
	// d must be 5^k, and 5^k has floor(k·log2 5)+1 bits.
	k := int(float64(d.BitLen()-1) / math.Log2(5))
	for _, c := range []int{k, k + 1} {
		if new(big.Int).Exp(big.NewInt(5), big.NewInt(int64(c)), nil).Cmp(d) == 0 {
			return max(twos, c), true
		}
	}
	return 0, false
}
