package br

import (
	"errors"
	"fmt"
	"testing"
)

func TestNormalizeCNPJ(t *testing.T) {
	tests := []struct {
		in   string
		want string
		err  error
	}{
		{"11.222.333/0001-81", "11222333000181", nil},
		{"11222333000181", "11222333000181", nil},
		{"33.000.167/0001-01", "33000167000101", nil}, // the first remainder below 2 gives 0
		{"00.000.000/0001-91", "00000000000191", nil}, // leading zeros are digits too
		{" 11 222 333 0001 81 ", "11222333000181", nil},
		{"11.444.777/0001-61", "11444777000161", nil},
		{"11.222.333/0001-82", "", ErrCNPJCheckDigits}, // second digit wrong
		{"11.222.333/0001-71", "", ErrCNPJCheckDigits}, // first digit wrong
		{"11.222.333/0002-81", "", ErrCNPJCheckDigits}, // another establishment, same digits
		{"00.000.000/0000-00", "", ErrCNPJRepeated},
		{"11.111.111/1111-11", "", ErrCNPJRepeated},
		{"1122233300018", "", ErrCNPJLength},
		{"112223330001810", "", ErrCNPJLength},
		{"529.982.247-25", "", ErrCNPJLength},        // a CPF is not a CNPJ
		{"12.ABC.345/01DE-35", "", ErrCNPJCharacter}, // the alphanumeric form is not accepted
		{"11.222.333\\0001-81", "", ErrCNPJCharacter},
		{"１１２２２３３３０００１８１", "", ErrCNPJCharacter},
		{"", "", ErrCNPJLength},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := NormalizeCNPJ(tt.in)
			if !errors.Is(err, tt.err) || got != tt.want {
				t.Errorf("NormalizeCNPJ(%q) = %q, %v; want %q, %v", tt.in, got, err, tt.want, tt.err)
			}
		})
	}
}

func TestCompleteCNPJ_MatchesKnownNumbers(t *testing.T) {
	for twelve, want := range map[string]string{"112223330001": "11222333000181", "330001670001": "33000167000101", "000000000001": "00000000000191"} {
		if got := CompleteCNPJ(twelve); got != want {
			t.Errorf("CompleteCNPJ(%s) = %s, want %s", twelve, got, want)
		}
	}
	for i := range 200 {
		n := CompleteCNPJ(fmt.Sprintf("%012d", i*7919+1))
		if _, err := NormalizeCNPJ(n); err != nil && !errors.Is(err, ErrCNPJRepeated) {
			t.Errorf("CompleteCNPJ made %s, which NormalizeCNPJ refuses: %v", n, err)
		}
	}
}

func TestFormatCNPJ(t *testing.T) {
	if got := FormatCNPJ("11222333000181"); got != "11.222.333/0001-81" {
		t.Errorf("FormatCNPJ = %q", got)
	}
	if got := FormatCNPJ("123"); got != "123" {
		t.Errorf("FormatCNPJ of a short string = %q, want it unchanged", got)
	}
}
