package scheduling

import (
	"context"

	"github.com/jackc/pgx/v5"

	schedulingv1 "healthcore/gen/healthcore/scheduling/v1"
	"healthcore/platform/pg"
)

// applyPaymentOutcome is how payments reports a charge's outcome. It is idempotent: an
// outcome already applied, or overtaken by a later state, changes nothing.
func (s *Service) applyPaymentOutcome(ctx context.Context, r *schedulingv1.ApplyPaymentOutcomeRequest) (*schedulingv1.ApplyPaymentOutcomeResponse, error) {
	var out *schedulingv1.ApplyPaymentOutcomeResponse
	err := pg.InTx(ctx, s.db, func(tx pgx.Tx) error {
		out = &schedulingv1.ApplyPaymentOutcomeResponse{} // afresh if PostgreSQL has the transaction rerun
		a, err := s.appointmentFor(ctx, tx, r.GetAppointmentId(), true)
		if err != nil {
			return err
		}
		paid := r.GetOutcome() == schedulingv1.PaymentOutcome_PAYMENT_OUTCOME_PAID
		switch {
		case a.state == statePending && paid:
			err = s.markPaid(ctx, tx, &a)
		case a.state == statePending:
			err = s.transition(ctx, tx, &a, stateExpired, "expired", system, says("the PIX charge expired or was rejected"))
		case paid && a.refund < a.price:
			// Money for an appointment that ended before it was paid (expired, or
			// cancelled while waiting for payment) all goes back, once: whoever sets
			// refund_cents first — this or the cancellation's charge job — asks for it.
			var unpaidEnd bool
			if unpaidEnd, err = s.endedUnpaid(ctx, tx, a); err != nil || !unpaidEnd {
				break
			}
			out.RefundDue = true
			if _, err = s.appointments.refundInFull(ctx, tx, a.id, s.now()); err != nil {
				break
			}
			err = s.record(ctx, tx, a.id, event{kind: "refund_requested", who: system,
				why: says("the payment arrived after the appointment ended unpaid: refunded in full")})
		}
		out.State = stateProto(a.state)
		return err
	})
	if err != nil {
		return nil, orInternal(ctx, "scheduling: apply payment outcome", err)
	}
	return out, nil
}

// endedUnpaid reports whether a locked appointment expired, or was cancelled (or
// refused, its doctor suspended) while it waited for payment.
func (s *Service) endedUnpaid(ctx context.Context, tx pgx.Tx, a appointment) (bool, error) {
	switch a.state {
	case stateExpired:
		return true, nil
	case stateCancelled, stateRefused:
		from, err := s.appointments.enteredFrom(ctx, tx, a.id, a.state)
		return from == statePending, err
	}
	return false, nil
}

// recordJoin notes that a participant entered the consultation room (first time only
// sets the participant's join time; every join is in the history).
func (s *Service) recordJoin(ctx context.Context, apptID, userID string) error {
	err := pg.InTx(ctx, s.db, func(tx pgx.Tx) error {
		a, err := s.appointmentFor(ctx, tx, apptID, true)
		if err != nil {
			return err
		}
		var role string
		switch userID {
		case a.patientID:
			role = "patient"
		case a.doctorID:
			role = "doctor"
		default:
			return ReasonNotParticipant.New("only the appointment's patient and doctor join its room")
		}
		if err := s.appointments.markJoined(ctx, tx, a.id, role == "doctor", s.now()); err != nil {
			return err
		}
		return s.record(ctx, tx, a.id, event{kind: "joined", who: actor{id: userID, role: role}})
	})
	return orInternal(ctx, "scheduling: record join", err)
}

// finish closes a CONFIRMED appointment whose window ended: COMPLETED when someone
// joined, else flagged as a no-show (it stays CONFIRMED for follow-up).
func (s *Service) finish(ctx context.Context, id string) (*schedulingv1.Appointment, error) {
	var a appointment
	err := pg.InTx(ctx, s.db, func(tx pgx.Tx) error {
		var err error
		if a, err = s.appointmentFor(ctx, tx, id, true); err != nil {
			return err
		}
		if a.state != stateConfirmed || a.noShow {
			return nil // already finished, or never confirmed
		}
		if s.now().Before(a.end) && !s.cfg.FinishEarly {
			return ReasonNotEnded.New("the consultation window has not ended")
		}
		if a.patientJoined != nil || a.doctorJoined != nil {
			var why note
			switch {
			case a.patientJoined == nil:
				why = says("the patient did not join")
			case a.doctorJoined == nil:
				why = says("the doctor did not join")
			}
			return s.transition(ctx, tx, &a, stateCompleted, "completed", system, why)
		}
		a.noShow = true
		if err := s.appointments.markNoShow(ctx, tx, a.id, s.now()); err != nil {
			return err
		}
		return s.record(ctx, tx, a.id, event{kind: "no_show", who: system, why: says("nobody joined the consultation")})
	})
	if err != nil {
		return nil, orInternal(ctx, "scheduling: finish appointment", err)
	}
	return a.proto(), nil
}
