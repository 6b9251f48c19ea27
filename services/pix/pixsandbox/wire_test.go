package pixsandbox

import (
	"testing"
	"time"
)

func TestSignature_IsTheDocumentedHMAC(t *testing.T) {
	// HMAC-SHA256 of "id:1320000001;request-id:0f1e;ts:1742505638;" keyed with
	// "s3cret", computed apart from Go (openssl dgst -sha256 -hmac s3cret).
	const want = "ts=1742505638,v1=abc61ddcc4b1cba526c8b583238caa414d66662b8d1adc6cf63c3a67ad9dcd6a"
	if got := signature("s3cret", "1320000001", "0f1e", time.Unix(1742505638, 0)); got != want {
		t.Errorf("signature = %q, want %q", got, want)
	}
}

func TestAmount_ReaisAndCentavosExactly(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"19.99", 1999, true}, {"10.5", 1050, true}, {"10", 1000, true}, {"0.01", 1, true}, {"1000000", 100000000, true},
		{"1e2", 10000, true}, {"1.5E1", 1500, true}, {"19.990", 1999, true}, {"-3.25", -325, true}, {"0", 0, true},
		{"19.999", 0, false}, {"0.001", 0, false}, {"abc", 0, false}, {"", 0, false}, {"1e400", 0, false},
		{"12345678901234567", 0, false}, {"1e99999999999999", 0, false},
	} {
		got, err := parseAmount(tc.in)
		if tc.ok && (err != nil || got != tc.want) || !tc.ok && err == nil {
			t.Errorf("parseAmount(%q) = %d, %v; want %d (ok=%v)", tc.in, got, err, tc.want, tc.ok)
		}
	}
	for c, want := range map[int64]string{1999: "19.99", 1050: "10.5", 1000: "10", 1: "0.01", 0: "0", 100000000: "1000000"} {
		if got := formatAmount(c); got != want {
			t.Errorf("formatAmount(%d) = %q, want %q", c, got, want)
		}
	}
}
