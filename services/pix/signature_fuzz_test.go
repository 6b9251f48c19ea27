package pix

import (
	"context"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"healthcore/platform/errs"
)

// docManifest is the manifest as Mercado Pago's documentation spells it, apart from
// the code under test: pairs with an empty value left out, an alphanumeric data.id in
// lower case.
func docManifest(dataID, requestID, ts string) string {
	var m string
	if dataID != "" {
		if regexp.MustCompile(`^[A-Za-z0-9]+$`).MatchString(dataID) {
			dataID = strings.ToLower(dataID)
		}
		m += "id:" + dataID + ";"
	}
	if requestID != "" {
		m += "request-id:" + requestID + ";"
	}
	return m + "ts:" + ts + ";"
}

// lastTS is the header's ts as the documentation reads it: the comma-separated
// "key=value" parts, spaces around them ignored, the last ts winning.
func lastTS(header string) string {
	var ts string
	for _, part := range strings.Split(header, ",") {
		if k, v, ok := strings.Cut(strings.TrimSpace(part), "="); ok && strings.TrimSpace(k) == "ts" {
			ts = strings.TrimSpace(v)
		}
	}
	return ts
}

// FuzzVerifySignature: whatever a caller puts in x-signature, x-request-id and data.id,
// the notification is refused with SIGNATURE_INVALID or SIGNATURE_STALE (what the
// service answers, never INTERNAL), unless v1 is the HMAC of the documented manifest.
// With sign set, the fuzzer's header gets the genuine v1 for its ts appended: then
// the ts alone decides — a positive integer (seconds, or milliseconds from 10^12) is
// accepted within the tolerance of now and stale beyond it; anything else is invalid.
func FuzzVerifySignature(f *testing.F) {
	const secret = "webhook-secret"
	now := time.Date(2026, 3, 1, 14, 30, 0, 0, time.UTC)
	sec := strconv.FormatInt(now.Unix(), 10)
	valid := "ts=" + sec + ",v1=" + hmacHex(secret, docManifest("1320000001", "req-1", sec))
	for _, tc := range []struct {
		header, requestID, dataID string
		sign                      bool
	}{
		{valid, "req-1", "1320000001", false},
		{strings.ToUpper(valid), "req-1", "1320000001", false},
		{" v1=" + valid[len("ts="+sec+",v1="):] + " , ts=" + sec, "req-1", "1320000001", false},
		{"ts=" + sec, "req-1", "ABC123def", true},
		{"ts=" + strconv.FormatInt(now.UnixMilli(), 10), "", "", true},
		{"ts=" + strconv.FormatInt(now.Add(-6*time.Minute).Unix(), 10), "req-1", "1", true},
		{"ts=999999999999", "r", "1", true},
		{"ts=1000000000000", "r", "1", true},
		{"ts=9223372036854775807", "r", "1", true},
		{"ts=-1", "r", "1", true},
		{"ts=+" + sec, "r", "1", true},
		{"ts=0x10", "r", "1", true},
		{"ts=", "r", "1", true},
		{"v1=", "r", "1", true},
		{"ts=1,ts=2,v1=00", "r;request-id:x", "a;id:b", false},
		{"ts==,v1==,=", "", "", false},
		{",,,,", "", "", false},
		{"", "", "", false},
	} {
		f.Add(tc.header, tc.requestID, tc.dataID, tc.sign, int64(0))
	}
	f.Add(valid, "req-1", "1320000001", false, int64(301))
	f.Add(valid, "req-1", "1320000001", false, int64(-300))
	f.Fuzz(func(t *testing.T, header, requestID, dataID string, sign bool, skewSeconds int64) {
		at := now.Add(time.Duration(skewSeconds % (1 << 32) * int64(time.Second)))
		ts := lastTS(header)
		if sign {
			header += ",v1=" + hmacHex(secret, docManifest(dataID, requestID, ts))
		}
		got, err := VerifySignature([]byte(secret), DefaultSignatureTolerance, header, requestID, dataID, at)
		if err != nil {
			if !errors.Is(err, ErrSignatureInvalid) && !errors.Is(err, ErrSignatureStale) {
				t.Fatalf("VerifySignature(%q): undeclared error %v", header, err)
			}
			mapped := driverError(context.Background(), "verify notification", err)
			if !errs.Has(mapped, ReasonSignatureInvalid) && !errs.Has(mapped, ReasonSignatureStale) {
				t.Fatalf("VerifySignature(%q) = %v, answered as %v", header, err, mapped)
			}
		}
		n, perr := strconv.ParseInt(ts, 10, 64)
		genuine := strings.Contains(strings.ToLower(header), hmacHex(secret, docManifest(dataID, requestID, ts)))
		if perr != nil || n <= 0 || !genuine {
			if err == nil {
				t.Fatalf("VerifySignature(%q, request %q, data %q) accepted a header without a genuine v1 and ts", header, requestID, dataID)
			}
			if !sign {
				return
			}
			if !errors.Is(err, ErrSignatureInvalid) {
				t.Fatalf("VerifySignature(%q) = %v, want invalid (ts %q)", header, err, ts)
			}
			return
		}
		if !sign {
			return // a genuine v1 may sit in the header next to another
		}
		want := time.Unix(n, 0)
		if n >= 1_000_000_000_000 {
			want = time.UnixMilli(n)
		}
		if age := at.Sub(want); age > DefaultSignatureTolerance || age < -DefaultSignatureTolerance {
			if !errors.Is(err, ErrSignatureStale) {
				t.Fatalf("VerifySignature(%q) at %s = %v, want stale", header, at, err)
			}
		} else if err != nil {
			t.Fatalf("VerifySignature(%q) at %s = %v, want accepted", header, at, err)
		}
		if !got.Equal(want) {
			t.Fatalf("VerifySignature(%q) signed at %s, want %s", header, got, want)
		}
	})
}

// FuzzSignNotification: a notification signed at any second (up to 10^12, where ts
// turns into milliseconds) verifies within the tolerance, about any data.id and
// request id; another data.id or request id fails.
func FuzzSignNotification(f *testing.F) {
	f.Add([]byte("s3cret"), "ABC9", "0f1e", int64(1742505638), int64(0))
	f.Add([]byte(""), "", "", int64(1), int64(300))
	f.Add([]byte("k"), "a;id:b", "r,v1=00", int64(999_999_999_999), int64(-300))
	f.Add([]byte("k"), "ünïcode", " ", int64(1742505638), int64(-301))
	f.Fuzz(func(t *testing.T, secret []byte, dataID, requestID string, unix, skew int64) {
		if unix <= 0 || unix >= 1_000_000_000_000 {
			return
		}
		at := time.Unix(unix, 0)
		h := SignNotification(secret, dataID, requestID, at)
		now := at.Add(time.Duration(skew%(1<<32)) * time.Second)
		got, err := VerifySignature(secret, DefaultSignatureTolerance, h, requestID, dataID, now)
		switch age := now.Sub(at); {
		case age > DefaultSignatureTolerance || age < -DefaultSignatureTolerance:
			if !errors.Is(err, ErrSignatureStale) || !got.Equal(at) {
				t.Fatalf("signed at %s, verified at %s: %s, %v; want stale", at, now, got, err)
			}
		case err != nil || !got.Equal(at):
			t.Fatalf("signed at %s, verified at %s: %s, %v; want accepted", at, now, got, err)
		}
		if _, err := VerifySignature(secret, DefaultSignatureTolerance, h, requestID, dataID+"x", now); !errors.Is(err, ErrSignatureInvalid) {
			t.Fatalf("another data.id: %v, want invalid", err)
		}
		if _, err := VerifySignature(secret, DefaultSignatureTolerance, h, requestID+"x", dataID, now); !errors.Is(err, ErrSignatureInvalid) {
			t.Fatalf("another request id: %v, want invalid", err)
		}
	})
}
