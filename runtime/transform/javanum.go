package transform

import (
	"math"
	"math/big"

	"github.com/sluicehq/sluice/internal/javafmt"
)

// Java's numeric conversions, so Cast narrows and formats numbers exactly
// as Number.byteValue(), Double.toString() and friends do.

// javaD2L is Java's (long) cast of a double: NaN is 0, out-of-range values
// saturate.
func javaD2L(f float64) int64 {
	switch {
	case math.IsNaN(f):
		return 0
	case f >= math.MaxInt64:
		return math.MaxInt64
	case f <= math.MinInt64:
		return math.MinInt64
	}
	return int64(f)
}

// javaD2I is Java's (int) cast of a double.
func javaD2I(f float64) int32 {
	switch {
	case math.IsNaN(f):
		return 0
	case f >= math.MaxInt32:
		return math.MaxInt32
	case f <= math.MinInt32:
		return math.MinInt32
	}
	return int32(f)
}

// javaFloatString formats f as Java's Double.toString (bits 64) or
// Float.toString (bits 32).
func javaFloatString(f float64, bits int) string {
	if bits == 32 {
		return javafmt.Float(float32(f))
	}
	return javafmt.Double(f)
}

// ratFloat64 is BigDecimal.doubleValue.
func ratFloat64(r *big.Rat) float64 {
	f, _ := r.Float64()
	return f
}

// ratInt64 is BigDecimal.longValue: the integer part, truncated towards
// zero, keeping the low 64 bits.
func ratInt64(r *big.Rat) int64 {
	q := new(big.Int).Quo(r.Num(), r.Denom())
	return lowBits(q)
}

// lowBits returns the low 64 bits of n in two's complement.
func lowBits(n *big.Int) int64 {
	m := new(big.Int).And(n, new(big.Int).SetUint64(math.MaxUint64))
	return int64(m.Uint64())
}
