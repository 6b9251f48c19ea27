package gateway_test

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"healthcore/gateway"
	"healthcore/platform/authn"
	"healthcore/platform/errs"
	"healthcore/platform/server"
	"healthcore/services/identity"
)

// apiError is the JSON error body: {code, message, details}.
type apiError struct {
	code    int
	message string
	reason  string
	fields  []string // field violations, sorted
}

func parseError(t *testing.T, r reply) apiError {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("error Content-Type = %q, want application/json", ct)
	}
	m := r.json(t)
	code, ok := m["code"].(float64)
	if !ok {
		t.Fatalf("error body has no numeric code: %s", r.body)
	}
	e := apiError{code: int(code)}
	e.message, _ = m["message"].(string)
	details, _ := m["details"].([]any)
	for _, d := range details {
		d := d.(map[string]any)
		switch d["@type"] {
		case "type.googleapis.com/google.rpc.ErrorInfo":
			e.reason, _ = d["reason"].(string)
		case "type.googleapis.com/google.rpc.BadRequest":
			vs, _ := d["fieldViolations"].([]any)
			for _, v := range vs {
				e.fields = append(e.fields, v.(map[string]any)["field"].(string))
			}
		}
	}
	slices.Sort(e.fields)
	return e
}

func TestGateway_MapsErrorsToHTTPStatusesWithJSONBodies(t *testing.T) {
	t.Parallel()
	up, _ := identityUpstream(t, func(c *identity.Config) {
		c.Throttle = identity.ThrottlePolicy{
			AccountFree: 1, AccountLockoutAfter: 5, AddressFree: 1000, AddressLockoutAfter: 1000,
			BaseDelay: 30 * time.Second, Lockout: time.Minute, Window: 15 * time.Minute,
		}
	})
	e := serve(t, gateway.Options{Upstreams: []gateway.Upstream{up}})

	token := registerAndLogin(t, e, "maria@exemplo.com.br", "529.982.247-25")
	// Two failures for one account name block it for BaseDelay.
	for range 2 {
		if r := postJSON(t, e.url+"/v1/auth/login", map[string]any{"email": "alvo@exemplo.com.br", "password": "guess"}); r.status != http.StatusUnauthorized {
			t.Fatalf("failed login: %d %s", r.status, r.body)
		}
	}

	tests := []struct {
		name   string
		method string
		path   string
		body   string
		header http.Header
		status int
		reason errs.Reason // its code and name are in the body
		code   int         // gRPC code in the body of an error that carries no reason
		fields []string
	}{
		{
			name: "invalid input lists every violation", method: "POST", path: "/v1/accounts/patients",
			body:   `{"name":"M","email":"x","cpf":"1","password":"p","phone":"1","birthDate":"12/04/1985"}`,
			status: 400, reason: server.ReasonValidationFailed,
			fields: []string{"birth_date", "cpf", "email", "name", "password", "phone"},
		},
		{
			name: "malformed JSON", method: "POST", path: "/v1/auth/login", body: `{"email":`,
			status: 400, reason: gateway.ReasonMalformedJSON,
		},
		{
			name: "wrong password", method: "POST", path: "/v1/auth/login",
			body:   `{"email":"maria@exemplo.com.br","password":"not the password"}`,
			status: 401, reason: identity.ReasonInvalidCredentials,
		},
		{
			name: "no token", method: "GET", path: "/v1/me",
			status: 401, reason: authn.ReasonTokenMissing,
		},
		{
			name: "garbage token", method: "GET", path: "/v1/me", header: http.Header{"Authorization": {"Bearer not.a.jwt"}},
			status: 401, reason: authn.ReasonTokenInvalid,
		},
		{
			name: "role not allowed", method: "POST", path: "/v1/admin/signing-keys:rotate", body: `{}`,
			header: http.Header{"Authorization": {"Bearer " + token}},
			status: 403, reason: authn.ReasonRoleNotAllowed,
		},
		{
			name: "unknown route", method: "GET", path: "/v1/no-such-thing",
			status: 404, reason: gateway.ReasonRouteNotFound,
		},
		{
			name: "known route, wrong method", method: "DELETE", path: "/v1/me",
			status: 405, reason: gateway.ReasonMethodNotAllowed,
		},
		{
			name: "throttled login", method: "POST", path: "/v1/auth/login",
			body:   `{"email":"alvo@exemplo.com.br","password":"guess"}`,
			status: 429, reason: identity.ReasonLoginThrottled,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{"Content-Type": {"application/json"}}
			for k, v := range tt.header {
				h[k] = v
			}
			r := do(t, tt.method, e.url+tt.path, strings.NewReader(tt.body), h)
			if r.status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.body)
			}
			got := parseError(t, r)
			wantCode := tt.code
			if tt.reason != (errs.Reason{}) {
				wantCode = int(tt.reason.Code())
			}
			if got.code != wantCode || got.reason != tt.reason.Name() || !slices.Equal(got.fields, tt.fields) {
				t.Errorf("body code %d reason %q fields %q, want %d %q %q: %s",
					got.code, got.reason, got.fields, wantCode, tt.reason.Name(), tt.fields, r.body)
			}
			if got.message == "" {
				t.Errorf("no message: %s", r.body)
			}
			// A 401 carries an RFC 6750 challenge, never the message (which is in the body).
			challenge := r.header.Get("WWW-Authenticate")
			switch {
			case tt.status != http.StatusUnauthorized && challenge != "":
				t.Errorf("WWW-Authenticate %q on a %d", challenge, tt.status)
			case tt.status == http.StatusUnauthorized && tt.header.Get("Authorization") != "" &&
				challenge != `Bearer realm="healthcore", error="invalid_token"`:
				t.Errorf("WWW-Authenticate = %q for a refused token, want an invalid_token challenge", challenge)
			case tt.status == http.StatusUnauthorized && tt.header.Get("Authorization") == "" &&
				challenge != `Bearer realm="healthcore"`:
				t.Errorf("WWW-Authenticate = %q without a token, want a bare Bearer challenge", challenge)
			}
			if tt.status == http.StatusMethodNotAllowed && r.header.Get("Allow") != "GET" {
				t.Errorf("Allow = %q, want GET", r.header.Get("Allow"))
			}
			if !hex32.MatchString(r.header.Get("X-Request-Id")) {
				t.Errorf("X-Request-Id = %q on an error, want a generated id", r.header.Get("X-Request-Id"))
			}
			retry := r.header.Get("Retry-After")
			if tt.status != http.StatusTooManyRequests {
				if retry != "" {
					t.Errorf("Retry-After = %q on a %d", retry, r.status)
				}
				return
			}
			secs, err := strconv.Atoi(retry)
			if err != nil || secs < 1 || secs > 30 {
				t.Errorf("Retry-After = %q, want whole seconds between 1 and the 30s block", retry)
			}
		})
	}
}

var hex32 = regexp.MustCompile(`^[0-9a-f]{32}$`)

func TestGateway_RequestIDIsGeneratedOrForwardedToTheService(t *testing.T) {
	t.Parallel()
	up, db := identityUpstream(t, nil)
	e := serve(t, gateway.Options{Upstreams: []gateway.Upstream{up}})

	tests := []struct {
		name string
		sent string
		kept bool
	}{
		{"absent: generated", "", false},
		{"invalid: replaced", "bad id!", false},
		{"too short: replaced", "short", false},
		{"valid: forwarded", "gw-client-req-0001", true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			email := fmt.Sprintf("req%d@exemplo.com.br", i)
			cpfs := []string{"52998224725", "11144477735", "39053344705", "86288366757"}
			var kv []string
			if tt.sent != "" {
				kv = []string{"X-Request-Id", tt.sent}
			}
			r := postJSON(t, e.url+"/v1/accounts/patients", patient(email, cpfs[i]), kv...)
			if r.status != http.StatusAccepted {
				t.Fatalf("register: %d %s", r.status, r.body)
			}
			got := r.header.Get("X-Request-Id")
			if tt.kept && got != tt.sent || !tt.kept && !hex32.MatchString(got) {
				t.Fatalf("X-Request-Id = %q (sent %q)", got, tt.sent)
			}
			// The service received the same id: its audit entry carries it.
			var action string
			err := db.QueryRow(context.Background(),
				`SELECT action FROM audit_log WHERE request_id = $1`, got).Scan(&action)
			if err != nil || action != "account.register" {
				t.Errorf("audit entry for request %s: %q, %v; want account.register", got, action, err)
			}
		})
	}
}

func TestGateway_CORS(t *testing.T) {
	t.Parallel()
	e := serve(t, gateway.Options{})
	tests := []struct {
		name        string
		method      string
		origin      string
		preflight   bool
		status      int
		allowOrigin string
	}{
		{"allowed origin", "GET", origin, false, 200, origin},
		{"allowed preflight", "OPTIONS", origin, true, 204, origin},
		{"other origin", "GET", "https://evil.example", false, 200, ""},
		{"other origin preflight", "OPTIONS", "https://evil.example", true, 204, ""},
		{"no origin", "GET", "", false, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.origin != "" {
				h.Set("Origin", tt.origin)
			}
			if tt.preflight {
				h.Set("Access-Control-Request-Method", "POST")
				h.Set("Access-Control-Request-Headers", "authorization, content-type")
			}
			r := do(t, tt.method, e.url+"/healthz", nil, h)
			if r.status != tt.status {
				t.Fatalf("status %d, want %d", r.status, tt.status)
			}
			if got := r.header.Get("Access-Control-Allow-Origin"); got != tt.allowOrigin {
				t.Errorf("Allow-Origin = %q, want %q", got, tt.allowOrigin)
			}
			if vary := r.header.Values("Vary"); tt.origin != "" && !slices.Contains(vary, "Origin") {
				t.Errorf("Vary = %q, want Origin: the answer depends on it", vary)
			}
			allowed := tt.allowOrigin != ""
			expose := r.header.Get("Access-Control-Expose-Headers")
			if allowed != (strings.Contains(expose, "X-Request-Id") && strings.Contains(expose, "Retry-After")) {
				t.Errorf("Expose-Headers = %q with allowed=%v", expose, allowed)
			}
			methods, headers := r.header.Get("Access-Control-Allow-Methods"), r.header.Get("Access-Control-Allow-Headers")
			if allowed && tt.preflight {
				if !strings.Contains(methods, "POST") || !strings.Contains(methods, "DELETE") {
					t.Errorf("Allow-Methods = %q", methods)
				}
				for _, want := range []string{"Authorization", "Content-Type", "X-Request-Id"} {
					if !strings.Contains(headers, want) {
						t.Errorf("Allow-Headers = %q, want %s", headers, want)
					}
				}
			} else if methods != "" || headers != "" {
				t.Errorf("Allow-Methods %q / Allow-Headers %q sent to a non-preflight or a refused origin", methods, headers)
			}
		})
	}
}

func TestGateway_CORSWildcardAllowsAnyOrigin(t *testing.T) {
	t.Parallel()
	e := serve(t, gateway.Options{AllowedOrigins: []string{"*"}})
	r := do(t, "GET", e.url+"/healthz", nil, http.Header{"Origin": {"https://anyone.example"}})
	if got := r.header.Get("Access-Control-Allow-Origin"); got != "https://anyone.example" {
		t.Errorf("Allow-Origin = %q, want the caller's origin", got)
	}
}

func TestGateway_RegistrationAnswers202TheSameForANewAndATakenAccount(t *testing.T) {
	t.Parallel()
	up, _ := identityUpstream(t, nil)
	e := serve(t, gateway.Options{Upstreams: []gateway.Upstream{up}})

	answer := func(email, cpf string) reply {
		t.Helper()
		r := postJSON(t, e.url+"/v1/accounts/patients", patient(email, cpf))
		r.header.Del("Date")
		r.header.Del("X-Request-Id")
		return r
	}
	fresh := answer("maria@exemplo.com.br", "529.982.247-25")
	if fresh.status != http.StatusAccepted || fresh.json(t)["status"] != "CHECK_EMAIL" || strings.Contains(string(fresh.body), "id") {
		t.Fatalf("a new account: %d %s, want 202 CHECK_EMAIL without an id", fresh.status, fresh.body)
	}
	if fresh.header.Get(server.HTTPStatusHeader) != "" {
		t.Errorf("the status header %s leaked to the client", server.HTTPStatusHeader)
	}
	for name, taken := range map[string]reply{
		"taken e-mail":         answer("maria@exemplo.com.br", "111.444.777-35"),
		"taken CPF":            answer("outra@exemplo.com.br", "52998224725"),
		"taken e-mail and CPF": answer("maria@exemplo.com.br", "529.982.247-25"),
	} {
		if taken.status != fresh.status || !bytes.Equal(taken.body, fresh.body) || !maps.EqualFunc(taken.header, fresh.header, slices.Equal) {
			t.Errorf("%s: %d %s %v, want the new account's %d %s %v", name, taken.status, taken.body, taken.header,
				fresh.status, fresh.body, fresh.header)
		}
	}
}
