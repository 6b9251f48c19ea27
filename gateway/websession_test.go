package gateway_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"healthcore/gateway"
	"healthcore/platform/errs"
	"healthcore/services/identity"
)

// webCall posts body to path as the web app does (its header and Origin), plus the
// cookie when given; host, when set, is the Host the browser asked for.
func webCall(t *testing.T, e *edge, path, body, origin, host string, cookie *http.Cookie) reply {
	t.Helper()
	h := http.Header{"Content-Type": {"application/json"}, gateway.WebClientHeader: {gateway.WebClientValue}}
	if origin != "" {
		h.Set("Origin", origin)
	}
	if cookie != nil {
		h.Set("Cookie", cookie.Name+"="+cookie.Value)
	}
	req, err := http.NewRequest(http.MethodPost, e.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = h
	if host != "" {
		req.Host = host
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return reply{resp.StatusCode, resp.Header, b}
}

// refreshCookies checks the answer sets the refresh cookie once for the refresh and
// once for the logout path, both with the same value and the web session's
// attributes, and returns it.
func refreshCookies(t *testing.T, r reply, secure bool) *http.Cookie {
	t.Helper()
	cookies := (&http.Response{Header: r.header}).Cookies()
	paths := map[string]string{}
	var value string
	for _, c := range cookies {
		if c.Name != gateway.RefreshCookie {
			t.Errorf("unexpected cookie %q", c.Name)
			continue
		}
		if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Secure != secure || c.MaxAge <= 0 {
			t.Errorf("cookie for %s: HttpOnly %v SameSite %v Secure %v (want %v) Max-Age %d", c.Path, c.HttpOnly, c.SameSite, c.Secure, secure, c.MaxAge)
		}
		if c.Value == "" || value != "" && c.Value != value {
			t.Errorf("cookie values %q and %q differ", value, c.Value)
		}
		value = c.Value
		paths[c.Path] = c.Value
	}
	if len(paths) != 2 || paths["/v1/auth/refresh"] == "" || paths["/v1/auth/logout"] == "" {
		t.Fatalf("Set-Cookie %q: want the refresh cookie for /v1/auth/refresh and /v1/auth/logout", r.header.Values("Set-Cookie"))
	}
	return &http.Cookie{Name: gateway.RefreshCookie, Value: value}
}

// wantNoRefreshToken checks the answer gives an access token and no refresh token.
func wantNoRefreshToken(t *testing.T, r reply) {
	t.Helper()
	tokens, _ := r.json(t)["tokens"].(map[string]any)
	if tokens["accessToken"] == nil || tokens["accessToken"] == "" {
		t.Errorf("no access token: %s", r.body)
	}
	if _, ok := tokens["refreshToken"]; ok || strings.Contains(string(r.body), "refreshToken\"") {
		t.Errorf("the refresh token is still in the body: %s", r.body)
	}
}

// wantCleared checks the answer deletes the refresh cookie on both paths.
func wantCleared(t *testing.T, r reply) {
	t.Helper()
	n := 0
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == gateway.RefreshCookie && c.MaxAge < 0 && c.Value == "" {
			n++
		}
	}
	if n != 2 {
		t.Errorf("Set-Cookie %q: want the refresh cookie cleared on both paths", r.header.Values("Set-Cookie"))
	}
}

func wantEdgeReason(t *testing.T, r reply, status int, reason errs.Reason) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	if got := parseError(t, r); got.reason != reason.Name() || got.code != int(reason.Code()) {
		t.Fatalf("reason %q code %d, want %q %d: %s", got.reason, got.code, reason.Name(), reason.Code(), r.body)
	}
}

const loginBody = `{"email": "web@example.com", "password": "correct horse battery"}`

func TestWebSession_RefreshTokenTravelsInAnHttpOnlyCookieOnlyForTheWebApp(t *testing.T) {
	up, _ := identityUpstream(t, nil)
	e := serve(t, gateway.Options{Upstreams: []gateway.Upstream{up}})
	if r := postJSON(t, e.url+"/v1/accounts/patients", patient("web@example.com", "52998224725")); r.status != http.StatusAccepted {
		t.Fatalf("register: %d %s", r.status, r.body)
	}
	self := e.url // the app the edge serves itself: its own origin

	// Login: the refresh token moves from the body into the cookie (not Secure over
	// plain HTTP to a loopback address).
	login := webCall(t, e, "/v1/auth/login", loginBody, self, "", nil)
	if login.status != http.StatusOK {
		t.Fatalf("web login: %d %s", login.status, login.body)
	}
	wantNoRefreshToken(t, login)
	first := refreshCookies(t, login, false)
	if acct, _ := login.json(t)["account"].(map[string]any); acct["email"] != "web@example.com" {
		t.Errorf("the rest of the answer changed: %s", login.body)
	}

	// Refresh with the cookie and an empty body: a new pair, the cookie rotated.
	next := webCall(t, e, "/v1/auth/refresh", `{}`, self, "", first)
	if next.status != http.StatusOK {
		t.Fatalf("refresh by cookie: %d %s", next.status, next.body)
	}
	wantNoRefreshToken(t, next)
	second := refreshCookies(t, next, false)
	if second.Value == first.Value {
		t.Fatal("the refresh cookie was not rotated")
	}

	// The first cookie again: reuse, the session ends and the cookie is cleared.
	reused := webCall(t, e, "/v1/auth/refresh", `{}`, self, "", first)
	wantEdgeReason(t, reused, http.StatusUnauthorized, identity.ReasonRefreshTokenReused)
	wantCleared(t, reused)
	if r := webCall(t, e, "/v1/auth/refresh", `{}`, self, "", second); r.status != http.StatusUnauthorized {
		t.Fatalf("refresh in the revoked family: %d %s", r.status, r.body)
	}

	// A new session; logout by cookie ends it and clears the cookie.
	third := refreshCookies(t, webCall(t, e, "/v1/auth/login", loginBody, self, "", nil), false)
	out := webCall(t, e, "/v1/auth/logout", `{}`, self, "", third)
	if out.status != http.StatusOK {
		t.Fatalf("logout by cookie: %d %s", out.status, out.body)
	}
	wantCleared(t, out)
	if r := webCall(t, e, "/v1/auth/refresh", `{}`, self, "", third); r.status != http.StatusUnauthorized {
		t.Fatalf("refresh after logout: %d %s", r.status, r.body)
	}
}

func TestWebSession_RefusesCrossSiteRequests(t *testing.T) {
	up, _ := identityUpstream(t, nil)
	e := serve(t, gateway.Options{Upstreams: []gateway.Upstream{up}})
	if r := postJSON(t, e.url+"/v1/accounts/patients", patient("web@example.com", "52998224725")); r.status != http.StatusAccepted {
		t.Fatalf("register: %d %s", r.status, r.body)
	}
	cookie := refreshCookies(t, webCall(t, e, "/v1/auth/login", loginBody, e.url, "", nil), false)

	// Another site's page, or no Origin at all.
	for _, origin := range []string{"https://evil.example", "null", ""} {
		wantEdgeReason(t, webCall(t, e, "/v1/auth/refresh", `{}`, origin, "", cookie), http.StatusForbidden, gateway.ReasonOriginNotAllowed)
		wantEdgeReason(t, webCall(t, e, "/v1/auth/login", loginBody, origin, "", nil), http.StatusForbidden, gateway.ReasonOriginNotAllowed)
	}
	// The cookie without the web client header: what a form posted from elsewhere sends.
	noHeader := do(t, http.MethodPost, e.url+"/v1/auth/refresh", strings.NewReader(`{}`),
		http.Header{"Content-Type": {"text/plain"}, "Origin": {e.url}, "Cookie": {cookie.Name + "=" + cookie.Value}})
	wantEdgeReason(t, noHeader, http.StatusForbidden, gateway.ReasonWebClientHeaderMissing)
	// A browser with no session: 401, not a validation error.
	wantEdgeReason(t, webCall(t, e, "/v1/auth/refresh", `{}`, e.url, "", nil), http.StatusUnauthorized, gateway.ReasonNoWebSession)
	wantEdgeReason(t, webCall(t, e, "/v1/auth/logout", ``, e.url, "", nil), http.StatusUnauthorized, gateway.ReasonNoWebSession)
	// None of those used the cookie: it still refreshes.
	if r := webCall(t, e, "/v1/auth/refresh", `{}`, e.url, "", cookie); r.status != http.StatusOK {
		t.Fatalf("refresh after the refused attempts: %d %s", r.status, r.body)
	}
}

func TestWebSession_ConfiguredOriginsAndSecureCookieOffLoopback(t *testing.T) {
	up, _ := identityUpstream(t, nil)
	const app = "https://app.healthcore.example"
	e := serve(t, gateway.Options{Upstreams: []gateway.Upstream{up}, WebOrigins: []string{app}})
	if r := postJSON(t, e.url+"/v1/accounts/patients", patient("web@example.com", "52998224725")); r.status != http.StatusAccepted {
		t.Fatalf("register: %d %s", r.status, r.body)
	}
	// Behind a load balancer that ends TLS: plain HTTP, a public host, the cookie Secure.
	r := webCall(t, e, "/v1/auth/login", loginBody, app, "api.healthcore.example", nil)
	if r.status != http.StatusOK {
		t.Fatalf("login from the configured origin: %d %s", r.status, r.body)
	}
	refreshCookies(t, r, true)
	// With origins configured, the edge's own host is not one of them.
	wantEdgeReason(t, webCall(t, e, "/v1/auth/login", loginBody, e.url, "", nil), http.StatusForbidden, gateway.ReasonOriginNotAllowed)
}

func TestWebSession_APIClientsWithoutTheHeaderAreUnchanged(t *testing.T) {
	up, _ := identityUpstream(t, nil)
	e := serve(t, gateway.Options{Upstreams: []gateway.Upstream{up}})
	if r := postJSON(t, e.url+"/v1/accounts/patients", patient("web@example.com", "52998224725")); r.status != http.StatusAccepted {
		t.Fatalf("register: %d %s", r.status, r.body)
	}
	login := postJSON(t, e.url+"/v1/auth/login", map[string]any{"email": "web@example.com", "password": "correct horse battery"})
	if login.status != http.StatusOK || len(login.header.Values("Set-Cookie")) != 0 {
		t.Fatalf("login: %d Set-Cookie %q %s", login.status, login.header.Values("Set-Cookie"), login.body)
	}
	refresh, _ := login.json(t)["tokens"].(map[string]any)["refreshToken"].(string)
	if refresh == "" {
		t.Fatalf("no refresh token in the API client's answer: %s", login.body)
	}
	next := postJSON(t, e.url+"/v1/auth/refresh", map[string]any{"refreshToken": refresh})
	if next.status != http.StatusOK || len(next.header.Values("Set-Cookie")) != 0 {
		t.Fatalf("refresh: %d Set-Cookie %q %s", next.status, next.header.Values("Set-Cookie"), next.body)
	}
	if r, _ := next.json(t)["tokens"].(map[string]any)["refreshToken"].(string); r == "" || r == refresh {
		t.Fatalf("refresh answer: %s", next.body)
	}
}
