package gateway

import (
	"encoding/json"
	"net/http"

	"healthcore/platform/authn"
)

// discovery is the OpenID Connect discovery document (OpenID Connect Discovery 1.0,
// section 3) of the access tokens' issuer: what a JWT validator that knows only the
// issuer (an AWS API Gateway JWT authorizer) reads to find the keys. identity issues
// bearer access tokens through its own login, not through OAuth flows, so the
// document has no authorization or token endpoint; response_types_supported, which
// the specification requires, names the one kind of credential it issues.
type discovery struct {
	Issuer                           string   `json:"issuer"`
	JWKSURI                          string   `json:"jwks_uri"`
	ResponseTypesSupported           []string `json:"response_types_supported"`
	SubjectTypesSupported            []string `json:"subject_types_supported"`
	IDTokenSigningAlgValuesSupported []string `json:"id_token_signing_alg_values_supported"`
	ClaimsSupported                  []string `json:"claims_supported"`
}

// discoveryHandler serves the discovery document of the profile's issuer; ok is false
// when the issuer is not an http(s) URL (the default "healthcore"), which has none.
func discoveryHandler(tp authn.TokenProfile) (http.Handler, bool) {
	base, ok := tp.IssuerURL()
	if !ok {
		return nil, false
	}
	doc, _ := json.MarshalIndent(discovery{
		Issuer:                           tp.Issuer,
		JWKSURI:                          base + authn.JWKSPath,
		ResponseTypesSupported:           []string{"token"},
		SubjectTypesSupported:            []string{"public"},
		IDTokenSigningAlgValuesSupported: []string{tp.Alg},
		ClaimsSupported:                  []string{"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "role", "crm", "sid"},
	}, "", "  ")
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "public, max-age=3600")
		_, _ = w.Write(doc)
	}), true
}
