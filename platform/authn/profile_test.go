package authn

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"math/big"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	identityv1 "healthcore/gen/healthcore/identity/v1"
	"healthcore/platform/errs"
)

var rs256 = TokenProfile{Alg: AlgRS256, Issuer: "https://api.example.com", Audience: "healthcore-api"}

// newRSAKey generates an RS256 signing key of bits and its published half.
func newRSAKey(t testing.TB, kid string, bits int) (SigningKey, PublicKey) {
	t.Helper()
	priv, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		t.Fatal(err)
	}
	return SigningKey{KID: kid, Private: priv}, PublicKey{KID: kid, Key: &priv.PublicKey}
}

func TestTokenProfile_RS256VerifierAcceptsItsOwnTokensOnly(t *testing.T) {
	rsaKey, rsaPub := newRSAKey(t, "rsa", 2048)
	edKey, edPub := newKey(t, "ed")
	src := &jwks{keys: []PublicKey{rsaPub, edPub}}
	v, _ := newVerifier(src)
	v.WithProfile(rs256)

	good, _, err := rs256.Sign(rsaKey, doctor, t0, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	p, err := v.Verify(context.Background(), good)
	wantStatus(t, err, errs.Reason{})
	if p.UserID != doctor.UserID || p.CRM != doctor.CRM || p.SessionID != doctor.SessionID {
		t.Fatalf("verified %+v, want %+v", p, doctor)
	}

	claims := func(iss, aud string) jwt.MapClaims {
		c := validClaims()
		c["iss"], c["aud"] = iss, []string{aud}
		return c
	}
	pkix, err := x509.MarshalPKIXPublicKey(rsaPub.Key)
	if err != nil {
		t.Fatal(err)
	}
	for name, tok := range map[string]string{
		// The Ed25519 key is published (a key retired at the profile's change), but
		// under an RS256 profile no EdDSA token verifies, whatever key it names.
		"EdDSA token under the profile's issuer": craft(t, jwt.SigningMethodEdDSA, edKey.Private, "ed", claims(rs256.Issuer, rs256.Audience)),
		"RS256 header naming the Ed25519 key":    craft(t, jwt.SigningMethodRS256, rsaKey.Private, "ed", claims(rs256.Issuer, rs256.Audience)),
		"HS256 keyed with the RSA public key":    craft(t, jwt.SigningMethodHS256, pkix, "rsa", claims(rs256.Issuer, rs256.Audience)),
		"PS256 with the RSA key":                 craft(t, jwt.SigningMethodPS256, rsaKey.Private, "rsa", claims(rs256.Issuer, rs256.Audience)),
		"RS512 with the RSA key":                 craft(t, jwt.SigningMethodRS512, rsaKey.Private, "rsa", claims(rs256.Issuer, rs256.Audience)),
		"default issuer":                         craft(t, jwt.SigningMethodRS256, rsaKey.Private, "rsa", claims(Issuer, rs256.Audience)),
		"default audience":                       craft(t, jwt.SigningMethodRS256, rsaKey.Private, "rsa", claims(rs256.Issuer, Audience)),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := v.Verify(context.Background(), tok)
			wantStatus(t, err, ReasonTokenInvalid)
		})
	}

	// And the default profile refuses the RS256 token, its key being published.
	def, _ := newVerifier(src)
	_, err = def.Verify(context.Background(), good)
	wantStatus(t, err, ReasonTokenInvalid)
}

func TestTokenProfile_SignRefusesAKeyOfAnotherAlgorithm(t *testing.T) {
	edKey, _ := newKey(t, "ed")
	rsaKey, _ := newRSAKey(t, "rsa", 2048)
	if _, _, err := rs256.Sign(edKey, patient, t0, time.Hour); err == nil {
		t.Error("RS256 profile signed with an Ed25519 key")
	}
	if _, _, err := DefaultTokenProfile.Sign(rsaKey, patient, t0, time.Hour); err == nil {
		t.Error("EdDSA profile signed with an RSA key")
	}
}

func TestParseJWK_RSARoundTripAndRefusals(t *testing.T) {
	_, pub := newRSAKey(t, "rsa", 2048)
	jwk := JWK(pub)
	if jwk.GetKty() != "RSA" || jwk.GetAlg() != "RS256" || jwk.GetUse() != "sig" || jwk.GetKid() != "rsa" || jwk.GetE() != "AQAB" {
		t.Fatalf("JWK = %v", jwk)
	}
	n, _ := base64.RawURLEncoding.DecodeString(jwk.GetN())
	if new(big.Int).SetBytes(n).Cmp(pub.Key.(*rsa.PublicKey).N) != 0 || len(n) != 256 {
		t.Fatalf("n decodes to %d bytes, not the modulus", len(n))
	}
	back, ok, err := ParseJWK(jwk)
	if err != nil || !ok || !pub.Key.(*rsa.PublicKey).Equal(back.Key) || back.KID != "rsa" {
		t.Fatalf("round trip: %v %v %v", back, ok, err)
	}

	_, small := newRSAKey(t, "small", 1024)
	for name, k := range map[string]*identityv1.Jwk{
		"1024-bit modulus":   JWK(small),
		"alg EdDSA on RSA":   {Kty: "RSA", N: jwk.GetN(), E: jwk.GetE(), Kid: "x", Alg: "EdDSA"},
		"even exponent":      {Kty: "RSA", N: jwk.GetN(), E: "Ag", Kid: "x"},
		"n not base64url":    {Kty: "RSA", N: "not base64!", E: jwk.GetE(), Kid: "x"},
		"leading zero n":     {Kty: "RSA", N: base64.RawURLEncoding.EncodeToString(append([]byte{0}, n...)), E: jwk.GetE(), Kid: "x"},
		"alg RS256 on a OKP": {Kty: "OKP", Crv: "Ed25519", X: base64.RawURLEncoding.EncodeToString(make([]byte, 32)), Kid: "x", Alg: "RS256"},
	} {
		if _, _, err := ParseJWK(k); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, ok, err := ParseJWK(&identityv1.Jwk{Kty: "EC", Crv: "P-256", Kid: "ec"}); ok || err != nil {
		t.Errorf("an EC key: ok=%v err=%v, want skipped", ok, err)
	}
}

func TestTokenProfile_IssuerURL(t *testing.T) {
	for issuer, want := range map[string]string{
		"https://api.example.com":       "https://api.example.com",
		"https://api.example.com/":      "https://api.example.com",
		"https://api.example.com/auth/": "",
		"http://127.0.0.1:8080":         "http://127.0.0.1:8080",
		"healthcore":                    "",
		"https://api.example.com?x=1":   "",
		"https://user@api.example.com":  "",
		"ftp://api.example.com":         "",
	} {
		got, ok := TokenProfile{Alg: AlgRS256, Issuer: issuer, Audience: "a"}.IssuerURL()
		if got != want || ok != (want != "") {
			t.Errorf("IssuerURL(%q) = %q, %v; want %q", issuer, got, ok, want)
		}
	}
}
