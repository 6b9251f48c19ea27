package testkit

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"sync"

	"connectrpc.com/connect"

	"healthcore/platform/authn"
)

// Services are the platform's services, each of which has a test service key
// (internal/catalog's tests check that the list is the catalog's).
var Services = []string{
	"keys", "identity", "directory", "scheduling", "pix", "payments", "meetings", "blobs", "records", "telehealth", "notifications",
	"clinics",
}

// ServiceKeys are the service-token keys of tests: each service of Services signs with
// a key derived from its name, so every test stack verifies every other's tokens and
// no test needs key files.
var ServiceKeys = sync.OnceValue(func() *authn.ServiceKeys {
	public := map[string][]ed25519.PublicKey{}
	private := map[string]ed25519.PrivateKey{}
	for _, s := range Services {
		seed := sha256.Sum256([]byte("healthcore test service key " + s))
		priv := ed25519.NewKeyFromSeed(seed[:])
		public[s], private[s] = []ed25519.PublicKey{priv.Public().(ed25519.PublicKey)}, priv
	}
	k, err := authn.NewServiceKeys(public, private)
	if err != nil {
		panic(err)
	}
	return k
})

// ServiceVerifier verifies the service tokens sent to the service self.
func ServiceVerifier(self string) *authn.ServiceVerifier { return ServiceKeys().Verifier(self) }

// ServiceAuth is the interceptor of the service self when no user calls it in the test:
// only the services its methods list as callers get through, by their tokens.
func ServiceAuth(self string) *authn.Interceptor {
	return authn.NewInterceptor(NoUsers(), ServiceVerifier(self))
}

// NoUsers is a verifier of user tokens that knows no key: every user token is refused.
func NoUsers() *authn.Verifier { return authn.NewVerifier(noKeys) }

// Caller is the client interceptor of a test calling as the service caller: it sends
// caller's service tokens, as the catalog's clients do.
func Caller(caller string) connect.Interceptor { return authn.ServiceCaller(ServiceKeys(), caller) }

// Bearer is a client interceptor that sends token as the bearer token of every call,
// unary or streaming: a test's forged, stale or misdirected credential.
func Bearer(token string) connect.Interceptor { return bearer("Bearer " + token) }

type bearer string

func (b bearer) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		req.Header().Set("Authorization", string(b))
		return next(ctx, req)
	}
}

func (b bearer) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return func(ctx context.Context, spec connect.Spec) connect.StreamingClientConn {
		conn := next(ctx, spec)
		conn.RequestHeader().Set("Authorization", string(b))
		return conn
	}
}

func (b bearer) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return next
}
