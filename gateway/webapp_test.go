package gateway_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"healthcore/gateway"
)

// app is a built web app as Vite lays it out.
var app = fstest.MapFS{
	"index.html":              {Data: []byte(`<!doctype html><title>Healthcore</title><script type="module" src="/assets/index-abc123.js"></script>`)},
	"favicon.svg":             {Data: []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`)},
	"assets/index-abc123.js":  {Data: []byte(`console.log("app")`)},
	"assets/index-def456.css": {Data: []byte(`body{margin:0}`)},
}

func TestWebApp_ServedAtTheRootWithItsPolicyAndCaching(t *testing.T) {
	e := serve(t, gateway.Options{WebApp: app})
	page := string(app["index.html"].Data)
	tests := []struct {
		path, body, contentType, cache string
	}{
		{"/", page, "text/html; charset=utf-8", "no-cache"},
		{"/index.html", page, "text/html; charset=utf-8", "no-cache"},
		// The app's own routes, bookmarked or opened from an e-mail: the page.
		{"/app/verify-email?token=abc", page, "text/html; charset=utf-8", "no-cache"},
		{"/app/doctors/3f1c", page, "text/html; charset=utf-8", "no-cache"},
		{"/assets/", page, "text/html; charset=utf-8", "no-cache"},
		{"/assets/index-abc123.js", `console.log("app")`, "text/javascript; charset=utf-8", "public, max-age=31536000, immutable"},
		{"/assets/index-def456.css", `body{margin:0}`, "text/css; charset=utf-8", "public, max-age=31536000, immutable"},
		{"/favicon.svg", string(app["favicon.svg"].Data), "image/svg+xml", "no-cache"},
	}
	for _, tt := range tests {
		r := do(t, http.MethodGet, e.url+tt.path, nil, nil)
		if r.status != http.StatusOK || string(r.body) != tt.body {
			t.Errorf("GET %s: %d %q, want 200 %q", tt.path, r.status, r.body, tt.body)
			continue
		}
		for k, want := range map[string]string{
			"Content-Type":            tt.contentType,
			"Cache-Control":           tt.cache,
			"Content-Security-Policy": gateway.WebContentSecurityPolicy,
			"X-Content-Type-Options":  "nosniff",
			"Referrer-Policy":         "same-origin",
			"X-Frame-Options":         "DENY",
		} {
			if got := r.header.Get(k); got != want {
				t.Errorf("GET %s: %s %q, want %q", tt.path, k, got, want)
			}
		}
	}
	for _, want := range []string{"default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:",
		"connect-src 'self'", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'"} {
		if !strings.Contains(gateway.WebContentSecurityPolicy, want) {
			t.Errorf("the policy lacks %q", want)
		}
	}
	// The consultation page frames the development video room (meet.jit.si, the
	// meetings service's default local driver), and nothing else.
	if got := regexp.MustCompile(`frame-src [^;]*`).FindString(gateway.WebContentSecurityPolicy); got != "frame-src https://meet.jit.si" {
		t.Errorf("frame-src = %q, want the Jitsi room's origin only", got)
	}
	// The Chime SDK of the consultation page: its signalling and media-control
	// WebSockets and HTTPS calls under chime.aws, and its blob: worker; no other origin
	// is reachable (not a wider wss: or https:, not another AWS domain).
	if got := regexp.MustCompile(`connect-src [^;]*`).FindString(gateway.WebContentSecurityPolicy); got != "connect-src 'self' wss://*.chime.aws https://*.chime.aws" {
		t.Errorf("connect-src = %q, want the edge and Chime's origins only", got)
	}
	if got := regexp.MustCompile(`worker-src [^;]*`).FindString(gateway.WebContentSecurityPolicy); got != "worker-src 'self' blob:" {
		t.Errorf("worker-src = %q, want the app's and the Chime SDK's blob: worker only", got)
	}
	if strings.Contains(gateway.WebContentSecurityPolicy, "unsafe") {
		t.Errorf("the policy allows something unsafe: %s", gateway.WebContentSecurityPolicy)
	}
	if r := do(t, http.MethodHead, e.url+"/app/login", nil, nil); r.status != http.StatusOK || len(r.body) != 0 {
		t.Errorf("HEAD /app/login: %d %q", r.status, r.body)
	}
}

func TestWebApp_APIPathsStayTheAPIs(t *testing.T) {
	up, _ := identityUpstream(t, nil)
	e := serve(t, gateway.Options{Upstreams: []gateway.Upstream{up}, WebApp: app})
	// Unknown paths under the API's prefixes are the API's 404, in its JSON form.
	for _, p := range []string{"/v1/nothing", "/v1", "/webhooks/nothing", "/.well-known/nothing", "/dev/nothing", "/metrics", "/debug/pprof/"} {
		r := do(t, http.MethodGet, e.url+p, nil, nil)
		if r.status != http.StatusNotFound {
			t.Errorf("GET %s: %d %s, want 404", p, r.status, r.body)
			continue
		}
		if got := parseError(t, r); got.reason != gateway.ReasonRouteNotFound.Name() {
			t.Errorf("GET %s: reason %q", p, got.reason)
		}
		if got := r.header.Get("Content-Security-Policy"); got == gateway.WebContentSecurityPolicy {
			t.Errorf("GET %s: the app's policy on an API answer", p)
		}
	}
	// A route of the API answers as before, with the API's headers.
	r := do(t, http.MethodGet, e.url+"/v1/me", nil, nil)
	if r.status != http.StatusUnauthorized || r.header.Get("Cache-Control") != "no-store" {
		t.Errorf("GET /v1/me: %d Cache-Control %q", r.status, r.header.Get("Cache-Control"))
	}
	// A POST to a path that is no route is the API's 404, not the page.
	r = do(t, http.MethodPost, e.url+"/app/login", strings.NewReader(`{}`), http.Header{"Content-Type": {"application/json"}})
	if r.status != http.StatusNotFound || parseError(t, r).reason != gateway.ReasonRouteNotFound.Name() {
		t.Errorf("POST /app/login: %d %s", r.status, r.body)
	}
	// The edge's own pages keep theirs.
	if r := do(t, http.MethodGet, e.url+"/healthz", nil, nil); r.status != http.StatusOK || strings.TrimSpace(string(r.body)) != "ok" {
		t.Errorf("GET /healthz: %d %q", r.status, r.body)
	}
	if r := do(t, http.MethodGet, e.url+"/openapi.json", nil, nil); r.status != http.StatusOK || !strings.Contains(string(r.body), `"swagger"`) {
		t.Errorf("GET /openapi.json: %d", r.status)
	}
}

func TestWebApp_NoneConfiguredLeavesTheRootToTheAPI(t *testing.T) {
	e := serve(t, gateway.Options{})
	r := do(t, http.MethodGet, e.url+"/", nil, nil)
	if r.status != http.StatusNotFound || parseError(t, r).reason != gateway.ReasonRouteNotFound.Name() {
		t.Errorf("GET / without an app: %d %s", r.status, r.body)
	}
}
