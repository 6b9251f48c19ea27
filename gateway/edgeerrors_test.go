package gateway_test

import (
	"bytes"
	"net/http"
	"slices"
	"strings"
	"testing"

	"healthcore/gateway"
	"healthcore/internal/catalog"
	"healthcore/platform/errs"
	"healthcore/platform/server"
)

// downEdge is a gateway with every service of the catalog as an upstream, each at an
// address nobody listens on, and the webhook route: what the edge answers by itself.
func downEdge(t *testing.T, opts gateway.Options) *edge {
	t.Helper()
	for _, s := range catalog.Services() {
		if s.REST != nil {
			opts.Upstreams = append(opts.Upstreams, gateway.Upstream{Service: s.FQName, Name: s.Name, Addr: closedAddr(t), Register: s.REST})
		}
	}
	if opts.Extra == nil {
		opts.Extra = map[string]http.Handler{
			"POST " + gateway.MercadoPagoWebhookPath: http.NotFoundHandler(),
			"GET " + gateway.WhatsAppWebhookPath:     http.NotFoundHandler(),
			"POST " + gateway.WhatsAppWebhookPath:    http.NotFoundHandler(),
			"POST " + gateway.OAuthTokenPath:         http.NotFoundHandler(),
		}
	}
	return serve(t, opts)
}

func TestGateway_EveryErrorOfTheEdgeIsStructured(t *testing.T) {
	t.Parallel()
	const limit = 4096
	e := downEdge(t, gateway.Options{MaxBodyBytes: limit})
	json := http.Header{"Content-Type": {"application/json"}}

	tests := []struct {
		name    string
		method  string
		path    string
		body    string
		header  http.Header
		status  int
		reason  errs.Reason
		fields  []string
		message []string // the message contains each
		allow   string
	}{
		{
			name: "not JSON", method: "POST", path: "/v1/auth/login", body: `{"email": "a@b.c",, "password": "x"}`,
			status: 400, reason: gateway.ReasonMalformedJSON, message: []string{"line 1, column 20"},
		},
		{
			name: "JSON cut short", method: "POST", path: "/v1/auth/login", body: `{"email":`,
			status: 400, reason: gateway.ReasonMalformedJSON, message: []string{"ends before"},
		},
		{
			name: "a number for a string field", method: "POST", path: "/v1/accounts/patients",
			body:   "{\n  \"name\": \"Maria\",\n  \"cpf\": 52998224725\n}",
			status: 400, reason: gateway.ReasonMalformedJSON, fields: []string{"cpf"},
			message: []string{`field "cpf"`, "line 3, column 10", "must be a string"},
		},
		{
			name: "unknown field", method: "POST", path: "/v1/auth/login", body: `{"emial": "a@b.c"}`,
			status: 400, reason: gateway.ReasonMalformedJSON, fields: []string{"emial"}, message: []string{`unknown field "emial"`},
		},
		{
			name: "a time that is not RFC 3339", method: "POST", path: "/v1/records/shares",
			body:   `{"doctorId": "3f1c2a9e-0000-4000-8000-000000000000", "expireTime": "tomorrow"}`,
			status: 400, reason: gateway.ReasonMalformedJSON, fields: []string{"expireTime"},
			message: []string{`field "expireTime"`, "RFC 3339"},
		},
		{
			name: "more after the JSON value", method: "POST", path: "/v1/auth/login", body: `{"email": "a@b.c"} {"x": 1}`,
			status: 400, reason: gateway.ReasonMalformedJSON, message: []string{"more follows"},
		},
		{
			name: "a time parameter that is not RFC 3339", method: "GET", path: "/v1/doctors/me/agenda?startTime=tomorrow",
			status: 400, reason: server.ReasonValidationFailed, fields: []string{"start_time"}, message: []string{"RFC 3339"},
		},
		{
			name: "unknown route", method: "GET", path: "/v1/nothing-here",
			status: 404, reason: gateway.ReasonRouteNotFound,
		},
		{
			name: "webhook read with GET", method: "GET", path: gateway.MercadoPagoWebhookPath,
			status: 405, reason: gateway.ReasonMethodNotAllowed, allow: "POST",
		},
		{
			name: "a custom method read with GET", method: "GET", path: "/v1/appointments/3f1c2a9e-0000-4000-8000-000000000000:accept",
			status: 405, reason: gateway.ReasonMethodNotAllowed, allow: "POST",
		},
		{
			name: "a collection with a method it lacks", method: "DELETE", path: "/v1/records/groups",
			status: 405, reason: gateway.ReasonMethodNotAllowed, allow: "GET, POST",
		},
		{
			name: "body over the limit", method: "POST", path: "/v1/auth/login", body: `{"email": "` + strings.Repeat("a", limit) + `"}`,
			status: 413, reason: gateway.ReasonBodyTooLarge, message: []string{"4096"},
		},
		{
			name: "header fields over the limit", method: "GET", path: "/v1/me",
			header: http.Header{"X-Padding": {strings.Repeat("p", 70<<10)}},
			status: 431, reason: gateway.ReasonHeadersTooLarge,
		},
		{
			name: "upstream down", method: "POST", path: "/v1/auth/login", body: `{"email": "a@b.c", "password": "x"}`,
			status: 503, reason: gateway.ReasonServiceUnavailable,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for k, v := range json {
				h[k] = v
			}
			for k, v := range tt.header {
				h[k] = v
			}
			r := do(t, tt.method, e.url+tt.path, bytes.NewReader([]byte(tt.body)), h)
			if r.status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.body)
			}
			got := parseError(t, r)
			if got.code != int(tt.reason.Code()) || got.reason != tt.reason.Name() || !slices.Equal(got.fields, tt.fields) {
				t.Errorf("code %d reason %q fields %q, want %d %q %q: %s", got.code, got.reason, got.fields,
					tt.reason.Code(), tt.reason.Name(), tt.fields, r.body)
			}
			for _, want := range tt.message {
				if !strings.Contains(got.message, want) {
					t.Errorf("message %q lacks %q", got.message, want)
				}
			}
			// Nothing of Go, protojson or the dial reaches the client.
			for _, leak := range []string{"proto:", "127.0.0.1", "dial", "tcp", "connection refused", "strconv", "transport"} {
				if strings.Contains(string(r.body), leak) {
					t.Errorf("body shows %q: %s", leak, r.body)
				}
			}
			if got := r.header.Get("Allow"); got != tt.allow {
				t.Errorf("Allow = %q, want %q", got, tt.allow)
			}
		})
	}
}

// normalize writes every {variable} of a path template as {}.
func normalize(path string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(path, '{')
		if i < 0 {
			return b.String() + path
		}
		j := strings.IndexByte(path[i:], '}')
		if j < 0 {
			return b.String() + path
		}
		b.WriteString(path[:i] + "{}")
		path = path[i+j+1:]
	}
}

// The OpenAPI documents list exactly the API routes the edge answers — the services'
// and the hand-written ones (record file upload and download, the webhook) — and the
// OpenAPI 3 document is the same API.
func TestGateway_OpenAPIDocumentsListEveryRoute(t *testing.T) {
	t.Parallel()
	e := downEdge(t, gateway.Options{})
	routes := map[string]bool{}
	for _, rt := range e.gw.Routes() {
		if rt.API {
			routes[rt.Method+" "+normalize(rt.Path)] = true
		}
	}
	for _, must := range []string{"POST /v1/records/documents:upload", "GET /v1/records/documents/{}:download", "POST " + gateway.MercadoPagoWebhookPath,
		"GET " + gateway.WhatsAppWebhookPath, "POST " + gateway.WhatsAppWebhookPath, "POST " + gateway.OAuthTokenPath} {
		if !routes[must] {
			t.Fatalf("the edge's routes lack %s: %v", must, routes)
		}
	}
	documented := func(path string) (map[string]bool, map[string]any) {
		r := do(t, http.MethodGet, e.url+path, nil, nil)
		if r.status != http.StatusOK {
			t.Fatalf("%s: %d", path, r.status)
		}
		doc := r.json(t)
		out := map[string]bool{}
		paths, _ := doc["paths"].(map[string]any)
		for p, item := range paths {
			for m := range item.(map[string]any) {
				if m != "parameters" {
					out[strings.ToUpper(m)+" "+normalize(p)] = true
				}
			}
		}
		return out, doc
	}
	v2, _ := documented("/openapi.json")
	v3, doc3 := documented("/openapi.v3.json")
	for name, got := range map[string]map[string]bool{"/openapi.json": v2, "/openapi.v3.json": v3} {
		for r := range routes {
			if !got[r] {
				t.Errorf("%s lacks %s", name, r)
			}
		}
		for r := range got {
			if !routes[r] {
				t.Errorf("%s documents %s, which the edge does not answer", name, r)
			}
		}
	}
	if v, _ := doc3["openapi"].(string); !strings.HasPrefix(v, "3.") {
		t.Errorf("/openapi.v3.json: openapi %q, want 3.x", v)
	}
	// The upload takes a raw body or a multipart form, which only OpenAPI 3 can say.
	upload := doc3["paths"].(map[string]any)["/v1/records/documents:upload"].(map[string]any)["post"].(map[string]any)
	content, _ := upload["requestBody"].(map[string]any)["content"].(map[string]any)
	for _, ct := range []string{"multipart/form-data", "application/pdf", "image/png"} {
		if _, ok := content[ct]; !ok {
			t.Errorf("upload's requestBody lacks %s: %v", ct, content)
		}
	}
	// The webhook is authenticated by its signature, not a token.
	hook := doc3["paths"].(map[string]any)[gateway.MercadoPagoWebhookPath].(map[string]any)["post"].(map[string]any)
	if sec, ok := hook["security"].([]any); !ok || len(sec) != 0 {
		t.Errorf("webhook security = %v, want none", hook["security"])
	}
}
