package authn

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"fmt"
	"net/url"
	"strings"
)

// Algorithms access tokens may be signed with.
const (
	// AlgEdDSA is Ed25519 (RFC 8037): the default, small and fast.
	AlgEdDSA = "EdDSA"
	// AlgRS256 is RSASSA-PKCS1-v1_5 with SHA-256 on a 2048-bit key: what an AWS API
	// Gateway HTTP API's JWT authorizer verifies.
	AlgRS256 = "RS256"
)

// TokenProfile is the form of access tokens: the algorithm identity signs them with,
// and the issuer and audience it writes in them. Every verifier checks tokens against
// the same profile and accepts that one algorithm only, so a token can never pick how
// it is verified (no algorithm confusion).
type TokenProfile struct {
	Alg      string
	Issuer   string
	Audience string
}

// DefaultTokenProfile is the profile used unless configured otherwise: Ed25519, with
// issuer and audience "healthcore".
var DefaultTokenProfile = TokenProfile{Alg: AlgEdDSA, Issuer: Issuer, Audience: Audience}

// Check reports what is wrong with the profile, or nil.
func (tp TokenProfile) Check() error {
	switch {
	case tp.Alg != AlgEdDSA && tp.Alg != AlgRS256:
		return fmt.Errorf("algorithm %q: must be %s or %s", tp.Alg, AlgEdDSA, AlgRS256)
	case strings.TrimSpace(tp.Issuer) == "":
		return fmt.Errorf("the issuer is empty")
	case strings.TrimSpace(tp.Audience) == "":
		return fmt.Errorf("the audience is empty")
	}
	return nil
}

// IssuerURL returns the issuer as an absolute http(s) URL of a host, without a
// trailing slash, and whether it is one: only then does the gateway, answering at the
// host's root, publish the issuer's OpenID Connect discovery document at IssuerURL +
// "/.well-known/openid-configuration".
func (tp TokenProfile) IssuerURL() (string, bool) {
	u, err := url.Parse(tp.Issuer)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", false
	}
	return strings.TrimSuffix(tp.Issuer, "/"), true
}

// JWKSPath is where the gateway publishes the key set (identity's GetJwks route).
const JWKSPath = "/.well-known/jwks.json"

// DiscoveryPath is where the gateway publishes the OpenID Connect discovery document.
const DiscoveryPath = "/.well-known/openid-configuration"

// algOfPrivate is the algorithm a private key signs with ("" for a key type no
// profile uses).
func algOfPrivate(k crypto.Signer) string {
	switch k.(type) {
	case ed25519.PrivateKey:
		return AlgEdDSA
	case *rsa.PrivateKey:
		return AlgRS256
	}
	return ""
}

// AlgOf is the algorithm a public key verifies ("" for a key type no profile uses).
func AlgOf(k crypto.PublicKey) string {
	switch k.(type) {
	case ed25519.PublicKey:
		return AlgEdDSA
	case *rsa.PublicKey:
		return AlgRS256
	}
	return ""
}
