package scheduling

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	schedulingv1 "healthcore/gen/healthcore/scheduling/v1"
	"healthcore/platform/authn"
	"healthcore/platform/errs"
	"healthcore/platform/pg"
)

// decide runs f on one of the caller's appointments, locked, and returns it after f,
// with its reason opened for the caller. Someone else's appointment is NotFound: ids
// reveal nothing. op names the decision in the log of an unexpected failure.
func (s *Service) decide(ctx context.Context, op, id string, mine func(a appointment, userID string) bool,
	f func(tx pgx.Tx, a *appointment) error,
) (*schedulingv1.Appointment, error) {
	out, err := s.decideRow(ctx, op, id, mine, f)
	if err != nil {
		return nil, err
	}
	if err := s.openReason(ctx, &out); err != nil {
		return nil, err
	}
	return out.proto(), nil
}

// decideRow is decide without opening the reason: the appointment as f left it.
func (s *Service) decideRow(ctx context.Context, op, id string, mine func(a appointment, userID string) bool,
	f func(tx pgx.Tx, a *appointment) error,
) (appointment, error) {
	p, _ := authn.FromContext(ctx)
	var out appointment
	err := pg.InTx(ctx, s.db, func(tx pgx.Tx) error {
		a, err := s.appointmentFor(ctx, tx, id, true)
		if err != nil {
			return err
		}
		if !mine(a, p.UserID) {
			return errAppointmentNotFound
		}
		if err := f(tx, &a); err != nil {
			return err
		}
		out = a
		return nil
	})
	return out, orInternal(ctx, "scheduling: "+op, err)
}

func doctorOf(a appointment, user string) bool  { return a.doctorID == user }
func patientOf(a appointment, user string) bool { return a.patientID == user }

var errTooLateToAnswer = ReasonAnswerDeadlinePassed.New("the deadline to answer this appointment has passed; it counts as refused")

// accept confirms one of the calling doctor's paid appointments.
func (s *Service) accept(ctx context.Context, id string) (*schedulingv1.Appointment, error) {
	if err := verifiedDoctor(ctx); err != nil {
		return nil, err
	}
	doctor := actorOf(ctx)
	return s.decide(ctx, "accept appointment", id, doctorOf, func(tx pgx.Tx, a *appointment) error {
		return s.confirm(ctx, tx, a, doctor)
	})
}

// confirm is the accepting of a locked appointment by who (its doctor, or a clinic the
// doctor delegated answering to).
func (s *Service) confirm(ctx context.Context, tx pgx.Tx, a *appointment, who actor) error {
	if a.state == stateConfirmed {
		return nil // a retried accept
	}
	if a.state != stateAwaiting {
		return illegal(*a, "accept")
	}
	if a.answerBy != nil && !s.now().Before(*a.answerBy) {
		return errTooLateToAnswer
	}
	if err := s.transition(ctx, tx, a, stateConfirmed, "accepted", who, note{}); err != nil {
		return err
	}
	if s.telehealth == nil {
		return nil
	}
	return s.enqueue(ctx, tx, prepareRoomArgs{AppointmentID: a.id}, time.Time{})
}

// refuseByDoctor refuses one of the calling doctor's paid appointments: full refund.
// The doctor's reason is sealed before the transaction.
func (s *Service) refuseByDoctor(ctx context.Context, id, reason string) (*schedulingv1.Appointment, error) {
	if err := verifiedDoctor(ctx); err != nil {
		return nil, err
	}
	doctor := actorOf(ctx)
	why, err := s.sealNote(ctx, id, "refused", reason)
	if err != nil {
		return nil, errs.Internal("scheduling: refuse appointment: seal the reason", err)
	}
	return s.decide(ctx, "refuse appointment", id, doctorOf, func(tx pgx.Tx, a *appointment) error {
		return s.refuseAwaiting(ctx, tx, a, doctor, why)
	})
}

// refuseAwaiting is the refusing of a locked appointment by who (its doctor, or a
// clinic the doctor delegated answering to): only a paid one waiting for the answer.
func (s *Service) refuseAwaiting(ctx context.Context, tx pgx.Tx, a *appointment, who actor, why note) error {
	if a.state != stateAwaiting {
		return illegal(*a, "refuse")
	}
	return s.refuse(ctx, tx, a, who, why)
}

// cancel cancels one of the calling patient's live appointments before it starts. The
// refund follows the policy; the slot is freed by the state change itself (the unique
// index covers live states only). The patient's justification is sealed before the
// transaction.
func (s *Service) cancel(ctx context.Context, id, justification string) (*schedulingv1.Appointment, error) {
	patient := actorOf(ctx)
	why, err := s.sealNote(ctx, id, "cancelled", justification)
	if err != nil {
		return nil, errs.Internal("scheduling: cancel appointment: seal the justification", err)
	}
	return s.decide(ctx, "cancel appointment", id, patientOf, func(tx pgx.Tx, a *appointment) error {
		switch a.state {
		case statePending, stateAwaiting, stateConfirmed:
		default:
			return illegal(*a, "cancel")
		}
		now := s.now()
		if !now.Before(a.start) {
			return ReasonAlreadyStarted.New("the consultation has started; it can no longer be cancelled")
		}
		refund := s.cfg.Policy.refund(*a, now)
		wasPending := a.state == statePending
		a.refund = refund
		if err := s.transition(ctx, tx, a, stateCancelled, "cancelled", patient, why); err != nil {
			return err
		}
		switch {
		case wasPending:
			return s.enqueue(ctx, tx, cancelChargeArgs{AppointmentID: a.id}, time.Time{})
		case refund > 0:
			return s.enqueue(ctx, tx, refundArgs{AppointmentID: a.id, AmountCents: refund, Reason: "cancelled"}, time.Time{})
		}
		return nil
	})
}
