// Package authn signs and verifies Healthcore access tokens (JWT with a key id, of one
// TokenProfile: EdDSA/Ed25519 by default, or RS256 for an AWS API Gateway JWT
// authorizer) and authenticates every RPC: the interceptor reads the access rule each method
// declares in its proto, verifies the bearer token against the JWKS published by the
// identity service, and puts the caller's Principal in the context. No service trusts
// the network: each one verifies tokens itself. A verifier with CheckRevocations also
// refuses the tokens of sessions identity lists as ended (logout, refresh-token reuse),
// with a bounded staleness (RevocationPolicy).
//
// Services call each other's internal methods as themselves: each signs short-lived
// service tokens with its own Ed25519 key (ServiceKeys, ServiceCaller), and a method's
// rule lists the services that may call it. A connection whose client certificate named
// a service (PeerService) identifies its caller without a token.
package authn
