package gateway_test

import (
	"encoding/base64"
	"net/http"
	"testing"

	"healthcore/gateway"
	"healthcore/services/identity"
)

// jwtWith is a JWT-shaped token with the payload given; the REST edge reads the role
// without checking the signature (the services check it).
func jwtWith(payload string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"EdDSA","kid":"k1","typ":"JWT"}`)) + "." + enc([]byte(payload)) + "." + enc([]byte("signature"))
}

func TestRESTEdge_RefusesPartnerTokensAndPassesPeoples(t *testing.T) {
	up, _ := identityUpstream(t, func(*identity.Config) {})
	e := serve(t, gateway.Options{Upstreams: []gateway.Upstream{up}})
	patient := registerAndLogin(t, e, "ana@example.com", "52998224725")

	get := func(token string) reply {
		return do(t, http.MethodGet, e.url+"/v1/me", nil, http.Header{"Authorization": {"Bearer " + token}})
	}
	// A patient's real token reaches identity and reads the account.
	if r := get(patient); r.status != http.StatusOK || r.json(t)["account"] == nil {
		t.Fatalf("patient's /v1/me: %d %s", r.status, r.body)
	}
	for name, token := range map[string]string{
		"partner":                 jwtWith(`{"sub":"c1","role":"partner","clinic":"k","scope":"directory.read"}`),
		"partner, spaced JSON":    jwtWith(`{"sub": "c1", "role": "partner"}`),
		"partner, lowercase auth": jwtWith(`{"role":"partner"}`),
	} {
		r := get(token)
		if name == "partner, lowercase auth" {
			r = do(t, http.MethodGet, e.url+"/v1/me", nil, http.Header{"Authorization": {"bearer " + token}})
		}
		if r.status != http.StatusForbidden {
			t.Errorf("%s: HTTP %d %s, want 403", name, r.status, r.body)
			continue
		}
		if got := parseError(t, r); got.reason != gateway.ReasonPartnerEdgeOnly.Name() || got.code != 7 {
			t.Errorf("%s: %+v, want PERMISSION_DENIED (7) PARTNER_EDGE_ONLY", name, got)
		}
	}
	// Tokens that only mention "partner" elsewhere, or are not JWTs, go on to the
	// service, which refuses them as invalid (401), not as partners.
	for name, token := range map[string]string{
		"a patient named partner": jwtWith(`{"sub":"u1","role":"patient","name":"partner"}`),
		"not a JWT":               "partner",
		"payload not base64":      "a.%%%.b",
	} {
		if r := get(token); r.status != http.StatusUnauthorized {
			t.Errorf("%s: HTTP %d %s, want 401 from identity", name, r.status, r.body)
		}
	}
}
