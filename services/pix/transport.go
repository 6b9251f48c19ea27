package pix

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// ProductionBaseURL is Mercado Pago's API: the SDK builds every URL on it.
const ProductionBaseURL = "https://api.mercadopago.com"

// expirationLayout is date_of_expiration as Mercado Pago documents it,
// yyyy-MM-dd'T'HH:mm:ss.SSSz, e.g. 2026-03-01T14:30:00.000-03:00.
const expirationLayout = "2006-01-02T15:04:05.000-07:00"

// brasilia is the offset dates are written in; Brazil has had no daylight saving time
// since 2019.
var brasilia = time.FixedZone("BRT", -3*60*60)

// requester is the SDK's HTTP client (config.WithHTTPClient). SDK v1.8.0 has no
// base-URL option — every client joins a constant https://api.mercadopago.com URL —
// and no per-call idempotency option — it sets a random X-Idempotency-Key on every
// write. So this is where our settings reach the wire: Do sends each request to base
// (scheme, host and path prefix), with the caller's idempotency key from the context,
// through an http.Client whose Timeout bounds the call. The SDK's own default
// requester (3 retries, 2 s apart) is replaced, not wrapped: callers retry with the same
// idempotency key.
type requester struct {
	base   *url.URL
	client *http.Client
}

type idempotencyKeyCtx struct{}

// withIdempotencyKey makes the requester send key as the X-Idempotency-Key of the
// write made with ctx.
func withIdempotencyKey(ctx context.Context, key string) context.Context {
	return context.WithValue(ctx, idempotencyKeyCtx{}, key)
}

// Do implements the SDK's requester.Requester.
func (r *requester) Do(req *http.Request) (*http.Response, error) {
	out := req.Clone(req.Context())
	out.URL.Scheme = r.base.Scheme
	out.URL.Host = r.base.Host
	out.URL.Path = strings.TrimSuffix(r.base.Path, "/") + req.URL.Path
	out.URL.RawPath = ""
	out.Host = r.base.Host // Clone keeps the Host header the SDK's URL gave: api.mercadopago.com
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		key, _ := req.Context().Value(idempotencyKeyCtx{}).(string)
		if key == "" {
			// A random key (the SDK's) would make a retry charge twice: refuse instead.
			return nil, fmt.Errorf("pix: %s %s without an idempotency key", req.Method, req.URL.Path)
		}
		out.Header.Set("X-Idempotency-Key", key)
	}
	if req.Method == http.MethodPost && req.URL.Path == "/v1/payments" && req.Body != nil {
		if err := rewriteExpiration(out); err != nil {
			return nil, err
		}
	}
	return r.client.Do(out)
}

// rewriteExpiration writes date_of_expiration in the documented layout. The SDK holds
// it in a time.Time, which encoding/json writes as RFC 3339 with trailing zeros of the
// fraction cut and "Z" for UTC ("2026-03-01T17:30:00Z"), not yyyy-MM-dd'T'HH:mm:ss.SSSz.
func rewriteExpiration(req *http.Request) error {
	raw, err := io.ReadAll(req.Body)
	req.Body.Close()
	if err != nil {
		return err
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return fmt.Errorf("pix: payment request body: %w", err)
	}
	if v, ok := fields["date_of_expiration"]; ok {
		var t time.Time
		if err := json.Unmarshal(v, &t); err != nil {
			return fmt.Errorf("pix: date_of_expiration: %w", err)
		}
		fields["date_of_expiration"], _ = json.Marshal(t.In(brasilia).Format(expirationLayout))
		if raw, err = json.Marshal(fields); err != nil {
			return err
		}
	}
	req.Body = io.NopCloser(bytes.NewReader(raw))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(raw)), nil }
	req.ContentLength = int64(len(raw))
	return nil
}

// parseBaseURL checks a base URL: absolute http(s), no query or fragment.
func parseBaseURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, err
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, errors.New("want an absolute http(s) URL without query, fragment or credentials, e.g. " + ProductionBaseURL)
	}
	return u, nil
}
