package directory

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"healthcore/platform/errs"
	"healthcore/platform/pg"
)

// A doctor is listed — found by SearchDoctors, GetDoctor and ListDoctorReviews — when
// the profile is complete and identity holds the doctor VERIFIED. Identity tells its
// verdicts with SetDoctorListing, from a job that retries until the call succeeds, so a
// verdict may come twice or after a newer one: each carries the time identity changed
// the status, and only a newer one than the last applied changes anything. A verdict
// on a doctor with no profile yet is kept for the profile to start with. An unlisted
// doctor keeps a draft (GetMyProfile, UpsertMyProfile), and GetPracticeSettings still
// answers for it, with listed false: scheduling needs the doctor's time zone for the
// agenda of a doctor preparing to practise, and refuses bookings of an unlisted one
// itself.

// setListing applies identity's verdict on a doctor (listed: VERIFIED), changed at
// changed, and reports whether it changed anything.
func (s *Service) setListing(ctx context.Context, doctorID string, listed bool, changed time.Time) (bool, error) {
	var applied bool
	err := pg.InTx(ctx, s.db, func(tx pgx.Tx) error {
		if err := s.doctors.lockDoctor(ctx, tx, doctorID); err != nil {
			return err
		}
		var err error
		applied, err = s.doctors.applyVerdict(ctx, tx, doctorID, listed, changed)
		return err
	})
	if err != nil {
		return false, errs.Internal("directory: set doctor listing", err)
	}
	if applied {
		s.written(ctx)
		s.log.InfoContext(ctx, "doctor listing set", "doctor_id", doctorID, "listed", listed)
	}
	return applied, nil
}
