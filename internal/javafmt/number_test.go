package javafmt

import (
	"math"
	"math/big"
	"testing"

	"github.com/stretchr/testify/assert"
)

// Expected strings are what Java 19+ prints for Double.toString and
// Float.toString (the javadoc's rules: plain for 10^-3 <= |x| < 10^7,
// otherwise d.dddE±n; the shortest decimal that rounds back, and two
// digits where one would do).
// Variables, so the sum is rounded in float64 rather than folded exactly.
var pointOne, pointTwo = 0.1, 0.2

func TestJavaDouble(t *testing.T) {
	cases := []struct {
		in   float64
		want string
	}{
		{100, "100.0"},
		{1, "1.0"},
		{12.34, "12.34"},
		{0.1, "0.1"},
		{pointOne + pointTwo, "0.30000000000000004"},
		{1e10, "1.0E10"},
		{1e-5, "1.0E-5"},
		{1e-4, "1.0E-4"},
		{0.001, "0.001"},
		{0.00123, "0.00123"},
		{9999999, "9999999.0"},
		{1234567, "1234567.0"},
		{1e7, "1.0E7"},
		{12345678.9, "1.23456789E7"},
		{123456789012, "1.23456789012E11"},
		{1e23, "1.0E23"},
		{-1.5, "-1.5"},
		{-1e-10, "-1.0E-10"},
		{4398046511104, "4.398046511104E12"},
		{math.MaxFloat64, "1.7976931348623157E308"},
		{math.SmallestNonzeroFloat64, "4.9E-324"},
		{2.2250738585072014e-308, "2.2250738585072014E-308"},
		{9.223372036854776e18, "9.223372036854776E18"},
		{0, "0.0"},
		{math.Copysign(0, -1), "-0.0"},
		{math.NaN(), "NaN"},
		{math.Inf(1), "Infinity"},
		{math.Inf(-1), "-Infinity"},
	}
	for _, c := range cases {
		t.Run(c.want, func(t *testing.T) {
			assert.Equal(t, c.want, string(AppendDouble(nil, c.in)))
		})
	}
}

func TestJavaFloat(t *testing.T) {
	cases := []struct {
		in   float32
		want string
	}{
		{12.34, "12.34"},
		{100, "100.0"},
		{0.1, "0.1"},
		{1.1, "1.1"},
		{1.0 / 3, "0.33333334"},
		{1e10, "1.0E10"},
		{16777216, "1.6777216E7"},
		{math.MaxFloat32, "3.4028235E38"},
		{math.SmallestNonzeroFloat32, "1.4E-45"},
		{-2.5e-4, "-2.5E-4"},
		{float32(math.Inf(1)), "Infinity"},
	}
	for _, c := range cases {
		t.Run(c.want, func(t *testing.T) {
			assert.Equal(t, c.want, string(AppendFloat(nil, c.in)))
		})
	}
}

// Expected strings are java.math.BigDecimal.toString of
// new BigDecimal(new BigInteger(unscaled), scale).
func TestJavaBigDecimal(t *testing.T) {
	cases := []struct {
		unscaled string
		scale    int
		want     string
	}{
		{"156", 2, "1.56"},
		{"15600", 4, "1.5600"},
		{"-156", 2, "-1.56"},
		{"1", 7, "1E-7"},
		{"12345", 7, "0.0012345"},
		{"1", 6, "0.000001"},
		{"156", -2, "1.56E+4"},
		{"0", 2, "0.00"},
		{"0", 0, "0"},
		{"0", 8, "0E-8"},
		{"123", 0, "123"},
		{"123456789123456789", 17, "1.23456789123456789"},
		{"5", -3, "5E+3"},
	}
	for _, c := range cases {
		t.Run(c.want, func(t *testing.T) {
			n, _ := new(big.Int).SetString(c.unscaled, 10)
			assert.Equal(t, c.want, string(AppendBigDecimal(nil, n, c.scale)))
		})
	}
}

func TestAppendDecimalFallsBackToExactScale(t *testing.T) {
	out, ok := AppendDecimal(nil, big.NewRat(3, 2), 0, true)
	assert.True(t, ok)
	assert.Equal(t, "1.5", string(out))
	_, ok = AppendDecimal(nil, big.NewRat(1, 3), 2, true)
	assert.False(t, ok, "1/3 has no finite decimal form")
}

// Java's String.hashCode values, checked against the JDK.
func TestJavaStringHash(t *testing.T) {
	assert.Equal(t, int32(97), StringHash("a"))
	assert.Equal(t, int32(2112), StringHash("Aa"))
	assert.Equal(t, int32(2112), StringHash("BB"))
	assert.Equal(t, int32(3288498), StringHash("key1"))
	assert.Equal(t, int32(-891985903), StringHash("string"))
	assert.Equal(t, int32(0), StringHash(""))
	assert.Equal(t, int32(99162322), StringHash("hello"))
	assert.Equal(t, int32(-1<<31), StringHash("polygenelubricants"))
	// U+1F600 is a surrogate pair in Java: 0xD83D 0xDE00.
	assert.Equal(t, int32(31*0xD83D+0xDE00), StringHash("\U0001F600"))
}

func TestOrderStringKeysFollowsHashMapBuckets(t *testing.T) {
	m := map[string]any{"key3": 0, "key1": 0, "key2": 0, "BB": 0, "Aa": 0}
	var got []string
	for _, k := range AppendStringKeys(nil, m) {
		got = append(got, k.Key)
	}
	// Buckets (capacity 16): Aa, BB and key1 share 0, key2 is 1, key3 is 6.
	assert.Equal(t, []string{"Aa", "BB", "key1", "key2", "key3"}, got)
}

func TestJavaCapacityGrowsAtThreeQuarters(t *testing.T) {
	assert.Equal(t, 16, hashMapCapacity(12))
	assert.Equal(t, 32, hashMapCapacity(13))
	assert.Equal(t, 64, hashMapCapacity(25))
}

func TestOrderAnyKeys(t *testing.T) {
	m := map[any]any{int32(2): 0, int32(1): 0, true: 0, "a": 0, false: 0}
	got := AnyKeys(m)
	// int 1 → bucket 1, "a" → 1, int 2 → 2, false → 5 (1237), true → 15 (1231).
	assert.Equal(t, []any{"a", int32(1), int32(2), false, true}, got)
}

func TestUnscaledInt64RejectsInexact(t *testing.T) {
	_, ok := UnscaledInt64(big.NewRat(1, 3), 2)
	assert.False(t, ok)
	_, ok = UnscaledInt64(big.NewRat(math.MaxInt64, 1), 1)
	assert.False(t, ok, "overflows int64")
	v, ok := UnscaledInt64(big.NewRat(-3, 4), 2)
	assert.True(t, ok)
	assert.Equal(t, int64(-75), v)
}

func TestExactScale(t *testing.T) {
	cases := []struct {
		r     *big.Rat
		scale int
		ok    bool
	}{
		{big.NewRat(3, 1), 0, true},
		{big.NewRat(3, 2), 1, true},
		{big.NewRat(1, 8), 3, true},
		{big.NewRat(1, 625), 4, true},
		{big.NewRat(7, 1000), 3, true},
		{big.NewRat(1, 3), 0, false},
		{big.NewRat(1, 15), 0, false},
		{new(big.Rat).SetFrac(big.NewInt(1), new(big.Int).Exp(big.NewInt(5), big.NewInt(300), nil)), 300, true},
	}
	for _, c := range cases {
		scale, ok := ExactScale(c.r)
		assert.Equal(t, c.ok, ok, c.r.String())
		if ok {
			assert.Equal(t, c.scale, scale, c.r.String())
		}
	}
}
