package testkit

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/google/uuid"

	accessv1 "healthcore/gen/healthcore/access/v1"
	"healthcore/platform/authn"
)

// Users stands in for identity's token signing: it signs access tokens for new
// accounts, and services under test verify them through Interceptor exactly as they
// verify identity's tokens in production.
type Users struct {
	t   testing.TB
	key authn.SigningKey
	pub ed25519.PublicKey
}

// NewUsers makes a signing key for the test.
func NewUsers(t testing.TB) *Users {
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &Users{t: t, key: authn.SigningKey{KID: "test-users", Private: priv}, pub: pub}
}

// KeySource is the JWKS the services' verifiers read.
func (u *Users) KeySource() authn.KeySource {
	return func(context.Context) ([]authn.PublicKey, error) {
		return []authn.PublicKey{{KID: u.key.KID, Key: u.pub}}, nil
	}
}

// Interceptor is the interceptor of the service self: it authenticates these users'
// tokens and the service tokens sent to self.
func (u *Users) Interceptor(self string) *authn.Interceptor {
	return authn.NewInterceptor(authn.NewVerifier(u.KeySource()), ServiceVerifier(self))
}

// Sign returns a new account's id and a token valid for an hour (on the wall clock)
// with the given role and CRM ("123456/SP" for doctors, "" otherwise). The account is
// fully trusted: a verified doctor, a verified e-mail, a session with a second factor;
// SignPrincipal makes the others.
func (u *Users) Sign(role accessv1.Role, crm string) (id, token string) {
	u.t.Helper()
	p := authn.Principal{
		UserID: uuid.NewString(), Role: role, CRM: crm,
		DoctorVerified: role == accessv1.Role_ROLE_DOCTOR, EmailVerified: true, AMR: []string{"pwd", "otp"},
	}
	return p.UserID, u.SignPrincipal(p)
}

// SignPrincipal returns a token for p valid for an hour (on the wall clock), with a
// new session id when p names none.
func (u *Users) SignPrincipal(p authn.Principal) string {
	u.t.Helper()
	if p.SessionID == "" {
		p.SessionID = uuid.NewString()
	}
	token, _, err := authn.Sign(u.key, p, time.Now(), time.Hour)
	if err != nil {
		u.t.Fatal(err)
	}
	return token
}

// SignPartner returns a new partner client's id and a token for it valid for an hour
// (on the wall clock), acting for the clinic with the given scopes, as identity's
// token endpoint issues them.
func (u *Users) SignPartner(clinicID string, scopes ...string) (clientID, token string) {
	u.t.Helper()
	p := authn.Principal{Role: accessv1.Role_ROLE_PARTNER, ClientID: uuid.NewString(), ClinicID: clinicID,
		Scopes: scopes, SessionID: uuid.NewString()}
	token, _, err := authn.DefaultTokenProfile.SignPartner(u.key, p, time.Now(), time.Hour)
	if err != nil {
		u.t.Fatal(err)
	}
	return p.ClientID, token
}

// Authed wraps msg in a request carrying the bearer token (none when token is "").
func Authed[T any](msg *T, token string) *connect.Request[T] {
	req := connect.NewRequest(msg)
	if token != "" {
		req.Header().Set("Authorization", "Bearer "+token)
	}
	return req
}

// CPF returns a valid CPF for n (its check digits computed as the Receita does), a
// different one for each n: the test accounts' documents.
func CPF(n int) string {
	d := []byte(fmt.Sprintf("%09d", 529982240+n*7))
	for _, w := range []int{10, 11} {
		sum := 0
		for i := range w - 1 {
			sum += int(d[i]-'0') * (w - i)
		}
		dv := 0
		if r := sum % 11; r >= 2 {
			dv = 11 - r
		}
		d = append(d, byte('0'+dv))
	}
	return string(d)
}
