package pix

import (
	"encoding/json"
	"testing"
)

func TestMoney_CentavosSurviveTheSDKsFloat64(t *testing.T) {
	check := func(c int64) {
		f := reaisFloat(c)
		wire, err := json.Marshal(f) // what the SDK sends
		if err != nil {
			t.Fatal(err)
		}
		if string(wire) != formatReais(c) {
			t.Fatalf("%d centavos go on the wire as %s, want %s", c, wire, formatReais(c))
		}
		var back float64 // what the SDK decodes from the answer
		if err := json.Unmarshal([]byte(formatReais(c)), &back); err != nil {
			t.Fatal(err)
		}
		if got, err := centsFromFloat(back); err != nil || got != c {
			t.Fatalf("%s reais read back as %d centavos (%v), want %d", formatReais(c), got, err, c)
		}
	}
	for c := int64(0); c <= 20_000; c++ { // every amount up to R$ 200,00
		check(c)
	}
	for c := int64(20_001); c <= 100_000_000; c += 9_973 { // a prime stride up to the maximum
		check(c)
	}
	check(100_000_000)
}

func TestMoney_ParseReais(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"19.99", 1999, true}, {"10.5", 1050, true}, {"10", 1000, true}, {"0.01", 1, true}, {"1000000.00", 100000000, true},
		{"1e2", 10000, true}, {"1.5E1", 1500, true}, {"19.990", 1999, true}, {".5", 50, true}, {"-3.25", -325, true}, {"0", 0, true},
		{"19.999", 0, false}, {"0.001", 0, false}, {"abc", 0, false}, {"", 0, false}, {"1.2.3", 0, false}, {"1e400", 0, false},
		{"12345678901234567", 0, false},
	} {
		got, err := parseReais(tc.in)
		if tc.ok && (err != nil || got != tc.want) || !tc.ok && err == nil {
			t.Errorf("parseReais(%q) = %d, %v; want %d (ok=%v)", tc.in, got, err, tc.want, tc.ok)
		}
	}
	for c, want := range map[int64]string{1999: "19.99", 1050: "10.5", 1000: "10", 1: "0.01", 0: "0", 100000000: "1000000"} {
		if got := formatReais(c); got != want {
			t.Errorf("formatReais(%d) = %q, want %q", c, got, want)
		}
	}
}
