package authn

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"connectrpc.com/connect"
	"github.com/golang-jwt/jwt/v5"

	"healthcore/platform/errs"
)

// A service token is how a service proves who it is where no client certificate does
// (a mesh that terminates TLS): a JWT signed EdDSA with the caller's own key (header
// kid), with iss ServiceIssuer, sub the calling service, aud the called service, and a
// life of ServiceTokenTTL. It opens only the internal methods whose callers list its
// sub, and only on the service it names as audience.

// ServiceIssuer is the iss of every service token; user access tokens have Issuer.
const ServiceIssuer = "healthcore-service"

// ServiceTokenTTL is the life of a service token; callers reuse one until a minute
// before it expires.
const ServiceTokenTTL = 5 * time.Minute

// serviceTokenReuse is how long before its expiry a cached token is replaced.
const serviceTokenReuse = time.Minute

// MintServiceToken signs a token by which caller calls callee, valid from now for
// ServiceTokenTTL.
func (k *ServiceKeys) MintServiceToken(caller, callee string, now time.Time) (token string, expires time.Time, err error) {
	key, ok := k.signing[caller]
	if !ok {
		return "", time.Time{}, fmt.Errorf("mint service token: no private key of %s", caller)
	}
	expires = now.Add(ServiceTokenTTL).Truncate(time.Second)
	t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, jwt.RegisteredClaims{
		Issuer:    ServiceIssuer,
		Subject:   caller,
		Audience:  jwt.ClaimStrings{callee},
		IssuedAt:  jwt.NewNumericDate(now.Truncate(time.Second)),
		ExpiresAt: jwt.NewNumericDate(expires),
	})
	t.Header["kid"] = key.KID
	token, err = t.SignedString(key.Private)
	return token, expires, err
}

// ServiceVerifier checks the service tokens sent to one service.
type ServiceVerifier struct {
	keys   *ServiceKeys
	self   string
	Leeway time.Duration
	Now    func() time.Time

	// verified remembers the tokens whose signature and claims were checked, until they
	// expire: callers reuse one token per callee for minutes, and an Ed25519
	// verification on every call was a twentieth of a booking's CPU in the process serving
	// its callees. The keys do not
	// change while the process runs, so a token valid once stays valid until its expiry.
	mu       sync.Mutex
	verified map[string]verifiedToken
}

type verifiedToken struct {
	caller  string
	expires time.Time
}

// maxVerifiedTokens bounds the remembered tokens: one per calling service, two during
// a rotation or a token's renewal; beyond it the expired ones are dropped, or all.
const maxVerifiedTokens = 256

// Verifier returns the verifier of the service tokens sent to the service self.
func (k *ServiceKeys) Verifier(self string) *ServiceVerifier {
	return &ServiceVerifier{keys: k, self: self, Leeway: 30 * time.Second, Now: time.Now, verified: map[string]verifiedToken{}}
}

// Verify checks a service token's signature against the public keys of the service it
// names as sub (the key chosen by kid), its issuer, its audience (this service) and its
// times, and returns the calling service. Any failure is SERVICE_TOKEN_INVALID.
func (v *ServiceVerifier) Verify(token string) (caller string, err error) {
	now := v.Now()
	if caller, ok := v.remembered(token, now); ok {
		return caller, nil
	}
	caller, expires, err := v.verify(token)
	if err != nil {
		return "", err
	}
	v.remember(token, verifiedToken{caller: caller, expires: expires}, now)
	return caller, nil
}

// remembered returns the caller of a token verified before that has not expired.
func (v *ServiceVerifier) remembered(token string, now time.Time) (caller string, ok bool) {
	v.mu.Lock()
	known, ok := v.verified[token]
	v.mu.Unlock()
	if !ok || !now.Before(known.expires.Add(v.Leeway)) {
		return "", false
	}
	return known.caller, true
}

// remember keeps a verified token until its expiry.
func (v *ServiceVerifier) remember(token string, known verifiedToken, now time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.verified) >= maxVerifiedTokens {
		for t, known := range v.verified {
			if !now.Before(known.expires.Add(v.Leeway)) {
				delete(v.verified, t)
			}
		}
		if len(v.verified) >= maxVerifiedTokens {
			clear(v.verified)
		}
	}
	v.verified[token] = known
}

// verify checks a token's signature and claims (Verify without the memory).
func (v *ServiceVerifier) verify(token string) (caller string, expires time.Time, err error) {
	var c jwt.RegisteredClaims
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}),
		jwt.WithIssuer(ServiceIssuer),
		jwt.WithAudience(v.self),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(v.Leeway),
		jwt.WithTimeFunc(v.Now),
	)
	_, err = parser.ParseWithClaims(token, &c, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		keys, ok := v.keys.public[c.Subject]
		if !ok {
			return nil, fmt.Errorf("unknown service %q", c.Subject)
		}
		key, ok := keys[kid]
		if !ok {
			return nil, fmt.Errorf("kid %q is not a key of %s", kid, c.Subject)
		}
		return key, nil
	})
	if err == nil && (c.IssuedAt == nil || c.ExpiresAt.Sub(c.IssuedAt.Time) > ServiceTokenTTL) {
		err = errors.New("the token lives longer than a service token may")
	}
	if err != nil {
		return "", time.Time{}, ReasonServiceTokenInvalid.New("the service token is not valid").WithCause(err)
	}
	return c.Subject, c.ExpiresAt.Time, nil
}

// isServiceToken tells whether a bearer token claims to be a service token (its
// signature is not checked here: only which verifier it goes to).
func isServiceToken(token string) bool {
	var c jwt.RegisteredClaims
	if _, _, err := jwt.NewParser().ParseUnverified(token, &c); err != nil {
		return false
	}
	return c.Issuer == ServiceIssuer
}

// ServiceCaller returns the client interceptor of the service caller: on every call,
// unary or streaming, it sends a service token whose audience is the called service
// (the package segment of the procedure, /healthcore.<callee>.v1.<Service>/<Method>),
// minted with caller's private key and reused until a minute before it expires. A call
// that already carries an Authorization header keeps it. keys must hold caller's
// private key.
func ServiceCaller(keys *ServiceKeys, caller string) connect.Interceptor {
	if !keys.CanSign(caller) {
		panic(fmt.Sprintf("authn: ServiceCaller: no private key of %s", caller))
	}
	return &serviceCaller{keys: keys, caller: caller, now: time.Now, tokens: map[string]cachedToken{}}
}

type serviceCaller struct {
	keys   *ServiceKeys
	caller string
	now    func() time.Time

	mu     sync.Mutex
	tokens map[string]cachedToken // by callee
}

type cachedToken struct {
	header    string // "Bearer <token>"
	refreshAt time.Time
}

// CalleeOf returns the service a procedure belongs to: "scheduling" for
// /healthcore.scheduling.v1.SchedulingService/GetAppointment; "" when the procedure is
// not a Healthcore one.
func CalleeOf(procedure string) string {
	parts := strings.Split(strings.TrimPrefix(procedure, "/"), ".")
	if len(parts) < 4 || parts[0] != "healthcore" {
		return ""
	}
	return parts[1]
}

// header returns the Authorization header for a call of procedure, minting a token
// when none is cached or the cached one is about to expire.
func (s *serviceCaller) header(procedure string) (string, error) {
	callee := CalleeOf(procedure)
	if callee == "" {
		return "", fmt.Errorf("mint service token: %q is not a Healthcore procedure", procedure)
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.tokens[callee]; ok && now.Before(c.refreshAt) {
		return c.header, nil
	}
	token, expires, err := s.keys.MintServiceToken(s.caller, callee, now)
	if err != nil {
		return "", err
	}
	c := cachedToken{header: "Bearer " + token, refreshAt: expires.Add(-serviceTokenReuse)}
	s.tokens[callee] = c
	return c.header, nil
}

func (s *serviceCaller) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		if req.Spec().IsClient && req.Header().Get("Authorization") == "" {
			h, err := s.header(req.Spec().Procedure)
			if err != nil {
				return nil, errs.Internal("authn: mint service token", err)
			}
			req.Header().Set("Authorization", h)
		}
		return next(ctx, req)
	}
}

func (s *serviceCaller) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return func(ctx context.Context, spec connect.Spec) connect.StreamingClientConn {
		conn := next(ctx, spec)
		if conn.RequestHeader().Get("Authorization") == "" {
			// A token that cannot be minted leaves the header out: the callee refuses
			// the call as unauthenticated, which is what the caller then sees.
			if h, err := s.header(spec.Procedure); err == nil {
				conn.RequestHeader().Set("Authorization", h)
			}
		}
		return conn
	}
}

func (s *serviceCaller) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return next
}
