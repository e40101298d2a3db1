package postgres

import (
	"fmt"
	"math/big"
	"strings"

	"github.com/sluicehq/sluice/connectors/debezium"
	"github.com/sluicehq/sluice/internal/javafmt"
	"github.com/sluicehq/sluice/runtime/connect"
)

// convertMoney converts money text per decimal.handling.mode. Debezium
// reads money as a Java double: double mode is that double, string mode
// its Double.toString, precise mode a Decimal at money.fraction.digits
// (rounded half up), here computed from the exact text.
func convertMoney(s string, o TypeOptions) (any, error) {
	v, err := moneyAmount(s, o.moneyScale())
	if err != nil {
		return nil, err
	}
	switch o.DecimalMode {
	case debezium.DecimalDouble:
		f, _ := v.Float64()
		return f, nil
	case debezium.DecimalString:
		f, _ := v.Float64()
		return javaDouble(f), nil
	}
	return roundHalfUp(v, o.moneyScale()), nil
}

// moneyAmount parses money text in the server's lc_monetary format
// ("$1,234.56", "-$1,234.56", "($1.00)", "1.234,56 €"): the digits, a
// sign, and the last separator taken as the decimal point unless it is
// followed by three digits like the separators before it (a thousands
// group); a lone three-digit tail is a fraction only when
// money.fraction.digits is 3.
func moneyAmount(s string, fractionDigits int) (*big.Rat, error) {
	var groups []string
	var seps []rune
	var cur strings.Builder
	var sep rune
	for _, r := range s + " " {
		if r >= '0' && r <= '9' {
			if cur.Len() == 0 && len(groups) > 0 {
				seps = append(seps, sep)
			}
			cur.WriteRune(r)
			continue
		}
		if cur.Len() > 0 {
			groups = append(groups, cur.String())
			cur.Reset()
		}
		sep = r
	}
	if len(groups) == 0 {
		return nil, fmt.Errorf("not a money amount")
	}
	frac := ""
	if n := len(groups); n > 1 {
		last, lastSep := groups[n-1], seps[n-2]
		if len(last) != 3 || fractionDigits == 3 || (n > 2 && seps[n-3] != lastSep) {
			frac, groups = last, groups[:n-1]
		}
	}
	unscaled, _ := new(big.Int).SetString(strings.Join(groups, "")+frac, 10)
	if strings.ContainsAny(s, "-(") {
		unscaled.Neg(unscaled)
	}
	return connect.DecimalFromUnscaled(len(frac), unscaled), nil
}

// roundHalfUp rounds v to scale digits, halves away from zero, as Java's
// RoundingMode.HALF_UP.
func roundHalfUp(v *big.Rat, scale int) *big.Rat {
	num := new(big.Int).Mul(v.Num(), new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil))
	q, r := new(big.Int).QuoRem(num, v.Denom(), new(big.Int))
	if r.Sign() != 0 && new(big.Int).Mul(new(big.Int).Abs(r), big.NewInt(2)).Cmp(v.Denom()) >= 0 {
		q.Add(q, big.NewInt(int64(v.Sign())))
	}
	return connect.DecimalFromUnscaled(scale, q)
}

// javaDouble formats f as Java's Double.toString.
func javaDouble(f float64) string { return javafmt.Double(f) }
