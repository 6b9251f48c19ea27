package gateway

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The web app's session: its access token lives in the page's memory only, and its
// refresh token in a cookie no script can read. The app marks its login, refresh and
// logout calls with WebClientHeader; for those the edge moves the refresh token out of
// the JSON answer into the cookie and, on refresh and logout, takes it from the cookie
// when the body has none. Any other client (curl, a mobile app, a partner) sends no
// such header and keeps the token in the body, unchanged.
//
// Cross-site request forgery is refused three ways: the cookie is SameSite=Strict (a
// browser does not send it from another site's page); a form of another site cannot set
// WebClientHeader, and a script of another site cannot send it without a CORS preflight
// the edge does not allow; and the request's Origin must be the web app's.
const (
	// WebClientHeader (value WebClientValue) marks a call of the web app.
	WebClientHeader = "X-Healthcore-Client"
	WebClientValue  = "web"
	// RefreshCookie holds the web session's refresh token.
	RefreshCookie = "hc_refresh"

	loginPath       = "/v1/auth/login"
	loginMFAPath    = "/v1/auth/login:mfa"
	refreshPath     = "/v1/auth/refresh"
	logoutPath      = "/v1/auth/logout"
	totpConfirmPath = "/v1/me/mfa/totp:confirm"
)

// cookiePaths are the only paths the browser sends the refresh cookie to: one cookie
// of the same value for each (a cookie has a single path).
var cookiePaths = []string{refreshPath, logoutPath}

// webSession applies the web app's session rules to the auth routes; every other
// request passes untouched. origins are the web app's origins; empty means the
// edge's own (the Origin's host is the request's Host), the app it serves itself.
func webSession(next http.Handler, origins []string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		issues := p == loginPath || p == loginMFAPath || p == refreshPath || p == totpConfirmPath
		consumes := p == refreshPath || p == logoutPath
		if r.Method != http.MethodPost || !issues && !consumes {
			next.ServeHTTP(w, r)
			return
		}
		cookie, _ := r.Cookie(RefreshCookie)
		if r.Header.Get(WebClientHeader) != WebClientValue {
			if consumes && cookie != nil {
				writeStatus(w, r, http.StatusForbidden, reasonStatus(ReasonWebClientHeaderMissing,
					"a request with the session cookie must come from the web app (header "+WebClientHeader+": "+WebClientValue+")"))
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		if !webOriginAllowed(r, origins) {
			writeStatus(w, r, http.StatusForbidden, reasonStatus(ReasonOriginNotAllowed,
				"this origin may not use the web session; open the app from its own address"))
			return
		}
		if consumes {
			value := ""
			if cookie != nil {
				value = cookie.Value
			}
			switch refreshTokenFromCookie(r, value) {
			case bodyNotObject:
				writeStatus(w, r, http.StatusBadRequest, reasonStatus(ReasonMalformedJSON, "the request body must be a JSON object"))
				return
			case noToken:
				writeStatus(w, r, http.StatusUnauthorized, reasonStatus(ReasonNoWebSession, "there is no session in this browser: log in"))
				return
			}
		}
		rec := &bufferedAnswer{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		body := rec.body
		ok := rec.status >= 200 && rec.status < 300
		switch {
		case ok && issues:
			body = moveRefreshToken(w, r, body)
		case ok && p == logoutPath, p == refreshPath && rec.status == http.StatusUnauthorized:
			// Logged out, or a refresh refused (reused, expired, ended): the cookie is dead.
			clearRefreshCookie(w, r)
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		rec.body = body
		rec.flush()
	})
}

// webOriginAllowed reports whether r's Origin is the web app's: one of origins, or
// with none configured, the edge's own host.
func webOriginAllowed(r *http.Request, origins []string) bool {
	origin := r.Header.Get("Origin")
	if origin == "" || origin == "null" {
		return false
	}
	if len(origins) > 0 {
		return slices.Contains(origins, origin)
	}
	u, err := url.Parse(origin)
	return err == nil && u.Host != "" && strings.EqualFold(u.Host, r.Host)
}

// What refreshTokenFromCookie found.
type cookieToken int

const (
	tokenSent     cookieToken = iota // the body has a token, its own or the cookie's
	noToken                          // neither the body nor the cookie has one
	bodyNotObject                    // the body is not a JSON object
)

// refreshTokenFromCookie puts token (the cookie's, "" when there is none) in r's JSON
// body as refreshToken unless the body names one already.
func refreshTokenFromCookie(r *http.Request, token string) cookieToken {
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		return bodyNotObject
	}
	doc := map[string]json.RawMessage{}
	if len(bytes.TrimSpace(raw)) > 0 {
		if err := json.Unmarshal(raw, &doc); err != nil || doc == nil {
			return bodyNotObject
		}
	}
	_, camel := doc["refreshToken"]
	_, snake := doc["refresh_token"]
	if !camel && !snake {
		if token == "" {
			return noToken
		}
		doc["refreshToken"], _ = json.Marshal(token)
		raw, _ = json.Marshal(doc)
	}
	r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(raw)), int64(len(raw))
	r.Header.Set("Content-Length", strconv.Itoa(len(raw)))
	return tokenSent
}

// moveRefreshToken takes tokens.refreshToken out of an answer's body into the cookie
// and returns the body without it (the rest unchanged). A body with no refresh token
// (a login that waits for a second factor) is returned as it is.
func moveRefreshToken(w http.ResponseWriter, r *http.Request, body []byte) []byte {
	var doc map[string]json.RawMessage
	if json.Unmarshal(body, &doc) != nil {
		return body
	}
	var tokens map[string]json.RawMessage
	if json.Unmarshal(doc["tokens"], &tokens) != nil || tokens == nil {
		return body
	}
	var refresh string
	if json.Unmarshal(tokens["refreshToken"], &refresh) != nil || refresh == "" {
		return body
	}
	var expires time.Time
	if raw, ok := tokens["refreshTokenExpireTime"]; ok {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			expires, _ = time.Parse(time.RFC3339Nano, s)
		}
	}
	maxAge := int(time.Until(expires).Seconds())
	if maxAge <= 0 {
		maxAge = int((30 * 24 * time.Hour).Seconds())
	}
	setRefreshCookie(w, r, refresh, maxAge)
	delete(tokens, "refreshToken")
	doc["tokens"], _ = json.Marshal(tokens)
	out, err := json.Marshal(doc)
	if err != nil {
		return body
	}
	return out
}

func setRefreshCookie(w http.ResponseWriter, r *http.Request, value string, maxAge int) {
	for _, p := range cookiePaths {
		http.SetCookie(w, &http.Cookie{
			Name: RefreshCookie, Value: value, Path: p, MaxAge: maxAge,
			HttpOnly: true, Secure: cookieSecure(r), SameSite: http.SameSiteStrictMode,
		})
	}
}

func clearRefreshCookie(w http.ResponseWriter, r *http.Request) {
	setRefreshCookie(w, r, "", -1)
}

// cookieSecure: the cookie is Secure (sent over HTTPS only) unless the app was reached
// over plain HTTP on a loopback name — make run's http://127.0.0.1:8080 or
// http://localhost:8080 — where a Secure cookie would not come back. Behind a load
// balancer that ends TLS the request is plain HTTP too, but its host is not loopback.
func cookieSecure(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if strings.EqualFold(host, "localhost") {
		return false
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip == nil || !ip.IsLoopback()
}
