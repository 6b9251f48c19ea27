package authn

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	accessv1 "healthcore/gen/healthcore/access/v1"
	"healthcore/platform/errs"
)

func TestSignVerify_RoundTripKeepsTheCaller(t *testing.T) {
	key, pub := newKey(t, "k1")
	src := &jwks{keys: []PublicKey{pub}}
	v, _ := newVerifier(src)
	for _, p := range []Principal{patient, doctor, admin} {
		t.Run(RoleName(p.Role), func(t *testing.T) {
			tok, expires, err := Sign(key, p, t0, 15*time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			if want := t0.Add(15 * time.Minute); !expires.Equal(want) {
				t.Errorf("expires = %v, want %v", expires, want)
			}
			got, err := v.Verify(context.Background(), tok)
			if err != nil {
				t.Fatal(err)
			}
			if got.UserID != p.UserID || got.Role != p.Role || got.CRM != p.CRM || got.SessionID != p.SessionID {
				t.Errorf("verified %+v, want %+v", got, p)
			}
			if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(got.TokenID) {
				t.Errorf("token id = %q, want 128 random bits in hex", got.TokenID)
			}
		})
	}
}

func TestSign_GivesEveryTokenItsOwnID(t *testing.T) {
	key, pub := newKey(t, "k1")
	v, _ := newVerifier(&jwks{keys: []PublicKey{pub}})
	seen := map[string]bool{}
	for range 20 {
		p, err := v.Verify(context.Background(), sign(t, key, patient))
		if err != nil {
			t.Fatal(err)
		}
		if seen[p.TokenID] {
			t.Fatalf("token id %s issued twice", p.TokenID)
		}
		seen[p.TokenID] = true
	}
}

func TestSign_RefusesAPrincipalThatIsNotAUser(t *testing.T) {
	key, _ := newKey(t, "k1")
	for name, p := range map[string]Principal{
		"no user id":       {Role: accessv1.Role_ROLE_PATIENT},
		"service role":     {UserID: "u", Role: accessv1.Role_ROLE_SERVICE},
		"unspecified role": {UserID: "u"},
	} {
		t.Run(name, func(t *testing.T) {
			if tok, _, err := Sign(key, p, t0, time.Minute); err == nil {
				t.Fatalf("signed %q, want an error", tok)
			}
		})
	}
}

func TestVerify_ExpiryAllowsTheLeewayAndNoMore(t *testing.T) {
	key, pub := newKey(t, "k1")
	v, clk := newVerifier(&jwks{keys: []PublicKey{pub}})
	v.Leeway = 30 * time.Second
	tok, expires, err := Sign(key, patient, t0, 15*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		at     time.Time
		reason errs.Reason // zero: verified
	}{
		{"before expiry", expires.Add(-time.Second), errs.Reason{}},
		{"at expiry", expires, errs.Reason{}},
		{"within the leeway", expires.Add(29 * time.Second), errs.Reason{}},
		{"beyond the leeway", expires.Add(31 * time.Second), ReasonTokenExpired},
		{"long expired", expires.Add(24 * time.Hour), ReasonTokenExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk.mu.Lock()
			clk.now = tt.at
			clk.mu.Unlock()
			p, err := v.Verify(context.Background(), tok)
			wantStatus(t, err, tt.reason)
			if err == nil && p.UserID != patient.UserID {
				t.Errorf("user = %q, want %q", p.UserID, patient.UserID)
			}
			if err != nil && !errors.Is(err, ErrTokenExpired) {
				t.Errorf("errors.Is(err, ErrTokenExpired) = false for %v", err)
			}
		})
	}
}

// craft builds a token by hand, to present what Sign never would.
func craft(t *testing.T, method jwt.SigningMethod, key any, kid string, c jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, c)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// validClaims are the claims Sign writes for patient at t0.
func validClaims() jwt.MapClaims {
	return jwt.MapClaims{
		"iss": Issuer, "aud": []string{Audience}, "sub": patient.UserID, "role": "patient",
		"exp": t0.Add(time.Hour).Unix(), "nbf": t0.Add(-5 * time.Second).Unix(), "iat": t0.Unix(), "jti": "0011",
	}
}

func with(k string, v any) jwt.MapClaims {
	c := validClaims()
	if v == nil {
		delete(c, k)
	} else {
		c[k] = v
	}
	return c
}

func TestVerify_RefusesForgedAndMalformedTokens(t *testing.T) {
	key, pub := newKey(t, "k1")
	stranger, _ := newKey(t, "k2") // signs, but is not published
	v, _ := newVerifier(&jwks{keys: []PublicKey{pub}})
	eddsa := jwt.SigningMethodEdDSA

	valid := sign(t, key, patient)
	parts := strings.Split(valid, ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	promoted := parts[0] + "." +
		base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(payload), `"role":"patient"`, `"role":"admin"`, 1))) +
		"." + parts[2]

	tests := []struct {
		name  string
		token string
		ok    bool
	}{
		// The control: a hand-made token like Sign's is accepted, so the refusals below
		// are due to what each case changes.
		{"hand-made valid token", craft(t, eddsa, key.Private, "k1", validClaims()), true},
		{"wrong issuer", craft(t, eddsa, key.Private, "k1", with("iss", "someone-else")), false},
		{"no issuer", craft(t, eddsa, key.Private, "k1", with("iss", nil)), false},
		{"wrong audience", craft(t, eddsa, key.Private, "k1", with("aud", []string{"partner-api"})), false},
		{"no audience", craft(t, eddsa, key.Private, "k1", with("aud", nil)), false},
		{"no expiry", craft(t, eddsa, key.Private, "k1", with("exp", nil)), false},
		{"not valid yet", craft(t, eddsa, key.Private, "k1", with("nbf", t0.Add(10*time.Minute).Unix())), false},
		{"alg none", craft(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "k1", validClaims()), false},
		{"HS256 keyed with the public key", craft(t, jwt.SigningMethodHS256, []byte(pub.Key.(ed25519.PublicKey)), "k1", validClaims()), false},
		{"missing kid", craft(t, eddsa, key.Private, "", validClaims()), false},
		{"unknown kid", craft(t, eddsa, stranger.Private, "k2", validClaims()), false},
		{"known kid, other key", craft(t, eddsa, stranger.Private, "k1", validClaims()), false},
		{"payload altered after signing", promoted, false},
		{"service role claim", craft(t, eddsa, key.Private, "k1", with("role", "service")), false},
		{"unknown role claim", craft(t, eddsa, key.Private, "k1", with("role", "superuser")), false},
		{"no role claim", craft(t, eddsa, key.Private, "k1", with("role", nil)), false},
		{"no subject", craft(t, eddsa, key.Private, "k1", with("sub", nil)), false},
		{"not a JWT", "opaque-refresh-token", false},
		{"three empty parts", "..", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := v.Verify(context.Background(), tt.token)
			if tt.ok {
				wantStatus(t, err, errs.Reason{})
				if p.UserID != patient.UserID || p.Role != accessv1.Role_ROLE_PATIENT {
					t.Fatalf("verified %+v", p)
				}
				return
			}
			wantStatus(t, err, ReasonTokenInvalid)
			if !errors.Is(err, ErrTokenInvalid) {
				t.Errorf("errors.Is(err, ErrTokenInvalid) = false for %v", err)
			}
			if p.UserID != "" || p.Role != 0 || p.AMR != nil {
				t.Errorf("a refused token still named a caller: %+v", p)
			}
		})
	}
}

func TestBearer_ReadsTheTokenOfAnAuthorizationHeader(t *testing.T) {
	tests := []struct {
		header string
		token  string
		ok     bool
	}{
		{"Bearer abc.def.ghi", "abc.def.ghi", true},
		{"bearer abc", "abc", true},
		{"BEARER   abc  ", "abc", true},
		{"Bearer ", "", false},
		{"Bearer     ", "", false},
		{"Bearerabc", "", false},
		{"Basic dXNlcjpwYXNz", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.header, func(t *testing.T) {
			token, ok := bearer(tt.header)
			if token != tt.token || ok != tt.ok {
				t.Errorf("bearer(%q) = %q, %v; want %q, %v", tt.header, token, ok, tt.token, tt.ok)
			}
		})
	}
}

func TestParseRole_InvertsRoleName(t *testing.T) {
	for _, r := range []accessv1.Role{accessv1.Role_ROLE_PATIENT, accessv1.Role_ROLE_DOCTOR, accessv1.Role_ROLE_ADMIN} {
		got, ok := ParseRole(RoleName(r))
		if !ok || got != r {
			t.Errorf("ParseRole(RoleName(%v)) = %v, %v", r, got, ok)
		}
	}
	for _, s := range []string{"", "service", "Patient"} {
		if r, ok := ParseRole(s); ok {
			t.Errorf("ParseRole(%q) = %v, want no role", s, r)
		}
	}
}
