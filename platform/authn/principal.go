package authn

import (
	"context"

	accessv1 "healthcore/gen/healthcore/access/v1"
)

// Principal is the authenticated caller of an RPC.
type Principal struct {
	UserID    string        // account id (UUID); "" for a service
	Role      accessv1.Role // patient, doctor, admin or service
	CRM       string        // "123456/SP" for doctors, else ""
	SessionID string        // the login session (refresh-token family) of a user
	TokenID   string        // the access token's jti
	Service   string        // the calling service's name, for Role SERVICE ("scheduling")
}

type principalKey struct{}

// WithPrincipal returns a context carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the caller, if the RPC was authenticated.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}
