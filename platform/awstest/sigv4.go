package awstest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// VerifySigV4 checks a request's AWS Signature Version 4 the way AWS does: it rebuilds
// the canonical request from what arrived (method, path, query, the headers the
// Authorization header names, the body's SHA-256), derives the signing key from the
// secret, and compares signatures. It is written from the published algorithm, not
// with the SDK's signer, so a misuse of the signer cannot verify itself. It returns
// the credential scope (date/region/service/aws4_request).
func VerifySigV4(r *http.Request, body []byte, creds aws.Credentials, region, service string, now time.Time) (string, error) {
	rest, ok := strings.CutPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ")
	if !ok {
		return "", fmt.Errorf("authorization %q is not AWS4-HMAC-SHA256", r.Header.Get("Authorization"))
	}
	fields := map[string]string{}
	for kv := range strings.SplitSeq(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(kv), "=")
		fields[k] = v
	}
	akid, scope, _ := strings.Cut(fields["Credential"], "/")
	if akid != creds.AccessKeyID {
		return scope, fmt.Errorf("access key %q, want %q", akid, creds.AccessKeyID)
	}
	amzDate := r.Header.Get("X-Amz-Date")
	signTime, err := time.Parse("20060102T150405Z", amzDate)
	if err != nil {
		return scope, fmt.Errorf("X-Amz-Date %q: %v", amzDate, err)
	}
	if d := now.Sub(signTime); d > 5*time.Minute || d < -5*time.Minute {
		return scope, fmt.Errorf("signed at %s, %s from now", amzDate, d)
	}
	if want := signTime.Format("20060102") + "/" + region + "/" + service + "/aws4_request"; scope != want {
		return scope, fmt.Errorf("credential scope %q, want %q", scope, want)
	}
	signed := strings.Split(fields["SignedHeaders"], ";")
	for _, must := range []string{"host", "x-amz-date"} {
		if !slices.Contains(signed, must) {
			return scope, fmt.Errorf("signed headers %v lack %s", signed, must)
		}
	}
	if creds.SessionToken != "" && (!slices.Contains(signed, "x-amz-security-token") ||
		r.Header.Get("X-Amz-Security-Token") != creds.SessionToken) {
		return scope, fmt.Errorf("session token not sent or not signed")
	}
	var canonHeaders strings.Builder
	for _, h := range signed {
		v := strings.Join(r.Header.Values(h), ",")
		switch h {
		case "host":
			v = r.Host
		case "content-length":
			v = strconv.FormatInt(r.ContentLength, 10)
		}
		canonHeaders.WriteString(h + ":" + strings.Join(strings.Fields(v), " ") + "\n")
	}
	sum := sha256.Sum256(body)
	canonical := strings.Join([]string{
		r.Method, canonicalPath(r.URL), canonicalQuery(r.URL.Query()), canonHeaders.String(),
		fields["SignedHeaders"], hex.EncodeToString(sum[:]),
	}, "\n")
	creqSum := sha256.Sum256([]byte(canonical))
	toSign := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(creqSum[:])
	key := []byte("AWS4" + creds.SecretAccessKey)
	for _, part := range []string{signTime.Format("20060102"), region, service, "aws4_request"} {
		key = hmacSHA256(key, part)
	}
	want := hex.EncodeToString(hmacSHA256(key, toSign))
	if !hmac.Equal([]byte(fields["Signature"]), []byte(want)) {
		return scope, fmt.Errorf("signature does not match (canonical request:\n%s)", canonical)
	}
	return scope, nil
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// canonicalPath URI-encodes each segment of the escaped path once more, as SigV4
// does for every service but S3.
func canonicalPath(u *url.URL) string {
	p := u.EscapedPath()
	if p == "" {
		return "/"
	}
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = uriEncode(s)
	}
	return strings.Join(segs, "/")
}

func canonicalQuery(q url.Values) string {
	var parts []string
	for k, vs := range q {
		for _, v := range vs {
			parts = append(parts, uriEncode(k)+"="+uriEncode(v))
		}
	}
	slices.Sort(parts)
	return strings.Join(parts, "&")
}

// uriEncode percent-encodes everything but RFC 3986's unreserved characters.
func uriEncode(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || strings.IndexByte("-_.~", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}
