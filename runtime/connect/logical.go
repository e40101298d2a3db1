package connect

import (
	"fmt"
	"math/big"
	"strconv"
	"time"
)

// IsLogical reports whether s is one of Kafka's logical types.
func IsLogical(s *Schema) bool {
	if s == nil {
		return false
	}
	switch s.Name {
	case DecimalName, DateName, TimeName, TimestampName:
		return true
	}
	return false
}

// DecimalScale returns the scale parameter of a Decimal schema.
func DecimalScale(s *Schema) (int, error) {
	p, ok := s.Parameters[DecimalScaleParam]
	if !ok {
		return 0, fmt.Errorf("%w: Invalid Decimal schema: scale parameter not found.", ErrData)
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		return 0, fmt.Errorf("%w: Invalid scale parameter %q in Decimal schema", ErrData, p)
	}
	return n, nil
}

// DecimalToBytes encodes v as Kafka does: the unscaled value
// (v × 10^scale) as big-endian two's complement. A value that does not fit
// the scale exactly is an error, as Kafka refuses a BigDecimal of another
// scale.
func DecimalToBytes(scale int, v *big.Rat) ([]byte, error) {
	unscaled, err := DecimalUnscaled(scale, v)
	if err != nil {
		return nil, err
	}
	return twosComplement(unscaled), nil
}

// DecimalUnscaled returns v × 10^scale, which must be an integer.
func DecimalUnscaled(scale int, v *big.Rat) (*big.Int, error) {
	var r *big.Rat
	if scale >= 0 {
		r = new(big.Rat).Mul(v, new(big.Rat).SetInt(pow10(scale)))
	} else {
		r = new(big.Rat).Quo(v, new(big.Rat).SetInt(pow10(-scale)))
	}
	if !r.IsInt() {
		return nil, fmt.Errorf("%w: decimal %s does not fit scale %d", ErrData, v.FloatString(scale+4), scale)
	}
	return new(big.Int).Set(r.Num()), nil
}

// DecimalFromBytes decodes Kafka's Decimal bytes with the given scale.
func DecimalFromBytes(scale int, b []byte) *big.Rat {
	n := new(big.Int).SetBytes(b)
	if len(b) > 0 && b[0]&0x80 != 0 {
		n.Sub(n, new(big.Int).Lsh(big.NewInt(1), uint(len(b))*8))
	}
	return DecimalFromUnscaled(scale, n)
}

// DecimalFromUnscaled returns unscaled × 10^-scale.
func DecimalFromUnscaled(scale int, unscaled *big.Int) *big.Rat {
	if scale >= 0 {
		return new(big.Rat).SetFrac(unscaled, pow10(scale))
	}
	return new(big.Rat).SetInt(new(big.Int).Mul(unscaled, pow10(-scale)))
}

// DecimalString formats v with exactly scale digits after the point, as
// BigDecimal.toPlainString does.
func DecimalString(scale int, v *big.Rat) string {
	if scale <= 0 {
		return v.FloatString(0)
	}
	return v.FloatString(scale)
}

func pow10(n int) *big.Int {
	if n < 0 {
		n = 0
	}
	return new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n)), nil)
}

// twosComplement renders n as the shortest big-endian two's complement, as
// Java's BigInteger.toByteArray.
func twosComplement(n *big.Int) []byte {
	if n.Sign() >= 0 {
		b := n.Bytes()
		if len(b) == 0 || b[0]&0x80 != 0 {
			b = append([]byte{0}, b...)
		}
		return b
	}
	// -n-1 in ones' complement.
	m := new(big.Int).Neg(n)
	m.Sub(m, big.NewInt(1))
	b := m.Bytes()
	for i := range b {
		b[i] = ^b[i]
	}
	if len(b) == 0 || b[0]&0x80 == 0 {
		b = append([]byte{0xff}, b...)
	}
	return b
}

const msPerDay = 24 * 60 * 60 * 1000

// DateToDays converts a Date value to days since the epoch. The time must be
// midnight UTC, as Kafka requires.
func DateToDays(t time.Time) (int32, error) {
	ms := t.UnixMilli()
	if ms%msPerDay != 0 {
		return 0, fmt.Errorf("%w: Kafka Connect Date type should not have any time fields set to non-zero values.", ErrData)
	}
	return int32(ms / msPerDay), nil
}

// DateFromDays converts days since the epoch to a Date value.
func DateFromDays(d int32) time.Time { return time.UnixMilli(int64(d) * msPerDay).UTC() }

// TimeToMillis converts a Time value to milliseconds of the day; the date
// must be 1970-01-01 as Kafka requires.
func TimeToMillis(t time.Time) (int32, error) {
	ms := t.UnixMilli()
	if ms < 0 || ms >= msPerDay {
		return 0, fmt.Errorf("%w: Kafka Connect Time type should not have any date fields set to non-zero values.", ErrData)
	}
	return int32(ms), nil
}

// TimeFromMillis converts milliseconds of the day to a Time value.
func TimeFromMillis(ms int32) time.Time { return time.UnixMilli(int64(ms)).UTC() }

// TimestampFromMillis converts epoch milliseconds to a Timestamp value.
func TimestampFromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }
