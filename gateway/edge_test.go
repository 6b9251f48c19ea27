package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"healthcore/gateway"
)

func TestGateway_BodyOverTheLimitIsRefusedAndNothingIsStored(t *testing.T) {
	t.Parallel()
	up, db := identityUpstream(t, nil)
	const limit = 2048
	e := serve(t, gateway.Options{Upstreams: []gateway.Upstream{up}, MaxBodyBytes: limit})
	body := func(email, cpf string, padding int) []byte {
		b, err := json.Marshal(patient(email, cpf))
		if err != nil {
			t.Fatal(err)
		}
		// Padding after the object: a decoder that stops at the object's end would
		// accept the request without ever reading past the limit.
		return append(b, bytes.Repeat([]byte(" "), padding)...)
	}
	stored := func(email string) bool {
		var n int
		if err := db.QueryRow(context.Background(), `SELECT count(*) FROM accounts WHERE email = $1`, email).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n > 0
	}
	// chunked hides the length, so the body arrives with Transfer-Encoding: chunked.
	chunked := func(b []byte) io.Reader { return io.MultiReader(bytes.NewReader(b)) }

	tests := []struct {
		name   string
		email  string
		body   io.Reader
		status int
		stored bool
	}{
		{"Content-Length over the limit", "cl@exemplo.com.br", bytes.NewReader(body("cl@exemplo.com.br", "52998224725", 3000)), 413, false},
		{"chunked over the limit", "chunked@exemplo.com.br", chunked(body("chunked@exemplo.com.br", "11144477735", 3000)), 413, false},
		{"chunked within the limit", "small@exemplo.com.br", chunked(body("small@exemplo.com.br", "39053344705", 100)), 202, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := do(t, http.MethodPost, e.url+"/v1/accounts/patients", tt.body, http.Header{"Content-Type": {"application/json"}})
			if r.status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.body)
			}
			if tt.status == 413 {
				got := parseError(t, r)
				if got.code != 3 || !strings.Contains(got.message, "2048") {
					t.Errorf("body %s, want code 3 and a message naming the limit", r.body)
				}
			}
			if s := stored(tt.email); s != tt.stored {
				t.Errorf("account stored = %v, want %v", s, tt.stored)
			}
		})
	}
}

func TestGateway_HealthzAndReadyz(t *testing.T) {
	t.Parallel()
	up, _ := identityUpstream(t, nil)
	down := up
	down.Addr = closedAddr(t)
	tests := []struct {
		name     string
		upstream gateway.Upstream
		path     string
		status   int
		body     string
		ops      string // what the ops listener's detail says of the upstream
	}{
		{"live", up, "/healthz", 200, "ok", ""},
		{"live even when the upstream is down", down, "/healthz", 200, "ok", ""},
		{"ready when the upstream serves", up, "/readyz", 200, "ready", up.Service + " " + up.Addr + ": SERVING"},
		{"not ready when the upstream is down", down, "/readyz", 503, "not ready", down.Service + " " + down.Addr + ": "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := serve(t, gateway.Options{Upstreams: []gateway.Upstream{tt.upstream}})
			r := do(t, http.MethodGet, e.url+tt.path, nil, nil)
			// The public port says ready or not, and nothing of what is behind it.
			if r.status != tt.status || strings.TrimSpace(string(r.body)) != tt.body {
				t.Errorf("%s: %d %q, want %d %q", tt.path, r.status, r.body, tt.status, tt.body)
			}
			if tt.ops == "" {
				return
			}
			// The ops listener's detail names each upstream, its address and its error.
			rec := httptest.NewRecorder()
			e.gw.UpstreamsHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, gateway.ReadyzOpsPath, nil))
			if rec.Code != tt.status || !strings.HasPrefix(rec.Body.String(), tt.ops) || tt.status != 200 && len(rec.Body.String()) <= len(tt.ops)+1 {
				t.Errorf("ops detail: %d %q, want %d starting %q (with the error when down)", rec.Code, rec.Body, tt.status, tt.ops)
			}
		})
	}
}

func TestGateway_ReadyzFailsWhileDraining(t *testing.T) {
	t.Parallel()
	up, _ := identityUpstream(t, nil)
	// The drain is long enough to look at /readyz from outside; nothing below depends
	// on how long it really is.
	e := serve(t, gateway.Options{Upstreams: []gateway.Upstream{up}, DrainDelay: time.Second})
	if r := do(t, http.MethodGet, e.url+"/readyz", nil, nil); r.status != http.StatusOK {
		t.Fatalf("before stop: /readyz %d %s", r.status, r.body)
	}
	served := make(chan error, 1)
	go func() { served <- e.stop() }()

	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(2 * time.Millisecond) {
		r := do(t, http.MethodGet, e.url+"/readyz", nil, nil)
		if r.status == http.StatusServiceUnavailable {
			if strings.TrimSpace(string(r.body)) != "draining" {
				t.Errorf("/readyz while draining: %q, want draining", r.body)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz still %d after stop", r.status)
		}
	}
	// Still answering everything else while load balancers take it out.
	if r := do(t, http.MethodGet, e.url+"/healthz", nil, nil); r.status != http.StatusOK {
		t.Errorf("/healthz while draining: %d", r.status)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve returned %v, want nil", err)
	}
}

func TestGateway_OpenAPIDocumentAndDocsPage(t *testing.T) {
	t.Parallel()
	e := serve(t, gateway.Options{})

	r := do(t, http.MethodGet, e.url+"/openapi.json", nil, nil)
	if r.status != http.StatusOK || r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("/openapi.json: %d %s", r.status, r.header.Get("Content-Type"))
	}
	var doc struct {
		Swagger string `json:"swagger"`
		Info    struct {
			Title string `json:"title"`
		} `json:"info"`
		SecurityDefinitions map[string]struct {
			Type string `json:"type"`
			Name string `json:"name"`
			In   string `json:"in"`
		} `json:"securityDefinitions"`
		Paths map[string]map[string]any `json:"paths"`
		Tags  []struct {
			Name string `json:"name"`
		} `json:"tags"`
	}
	if err := json.Unmarshal(r.body, &doc); err != nil {
		t.Fatalf("/openapi.json is not JSON: %v", err)
	}
	if doc.Swagger != "2.0" || doc.Info.Title != "Healthcore API" {
		t.Errorf("swagger %q title %q, want 2.0 and Healthcore API", doc.Swagger, doc.Info.Title)
	}
	if b := doc.SecurityDefinitions["bearer"]; b.Type != "apiKey" || b.Name != "Authorization" || b.In != "header" {
		t.Errorf("securityDefinitions.bearer = %+v", b)
	}
	if _, ok := doc.Paths["/v1/auth/login"]["post"]; !ok {
		t.Errorf("no POST /v1/auth/login in paths")
	}
	// Only services with REST routes are sections of the API page; internal ones are not.
	tags := map[string]bool{}
	for _, tg := range doc.Tags {
		tags[tg.Name] = true
	}
	for _, internal := range []string{"KeysService", "BlobsService", "PixService"} {
		if tags[internal] {
			t.Errorf("internal %s listed in tags %v", internal, doc.Tags)
		}
	}
	if !tags["IdentityService"] || !tags["DirectoryService"] {
		t.Errorf("tags %v lack the public services", doc.Tags)
	}

	r = do(t, http.MethodGet, e.url+"/docs", nil, nil)
	if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") ||
		!strings.Contains(string(r.body), `data-spec-url="/openapi.json"`) {
		t.Errorf("/docs: %d %s\n%s", r.status, r.header.Get("Content-Type"), r.body)
	}
}

func TestNew_OpenAPIDocument(t *testing.T) {
	t.Parallel()
	if _, err := gateway.New(context.Background(), gateway.Options{OpenAPI: []byte(`{"swagger":`)}); err == nil {
		t.Error("New accepted a malformed OpenAPI document")
	}
	// Without a generated document the edge still serves a valid, empty one.
	e := serve(t, gateway.Options{OpenAPI: []byte{}})
	r := do(t, http.MethodGet, e.url+"/openapi.json", nil, nil)
	if m := r.json(t); m["info"].(map[string]any)["title"] != "Healthcore API" {
		t.Errorf("fallback document: %s", r.body)
	}
}

func TestGateway_AccessLogOmitsQueryAndBody(t *testing.T) {
	t.Parallel()
	e := serve(t, gateway.Options{})
	do(t, http.MethodPost, e.url+"/v1/auth/login?cpf=52998224725", strings.NewReader(`{"password":"hunter2-secret"}`),
		http.Header{"Content-Type": {"application/json"}, "X-Request-Id": {"access-log-0001"}})
	var line map[string]any
	for l := range strings.Lines(e.logs.String()) {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err == nil && m["msg"] == "http" {
			line = m
		}
	}
	if line["path"] != "/v1/auth/login" || line["method"] != "POST" || line["request_id"] != "access-log-0001" {
		t.Errorf("access log line = %v", line)
	}
	for _, secret := range []string{"52998224725", "hunter2-secret"} {
		if strings.Contains(e.logs.String(), secret) {
			t.Errorf("%q reached the gateway log", secret)
		}
	}
}

func TestGateway_SecurityHeadersOnEveryAnswer(t *testing.T) {
	t.Parallel()
	up, _ := identityUpstream(t, nil)
	e := serve(t, gateway.Options{Upstreams: []gateway.Upstream{up}})
	hsts := serve(t, gateway.Options{Upstreams: []gateway.Upstream{up}, HSTS: true})

	if r := postJSON(t, e.url+"/v1/accounts/patients", patient("cabecalho@exemplo.com.br", "52998224725")); r.status != http.StatusAccepted {
		t.Fatalf("register: %d %s", r.status, r.body)
	}
	login := postJSON(t, e.url+"/v1/auth/login", map[string]any{"email": "cabecalho@exemplo.com.br", "password": "correct horse battery"})
	token := login.json(t)["tokens"].(map[string]any)["accessToken"].(string)
	me := do(t, http.MethodGet, e.url+"/v1/me", nil, http.Header{"Authorization": {"Bearer " + token}})
	if me.status != http.StatusOK || !strings.Contains(string(me.body), "cabecalho@exemplo.com.br") {
		t.Fatalf("/v1/me: %d %s", me.status, me.body)
	}
	api := map[string]string{
		"Cache-Control":           "no-store",
		"X-Content-Type-Options":  "nosniff",
		"X-Frame-Options":         "DENY",
		"Referrer-Policy":         "no-referrer",
		"Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
	}
	for name, r := range map[string]reply{
		"authenticated /v1/me":   me,
		"login (returns tokens)": login,
		"refused (401)":          do(t, http.MethodGet, e.url+"/v1/me", nil, nil),
		"unknown route (404)":    do(t, http.MethodGet, e.url+"/v1/nothing-here", nil, nil),
	} {
		for h, want := range api {
			if got := r.header.Get(h); got != want {
				t.Errorf("%s: %s = %q, want %q", name, h, got, want)
			}
		}
		if got := r.header.Get("Strict-Transport-Security"); got != "" {
			t.Errorf("%s: HSTS %q sent without HSTS set", name, got)
		}
	}
	// The docs page keeps its own policy and caching (it loads its scripts and styles).
	docs := do(t, http.MethodGet, e.url+"/docs/", nil, nil)
	if docs.header.Get("Cache-Control") == "no-store" || docs.header.Get("Content-Security-Policy") == api["Content-Security-Policy"] {
		t.Errorf("/docs/: Cache-Control %q CSP %q, want the docs' own", docs.header.Get("Cache-Control"), docs.header.Get("Content-Security-Policy"))
	}
	if got := do(t, http.MethodGet, hsts.url+"/healthz", nil, nil).header.Get("Strict-Transport-Security"); got != "max-age=31536000; includeSubDomains" {
		t.Errorf("HSTS on: Strict-Transport-Security %q", got)
	}
}

func TestGateway_RecordsHTTPMetricsButServesNoMetricsOnThePublicPort(t *testing.T) {
	t.Parallel()
	up, _ := identityUpstream(t, nil)
	reg := prometheus.NewRegistry()
	e := serve(t, gateway.Options{Upstreams: []gateway.Upstream{up}, Registerer: reg})
	if r := do(t, http.MethodGet, e.url+"/healthz", nil, nil); r.status != http.StatusOK {
		t.Fatalf("/healthz: %d", r.status)
	}
	r := do(t, http.MethodGet, e.url+"/metrics", nil, nil)
	if r.status != http.StatusNotFound || strings.Contains(string(r.body), "healthcore_http") {
		t.Errorf("GET /metrics on the public port: %d %s, want 404 and no metrics", r.status, r.body)
	}
	// The registry has them, for the process's ops listener to serve.
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, f := range families {
		found = found || f.GetName() == "healthcore_http_duration_seconds"
	}
	if !found {
		t.Errorf("the registry holds no healthcore_http_duration_seconds after two requests")
	}
}
