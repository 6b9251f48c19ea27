package authn

import (
	"crypto"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	accessv1 "healthcore/gen/healthcore/access/v1"
)

// Issuer and Audience are the iss and aud of access tokens under the default profile.
const (
	Issuer   = "healthcore"
	Audience = "healthcore"
)

// SigningKey is a private key that signs access tokens: an ed25519.PrivateKey
// (EdDSA) or an *rsa.PrivateKey (RS256).
type SigningKey struct {
	KID     string
	Private crypto.Signer
}

// PublicKey verifies tokens whose header names KID: an ed25519.PublicKey (EdDSA) or
// an *rsa.PublicKey (RS256).
type PublicKey struct {
	KID string
	Key crypto.PublicKey
}

// claims is the JWT payload of an access token.
type claims struct {
	jwt.RegisteredClaims
	Role string `json:"role"`
	CRM  string `json:"crm,omitempty"`
	SID  string `json:"sid,omitempty"`
	// dv: the doctor is verified; ev: the e-mail is verified; amr: RFC 8176 methods.
	DV  bool     `json:"dv,omitempty"`
	EV  bool     `json:"ev,omitempty"`
	AMR []string `json:"amr,omitempty"`
	// A partner client's token: the clinic it acts for, and the scopes granted
	// (space-separated, as RFC 6749 section 3.3 writes them).
	Clinic string `json:"clinic,omitempty"`
	Scope  string `json:"scope,omitempty"`
}

// roleNames maps roles to the short names used in tokens.
var roleNames = map[accessv1.Role]string{
	accessv1.Role_ROLE_PATIENT: "patient",
	accessv1.Role_ROLE_DOCTOR:  "doctor",
	accessv1.Role_ROLE_ADMIN:   "admin",
	accessv1.Role_ROLE_PARTNER: "partner",
}

// RoleName returns the short name of a token's role ("patient", "doctor", "admin",
// "partner").
func RoleName(r accessv1.Role) string { return roleNames[r] }

// ParseRole is the inverse of RoleName.
func ParseRole(s string) (accessv1.Role, bool) {
	for r, n := range roleNames {
		if n == s {
			return r, true
		}
	}
	return accessv1.Role_ROLE_UNSPECIFIED, false
}

// Sign issues an access token for p under the default profile, valid from now for ttl.
func Sign(key SigningKey, p Principal, now time.Time, ttl time.Duration) (token string, expires time.Time, err error) {
	return DefaultTokenProfile.Sign(key, p, now, ttl)
}

// Sign issues an access token for p with the profile's issuer and audience, valid
// from now for ttl; key must be of the profile's algorithm.
func (tp TokenProfile) Sign(key SigningKey, p Principal, now time.Time, ttl time.Duration) (token string, expires time.Time, err error) {
	if key.Private == nil || algOfPrivate(key.Private) != tp.Alg {
		return "", time.Time{}, fmt.Errorf("sign: key %q is not a %s key", key.KID, tp.Alg)
	}
	role := RoleName(p.Role)
	if role == "" || p.Role == accessv1.Role_ROLE_PARTNER || p.UserID == "" {
		return "", time.Time{}, fmt.Errorf("sign: principal needs a user id and a user role, got %q/%v", p.UserID, p.Role)
	}
	c := claims{
		Role: role,
		CRM:  p.CRM,
		SID:  p.SessionID,
		DV:   p.DoctorVerified,
		EV:   p.EmailVerified,
		AMR:  p.AMR,
	}
	return tp.sign(key, p.UserID, c, now, ttl)
}

// SignPartner issues a partner client's access token under the profile, valid from now
// for ttl: sub is the client, clinic its clinic, scope the scopes granted, and sid the
// client secret that obtained it, so that revoking the secret (or the client) ends the
// token as ending a session ends a user's.
func (tp TokenProfile) SignPartner(key SigningKey, p Principal, now time.Time, ttl time.Duration) (token string, expires time.Time, err error) {
	if key.Private == nil || algOfPrivate(key.Private) != tp.Alg {
		return "", time.Time{}, fmt.Errorf("sign: key %q is not a %s key", key.KID, tp.Alg)
	}
	if p.Role != accessv1.Role_ROLE_PARTNER || p.ClientID == "" || p.ClinicID == "" || len(p.Scopes) == 0 || p.SessionID == "" {
		return "", time.Time{}, fmt.Errorf("sign: a partner principal needs a client, a clinic, scopes and a secret id, got %+v", p)
	}
	c := claims{Role: RoleName(p.Role), SID: p.SessionID, Clinic: p.ClinicID, Scope: strings.Join(p.Scopes, " ")}
	return tp.sign(key, p.ClientID, c, now, ttl)
}

// sign completes c's registered claims (subject sub) and signs it with key.
func (tp TokenProfile) sign(key SigningKey, sub string, c claims, now time.Time, ttl time.Duration) (token string, expires time.Time, err error) {
	var jti [16]byte
	_, _ = rand.Read(jti[:])
	expires = now.Add(ttl).Truncate(time.Second)
	c.RegisteredClaims = jwt.RegisteredClaims{
		Issuer:    tp.Issuer,
		Subject:   sub,
		Audience:  jwt.ClaimStrings{tp.Audience},
		ExpiresAt: jwt.NewNumericDate(expires),
		NotBefore: jwt.NewNumericDate(now.Add(-5 * time.Second)),
		IssuedAt:  jwt.NewNumericDate(now),
		ID:        hex.EncodeToString(jti[:]),
	}
	t := jwt.NewWithClaims(jwt.GetSigningMethod(tp.Alg), c)
	t.Header["kid"] = key.KID
	token, err = t.SignedString(key.Private)
	return token, expires, err
}

// BearerToken extracts the token of an "Authorization: Bearer <token>" header value
// (the partner edge reads it before forwarding the call).
func BearerToken(header string) (string, bool) { return bearer(header) }

// bearer extracts the token of an "Authorization: Bearer <token>" header value.
func bearer(header string) (string, bool) {
	const prefix = "bearer "
	if len(header) <= len(prefix) || !strings.EqualFold(header[:len(prefix)], prefix) {
		return "", false
	}
	token := strings.TrimSpace(header[len(prefix):])
	return token, token != ""
}
