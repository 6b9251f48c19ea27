package br

import (
	"errors"
	"regexp"
	"strings"
	"testing"
)

// mod11 computes a CPF check digit the way the Receita Federal spells it, apart from
// the code under test: weights from len+1 down to 2, 11 minus the remainder, 10 and 11
// giving 0.
func mod11(digits string) byte {
	sum := 0
	for i, c := range digits {
		sum += int(c-'0') * (len(digits) + 1 - i)
	}
	if d := 11 - sum%11; d < 10 {
		return byte('0' + d)
	}
	return '0'
}

// FuzzNormalizeCPF: an input is either refused with one of the declared CPF errors,
// or it is punctuation ('.', '-', ' ') around exactly the 11 digits returned, which
// are not all equal and carry both check digits; the formatted CPF reads back as the
// same digits.
func FuzzNormalizeCPF(f *testing.F) {
	for _, s := range []string{
		"529.982.247-25", "52998224725", " 529 982 247 25 ", "123.456.789-09", "000.000.001-91",
		"111.111.111-11", "529.982.247-24", "5299822472", "529982247250", "529.982.247-2a",
		"529.982.247–25", "５２９９８２２４７２５", "52998224725\x00", "", "abc", "...........-",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := NormalizeCPF(s)
		if err != nil {
			if !errors.Is(err, ErrCPFLength) && !errors.Is(err, ErrCPFCharacter) && !errors.Is(err, ErrCPFRepeated) && !errors.Is(err, ErrCPFCheckDigits) {
				t.Fatalf("NormalizeCPF(%q): undeclared error %v", s, err)
			}
			if d != "" {
				t.Fatalf("NormalizeCPF(%q) = %q with error %v", s, d, err)
			}
			return
		}
		if stripped := strings.NewReplacer(".", "", "-", "", " ", "").Replace(s); stripped != d {
			t.Fatalf("NormalizeCPF(%q) = %q, not the input's digits %q", s, d, stripped)
		}
		if len(d) != 11 || strings.Trim(d, "0123456789") != "" {
			t.Fatalf("NormalizeCPF(%q) = %q: not 11 digits", s, d)
		}
		if strings.Count(d, d[:1]) == 11 || mod11(d[:9]) != d[9] || mod11(d[:10]) != d[10] {
			t.Fatalf("NormalizeCPF(%q) accepted the invalid CPF %q", s, d)
		}
		if again, err := NormalizeCPF(FormatCPF(d)); err != nil || again != d {
			t.Fatalf("format round trip: %q → %q, %v", FormatCPF(d), again, err)
		}
	})
}

var crmNumber = regexp.MustCompile(`^(0|[1-9][0-9]{0,7})$`)

// FuzzParseCRM: a registration is either refused with one of the declared CRM errors,
// or it is leading zeros, the number returned (1 to 8 digits in all, no leading zero
// unless "0"), a slash and a UF; CRM writes it back in a form that parses to the same.
// Every number of 1 to 8 digits with every UF parses (number is the fuzzer's second
// argument).
func FuzzParseCRM(f *testing.F) {
	f.Add("123456/SP", "123456", uint8(0))
	f.Add("00012345/RJ", "00012345", uint8(5))
	f.Add("0/DF", "0", uint8(26))
	f.Add("00000000/TO", "00000000", uint8(1))
	f.Add("123456789/SP", "123456789", uint8(3))
	f.Add("123456/sp", "", uint8(0))
	f.Add("123456/SP/RJ", "12a", uint8(7))
	f.Add("/SP", "-1", uint8(9))
	f.Add("123456", "+1", uint8(11))
	f.Add("１２３/SP", "１２３", uint8(13))
	f.Add("12 34/SP", " 12", uint8(255))
	f.Add("", "", uint8(0))
	f.Fuzz(func(t *testing.T, s, number string, ufIndex uint8) {
		n, uf, err := ParseCRM(s)
		if err != nil {
			if !errors.Is(err, ErrCRMForm) && !errors.Is(err, ErrCRMNumber) && !errors.Is(err, ErrCRMUF) {
				t.Fatalf("ParseCRM(%q): undeclared error %v", s, err)
			}
			if n != "" || uf != "" {
				t.Fatalf("ParseCRM(%q) = %q, %q with error %v", s, n, uf, err)
			}
		} else {
			if !crmNumber.MatchString(n) || !IsUF(uf) {
				t.Fatalf("ParseCRM(%q) = %q, %q", s, n, uf)
			}
			raw, _, _ := strings.Cut(s, "/")
			if len(raw) > 8 || strings.TrimLeft(raw, "0") != strings.TrimLeft(n, "0") || s != raw+"/"+uf {
				t.Fatalf("ParseCRM(%q) = %q, %q: not the input's number and UF", s, n, uf)
			}
			if n2, uf2, err := ParseCRM(CRM(n, uf)); err != nil || n2 != n || uf2 != uf {
				t.Fatalf("round trip of %q: %q → %q, %q, %v", s, CRM(n, uf), n2, uf2, err)
			}
		}

		// The proto's number form (^[0-9]{1,8}$) with any UF always parses, to the
		// number without its leading zeros.
		if regexp.MustCompile(`^[0-9]{1,8}$`).MatchString(number) {
			uf := UFs[int(ufIndex)%len(UFs)]
			n, got, err := ParseCRM(CRM(number, uf))
			if err != nil || n != NormalizeCRMNumber(number) || got != uf || NormalizeCRMNumber(n) != n {
				t.Fatalf("ParseCRM(%q) = %q, %q, %v", CRM(number, uf), n, got, err)
			}
		}
	})
}
