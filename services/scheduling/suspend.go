package scheduling

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"healthcore/platform/authn"
	"healthcore/platform/errs"
	"healthcore/platform/pg"
)

// A doctor's standing comes from identity in two forms. The access token's dv claim
// (DoctorVerified) gates the doctor's own acts — setting availability, accepting,
// refusing — without a call: a pending, rejected or suspended doctor is refused
// DOCTOR_NOT_VERIFIED. A suspension (SuspendDoctor, called by identity's job once an
// operator suspends a verified doctor) is also kept here, so it takes effect at once,
// whatever tokens are still alive: the doctor's slots stop being offered, availability
// is refused, no booking of the doctor is inserted any more, and every appointment not
// started yet is refused. Identity has no way back from a suspension yet; a
// reinstatement would need a call here to lift it.

var errNotVerified = ReasonDoctorNotVerified.New("your CRM is not verified: an operator must verify it before you practise")

// verifiedDoctor refuses a calling doctor whose token does not say verified.
func verifiedDoctor(ctx context.Context) error {
	if p, _ := authn.FromContext(ctx); !p.DoctorVerified {
		return errNotVerified
	}
	return nil
}

// operator is who suspends a doctor: identity, on an operator's decision (identity
// audits which operator).
var operator = actor{role: "operator"}

// suspendDoctor records the doctor's suspension and refuses every appointment of theirs
// that has not started — one transition each, as the doctor's own refusal would, with
// the operator's reason — and returns how many this call refused. Unpaid ones end and
// their charge is cancelled; paid ones are refunded in full by the saga's jobs.
//
// The suspension commits first, under the doctor's booking lock held exclusively:
// every booking of the doctor inserted before is then visible, and none is inserted
// after (book checks the suspension under the same lock, shared). So the appointments
// to refuse are a set that can only shrink, each locked when refused: an accept or a
// payment racing with the refusal either lands first (then the appointment is refused
// from its new state) or finds it refused. A retry refuses nothing twice.
func (s *Service) suspendDoctor(ctx context.Context, doctorID, reason string) (int, error) {
	err := pg.InTx(ctx, s.db, func(tx pgx.Tx) error {
		if err := s.suspensions.lock(ctx, tx, doctorID, true); err != nil {
			return err
		}
		return s.suspensions.suspend(ctx, tx, doctorID, s.now())
	})
	if err != nil {
		return 0, errs.Internal("scheduling: suspend doctor: record the suspension", err)
	}
	ids, err := s.appointments.notStarted(ctx, s.db, doctorID, s.now())
	if err != nil {
		return 0, errs.Internal("scheduling: suspend doctor: list appointments", err)
	}
	refused := 0
	for _, id := range ids {
		// Sealed outside the transaction, as every text written by a person.
		why, err := s.sealNote(ctx, id, "refused", reason)
		if err != nil {
			return refused, errs.Internal("scheduling: suspend doctor: seal the reason", err)
		}
		done := false
		err = s.locked(ctx, id, func(tx pgx.Tx, a *appointment) error {
			done = false // afresh if PostgreSQL has the transaction rerun
			if !s.now().Before(a.start) {
				return nil // started meanwhile: it is the consultation's to finish
			}
			switch a.state {
			case stateAwaiting, stateConfirmed:
				done = true
				return s.refuse(ctx, tx, a, operator, why)
			case statePending:
				done = true
				if err := s.transition(ctx, tx, a, stateRefused, "refused", operator, why); err != nil {
					return err
				}
				return s.enqueue(ctx, tx, cancelChargeArgs{AppointmentID: a.id}, time.Time{})
			}
			return nil // ended meanwhile, or refused by a concurrent suspension
		})
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return refused, errs.Internal("scheduling: suspend doctor: refuse appointment", err)
		}
		if done {
			refused++
		}
	}
	if refused > 0 {
		s.log.InfoContext(ctx, "doctor suspended: appointments refused", "doctor_id", doctorID, "refused", refused)
	}
	return refused, nil
}

// bookable refuses, inside a booking's transaction, a booking of a suspended doctor.
// It holds the doctor's booking lock shared until the booking commits, so a suspension
// waits for the booking, then refuses it.
func (s *Service) bookable(ctx context.Context, tx pgx.Tx, doctorID string) error {
	if err := s.suspensions.lock(ctx, tx, doctorID, false); err != nil {
		return err
	}
	suspended, err := s.suspensions.suspended(ctx, tx, doctorID)
	if err != nil {
		return err
	}
	if suspended {
		return ReasonDoctorNotVerified.New("the doctor is suspended and takes no bookings")
	}
	return nil
}

// notSuspended refuses a suspended doctor's availability, and hides its slots.
func (s *Service) notSuspended(ctx context.Context, doctorID string, refusal error) error {
	suspended, err := s.suspensions.suspended(ctx, s.db, doctorID)
	if err != nil {
		return errs.Internal("scheduling: read suspension", err)
	}
	if suspended {
		return refusal
	}
	return nil
}
