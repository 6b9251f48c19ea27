package gateway

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
)

// refusePartnerTokens answers 403 PARTNER_EDGE_ONLY to a request whose bearer token is
// a partner client's (role "partner"): partners call the partner edge, the one
// listener with their rate limits and their call log, never this REST edge, where a
// call would skip both. Every other request passes untouched, /oauth/token included
// (its client authenticates with HTTP Basic, not a bearer token).
//
// The token's payload is read without checking its signature, which is enough to
// refuse: a token that claims another role is verified by the service it reaches, and
// identity signs the role into every token, so a partner's token cannot claim another.
func refusePartnerTokens(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if partnerToken(r.Header.Get("Authorization")) {
			writeStatus(w, r, http.StatusForbidden, reasonStatus(ReasonPartnerEdgeOnly,
				"partner clients call the partner edge over gRPC, not the REST API: see the Partner API documentation"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// partnerRole is how identity writes a partner client's role into a token's payload.
var partnerRole = []byte(`"partner"`)

// partnerToken reports whether header carries a bearer JWT whose payload's role is
// "partner".
func partnerToken(header string) bool {
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	_, rest, ok := strings.Cut(token, ".")
	if !ok {
		return false
	}
	payload, _, ok := strings.Cut(rest, ".")
	if !ok || len(payload) > 8192 {
		return false
	}
	raw, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil || !bytes.Contains(raw, partnerRole) {
		return false // the common case, a person's token, ends here
	}
	var claims struct {
		Role string `json:"role"`
	}
	return json.Unmarshal(raw, &claims) == nil && claims.Role == "partner"
}
