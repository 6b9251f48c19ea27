package authn

import (
	"context"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/base64"
	"fmt"
	"math/big"

	"connectrpc.com/connect"

	identityv1 "healthcore/gen/healthcore/identity/v1"
	"healthcore/gen/healthcore/identity/v1/identityv1connect"
)

// JWKSFromIdentity is the KeySource of every service but identity: it reads the JWKS
// from the identity service over gRPC.
func JWKSFromIdentity(c identityv1connect.IdentityServiceClient) KeySource {
	return func(ctx context.Context) ([]PublicKey, error) {
		resp, err := c.GetJwks(ctx, connect.NewRequest(&identityv1.GetJwksRequest{}))
		if err != nil {
			return nil, err
		}
		var out []PublicKey
		for _, k := range resp.Msg.GetKeys() {
			pk, ok, err := ParseJWK(k)
			if err != nil {
				return nil, err
			}
			if ok {
				out = append(out, pk)
			}
		}
		return out, nil
	}
}

// minRSABits is the smallest RSA modulus accepted (NIST SP 800-57: 2048 bits).
const minRSABits = 2048

// ParseJWK reads a published key: an Ed25519 key (kty OKP) or an RSA key of at least
// 2048 bits. ok is false for a key of another type, which is skipped; a key of a known
// type that does not decode, or whose alg does not match its type, is an error.
func ParseJWK(k *identityv1.Jwk) (pk PublicKey, ok bool, err error) {
	switch {
	case k.GetKty() == "OKP" && k.GetCrv() == "Ed25519":
		x, err := base64.RawURLEncoding.DecodeString(k.GetX())
		if err != nil || len(x) != ed25519.PublicKeySize {
			return PublicKey{}, false, fmt.Errorf("JWKS key %q: bad x", k.GetKid())
		}
		pk = PublicKey{KID: k.GetKid(), Key: ed25519.PublicKey(x)}
	case k.GetKty() == "RSA":
		n, errN := base64.RawURLEncoding.DecodeString(k.GetN())
		e, errE := base64.RawURLEncoding.DecodeString(k.GetE())
		if errN != nil || errE != nil || len(e) == 0 || len(e) > 4 || len(n) == 0 || n[0] == 0 {
			return PublicKey{}, false, fmt.Errorf("JWKS key %q: bad n or e", k.GetKid())
		}
		key := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
		if key.N.BitLen() < minRSABits || key.E < 3 || key.E%2 == 0 {
			return PublicKey{}, false, fmt.Errorf("JWKS key %q: RSA key of %d bits, exponent %d: need %d bits or more and an odd exponent", k.GetKid(), key.N.BitLen(), key.E, minRSABits)
		}
		pk = PublicKey{KID: k.GetKid(), Key: key}
	default:
		return PublicKey{}, false, nil
	}
	if alg := AlgOf(pk.Key); k.GetAlg() != "" && k.GetAlg() != alg {
		return PublicKey{}, false, fmt.Errorf("JWKS key %q: alg %q on a %s key", k.GetKid(), k.GetAlg(), alg)
	}
	return pk, true, nil
}

// JWK is the published form of a public key (the inverse of ParseJWK).
func JWK(pk PublicKey) *identityv1.Jwk {
	switch k := pk.Key.(type) {
	case ed25519.PublicKey:
		return &identityv1.Jwk{Kty: "OKP", Crv: "Ed25519", X: base64.RawURLEncoding.EncodeToString(k), Kid: pk.KID, Alg: AlgEdDSA, Use: "sig"}
	case *rsa.PublicKey:
		return &identityv1.Jwk{Kty: "RSA", N: base64.RawURLEncoding.EncodeToString(k.N.Bytes()),
			E: base64.RawURLEncoding.EncodeToString(big.NewInt(int64(k.E)).Bytes()), Kid: pk.KID, Alg: AlgRS256, Use: "sig"}
	}
	return nil
}

// RevokedFromIdentity is the RevocationSource of every service but identity: it reads
// the ended sessions from the identity service over gRPC, as a service (the client
// must authenticate as one of ListRevokedSessions' callers).
func RevokedFromIdentity(c identityv1connect.IdentityServiceClient) RevocationSource {
	return func(ctx context.Context) ([]RevokedSession, error) {
		resp, err := c.ListRevokedSessions(ctx, connect.NewRequest(&identityv1.ListRevokedSessionsRequest{}))
		if err != nil {
			return nil, err
		}
		out := make([]RevokedSession, 0, len(resp.Msg.GetSessions()))
		for _, s := range resp.Msg.GetSessions() {
			out = append(out, RevokedSession{ID: s.GetSessionId(), Expires: s.GetExpireTime().AsTime()})
		}
		return out, nil
	}
}
