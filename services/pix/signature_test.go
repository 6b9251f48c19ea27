package pix

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
)

// hmacHex computes a v1 the way Mercado Pago's documentation spells it, independently
// of the code under test.
func hmacHex(secret, manifest string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(manifest))
	return hex.EncodeToString(m.Sum(nil))
}

func TestVerifySignature(t *testing.T) {
	const secret = "webhook-secret"
	now := time.Date(2026, 3, 1, 14, 30, 0, 0, time.UTC)
	sec := strconv.FormatInt(now.Unix(), 10)
	ms := strconv.FormatInt(now.UnixMilli(), 10)
	staleSec := strconv.FormatInt(now.Add(-6*time.Minute).Unix(), 10)
	staleMs := strconv.FormatInt(now.Add(-6*time.Minute).UnixMilli(), 10)
	future := strconv.FormatInt(now.Add(6*time.Minute).Unix(), 10)
	valid := hmacHex(secret, "id:1320000001;request-id:req-1;ts:"+sec+";")
	tampered := []byte(valid)
	tampered[10] ^= 1

	for _, tc := range []struct {
		name, header, requestID, dataID string
		want                            error
		signTime                        time.Time
	}{
		{"valid, ts in seconds", "ts=" + sec + ",v1=" + valid, "req-1", "1320000001", nil, now},
		{"valid, ts in milliseconds", "ts=" + ms + ",v1=" + hmacHex(secret, "id:1320000001;request-id:req-1;ts:"+ms+";"), "req-1", "1320000001", nil, now},
		{"valid, parts reversed and spaced", " v1=" + valid + " , ts=" + sec, "req-1", "1320000001", nil, now},
		{"valid, upper-case hex", "ts=" + sec + ",v1=" + strings.ToUpper(valid), "req-1", "1320000001", nil, now},
		{"upper-case alphanumeric data.id is lower-cased", "ts=" + sec + ",v1=" + hmacHex(secret, "id:abc123def;request-id:req-1;ts:"+sec+";"), "req-1", "ABC123def", nil, now},
		{"missing x-request-id leaves its pair out", "ts=" + sec + ",v1=" + hmacHex(secret, "id:1320000001;ts:"+sec+";"), "", "1320000001", nil, now},
		{"missing data.id leaves its pair out", "ts=" + sec + ",v1=" + hmacHex(secret, "request-id:req-1;ts:"+sec+";"), "req-1", "", nil, now},
		{"tampered v1", "ts=" + sec + ",v1=" + string(tampered), "req-1", "1320000001", ErrSignatureInvalid, time.Time{}},
		{"wrong secret", "ts=" + sec + ",v1=" + hmacHex("other-secret", "id:1320000001;request-id:req-1;ts:"+sec+";"), "req-1", "1320000001", ErrSignatureInvalid, time.Time{}},
		{"other data.id", "ts=" + sec + ",v1=" + valid, "req-1", "1320000002", ErrSignatureInvalid, time.Time{}},
		{"other request id", "ts=" + sec + ",v1=" + valid, "req-2", "1320000001", ErrSignatureInvalid, time.Time{}},
		{"missing ts", "v1=" + valid, "req-1", "1320000001", ErrSignatureInvalid, time.Time{}},
		{"missing v1", "ts=" + sec, "req-1", "1320000001", ErrSignatureInvalid, time.Time{}},
		{"ts not a number", "ts=yesterday,v1=" + valid, "req-1", "1320000001", ErrSignatureInvalid, time.Time{}},
		{"v1 not hex", "ts=" + sec + ",v1=zz" + valid[2:], "req-1", "1320000001", ErrSignatureInvalid, time.Time{}},
		{"empty header", "", "req-1", "1320000001", ErrSignatureInvalid, time.Time{}},
		{"stale, seconds", "ts=" + staleSec + ",v1=" + hmacHex(secret, "id:1320000001;request-id:req-1;ts:"+staleSec+";"), "req-1", "1320000001", ErrSignatureStale, now.Add(-6 * time.Minute)},
		{"stale, milliseconds", "ts=" + staleMs + ",v1=" + hmacHex(secret, "id:1320000001;request-id:req-1;ts:"+staleMs+";"), "req-1", "1320000001", ErrSignatureStale, now.Add(-6 * time.Minute)},
		{"too far ahead", "ts=" + future + ",v1=" + hmacHex(secret, "id:1320000001;request-id:req-1;ts:"+future+";"), "req-1", "1320000001", ErrSignatureStale, now.Add(6 * time.Minute)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := VerifySignature([]byte(secret), DefaultSignatureTolerance, tc.header, tc.requestID, tc.dataID, now)
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("error = %v, want %v", err, tc.want)
			}
			if !got.Equal(tc.signTime) {
				t.Errorf("sign time = %v, want %v", got, tc.signTime)
			}
		})
	}
}

func TestVerifySignature_ToleranceIsConfigurable(t *testing.T) {
	now := time.Now()
	h := SignNotification([]byte("s"), "42", "r", now.Add(-90*time.Second))
	if _, err := VerifySignature([]byte("s"), time.Minute, h, "r", "42", now); !errors.Is(err, ErrSignatureStale) {
		t.Errorf("90 s old with a 1 min tolerance: %v, want stale", err)
	}
	if _, err := VerifySignature([]byte("s"), 2*time.Minute, h, "r", "42", now); err != nil {
		t.Errorf("90 s old with a 2 min tolerance: %v, want accepted", err)
	}
}

func TestSignNotification_WritesTheDocumentedHeader(t *testing.T) {
	ts := time.Unix(1742505638, 0)
	want := "ts=1742505638,v1=" + hmacHex("s3cret", "id:abc9;request-id:0f1e;ts:1742505638;")
	if got := SignNotification([]byte("s3cret"), "ABC9", "0f1e", ts); got != want {
		t.Errorf("SignNotification = %q, want %q", got, want)
	}
}
