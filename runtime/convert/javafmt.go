package convert

import (
	"math"
	"math/big"
	"strconv"
)

// Java's number formatting, which Kafka's converters inherit through
// Jackson (JSON numbers) and Object.toString (StringConverter,
// SimpleHeaderConverter). Go's own formatting differs in where it switches
// to exponent notation and how it spells the exponent, so the bytes would
// not match Kafka's without these.

// appendJavaDouble appends f as Java's Double.toString (JDK 19+: the
// shortest decimal that rounds back to f): "100.0", "1.0E10", "1.0E-5",
// "NaN", "-Infinity".
func appendJavaDouble(b []byte, f float64) []byte {
	return appendJavaFloating(b, f, 64)
}

// appendJavaFloat appends f as Java's Float.toString.
func appendJavaFloat(b []byte, f float32) []byte {
	return appendJavaFloating(b, float64(f), 32)
}

func appendJavaFloating(b []byte, f float64, bitSize int) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, "NaN"...)
	case math.IsInf(f, 1):
		return append(b, "Infinity"...)
	case math.IsInf(f, -1):
		return append(b, "-Infinity"...)
	case f == 0:
		if math.Signbit(f) {
			return append(b, "-0.0"...)
		}
		return append(b, "0.0"...)
	}
	if f < 0 {
		b = append(b, '-')
		f = -f
	}
	var scratch [32]byte
	digits, exp := shortestDigits(scratch[:0], f, bitSize)
	// Java prints a decimal point and at least one digit after it, and
	// uses plain notation for 10^-3 <= |f| < 10^7.
	if exp >= -3 && exp < 7 {
		return appendPlain(b, digits, exp)
	}
	b = append(b, digits[0], '.')
	if len(digits) > 1 {
		b = append(b, digits[1:]...)
	} else {
		b = append(b, '0')
	}
	b = append(b, 'E')
	return strconv.AppendInt(b, int64(exp), 10)
}

// shortestDigits returns the significant digits of f (> 0) and the decimal
// exponent of the first digit (f = d.ddd × 10^exp). Where the shortest
// round-tripping decimal has one digit, Java picks the two-digit decimal
// closest to f (so Double.MIN_VALUE prints 4.9E-324, not 5.0E-324).
func shortestDigits(buf []byte, f float64, bitSize int) ([]byte, int) {
	s := strconv.AppendFloat(buf, f, 'e', -1, bitSize)
	digits, exp := splitExponent(s)
	if len(digits) == 1 {
		var alt [32]byte
		two := strconv.AppendFloat(alt[:0], f, 'e', 1, bitSize)
		if back, err := strconv.ParseFloat(string(two), bitSize); err == nil && back == f {
			d2, e2 := splitExponent(two)
			if d2[1] != '0' {
				return append(buf[:0], d2...), e2
			}
		}
	}
	return digits, exp
}

// splitExponent turns Go's "d.ddde±xx" into the digits "dddd" (in place)
// and the exponent.
func splitExponent(s []byte) ([]byte, int) {
	e := len(s) - 1
	for s[e] != 'e' {
		e--
	}
	exp, _ := strconv.Atoi(string(s[e+1:]))
	digits := s[:e]
	if len(digits) > 1 && digits[1] == '.' {
		copy(digits[1:], digits[2:])
		digits = digits[:len(digits)-1]
	}
	return digits, exp
}

// appendPlain writes digits × 10^exp (first digit's exponent) without an
// exponent, always with at least one fraction digit.
func appendPlain(b, digits []byte, exp int) []byte {
	if exp < 0 {
		b = append(b, '0', '.')
		for i := -1; i > exp; i-- {
			b = append(b, '0')
		}
		return append(b, digits...)
	}
	intLen := exp + 1
	if len(digits) <= intLen {
		b = append(b, digits...)
		for i := len(digits); i < intLen; i++ {
			b = append(b, '0')
		}
		return append(b, '.', '0')
	}
	b = append(b, digits[:intLen]...)
	b = append(b, '.')
	return append(b, digits[intLen:]...)
}

// appendJavaBigDecimal appends unscaled × 10^-scale as Java's
// BigDecimal.toString: plain when scale >= 0 and the adjusted exponent is
// at least -6, otherwise scientific with an explicit exponent sign
// ("1.56", "1E-7", "1.56E+5").
func appendJavaBigDecimal(b []byte, unscaled *big.Int, scale int) []byte {
	if unscaled.Sign() < 0 {
		b = append(b, '-')
	}
	coeff := new(big.Int).Abs(unscaled).String()
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
	d := new(big.Int).Set(r.Denom())
	twos, fives := 0, 0
	for d.Bit(0) == 0 && d.Sign() > 0 {
		d.Rsh(d, 1)
		twos++
	}
	five := big.NewInt(5)
	var m big.Int
	for {
		q, rem := new(big.Int).QuoRem(d, five, &m)
		if rem.Sign() != 0 {
			break
		}
		d = q
		fives++
	}
	if d.Cmp(big.NewInt(1)) != 0 {
		return 0, false
	}
	return max(twos, fives), true
}

// appendDecimal appends a Decimal value as BigDecimal.toString would for a
// BigDecimal of the given scale; when the scale is not known or r does not
// fit it, the smallest exact scale is used. ok is false when r has no
// finite decimal expansion.
func appendDecimal(b []byte, r *big.Rat, scale int, known bool) (_ []byte, ok bool) {
	if known {
		if u, err := unscaledAt(r, scale); err == nil {
			return appendJavaBigDecimal(b, u, scale), true
		}
	}
	s, ok := exactScale(r)
	if !ok {
		return b, false
	}
	u, _ := unscaledAt(r, s)
	return appendJavaBigDecimal(b, u, s), true
}

// unscaledAt returns r × 10^scale when that is an integer.
func unscaledAt(r *big.Rat, scale int) (*big.Int, error) {
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
