package scheduling

import (
	"context"
	"time"

	"healthcore/platform/doctors"
)

// checkVerified refuses a doctor identity does not report VERIFIED: identity's answer,
// a VERIFIED one kept for DoctorCacheTTL (see doctorCache for why that is safe: a
// suspension is also checked in the booking's transaction).
func (s *Service) checkVerified(ctx context.Context, doctorID string) error {
	if _, ok := s.verified.get(doctorID, time.Now()); ok {
		return nil
	}
	standing, err := doctors.Check(ctx, s.identity, doctorID)
	switch {
	case err != nil:
		return ReasonIdentityUnavailable.New("identity cannot be reached to check the doctor; retry").WithCause(err)
	case standing != doctors.Verified:
		return ReasonDoctorNotVerified.New("the doctor's CRM is not verified: they cannot be booked")
	}
	s.verified.put(doctorID, struct{}{}, time.Now())
	return nil
}
