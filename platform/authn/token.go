package authn

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	accessv1 "healthcore/gen/healthcore/access/v1"
)

// Issuer and Audience are the iss and aud of every access token.
const (
	Issuer   = "healthcore"
	Audience = "healthcore"
)

// SigningKey is a private key that signs access tokens.
type SigningKey struct {
	KID     string
	Private ed25519.PrivateKey
}

// PublicKey verifies tokens whose header names KID.
type PublicKey struct {
	KID string
	Key ed25519.PublicKey
}

// claims is the JWT payload of an access token.
type claims struct {
	jwt.RegisteredClaims
	Role string `json:"role"`
	CRM  string `json:"crm,omitempty"`
	SID  string `json:"sid,omitempty"`
}

// roleNames maps roles to the short names used in tokens.
var roleNames = map[accessv1.Role]string{
	accessv1.Role_ROLE_PATIENT: "patient",
	accessv1.Role_ROLE_DOCTOR:  "doctor",
	accessv1.Role_ROLE_ADMIN:   "admin",
}

// RoleName returns the short name of a user role ("patient", "doctor", "admin").
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

// Sign issues an access token for p, valid from now for ttl.
func Sign(key SigningKey, p Principal, now time.Time, ttl time.Duration) (token string, expires time.Time, err error) {
	role := RoleName(p.Role)
	if role == "" || p.UserID == "" {
		return "", time.Time{}, fmt.Errorf("sign: principal needs a user id and a user role, got %q/%v", p.UserID, p.Role)
	}
	var jti [16]byte
	_, _ = rand.Read(jti[:])
	expires = now.Add(ttl).Truncate(time.Second)
	c := claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    Issuer,
			Subject:   p.UserID,
			Audience:  jwt.ClaimStrings{Audience},
			ExpiresAt: jwt.NewNumericDate(expires),
			NotBefore: jwt.NewNumericDate(now.Add(-5 * time.Second)),
			IssuedAt:  jwt.NewNumericDate(now),
			ID:        hex.EncodeToString(jti[:]),
		},
		Role: role,
		CRM:  p.CRM,
		SID:  p.SessionID,
	}
	t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, c)
	t.Header["kid"] = key.KID
	token, err = t.SignedString(key.Private)
	return token, expires, err
}

// bearer extracts the token of an "Authorization: Bearer <token>" header value.
func bearer(header string) (string, bool) {
	const prefix = "bearer "
	if len(header) <= len(prefix) || !strings.EqualFold(header[:len(prefix)], prefix) {
		return "", false
	}
	token := strings.TrimSpace(header[len(prefix):])
	return token, token != ""
}
