package scheduling

import (
	"context"

	"healthcore/platform/doctors"
)

// checkVerified refuses a doctor identity does not report VERIFIED now: the
// authoritative answer, asked at each booking, so a suspension stops bookings at once.
func (s *Service) checkVerified(ctx context.Context, doctorID string) error {
	standing, err := doctors.Check(ctx, s.identity, doctorID)
	switch {
	case err != nil:
		return ReasonIdentityUnavailable.New("identity cannot be reached to check the doctor; retry").WithCause(err)
	case standing != doctors.Verified:
		return ReasonDoctorNotVerified.New("the doctor's CRM is not verified: they cannot be booked")
	}
	return nil
}
