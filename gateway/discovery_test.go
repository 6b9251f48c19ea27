package gateway_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"healthcore/gateway"
	identityv1 "healthcore/gen/healthcore/identity/v1"
	"healthcore/platform/authn"
	"healthcore/services/identity"
)

// What an AWS API Gateway JWT authorizer does, knowing only the issuer: read
// {issuer}/.well-known/openid-configuration, fetch jwks_uri, and verify a token by the
// key its kid names, under the issuer and audience it was configured with.
func TestGateway_DiscoveryLeadsAJWTValidatorToTheKeysThatVerifyTokens(t *testing.T) {
	t.Parallel()
	tp := authn.TokenProfile{Alg: authn.AlgRS256, Issuer: "https://api.example.com", Audience: "healthcore-api"}
	up, _ := identityUpstream(t, func(c *identity.Config) { c.Tokens = tp })
	e := serve(t, gateway.Options{Upstreams: []gateway.Upstream{up}, Tokens: tp})

	r := do(t, http.MethodGet, e.url+"/.well-known/openid-configuration", nil, nil)
	if r.status != http.StatusOK || r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("discovery: %d %s %s", r.status, r.header.Get("Content-Type"), r.body)
	}
	doc := r.json(t)
	if doc["issuer"] != tp.Issuer || doc["jwks_uri"] != "https://api.example.com/.well-known/jwks.json" {
		t.Errorf("issuer %v, jwks_uri %v", doc["issuer"], doc["jwks_uri"])
	}
	for field, want := range map[string]string{
		"id_token_signing_alg_values_supported": "RS256", "response_types_supported": "token", "subject_types_supported": "public",
	} {
		if got, _ := doc[field].([]any); len(got) != 1 || got[0] != want {
			t.Errorf("%s = %v, want [%s]", field, doc[field], want)
		}
	}

	// jwks_uri is served by this edge (the API Gateway routes the issuer's host to it).
	jwksPath := strings.TrimPrefix(doc["jwks_uri"].(string), tp.Issuer)
	keys := func(context.Context) ([]authn.PublicKey, error) {
		r := do(t, http.MethodGet, e.url+jwksPath, nil, nil)
		var set struct{ Keys []json.RawMessage }
		if err := json.Unmarshal(r.body, &set); err != nil || r.status != http.StatusOK {
			t.Fatalf("JWKS: %d %s", r.status, r.body)
		}
		var out []authn.PublicKey
		for _, raw := range set.Keys {
			var k identityv1.Jwk
			if err := json.Unmarshal(raw, &k); err != nil {
				t.Fatal(err)
			}
			if pk, ok, err := authn.ParseJWK(&k); err != nil || !ok {
				t.Fatalf("JWK %s: ok=%v err=%v", raw, ok, err)
			} else {
				out = append(out, pk)
			}
		}
		return out, nil
	}

	token := registerAndLogin(t, e, "maria@exemplo.com.br", "529.982.247-25")
	p, err := authn.NewVerifier(keys).WithProfile(tp).Verify(context.Background(), token)
	if err != nil {
		t.Fatalf("the token does not verify with the discovered keys: %v", err)
	}
	if p.UserID == "" || p.SessionID == "" {
		t.Errorf("principal %+v", p)
	}

	// The route is the edge's own: not an API route of the OpenAPI document.
	if !slices.Contains(e.gw.Routes(), gateway.Route{Method: http.MethodGet, Path: authn.DiscoveryPath}) {
		t.Errorf("routes lack GET %s", authn.DiscoveryPath)
	}
}

func TestGateway_NoDiscoveryWhenTheIssuerIsNotAURL(t *testing.T) {
	t.Parallel()
	e := serve(t, gateway.Options{Tokens: authn.DefaultTokenProfile})
	if r := do(t, http.MethodGet, e.url+"/.well-known/openid-configuration", nil, nil); r.status != http.StatusNotFound {
		t.Errorf("discovery under issuer %q: %d %s, want 404", authn.Issuer, r.status, r.body)
	}
}
