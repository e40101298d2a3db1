package javafmt

import (
	"math"
	"math/big"
	"math/bits"
	"strconv"
)

// Connect's Decimal values are *big.Rat; Java's are BigDecimal, an
// unscaled integer and a scale, which prints differently at different
// scales ("1.5" and "1.50" are different BigDecimals). Most decimals seen
// in practice (prices, amounts) have an unscaled value that fits an int64
// and a small scale; those take a path without big-number arithmetic.

// MaxExactScale bounds the scale AppendDecimal looks for, and so the work
// a hostile value can cause.
const MaxExactScale = 10000

var pow10u64 = func() (p [19]uint64) {
	p[0] = 1
	for i := 1; i < len(p); i++ {
		p[i] = p[i-1] * 10
	}
	return p
}()

// UnscaledInt64 returns r × 10^scale when it is an exact int64 and
// 0 <= scale <= 18.
func UnscaledInt64(r *big.Rat, scale int) (int64, bool) {
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

// Unscaled returns r × 10^scale when that is an integer.
func Unscaled(r *big.Rat, scale int) (*big.Int, bool) {
	if v, ok := UnscaledInt64(r, scale); ok {
		return big.NewInt(v), true
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
		return nil, false
	}
	return q, true
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// AppendDecimal appends a Decimal value as BigDecimal.toString would for a
// BigDecimal of the given scale; when the scale is not known or r does not
// fit it, the smallest exact scale is used. ok is false when r has no
// finite decimal expansion.
func AppendDecimal(b []byte, r *big.Rat, scale int, known bool) (_ []byte, ok bool) {
	if known {
		if v, small := UnscaledInt64(r, scale); small {
			var digits [20]byte
			coeff := strconv.AppendUint(digits[:0], absU64(v), 10)
			return appendDecimalDigits(b, v < 0, coeff, scale), true
		}
		if u, exact := Unscaled(r, scale); exact {
			return AppendBigDecimal(b, u, scale), true
		}
	}
	s, ok := ExactScale(r)
	if !ok || s > MaxExactScale {
		return b, false
	}
	u, _ := Unscaled(r, s)
	return AppendBigDecimal(b, u, s), true
}

func absU64(v int64) uint64 {
	if v < 0 {
		return uint64(-v)
	}
	return uint64(v)
}

// AppendBigDecimal appends unscaled × 10^-scale as Java's
// BigDecimal.toString.
func AppendBigDecimal(b []byte, unscaled *big.Int, scale int) []byte {
	coeff := new(big.Int).Abs(unscaled).Append(nil, 10)
	return appendDecimalDigits(b, unscaled.Sign() < 0, coeff, scale)
}

// appendDecimalDigits lays out the coefficient digits as BigDecimal.toString
// does: plain when scale >= 0 and the adjusted exponent is at least -6,
// otherwise scientific with an explicit exponent sign ("1.56", "1E-7",
// "1.56E+5").
func appendDecimalDigits(b []byte, neg bool, coeff []byte, scale int) []byte {
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

// ExactScale returns the smallest scale at which r is an exact decimal, or
// false when r has no finite decimal expansion (a denominator with a prime
// factor other than 2 and 5).
func ExactScale(r *big.Rat) (int, bool) {
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
