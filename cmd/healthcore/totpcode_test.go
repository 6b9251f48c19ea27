package main

import (
	"strings"
	"testing"
	"time"
)

// The SHA-1 vectors of RFC 6238 appendix B (secret "12345678901234567890"), cut to
// the six digits authenticator apps show.
func TestTOTPCode_PrintsRFC6238Codes(t *testing.T) {
	const secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
	for at, want := range map[int64]string{59: "287082", 1111111109: "081804", 1234567890: "005924", 2000000000: "279037"} {
		var out strings.Builder
		if err := runTOTPCode([]string{secret}, &out, time.Unix(at, 0)); err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(out.String()); got != want {
			t.Errorf("code at %d = %s, want %s", at, got, want)
		}
	}
	if err := runTOTPCode(nil, &strings.Builder{}, time.Now()); err == nil {
		t.Error("no secret accepted")
	}
	if err := runTOTPCode([]string{"not base32!"}, &strings.Builder{}, time.Now()); err == nil {
		t.Error("a secret that is not base32 accepted")
	}
}
