package pix

import (
	"fmt"
	"strconv"
	"strings"
)

// Mercado Pago's API carries amounts as decimal reais in JSON numbers, which its Go SDK
// holds in float64. Centavos cross that boundary without drift: float64(c)/100 is the
// double nearest to the decimal c/100 (both operands are exact and IEEE division rounds
// correctly), which encoding/json writes back as its shortest form, "19.99"; the way
// back reads that same shortest form as a decimal string, never multiplying a float.

// reaisFloat returns cents as the float64 the SDK sends.
func reaisFloat(cents int64) float64 { return float64(cents) / 100 }

// centsFromFloat returns the centavos of an amount the SDK decoded. More than two
// decimals is an error, not something to round away.
func centsFromFloat(reais float64) (int64, error) {
	return parseReais(strconv.FormatFloat(reais, 'f', -1, 64))
}

// formatReais writes cents as the decimal a JSON number holds: 1999 → "19.99",
// 1050 → "10.5", 1000 → "10".
func formatReais(cents int64) string {
	sign := ""
	if cents < 0 {
		sign, cents = "-", -cents
	}
	s := fmt.Sprintf("%s%d.%02d", sign, cents/100, cents%100)
	return strings.TrimSuffix(strings.TrimRight(s, "0"), ".")
}

// parseReais reads a decimal amount in reais ("19.99", "10.5", "10", "1e2") as
// centavos, exactly; it refuses fractions of a centavo and amounts out of range.
func parseReais(s string) (int64, error) {
	mant, exp := s, 0
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		e, err := strconv.Atoi(s[i+1:])
		if err != nil || e < -20 || e > 20 {
			return 0, fmt.Errorf("amount %q: bad exponent", s)
		}
		mant, exp = s[:i], e
	}
	neg := strings.HasPrefix(mant, "-")
	mant = strings.TrimPrefix(mant, "-")
	whole, frac, _ := strings.Cut(mant, ".")
	if whole == "" && frac == "" || !allDigits(whole) || !allDigits(frac) {
		return 0, fmt.Errorf("amount %q is not a decimal number", s)
	}
	digits := strings.TrimLeft(whole+frac, "0")
	scale := len(frac) - exp - 2 // digits × 10^-scale = centavos
	for scale > 0 && strings.HasSuffix(digits, "0") {
		digits, scale = digits[:len(digits)-1], scale-1
	}
	if digits == "" {
		return 0, nil
	}
	if scale > 0 {
		return 0, fmt.Errorf("amount %q has fractions of a centavo", s)
	}
	digits += strings.Repeat("0", -scale)
	if len(digits) > 15 {
		return 0, fmt.Errorf("amount %q is out of range", s)
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("amount %q: %w", s, err)
	}
	if neg {
		n = -n
	}
	return n, nil
}

func allDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
