package docs

import (
	"bytes"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

const specURL = "/openapi.json"

func serve(t *testing.T, h http.Handler, method, target string, hdr http.Header) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, v := range hdr {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func checkSecurityHeaders(t *testing.T, rec *httptest.ResponseRecorder, what string) {
	t.Helper()
	want := map[string]string{
		"Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'",
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "no-referrer",
	}
	for k, v := range want {
		if got := rec.Header().Get(k); got != v {
			t.Errorf("%s: %s = %q, want %q", what, k, got, v)
		}
	}
}

func TestPage(t *testing.T) {
	h := Handler(specURL)
	for _, p := range []string{"/docs", "/docs/"} {
		rec := serve(t, h, http.MethodGet, p, nil)
		if rec.Code != http.StatusOK {
			t.Fatalf("GET %s: status %d", p, rec.Code)
		}
		if ct := rec.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
			t.Errorf("GET %s: Content-Type %q", p, ct)
		}
		checkSecurityHeaders(t, rec, "GET "+p)
		body := rec.Body.String()
		for _, want := range []string{
			"<title>Healthcore API</title>",
			`href="/docs/assets/swagger-ui.css?v=`,
			`src="/docs/assets/swagger-ui-bundle.js?v=`,
			`src="/docs/assets/init.js?v=`,
			`data-spec-url="/openapi.json"`,
		} {
			if !strings.Contains(body, want) {
				t.Errorf("GET %s: page lacks %q:\n%s", p, want, body)
			}
		}
		// No third-party URLs and no inline script: the CSP allows scripts from 'self' only.
		for _, bad := range []string{"http://", "https://", "<script>"} {
			if strings.Contains(body, bad) {
				t.Errorf("GET %s: page contains %q", p, bad)
			}
		}
	}

	rec := serve(t, h, http.MethodHead, "/docs", nil)
	if rec.Code != http.StatusOK || rec.Body.Len() != 0 {
		t.Errorf("HEAD /docs: status %d, %d body bytes", rec.Code, rec.Body.Len())
	}
}

func TestPageEscapesSpecURL(t *testing.T) {
	body := serve(t, Handler(`/x"><script>alert(1)</script>`), http.MethodGet, "/docs", nil).Body.String()
	if strings.Contains(body, "<script>alert") {
		t.Fatalf("spec URL not escaped:\n%s", body)
	}
}

func TestInitScript(t *testing.T) {
	data, err := assetsFS.ReadFile("assets/init.js")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"SwaggerUIBundle(", `getAttribute("data-spec-url")`,
		"deepLinking: true", "persistAuthorization: true", "tryItOutEnabled: true",
	} {
		if !bytes.Contains(data, []byte(want)) {
			t.Errorf("init.js lacks %q", want)
		}
	}
}

func TestAssets(t *testing.T) {
	h := Handler(specURL)
	want := map[string]string{
		"swagger-ui-bundle.js":             "text/javascript; charset=utf-8",
		"swagger-ui.css":                   "text/css; charset=utf-8",
		"init.js":                          "text/javascript; charset=utf-8",
		"LICENSE":                          "text/plain; charset=utf-8",
		"NOTICE":                           "text/plain; charset=utf-8",
		"swagger-ui-bundle.js.LICENSE.txt": "text/plain; charset=utf-8",
	}
	// Every embedded file must be expected here, so the set stays small and deliberate.
	err := fs.WalkDir(assetsFS, "assets", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if _, ok := want[strings.TrimPrefix(p, "assets/")]; !ok {
				t.Errorf("unexpected embedded file %s", p)
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	for name, ct := range want {
		embedded, err := assetsFS.ReadFile("assets/" + name)
		if err != nil {
			t.Fatalf("%s not embedded: %v", name, err)
		}
		target := "/docs/assets/" + name
		rec := serve(t, h, http.MethodGet, target, nil)
		if rec.Code != http.StatusOK {
			t.Errorf("GET %s: status %d", target, rec.Code)
			continue
		}
		if got := rec.Header().Get("Content-Type"); got != ct {
			t.Errorf("GET %s: Content-Type %q, want %q", target, got, ct)
		}
		if got := rec.Header().Get("Cache-Control"); !strings.Contains(got, "immutable") || !strings.Contains(got, "max-age=31536000") {
			t.Errorf("GET %s: Cache-Control %q", target, got)
		}
		checkSecurityHeaders(t, rec, "GET "+target)
		if rec.Body.Len() == 0 || !bytes.Equal(rec.Body.Bytes(), embedded) {
			t.Errorf("GET %s: body (%d bytes) differs from embedded file (%d bytes)", target, rec.Body.Len(), len(embedded))
		}

		// The query string the page adds for cache busting is ignored.
		if rec := serve(t, h, http.MethodGet, target+"?v=abc", nil); rec.Code != http.StatusOK {
			t.Errorf("GET %s?v=abc: status %d", target, rec.Code)
		}
		// Revalidation with the ETag answers 304.
		etag := rec.Header().Get("ETag")
		if etag == "" {
			t.Errorf("GET %s: no ETag", target)
		} else if rec := serve(t, h, http.MethodGet, target, http.Header{"If-None-Match": {etag}}); rec.Code != http.StatusNotModified {
			t.Errorf("GET %s with If-None-Match: status %d, want 304", target, rec.Code)
		}
		if rec := serve(t, h, http.MethodHead, target, nil); rec.Code != http.StatusOK || rec.Body.Len() != 0 {
			t.Errorf("HEAD %s: status %d, %d body bytes", target, rec.Code, rec.Body.Len())
		}
	}
}

func TestNotFound(t *testing.T) {
	h := Handler(specURL)
	for _, p := range []string{
		"/docs/nope",
		"/docs/index.html",
		"/docs/assets",
		"/docs/assets/",
		"/docs/assets/nope.js",
		"/docs/assets/swagger-ui-bundle.js.map",
		"/docs/assets/index.html",
		"/docs/assets/../docs.go",
		"/docsx",
		"/openapi.json",
	} {
		rec := serve(t, h, http.MethodGet, p, nil)
		if rec.Code != http.StatusNotFound {
			t.Errorf("GET %s: status %d, want 404", p, rec.Code)
		}
		checkSecurityHeaders(t, rec, "GET "+p)
	}
}

func TestMethodNotAllowed(t *testing.T) {
	h := Handler(specURL)
	for _, p := range []string{"/docs", "/docs/", "/docs/assets/swagger-ui.css"} {
		for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch} {
			rec := serve(t, h, m, p, nil)
			if rec.Code != http.StatusMethodNotAllowed {
				t.Errorf("%s %s: status %d, want 405", m, p, rec.Code)
			}
			if got := rec.Header().Get("Allow"); got != "GET, HEAD" {
				t.Errorf("%s %s: Allow %q", m, p, got)
			}
		}
	}
}

// TestUnderServeMux checks the handler as the gateway mounts it.
func TestUnderServeMux(t *testing.T) {
	mux := http.NewServeMux()
	h := Handler(specURL)
	mux.Handle(Prefix, h)
	mux.Handle(Prefix+"/", h)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	for p, code := range map[string]int{
		"/docs":                        http.StatusOK,
		"/docs/":                       http.StatusOK,
		"/docs/assets/swagger-ui.css":  http.StatusOK,
		"/docs/assets/missing.css":     http.StatusNotFound,
		"/docs/assets/":                http.StatusNotFound,
		"/docs/assets/init.js?v=x#top": http.StatusOK,
	} {
		resp, err := srv.Client().Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != code {
			t.Errorf("GET %s: status %d, want %d", p, resp.StatusCode, code)
		}
		if resp.Header.Get("Content-Security-Policy") == "" {
			t.Errorf("GET %s: no Content-Security-Policy", p)
		}
	}
}
