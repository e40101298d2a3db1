package javafmt

import (
	"math"
	"strconv"
)

// Java's floating-point formatting, which Kafka's converters inherit through
// Jackson (JSON numbers) and Object.toString (StringConverter,
// SimpleHeaderConverter). Go's own formatting differs in where it switches
// to exponent notation and how it spells the exponent, so the bytes would
// not match Kafka's without these.

// AppendDouble appends f as Java's Double.toString (JDK 19+: the
// shortest decimal that rounds back to f): "100.0", "1.0E10", "1.0E-5",
// "NaN", "-Infinity".
func AppendDouble(b []byte, f float64) []byte {
	return appendJavaFloating(b, f, 64)
}

// AppendFloat appends f as Java's Float.toString: "0.1" for 0.1f, where
// widening to double would print 0.10000000149011612.
func AppendFloat(b []byte, f float32) []byte {
	return appendJavaFloating(b, float64(f), 32)
}

// Double returns f as Java's Double.toString.
func Double(f float64) string { return string(AppendDouble(nil, f)) }

// Float returns f as Java's Float.toString.
func Float(f float32) string { return string(AppendFloat(nil, f)) }

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
