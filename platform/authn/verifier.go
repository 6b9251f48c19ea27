package authn

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	accessv1 "healthcore/gen/healthcore/access/v1"
)

// KeySource returns the public keys that verify live tokens (a JWKS).
type KeySource func(ctx context.Context) ([]PublicKey, error)

// Verifier checks access tokens against a cached key set. An unknown kid triggers a
// refresh (at most once per MinRefresh), so a key rotated in by identity is accepted at
// once; the whole set is also refreshed when older than MaxAge, so retired keys leave.
// While the source is down, cached keys keep verifying and the source is retried at
// most once per MinRefresh.
//
// It accepts the tokens of one TokenProfile (the default unless WithProfile): that
// algorithm only, verified only with keys of that algorithm, and that issuer and
// audience. With CheckRevocations, it also refuses the tokens of sessions that have
// ended.
type Verifier struct {
	source     KeySource
	profile    TokenProfile
	MinRefresh time.Duration
	MaxAge     time.Duration
	Leeway     time.Duration
	Now        func() time.Time

	mu        sync.Mutex
	keys      map[string]PublicKey
	fetchedAt time.Time // of the key set held
	triedAt   time.Time // of the last call to the source, successful or not
	fetchErr  error     // of that call; nil when it succeeded

	revoked *revocations // nil: sessions are not checked

	// keysGen counts the key sets fetched (under mu): a remembered token holds the
	// generation it was verified against, and a new set forgets it.
	keysGen uint64
	// verified remembers the claims of tokens whose signature and claims were checked,
	// by the token's SHA-256, with the key set's generation: a user sends the same
	// access token for its whole life (15 minutes), and parsing it and an Ed25519
	// verification on every call were the largest fixed cost of an authenticated read.
	// The times are checked again on every use; the session, the role and the rule
	// are checked as for a token never seen.
	vmu      sync.Mutex
	verified map[[sha256.Size]byte]rememberedClaims
}

type rememberedClaims struct {
	c   claims
	kid string
	gen uint64
}

// maxRememberedTokens bounds the remembered tokens (about 300 bytes each): past it the
// expired ones are forgotten, then half of the rest.
const maxRememberedTokens = 1 << 15

// NewVerifier returns a verifier with production defaults.
func NewVerifier(source KeySource) *Verifier {
	return &Verifier{source: source, profile: DefaultTokenProfile, MinRefresh: time.Second, MaxAge: 5 * time.Minute, Leeway: 30 * time.Second, Now: time.Now}
}

// WithProfile makes v accept the tokens of profile only, and returns v.
func (v *Verifier) WithProfile(profile TokenProfile) *Verifier {
	v.profile = profile
	return v
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
	c, err := v.claims(ctx, token)
	if err != nil {
		return Principal{}, err
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
	if role == accessv1.Role_ROLE_PARTNER {
		scopes := strings.Fields(c.Scope)
		if c.Clinic == "" || len(scopes) == 0 {
			return Principal{}, ErrTokenInvalid.WithCause(fmt.Errorf("partner token without clinic %q or scope %q", c.Clinic, c.Scope))
		}
		return Principal{
			Role: role, ClientID: c.Subject, ClinicID: c.Clinic, Scopes: scopes, SessionID: c.SID, TokenID: c.ID,
		}, nil
	}
	return Principal{
		UserID: c.Subject, Role: role, CRM: c.CRM, SessionID: c.SID, TokenID: c.ID,
		DoctorVerified: c.DV, EmailVerified: c.EV, AMR: c.AMR,
	}, nil
}

// claims returns the claims of a token whose signature, key id, issuer, audience and
// times check, from memory when the token was verified before against the key set
// held now.
func (v *Verifier) claims(ctx context.Context, token string) (claims, error) {
	sum := sha256.Sum256([]byte(token))
	v.vmu.Lock()
	known, ok := v.verified[sum]
	v.vmu.Unlock()
	if ok && v.timesValid(&known.c) {
		if _, gen, err := v.key(ctx, known.kid); err == nil && gen == known.gen {
			return known.c, nil
		}
	}
	c, kid, gen, err := v.parse(ctx, token)
	if err != nil {
		return claims{}, err
	}
	v.remember(sum, rememberedClaims{c: c, kid: kid, gen: gen})
	return c, nil
}

// timesValid checks a remembered token's expiry and not-before as the parser does.
func (v *Verifier) timesValid(c *claims) bool {
	now := v.Now()
	if c.ExpiresAt == nil || !now.Before(c.ExpiresAt.Add(v.Leeway)) {
		return false
	}
	return c.NotBefore == nil || !now.Add(v.Leeway).Before(c.NotBefore.Time)
}

func (v *Verifier) remember(sum [sha256.Size]byte, known rememberedClaims) {
	v.vmu.Lock()
	defer v.vmu.Unlock()
	if v.verified == nil {
		v.verified = map[[sha256.Size]byte]rememberedClaims{}
	}
	if len(v.verified) >= maxRememberedTokens {
		for k, r := range v.verified {
			if !v.timesValid(&r.c) {
				delete(v.verified, k)
			}
		}
		for k := range v.verified { // map order is random: a random half goes
			if len(v.verified) < maxRememberedTokens/2 {
				break
			}
			delete(v.verified, k)
		}
	}
	v.verified[sum] = known
}

// parse verifies a token's signature with the key its kid names, and its claims.
func (v *Verifier) parse(ctx context.Context, token string) (c claims, kid string, gen uint64, err error) {
	parser := jwt.NewParser(
		// One algorithm, the profile's: the token's alg header never chooses.
		jwt.WithValidMethods([]string{v.profile.Alg}),
		jwt.WithIssuer(v.profile.Issuer),
		jwt.WithAudience(v.profile.Audience),
		jwt.WithExpirationRequired(),
		jwt.WithLeeway(v.Leeway),
		jwt.WithTimeFunc(v.Now),
	)
	var lookupErr error
	_, err = parser.ParseWithClaims(token, &c, func(t *jwt.Token) (any, error) {
		kid, _ = t.Header["kid"].(string)
		if kid == "" {
			return nil, errors.New("token has no kid")
		}
		key, g, err := v.key(ctx, kid)
		if err != nil {
			lookupErr = err
			return nil, err
		}
		gen = g
		// A key published for another algorithm never verifies, whatever the header says.
		if alg := AlgOf(key.Key); alg != v.profile.Alg {
			return nil, fmt.Errorf("key %q is a %s key, tokens are %s", kid, alg, v.profile.Alg)
		}
		return key.Key, nil
	})
	switch {
	case err == nil:
		return c, kid, gen, nil
	case lookupErr != nil && !errors.Is(lookupErr, errUnknownKID):
		return claims{}, "", 0, ReasonKeysUnavailable.New("cannot verify tokens right now; retry").WithCause(lookupErr)
	case errors.Is(err, jwt.ErrTokenExpired):
		return claims{}, "", 0, ErrTokenExpired.WithCause(err)
	default:
		return claims{}, "", 0, ErrTokenInvalid.WithCause(err)
	}
}

var errUnknownKID = errors.New("unknown kid")

// key returns the public key kid names and the generation of the key set it is from.
func (v *Verifier) key(ctx context.Context, kid string) (PublicKey, uint64, error) {
	// The lock is held across the fetch so that concurrent requests naming a kid just
	// rotated in wait for the one refresh instead of being refused.
	v.mu.Lock()
	defer v.mu.Unlock()
	now := v.Now()
	k, ok := v.keys[kid]
	if ok && now.Sub(v.fetchedAt) <= v.MaxAge {
		return k, v.keysGen, nil
	}
	// An unknown kid or a stale set asks the source again, but at most once per
	// MinRefresh: made-up kids, or a source that is down, must not cost a call per request.
	if now.Sub(v.triedAt) < v.MinRefresh {
		switch {
		case ok:
			return k, v.keysGen, nil
		case v.fetchErr != nil:
			return PublicKey{}, 0, fmt.Errorf("fetch JWKS: %w", v.fetchErr)
		}
		return PublicKey{}, 0, fmt.Errorf("%w %q", errUnknownKID, kid)
	}
	keys, err := v.source(ctx)
	if err != nil {
		if ctx.Err() == nil { // a caller giving up says nothing about the source
			v.triedAt, v.fetchErr = now, err
		}
		if ok { // keep verifying with the key we have while the source is down
			return k, v.keysGen, nil
		}
		return PublicKey{}, 0, fmt.Errorf("fetch JWKS: %w", err)
	}
	v.keys = make(map[string]PublicKey, len(keys))
	for _, pk := range keys {
		v.keys[pk.KID] = pk
	}
	v.fetchedAt, v.triedAt, v.fetchErr = now, now, nil
	v.keysGen++
	if k, ok = v.keys[kid]; !ok {
		return PublicKey{}, 0, fmt.Errorf("%w %q", errUnknownKID, kid)
	}
	return k, v.keysGen, nil
}
