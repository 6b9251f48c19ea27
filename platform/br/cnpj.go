package br

import (
	"errors"
	"strings"
)

// CNPJ errors, worded for the person typing the number.
var (
	ErrCNPJLength      = errors.New("a CNPJ has 14 digits")
	ErrCNPJCharacter   = errors.New("a CNPJ holds only digits, optionally punctuated with '.', '/', '-' or spaces")
	ErrCNPJRepeated    = errors.New("a CNPJ cannot have all digits equal")
	ErrCNPJCheckDigits = errors.New("the CNPJ check digits do not match: check the number")
)

// NormalizeCNPJ strips punctuation ('.', '/', '-', spaces) and returns the 14 digits of
// a valid CNPJ (a company's registration with the Receita Federal: 8 digits of the
// company, 4 of the establishment, 2 check digits), or an error saying what is wrong.
// Numeric CNPJs only: the alphanumeric form the Receita announced for new
// registrations is not accepted yet.
func NormalizeCNPJ(s string) (string, error) {
	var d strings.Builder
	for _, c := range s {
		switch {
		case c >= '0' && c <= '9':
			d.WriteRune(c)
		case c == '.' || c == '/' || c == '-' || c == ' ':
		default:
			return "", ErrCNPJCharacter
		}
	}
	digits := d.String()
	if len(digits) != 14 {
		return "", ErrCNPJLength
	}
	if strings.Count(digits, digits[:1]) == 14 {
		return "", ErrCNPJRepeated
	}
	if cnpjCheckDigit(digits[:12]) != digits[12] || cnpjCheckDigit(digits[:13]) != digits[13] {
		return "", ErrCNPJCheckDigits
	}
	return digits, nil
}

// cnpjCheckDigit computes the mod-11 check digit of the given leading digits: weights
// run 2, 3, …, 9 from the rightmost digit and start again at 2; a remainder below 2
// gives 0, otherwise 11 minus the remainder.
func cnpjCheckDigit(digits string) byte {
	sum, w := 0, 2
	for i := len(digits) - 1; i >= 0; i-- {
		sum += int(digits[i]-'0') * w
		if w++; w > 9 {
			w = 2
		}
	}
	r := sum % 11
	if r < 2 {
		return '0'
	}
	return byte('0' + 11 - r)
}

// FormatCNPJ writes 14 digits as 00.000.000/0000-00.
func FormatCNPJ(digits string) string {
	if len(digits) != 14 {
		return digits
	}
	return digits[:2] + "." + digits[2:5] + "." + digits[5:8] + "/" + digits[8:12] + "-" + digits[12:]
}

// CompleteCNPJ appends the two check digits to twelve digits (used by seeding and tests).
func CompleteCNPJ(twelve string) string {
	thirteen := twelve + string(cnpjCheckDigit(twelve))
	return thirteen + string(cnpjCheckDigit(thirteen))
}
