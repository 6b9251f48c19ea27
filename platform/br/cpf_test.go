package br

import (
	"errors"
	"testing"
)

func TestNormalizeCPF(t *testing.T) {
	tests := []struct {
		in   string
		want string
		err  error
	}{
		{"529.982.247-25", "52998224725", nil},
		{"52998224725", "52998224725", nil},
		{"123.456.789-09", "12345678909", nil}, // first remainder < 2 gives check digit 0
		{" 529 982 247 25 ", "52998224725", nil},
		{"529.982.247-24", "", ErrCPFCheckDigits}, // second digit wrong
		{"529.982.247-15", "", ErrCPFCheckDigits}, // first digit wrong
		{"111.111.111-11", "", ErrCPFRepeated},    // passes mod 11 but is invalid
		{"000.000.000-00", "", ErrCPFRepeated},
		{"5299822472", "", ErrCPFLength},
		{"529982247250", "", ErrCPFLength},
		{"529.982.247-2a", "", ErrCPFCharacter},
		{"529.982.247/25", "", ErrCPFCharacter},
		{"５２９９８２２４７２５", "", ErrCPFCharacter}, // full-width digits are not digits here
		{"", "", ErrCPFLength},
		{"100.000.000-19", "10000000019", nil},
		{"000.000.001-91", "00000000191", nil}, // leading zeros are digits too
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := NormalizeCPF(tt.in)
			if !errors.Is(err, tt.err) || got != tt.want {
				t.Errorf("NormalizeCPF(%q) = %q, %v; want %q, %v", tt.in, got, err, tt.want, tt.err)
			}
		})
	}
}

func TestCompleteCPF_MatchesKnownNumbers(t *testing.T) {
	for _, full := range []string{"52998224725", "12345678909", "10000000019"} {
		if got := CompleteCPF(full[:9]); got != full {
			t.Errorf("CompleteCPF(%s) = %s, want %s", full[:9], got, full)
		}
	}
}

func TestFormatCPF(t *testing.T) {
	if got := FormatCPF("52998224725"); got != "529.982.247-25" {
		t.Errorf("FormatCPF = %q", got)
	}
}

func TestIsUF(t *testing.T) {
	if len(UFs) != 27 {
		t.Fatalf("%d UFs, want 27", len(UFs))
	}
	for _, uf := range []string{"SP", "DF", "TO", "AC"} {
		if !IsUF(uf) {
			t.Errorf("IsUF(%q) = false", uf)
		}
	}
	for _, uf := range []string{"sp", "XX", "", "BR", "SPP"} {
		if IsUF(uf) {
			t.Errorf("IsUF(%q) = true", uf)
		}
	}
}

func TestParseCRM(t *testing.T) {
	tests := []struct {
		in, number, uf string
		err            error
	}{
		{"123456/SP", "123456", "SP", nil},
		{"00012345/RJ", "12345", "RJ", nil}, // leading zeros are not part of the number
		{"0/DF", "0", "DF", nil},
		{"00000000/TO", "0", "TO", nil},
		{"12345678/AC", "12345678", "AC", nil},
		{"123456789/SP", "", "", ErrCRMNumber}, // 9 digits
		{"/SP", "", "", ErrCRMNumber},
		{"12a/SP", "", "", ErrCRMNumber},
		{"-1/SP", "", "", ErrCRMNumber},
		{"１２３/SP", "", "", ErrCRMNumber},
		{"123456/sp", "", "", ErrCRMUF},
		{"123456/XX", "", "", ErrCRMUF},
		{"123456/SP/RJ", "", "", ErrCRMUF},
		{"123456/", "", "", ErrCRMUF},
		{"123456", "", "", ErrCRMForm},
		{"", "", "", ErrCRMForm},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			number, uf, err := ParseCRM(tt.in)
			if !errors.Is(err, tt.err) || number != tt.number || uf != tt.uf {
				t.Errorf("ParseCRM(%q) = %q, %q, %v; want %q, %q, %v", tt.in, number, uf, err, tt.number, tt.uf, tt.err)
			}
		})
	}
}
