package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	identityv1 "healthcore/gen/healthcore/identity/v1"
)

// OAuthTokenPath is the OAuth 2.0 token endpoint (RFC 6749 section 3.2) where partner
// clients obtain access tokens with the client-credentials grant.
const OAuthTokenPath = "/oauth/token"

// oauthMaxBody bounds a token request's form: three short parameters.
const oauthMaxBody = 4 << 10

// oauthTimeout bounds the call to identity (one indexed read and a signature).
const oauthTimeout = 5 * time.Second

// OAuthToken answers token requests (mount it at "POST "+OAuthTokenPath through
// Options.Extra) as RFC 6749 asks: an application/x-www-form-urlencoded body with
// grant_type=client_credentials and an optional scope, the client authenticated by
// HTTP Basic (client_secret_basic: id and secret form-urlencoded, section 2.3.1) and
// by nothing else — a secret in the body (client_secret_post) is refused as an
// unsupported method. It passes the grant to identity's IssuePartnerToken and answers
// section 5.1's JSON with Cache-Control: no-store, or section 5.2's error: invalid_client
// (401 with WWW-Authenticate: Basic), invalid_scope, unsupported_grant_type or
// invalid_request (400).
func OAuthToken(identity identityv1.IdentityServiceClient, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/x-www-form-urlencoded" {
			oauthError(w, http.StatusBadRequest, "invalid_request", "the body must be application/x-www-form-urlencoded")
			return
		}
		raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, oauthMaxBody))
		if err != nil {
			oauthError(w, http.StatusBadRequest, "invalid_request", "the body is over 4 KiB or was cut short")
			return
		}
		form, err := url.ParseQuery(string(raw))
		if err != nil {
			oauthError(w, http.StatusBadRequest, "invalid_request", "the body is not a form")
			return
		}
		for name, values := range form {
			if len(values) > 1 { // section 3.2: parameters must not repeat
				oauthError(w, http.StatusBadRequest, "invalid_request", "the parameter "+name+" is sent more than once")
				return
			}
		}
		switch gt := form.Get("grant_type"); gt {
		case "client_credentials":
		case "":
			oauthError(w, http.StatusBadRequest, "invalid_request", "grant_type is missing: send grant_type=client_credentials")
			return
		default:
			oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "only grant_type=client_credentials is supported")
			return
		}
		if form.Has("client_secret") || form.Has("client_assertion") {
			oauthError(w, http.StatusUnauthorized, "invalid_client",
				"client authentication in the body is not supported: send the client id and secret with HTTP Basic")
			return
		}
		user, pass, ok := r.BasicAuth()
		if !ok {
			oauthError(w, http.StatusUnauthorized, "invalid_client", "authenticate the client with HTTP Basic (client id and secret)")
			return
		}
		// Section 2.3.1: the id and secret are form-urlencoded before they are joined.
		clientID, err1 := url.QueryUnescape(user)
		secret, err2 := url.QueryUnescape(pass)
		if err1 != nil || err2 != nil {
			oauthError(w, http.StatusUnauthorized, "invalid_client", "the client id or secret is not form-urlencoded")
			return
		}
		// The secret goes to identity in the request, never as a header of the call.
		fwd := r.Clone(r.Context())
		fwd.Header.Del("Authorization")
		ctx, cancel := context.WithTimeout(outgoing(r.Context(), fwd), oauthTimeout)
		defer cancel()
		resp, err := identity.IssuePartnerToken(ctx, &identityv1.IssuePartnerTokenRequest{
			ClientId: clientID, ClientSecret: secret, Scope: form.Get("scope"),
		})
		if err != nil {
			writeOAuthError(w, r, log, err)
			return
		}
		noStore(w)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(struct {
			AccessToken string `json:"access_token"`
			TokenType   string `json:"token_type"`
			ExpiresIn   int64  `json:"expires_in"`
			Scope       string `json:"scope"`
		}{resp.GetAccessToken(), "Bearer", resp.GetExpiresIn(), resp.GetScope()})
	})
}

// noStore marks a token endpoint's answer, success or error, as never to be cached
// (RFC 6749 section 5.1).
func noStore(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
}

// oauthError writes an RFC 6749 section 5.2 error; a 401 names the Basic scheme.
func oauthError(w http.ResponseWriter, code int, name, description string) {
	noStore(w)
	if code == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="healthcore", charset="UTF-8"`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}{name, description})
}

// writeOAuthError answers identity's refusal as RFC 6749 names it.
func writeOAuthError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	s := status.Convert(err)
	reason := ""
	if info := errorInfo(s); info != nil {
		reason = info.GetReason()
	}
	switch {
	case reason == "CLIENT_INVALID":
		oauthError(w, http.StatusUnauthorized, "invalid_client", s.Message())
	case reason == "SCOPE_INVALID":
		oauthError(w, http.StatusBadRequest, "invalid_scope", s.Message())
	case s.Code() == codes.InvalidArgument:
		oauthError(w, http.StatusBadRequest, "invalid_request", s.Message())
	case s.Code() == codes.DeadlineExceeded || s.Code() == codes.Unavailable || errors.Is(err, context.DeadlineExceeded):
		log.WarnContext(r.Context(), "token endpoint: identity unavailable", "code", s.Code().String(), "error", s.Message())
		w.Header().Set("Retry-After", "1")
		oauthError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "the token endpoint cannot answer now; retry")
	default:
		log.ErrorContext(r.Context(), "token endpoint failed", "code", s.Code().String(), "error", s.Message())
		oauthError(w, http.StatusInternalServerError, "server_error", "the token endpoint failed; retry")
	}
}
