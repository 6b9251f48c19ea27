package authn

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"fmt"

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
			if k.GetKty() != "OKP" || k.GetCrv() != "Ed25519" {
				continue
			}
			x, err := base64.RawURLEncoding.DecodeString(k.GetX())
			if err != nil || len(x) != ed25519.PublicKeySize {
				return nil, fmt.Errorf("JWKS key %q: bad x", k.GetKid())
			}
			out = append(out, PublicKey{KID: k.GetKid(), Key: ed25519.PublicKey(x)})
		}
		return out, nil
	}
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
