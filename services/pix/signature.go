package pix

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// DefaultSignatureTolerance is how far a notification's signing time may be from now.
const DefaultSignatureTolerance = 5 * time.Minute

// millisecondsFrom tells a ts in milliseconds from one in seconds: 10^12 seconds is
// about the year 33658, while 10^12 milliseconds is September 2001.
const millisecondsFrom = 1_000_000_000_000

// VerifySignature checks Mercado Pago's x-signature header ("ts=<ts>,v1=<hex>"): v1
// must be the HMAC-SHA256, keyed with secret, of the manifest
// "id:<data.id>;request-id:<x-request-id>;ts:<ts>;" (a pair whose value is missing is
// left out; an alphanumeric data.id is lower-cased), and ts — seconds or milliseconds
// since 1970, the documentation shows both — must be within tolerance of now. It returns
// the signing time. Errors wrap ErrSignatureInvalid or ErrSignatureStale.
func VerifySignature(secret []byte, tolerance time.Duration, xSignature, xRequestID, dataID string, now time.Time) (time.Time, error) {
	ts, v1, err := parseSignature(xSignature)
	if err != nil {
		return time.Time{}, err
	}
	signTime, err := parseTS(ts)
	if err != nil {
		return time.Time{}, err
	}
	got, err := hex.DecodeString(v1)
	if err != nil || len(got) != sha256.Size {
		return time.Time{}, fmt.Errorf("%w: v1 is not a hex SHA-256 digest", ErrSignatureInvalid)
	}
	if !hmac.Equal(got, signManifest(secret, manifest(dataID, xRequestID, ts))) {
		return time.Time{}, fmt.Errorf("%w: v1 does not match", ErrSignatureInvalid)
	}
	// Checked after the MAC, so "stale" is only ever said of a genuine signature.
	if age := now.Sub(signTime); age > tolerance || age < -tolerance {
		return signTime, fmt.Errorf("%w: signed at %s, %s from now (tolerance %s)",
			ErrSignatureStale, signTime.UTC().Format(time.RFC3339), age.Round(time.Second), tolerance)
	}
	return signTime, nil
}

// SignNotification returns the x-signature header Mercado Pago would send for a
// notification about dataID with request id xRequestID, signed at ts (in seconds).
func SignNotification(secret []byte, dataID, xRequestID string, ts time.Time) string {
	t := strconv.FormatInt(ts.Unix(), 10)
	return "ts=" + t + ",v1=" + hex.EncodeToString(signManifest(secret, manifest(dataID, xRequestID, t)))
}

func manifest(dataID, xRequestID, ts string) string {
	var b strings.Builder
	if dataID != "" {
		if isAlphanumeric(dataID) {
			dataID = strings.ToLower(dataID)
		}
		b.WriteString("id:" + dataID + ";")
	}
	if xRequestID != "" {
		b.WriteString("request-id:" + xRequestID + ";")
	}
	b.WriteString("ts:" + ts + ";")
	return b.String()
}

func signManifest(secret []byte, m string) []byte {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(m))
	return mac.Sum(nil)
}

// parseSignature splits "ts=…,v1=…" (parts in any order, spaces allowed).
func parseSignature(h string) (ts, v1 string, err error) {
	for part := range strings.SplitSeq(h, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		switch strings.TrimSpace(k) {
		case "ts":
			ts = strings.TrimSpace(v)
		case "v1":
			v1 = strings.TrimSpace(v)
		}
	}
	if ts == "" || v1 == "" {
		return "", "", fmt.Errorf("%w: x-signature lacks ts or v1", ErrSignatureInvalid)
	}
	return ts, v1, nil
}

func parseTS(ts string) (time.Time, error) {
	n, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || n <= 0 {
		return time.Time{}, fmt.Errorf("%w: ts %q is not a positive integer", ErrSignatureInvalid, ts)
	}
	if n >= millisecondsFrom {
		return time.UnixMilli(n), nil
	}
	return time.Unix(n, 0), nil
}

func isAlphanumeric(s string) bool {
	for _, r := range s {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9') {
			return false
		}
	}
	return s != ""
}
