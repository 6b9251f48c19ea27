package authn

import (
	"context"

	accessv1 "healthcore/gen/healthcore/access/v1"
)

// Principal is the authenticated caller of an RPC.
type Principal struct {
	UserID    string        // account id (UUID); "" for a service or a partner client
	Role      accessv1.Role // patient, doctor, admin, service or partner
	CRM       string        // "123456/SP" for doctors, else ""
	SessionID string        // the login session (refresh-token family) of a user; a partner client's secret id
	TokenID   string        // the access token's jti
	Service   string        // the calling service's name, for Role SERVICE ("scheduling")

	// A partner client (Role PARTNER): the OAuth 2.0 client, the clinic it acts for,
	// and the scopes its token was granted.
	ClientID string
	ClinicID string
	Scopes   []string

	// Facts identity vouches for when it signs the token; they live as long as the
	// token (minutes). A service that must have the current answer about another
	// account asks identity (GetDoctorStatus) instead.

	// DoctorVerified: a doctor whose CRM an operator verified (false while pending,
	// rejected or suspended).
	DoctorVerified bool
	// EmailVerified: the account's e-mail address was confirmed from a link sent to it.
	EmailVerified bool
	// AMR lists how the session authenticated, as RFC 8176 names methods: "pwd"
	// always; "otp" after a TOTP or recovery code; "hwk"/"swk" after a passkey.
	AMR []string
}

// Second-factor methods (RFC 8176) that satisfy an access rule's mfa_roles.
var secondFactors = []string{"otp", "hwk", "swk"}

// MFA reports whether the session proved a second factor.
func (p Principal) MFA() bool {
	for _, m := range p.AMR {
		for _, f := range secondFactors {
			if m == f {
				return true
			}
		}
	}
	return false
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
