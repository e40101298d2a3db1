package convert

import (
	"math"
	"math/big"
	"strconv"

	"github.com/sluicehq/sluice/runtime/connect"
)

// decimalParts is a decimal number split as java.math.BigDecimal holds
// it: value = ±digits × 10^-scale.
type decimalParts struct {
	neg    bool
	digits []byte // integer and fraction digits, no sign or point
	scale  int64  // saturated far beyond any usable scale
}

const scaleLimit = 1 << 40

// parseDecimal splits a number in BigDecimal's string syntax (a JSON
// number is a subset): optional sign, digits with an optional point, an
// optional exponent. ok is false for anything else.
func parseDecimal(s []byte) (p decimalParts, ok bool) {
	i := 0
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		p.neg = s[i] == '-'
		i++
	}
	start := i
	intDigits := countDigits(s, i)
	i += intDigits
	fracDigits := 0
	if i < len(s) && s[i] == '.' {
		fracDigits = countDigits(s, i+1)
		i += 1 + fracDigits
	}
	if intDigits+fracDigits == 0 {
		return p, false
	}
	if fracDigits == 0 {
		p.digits = s[start : start+intDigits]
	} else {
		p.digits = make([]byte, 0, intDigits+fracDigits)
		p.digits = append(p.digits, s[start:start+intDigits]...)
		p.digits = append(p.digits, s[start+intDigits+1:i]...)
	}
	p.scale = int64(fracDigits)
	if i == len(s) {
		return p, true
	}
	if s[i] != 'e' && s[i] != 'E' {
		return p, false
	}
	exp, ok := parseExponent(s[i+1:])
	p.scale -= exp
	return p, ok
}

// parseExponent parses a signed exponent, saturating at scaleLimit.
func parseExponent(s []byte) (int64, bool) {
	neg := false
	if len(s) > 0 && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		s = s[1:]
	}
	if len(s) == 0 || countDigits(s, 0) != len(s) {
		return 0, false
	}
	var e int64
	for _, c := range s {
		if e < scaleLimit {
			e = e*10 + int64(c-'0')
		}
	}
	if neg {
		e = -e
	}
	return e, true
}

// unscaled returns the digits as a signed big integer.
func (p decimalParts) unscaled() *big.Int {
	n, _ := new(big.Int).SetString(string(p.digits), 10)
	if n == nil {
		n = new(big.Int)
	}
	if p.neg {
		n.Neg(n)
	}
	return n
}

// rat returns the exact value; an exponent too large to hold is an error.
func (p decimalParts) rat() (*big.Rat, error) {
	if p.scale > maxDecimalScale || p.scale < -maxDecimalScale {
		return nil, errScaleRange(p.scale)
	}
	if len(p.digits) <= 18 && p.scale >= 0 && p.scale < int64(len(pow10u64)) {
		n, _ := strconv.ParseInt(string(p.digits), 10, 64)
		if p.neg {
			n = -n
		}
		return new(big.Rat).SetFrac64(n, int64(pow10u64[p.scale])), nil
	}
	return connect.DecimalFromUnscaled(int(p.scale), p.unscaled()), nil
}

// javaLong is what Jackson's longValue() yields for a JSON number, and
// Java's BigDecimal.longValue() for a decimal: the integer part (truncated
// toward zero) when it fits, otherwise its low 64 bits.
func javaLong(num []byte) int64 {
	if v, err := strconv.ParseInt(string(num), 10, 64); err == nil {
		return v
	}
	p, ok := parseDecimal(num)
	if !ok || p.scale <= -64 {
		// Any integer times 10^64 or more is a multiple of 2^64.
		return 0
	}
	digits := p.digits
	if p.scale > 0 {
		if p.scale >= int64(len(digits)) {
			return 0
		}
		digits = digits[:int64(len(digits))-p.scale]
	}
	n, _ := new(big.Int).SetString(string(digits), 10)
	if n == nil {
		return 0
	}
	if p.scale < 0 {
		n.Mul(n, new(big.Int).Exp(big.NewInt(10), big.NewInt(-p.scale), nil))
	}
	low := int64(new(big.Int).And(n, maxUint64).Uint64())
	if p.neg {
		low = -low
	}
	return low
}

var maxUint64 = new(big.Int).SetUint64(math.MaxUint64)

// intFits reports whether an integral JSON number fits an int32 (Jackson's
// isInt: the parser holds it as an IntNode).
func intFits(num []byte) (int32, bool) {
	v, err := strconv.ParseInt(string(num), 10, 32)
	return int32(v), err == nil
}
