package br

import (
	"errors"
	"strings"
)

// CPF errors, worded for the person typing the number.
var (
	ErrCPFLength      = errors.New("a CPF has 11 digits")
	ErrCPFCharacter   = errors.New("a CPF holds only digits, optionally punctuated with '.', '-' or spaces")
	ErrCPFRepeated    = errors.New("a CPF cannot have all digits equal")
	ErrCPFCheckDigits = errors.New("the CPF check digits do not match: check the number")
)

// NormalizeCPF strips punctuation ('.', '-', spaces) and returns the 11 digits of a
// valid CPF, or an error saying what is wrong.
func NormalizeCPF(s string) (string, error) {
	var d strings.Builder
	for _, c := range s {
		switch {
		case c >= '0' && c <= '9':
			d.WriteRune(c)
		case c == '.' || c == '-' || c == ' ':
		default:
			return "", ErrCPFCharacter
		}
	}
	digits := d.String()
	if len(digits) != 11 {
		return "", ErrCPFLength
	}
	if strings.Count(digits, digits[:1]) == 11 {
		return "", ErrCPFRepeated
	}
	if checkDigit(digits[:9]) != digits[9] || checkDigit(digits[:10]) != digits[10] {
		return "", ErrCPFCheckDigits
	}
	return digits, nil
}

// checkDigit computes the mod-11 check digit of the given leading digits: weights run
// from len+1 down to 2; remainder below 2 gives 0, otherwise 11 minus the remainder.
func checkDigit(digits string) byte {
	sum := 0
	for i := 0; i < len(digits); i++ {
		sum += int(digits[i]-'0') * (len(digits) + 1 - i)
	}
	r := sum % 11
	if r < 2 {
		return '0'
	}
	return byte('0' + 11 - r)
}

// FormatCPF writes 11 digits as 000.000.000-00.
func FormatCPF(digits string) string {
	if len(digits) != 11 {
		return digits
	}
	return digits[:3] + "." + digits[3:6] + "." + digits[6:9] + "-" + digits[9:]
}

// CompleteCPF appends the two check digits to nine digits (used by seeding and tests).
func CompleteCPF(nine string) string {
	ten := nine + string(checkDigit(nine))
	return ten + string(checkDigit(ten))
}
