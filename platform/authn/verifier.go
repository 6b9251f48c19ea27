package authn

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// KeySource returns the public keys that verify live tokens (a JWKS).
type KeySource func(ctx context.Context) ([]PublicKey, error)

// Verifier checks access tokens against a cached key set. An unknown kid triggers a
// refresh (at most once per MinRefresh), so a key rotated in by identity is accepted at
// once; the whole set is also refreshed when older than MaxAge, so retired keys leave.
// While the source is down, cached keys keep verifying and the source is retried at
// most once per MinRefresh.
//
// With CheckRevocations, it also refuses the tokens of sessions that have ended.
type Verifier struct {
	source     KeySource
	MinRefresh time.Duration
	MaxAge     time.Duration
	Leeway     time.Duration
	Now        func() time.Time

	mu        sync.Mutex
	keys      map[string]ed25519.PublicKey
	fetchedAt time.Time // of the key set held
	triedAt   time.Time // of the last call to the source, successful or not
	fetchErr  error     // of that call; nil when it succeeded

	revoked *revocations // nil: sessions are not checked
}

// NewVerifier returns a verifier with production defaults.
func NewVerifier(source KeySource) *Verifier {
	return &Verifier{source: source, MinRefresh: time.Second, MaxAge: 5 * time.Minute, Leeway: 30 * time.Second, Now: time.Now}
}

// CheckRevocations makes v refuse the tokens of sessions that source lists as ended
// (ErrSessionEnded), and every token that names no session, within the bounds of
// policy. It returns v.
func (v *Verifier) CheckRevocations(source RevocationSource, policy RevocationPolicy) *Verifier {
	v.revoked = &revocations{source: source, policy: policy}
	return v
}

// Token failures a client can act on.
var (
	ErrTokenMissing = ReasonTokenMissing.New("this call needs an access token: send \"Authorization: Bearer <token>\"")
	ErrTokenExpired = ReasonTokenExpired.New("the access token has expired: refresh it")
	ErrTokenInvalid = ReasonTokenInvalid.New("the access token is not valid")
)

// Verify checks the token's signature, key id, issuer, audience and times, and returns
// the principal it names; with CheckRevocations, also that its session has not ended.
func (v *Verifier) Verify(ctx context.Context, token string) (Principal, error) {
	var c claims
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}),
		jwt.WithIssuer(Issuer),
		jwt.WithAudience(Audience),
		jwt.WithExpirationRequired(),
		jwt.WithLeeway(v.Leeway),
		jwt.WithTimeFunc(v.Now),
	)
	var lookupErr error
	_, err := parser.ParseWithClaims(token, &c, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		if kid == "" {
			return nil, errors.New("token has no kid")
		}
		key, err := v.key(ctx, kid)
		if err != nil {
			lookupErr = err
		}
		return key, err
	})
	switch {
	case err == nil:
	case lookupErr != nil && !errors.Is(lookupErr, errUnknownKID):
		return Principal{}, ReasonKeysUnavailable.New("cannot verify tokens right now; retry").WithCause(lookupErr)
	case errors.Is(err, jwt.ErrTokenExpired):
		return Principal{}, ErrTokenExpired.WithCause(err)
	default:
		return Principal{}, ErrTokenInvalid.WithCause(err)
	}
	role, ok := ParseRole(c.Role)
	if !ok || c.Subject == "" {
		return Principal{}, ErrTokenInvalid.WithCause(fmt.Errorf("bad role %q or subject %q", c.Role, c.Subject))
	}
	if v.revoked != nil {
		if c.SID == "" { // a token that names no session could never be ended
			return Principal{}, ErrTokenInvalid.WithCause(errors.New("token has no sid"))
		}
		if err := v.revoked.check(ctx, v.Now(), c.SID); err != nil {
			return Principal{}, err
		}
	}
	return Principal{UserID: c.Subject, Role: role, CRM: c.CRM, SessionID: c.SID, TokenID: c.ID}, nil
}

var errUnknownKID = errors.New("unknown kid")

func (v *Verifier) key(ctx context.Context, kid string) (ed25519.PublicKey, error) {
	// The lock is held across the fetch so that concurrent requests naming a kid just
	// rotated in wait for the one refresh instead of being refused.
	v.mu.Lock()
	defer v.mu.Unlock()
	now := v.Now()
	k, ok := v.keys[kid]
	if ok && now.Sub(v.fetchedAt) <= v.MaxAge {
		return k, nil
	}
	// An unknown kid or a stale set asks the source again, but at most once per
	// MinRefresh: made-up kids, or a source that is down, must not cost a call per request.
	if now.Sub(v.triedAt) < v.MinRefresh {
		switch {
		case ok:
			return k, nil
		case v.fetchErr != nil:
			return nil, fmt.Errorf("fetch JWKS: %w", v.fetchErr)
		}
		return nil, fmt.Errorf("%w %q", errUnknownKID, kid)
	}
	keys, err := v.source(ctx)
	if err != nil {
		if ctx.Err() == nil { // a caller giving up says nothing about the source
			v.triedAt, v.fetchErr = now, err
		}
		if ok { // keep verifying with the key we have while the source is down
			return k, nil
		}
		return nil, fmt.Errorf("fetch JWKS: %w", err)
	}
	v.keys = make(map[string]ed25519.PublicKey, len(keys))
	for _, pk := range keys {
		v.keys[pk.KID] = pk.Key
	}
	v.fetchedAt, v.triedAt, v.fetchErr = now, now, nil
	if k, ok = v.keys[kid]; !ok {
		return nil, fmt.Errorf("%w %q", errUnknownKID, kid)
	}
	return k, nil
}
