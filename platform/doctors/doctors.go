// Package doctors asks identity, the authority on doctors' CRM verification, whether a
// doctor may practise now. A token's dv claim says the same of its own holder for a
// few minutes; the services that act for or towards another doctor (scheduling books
// them, records shares with them) ask here instead.
package doctors

import (
	"context"
	"fmt"

	"connectrpc.com/connect"

	identityv1 "healthcore/gen/healthcore/identity/v1"
	"healthcore/gen/healthcore/identity/v1/identityv1connect"
)

// Standing is what identity says of a doctor id.
type Standing int

const (
	// Unknown: no doctor account has the id.
	Unknown Standing = iota
	// Unverified: a doctor not VERIFIED now (pending, rejected or suspended).
	Unverified
	// Verified: a doctor an operator verified, not suspended.
	Verified
)

// Check returns the doctor's standing. An error means identity could not answer; the
// caller maps it to its own UNAVAILABLE reason. The identity client must call as the
// service asking (GetDoctorStatus is internal).
func Check(ctx context.Context, identity identityv1connect.IdentityServiceClient, doctorID string) (Standing, error) {
	if identity == nil {
		return Unknown, fmt.Errorf("doctors: no identity client configured")
	}
	resp, err := identity.GetDoctorStatus(ctx, connect.NewRequest(&identityv1.GetDoctorStatusRequest{DoctorId: doctorID}))
	switch {
	case connect.CodeOf(err) == connect.CodeNotFound:
		return Unknown, nil
	case err != nil:
		return Unknown, fmt.Errorf("doctors: ask identity: %w", err)
	case resp.Msg.GetStatus() == identityv1.DoctorStatus_DOCTOR_STATUS_VERIFIED:
		return Verified, nil
	}
	return Unverified, nil
}
