package identity

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"connectrpc.com/connect"

	identityv1 "healthcore/gen/healthcore/identity/v1"
	"healthcore/platform/authn"
)

// apiGatewayProfile is the token profile an AWS API Gateway JWT authorizer verifies.
var apiGatewayProfile = authn.TokenProfile{Alg: authn.AlgRS256, Issuer: "https://api.example.com", Audience: "healthcore-api"}

// tokenParts decodes a token's header and claims.
func tokenParts(t *testing.T, tok string) (header, claims map[string]any) {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts", len(parts))
	}
	for i, into := range []*map[string]any{&header, &claims} {
		raw, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, into); err != nil {
			t.Fatal(err)
		}
	}
	return header, claims
}

func (f *fixture) jwks() []*identityv1.Jwk {
	f.t.Helper()
	resp, err := f.client.GetJwks(context.Background(), connect.NewRequest(&identityv1.GetJwksRequest{}))
	if err != nil {
		f.t.Fatal(err)
	}
	return resp.Msg.GetKeys()
}

func TestTokenProfile_RS256SignsWithAnRSAKeyThatTheJWKSPublishes(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.Tokens = apiGatewayProfile })
	pair := f.patientSession()

	header, claims := tokenParts(t, pair.GetAccessToken())
	if header["alg"] != "RS256" || header["typ"] != "JWT" {
		t.Errorf("header = %v, want alg RS256, typ JWT", header)
	}
	if claims["iss"] != "https://api.example.com" {
		t.Errorf("iss = %v", claims["iss"])
	}
	if aud, _ := claims["aud"].([]any); len(aud) != 1 || aud[0] != "healthcore-api" {
		t.Errorf("aud = %v, want [healthcore-api]", claims["aud"])
	}

	keys := f.jwks()
	if len(keys) != 1 {
		t.Fatalf("JWKS has %d keys, want 1", len(keys))
	}
	k := keys[0]
	if k.GetKty() != "RSA" || k.GetAlg() != "RS256" || k.GetUse() != "sig" || k.GetKid() != header["kid"] ||
		k.GetE() != "AQAB" || k.GetX() != "" || k.GetCrv() != "" {
		t.Errorf("JWK = %v, want an RSA key named %v with e AQAB", k, header["kid"])
	}
	pk, ok, err := authn.ParseJWK(k)
	if err != nil || !ok {
		t.Fatalf("ParseJWK: ok=%v err=%v", ok, err)
	}
	if bits := pk.Key.(*rsa.PublicKey).N.BitLen(); bits != 2048 {
		t.Errorf("modulus of %d bits, want 2048", bits)
	}
	if kidOf(pk.Key) != k.GetKid() {
		t.Errorf("kid %s is not the key's RFC 7638 thumbprint %s", k.GetKid(), kidOf(pk.Key))
	}

	// The service's own verifier (same profile) accepts it, and one on the default
	// profile does not: neither the algorithm nor the issuer is its.
	if me, err := f.me(pair.GetAccessToken()); err != nil || me.GetAccount().GetEmail() == "" {
		t.Fatalf("GetMe with an RS256 token: %v", err)
	}
	if _, err := authn.NewVerifier(f.svc.KeySource()).Verify(context.Background(), pair.GetAccessToken()); err == nil {
		t.Error("a verifier on the default (EdDSA) profile accepted an RS256 token")
	}

	// A rotation makes another RSA key.
	kid, err := f.svc.keys.rotate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if keys := f.jwks(); len(keys) != 2 || keys[0].GetKid() != kid || keys[0].GetKty() != "RSA" || keys[1].GetKid() != k.GetKid() {
		t.Errorf("JWKS after rotation = %v, want [%s (RSA) %s]", keys, kid, k.GetKid())
	}
}

func TestTokenProfile_ChangingTheAlgorithmReplacesTheActiveKeyAtStart(t *testing.T) {
	f := newFixture(t, nil) // EdDSA
	oldKID := f.svc.keys.signingKey().KID

	cfg := DefaultConfig()
	cfg.Argon2, cfg.Tokens = testArgon2, apiGatewayProfile
	svc, err := New(context.Background(), Deps{DB: f.db, Envelope: f.env, Now: f.clock.Now}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	active := svc.keys.signingKey()
	if _, ok := active.Private.(*rsa.PrivateKey); !ok || active.KID == oldKID {
		t.Fatalf("active key after the switch: %s, a %T; want a new RSA key", active.KID, active.Private)
	}
	keys, err := svc.KeySource()(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// The Ed25519 key is retired but stays published while its tokens may live.
	if len(keys) != 2 || keys[0].KID != active.KID || authn.AlgOf(keys[0].Key) != authn.AlgRS256 ||
		keys[1].KID != oldKID || authn.AlgOf(keys[1].Key) != authn.AlgEdDSA {
		t.Errorf("published = %v, want [%s RS256, %s EdDSA]", keys, active.KID, oldKID)
	}

	// A replica still on the old profile keeps signing with its key rather than with
	// one of another algorithm.
	if err := f.svc.keys.reload(context.Background()); err == nil || !strings.Contains(err.Error(), "one token profile") {
		t.Errorf("reload of an EdDSA keyring over an active RS256 key: %v", err)
	}
	if f.svc.keys.signingKey().KID != oldKID {
		t.Error("the EdDSA replica dropped its key")
	}

	// Starting again on the same profile keeps the key.
	again, err := New(context.Background(), Deps{DB: f.db, Envelope: f.env, Now: f.clock.Now}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if again.keys.signingKey().KID != active.KID {
		t.Errorf("second start on RS256 made key %s, want %s kept", again.keys.signingKey().KID, active.KID)
	}
}
