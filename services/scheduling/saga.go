package scheduling

import (
	"context"
	"time"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	paymentsv1 "healthcore/gen/healthcore/payments/v1"
	telehealthv1 "healthcore/gen/healthcore/telehealth/v1"
	"healthcore/platform/errs"
	"healthcore/platform/jobs"
	"healthcore/platform/pg"
)

// The booking saga's steps that scheduling drives. Each is a River job committed in the
// transaction of the state change that needs it, and each re-reads the appointment and
// does nothing when the state has moved on, so a duplicate or a retry is harmless.
//
//	booked ──ensure_payment (at once, in the booking's transaction)──▶ payments.StartPayment (records the payment, creates the charge)
//	       ──expire_hold (at hold_until)──▶ payments.CancelPayment → EXPIRED, or AWAITING_DOCTOR if it was paid
//	paid   ──answer_deadline (at answer_by)──▶ REFUSED by the system + refund
//	refused / cancelled ──refund──▶ payments.Refund (idempotency key from the appointment)
//	cancelled unpaid ──cancel_charge──▶ payments.CancelPayment; refunded in full if it had been paid
//	accepted ──prepare_room──▶ telehealth.PrepareRoom (the room, and its end-of-window job)

type ensurePaymentArgs struct {
	AppointmentID string `json:"appointment_id"`
}

func (ensurePaymentArgs) Kind() string { return "scheduling.ensure_payment" }

type expireHoldArgs struct {
	AppointmentID string `json:"appointment_id"`
}

func (expireHoldArgs) Kind() string { return "scheduling.expire_hold" }

type answerDeadlineArgs struct {
	AppointmentID string `json:"appointment_id"`
}

func (answerDeadlineArgs) Kind() string { return "scheduling.answer_deadline" }

type refundArgs struct {
	AppointmentID string `json:"appointment_id"`
	AmountCents   int64  `json:"amount_cents"`
	Reason        string `json:"reason"` // refused, cancelled
}

func (refundArgs) Kind() string { return "scheduling.refund" }

type cancelChargeArgs struct {
	AppointmentID string `json:"appointment_id"`
}

func (cancelChargeArgs) Kind() string { return "scheduling.cancel_charge" }

type prepareRoomArgs struct {
	AppointmentID string `json:"appointment_id"`
}

func (prepareRoomArgs) Kind() string { return "scheduling.prepare_room" }

// enqueue adds a job to tx, to run at (or now, for a zero time).
func (s *Service) enqueue(ctx context.Context, tx pgx.Tx, args river.JobArgs, at time.Time) error {
	var opts *river.InsertOpts
	if !at.IsZero() {
		opts = &river.InsertOpts{ScheduledAt: at}
	}
	_, err := s.jobs.InsertTx(ctx, tx, args, opts)
	return err
}

func (s *Service) workers() *river.Workers {
	w := river.NewWorkers()
	river.AddWorker(w, &ensurePaymentWorker{s: s})
	river.AddWorker(w, river.WorkFunc(func(ctx context.Context, j *river.Job[expireHoldArgs]) error {
		return s.expireHold(ctx, j.Args.AppointmentID)
	}))
	river.AddWorker(w, river.WorkFunc(func(ctx context.Context, j *river.Job[answerDeadlineArgs]) error {
		return s.answerDeadline(ctx, j.Args.AppointmentID)
	}))
	river.AddWorker(w, river.WorkFunc(func(ctx context.Context, j *river.Job[refundArgs]) error {
		return s.refund(ctx, j.Args)
	}))
	river.AddWorker(w, river.WorkFunc(func(ctx context.Context, j *river.Job[cancelChargeArgs]) error {
		return s.cancelCharge(ctx, j.Args.AppointmentID)
	}))
	river.AddWorker(w, river.WorkFunc(func(ctx context.Context, j *river.Job[prepareRoomArgs]) error {
		return s.prepareRoom(ctx, j.Args.AppointmentID)
	}))
	s.addNotifyWorkers(w)
	s.addPartnerEventWorker(w)
	river.AddWorker(w, river.WorkFunc(func(ctx context.Context, j *river.Job[rollForwardArgs]) error {
		n, err := s.rollDue(ctx)
		if n > 0 {
			s.log.InfoContext(ctx, "slots rolled forward", "doctors", n)
		}
		return err
	}))
	river.AddWorker(w, river.WorkFunc(func(ctx context.Context, _ *river.Job[pruneThrottleArgs]) error {
		_, err := s.pruneThrottle(ctx)
		return err
	}))
	river.AddWorker(w, river.WorkFunc(func(ctx context.Context, _ *river.Job[sealTextsArgs]) error {
		n, err := s.sealTexts(ctx)
		if n > 0 {
			s.log.InfoContext(ctx, "texts written in clear sealed", "count", n) // how many, never what
		}
		return err
	}))
	return w
}

// Run works the saga's jobs and the daily slot roll-forward until ctx ends. Every
// replica may run it: jobs are claimed one worker at a time, and the roll-forward is
// scheduled by the elected leader only.
func (s *Service) Run(ctx context.Context) error { return jobs.Run(ctx, s.jobs) }

// load reads an appointment as the system.
func (s *Service) load(ctx context.Context, id string) (appointment, error) {
	return s.appointments.get(ctx, s.db, id)
}

// locked runs f on the appointment locked FOR UPDATE in a transaction.
func (s *Service) locked(ctx context.Context, id string, f func(tx pgx.Tx, a *appointment) error) error {
	return pg.InTx(ctx, s.db, func(tx pgx.Tx) error {
		a, err := s.appointments.getForUpdate(ctx, tx, id)
		if err != nil {
			return err
		}
		return f(tx, &a)
	})
}

// ensurePaymentWorker creates a booking's charge. A failed attempt is retried after
// PaymentRetryAfter, then twice as long each time (at most five minutes), until the hold
// ends.
type ensurePaymentWorker struct {
	river.WorkerDefaults[ensurePaymentArgs]
	s *Service
}

func (w *ensurePaymentWorker) Work(ctx context.Context, j *river.Job[ensurePaymentArgs]) error {
	return w.s.ensurePayment(ctx, j.Args.AppointmentID)
}

func (w *ensurePaymentWorker) NextRetry(j *river.Job[ensurePaymentArgs]) time.Time {
	d := w.s.cfg.PaymentRetryAfter
	for i := 1; i < j.Attempt && d < 5*time.Minute; i++ {
		d *= 2
	}
	return time.Now().Add(min(d, max(5*time.Minute, w.s.cfg.PaymentRetryAfter)))
}

func (s *Service) ensurePayment(ctx context.Context, id string) error {
	a, err := s.load(ctx, id)
	if err != nil || a.state != statePending || !s.now().Before(*a.holdUntil) {
		return err // paid, cancelled or expiring meanwhile: nothing to do
	}
	_, err = s.requestPayment(ctx, a)
	if connect.CodeOf(err) == connect.CodeInvalidArgument {
		// The hold is too close to its end for a new charge: expire_hold settles it.
		s.log.WarnContext(ctx, "payment not started before the hold ends", "appointment_id", id, "error", err.Error())
		return nil
	}
	if err != nil {
		return err
	}
	// Cancelled or expired while the charge was being made: the cancel_charge or
	// expire_hold job may have found no payment yet (NOT_FOUND, nothing to stop), so the
	// new charge is stopped here. CancelPayment is idempotent, and keeps a payment that
	// was paid meanwhile (then ApplyPaymentOutcome refunds it).
	if now, err := s.load(ctx, id); err == nil && (now.state == stateCancelled || now.state == stateExpired) {
		if _, err := s.payments.CancelPayment(ctx, connect.NewRequest(&paymentsv1.CancelPaymentRequest{AppointmentId: id})); err != nil {
			return err
		}
	}
	return nil
}

// expireHold settles a booking whose hold ended: the charge is stopped at the provider
// and the slot freed — unless the provider says it was paid, and then it goes on.
func (s *Service) expireHold(ctx context.Context, id string) error {
	a, err := s.load(ctx, id)
	if err != nil || a.state != statePending {
		return err
	}
	resp, err := s.payments.CancelPayment(ctx, connect.NewRequest(&paymentsv1.CancelPaymentRequest{AppointmentId: id}))
	if err != nil && connect.CodeOf(err) != connect.CodeNotFound { // NotFound: no charge was ever created
		return err
	}
	paid := resp != nil && isPaid(resp.Msg.GetPayment().GetStatus())
	return s.locked(ctx, id, func(tx pgx.Tx, a *appointment) error {
		if a.state != statePending {
			return nil
		}
		if paid {
			return s.markPaid(ctx, tx, a)
		}
		return s.transition(ctx, tx, a, stateExpired, "expired", system, says("the PIX charge was not paid in time"))
	})
}

func isPaid(st paymentsv1.PaymentStatus) bool {
	switch st {
	case paymentsv1.PaymentStatus_PAYMENT_STATUS_PAID, paymentsv1.PaymentStatus_PAYMENT_STATUS_PARTIALLY_REFUNDED,
		paymentsv1.PaymentStatus_PAYMENT_STATUS_REFUNDED:
		return true
	}
	return false
}

// markPaid moves a locked PENDING_PAYMENT appointment to AWAITING_DOCTOR and schedules
// the doctor's answer deadline: AnswerBefore the start, but never sooner than ten
// minutes from now (nor after the start).
func (s *Service) markPaid(ctx context.Context, tx pgx.Tx, a *appointment) error {
	now := s.now()
	answerBy := a.start.Add(-s.cfg.AnswerBefore)
	if floor := now.Add(10 * time.Minute); answerBy.Before(floor) {
		answerBy = floor
		if a.start.Before(floor) {
			answerBy = a.start
		}
	}
	a.answerBy = &answerBy
	if err := s.transition(ctx, tx, a, stateAwaiting, "paid", system, says("the PIX payment was confirmed")); err != nil {
		return err
	}
	return s.enqueue(ctx, tx, answerDeadlineArgs{AppointmentID: a.id}, answerBy)
}

// answerDeadline refuses, on the doctor's behalf, an appointment they did not answer.
func (s *Service) answerDeadline(ctx context.Context, id string) error {
	return s.locked(ctx, id, func(tx pgx.Tx, a *appointment) error {
		if a.state != stateAwaiting {
			return nil
		}
		if a.answerBy != nil && s.now().Before(*a.answerBy) {
			return river.JobSnooze(a.answerBy.Sub(s.now())) // the clock moved back; wait
		}
		return s.refuse(ctx, tx, a, system, says("the doctor did not answer in time"))
	})
}

// refuse moves a locked AWAITING_DOCTOR appointment to REFUSED and refunds it in full.
func (s *Service) refuse(ctx context.Context, tx pgx.Tx, a *appointment, who actor, why note) error {
	a.refund = a.price
	if err := s.transition(ctx, tx, a, stateRefused, "refused", who, why); err != nil {
		return err
	}
	return s.enqueue(ctx, tx, refundArgs{AppointmentID: a.id, AmountCents: a.price, Reason: "refused"}, time.Time{})
}

func (s *Service) refund(ctx context.Context, r refundArgs) error {
	_, err := s.payments.Refund(ctx, connect.NewRequest(&paymentsv1.RefundRequest{
		AppointmentId: r.AppointmentID, AmountCents: r.AmountCents, Reason: r.Reason,
		IdempotencyKey: "appt-" + r.AppointmentID + "-" + r.Reason,
	}))
	if errs.Has(err, ReasonRefundExceedsPayment) {
		// Everything paid is already on its way back: retrying would never succeed.
		s.log.WarnContext(ctx, "refund not needed: the payment is already refunded", "appointment_id", r.AppointmentID,
			"amount_cents", r.AmountCents, "reason", r.Reason)
		return nil
	}
	return err
}

// cancelCharge stops the charge of an appointment cancelled before payment; if the
// money had arrived, all of it goes back.
func (s *Service) cancelCharge(ctx context.Context, id string) error {
	resp, err := s.payments.CancelPayment(ctx, connect.NewRequest(&paymentsv1.CancelPaymentRequest{AppointmentId: id}))
	if connect.CodeOf(err) == connect.CodeNotFound {
		return nil
	}
	if err != nil {
		return err
	}
	p := resp.Msg.GetPayment()
	if !isPaid(p.GetStatus()) {
		return nil
	}
	return pg.InTx(ctx, s.db, func(tx pgx.Tx) error {
		// Payments may already have told us the money came (ApplyPaymentOutcome then set
		// the full refund): one of the two asks for it, never both.
		changed, err := s.appointments.refundInFull(ctx, tx, id, s.now())
		if err != nil || !changed {
			return err
		}
		if err := s.record(ctx, tx, id, event{kind: "refund_requested", who: system,
			why: says("the payment arrived while the appointment was being cancelled: refunded in full")}); err != nil {
			return err
		}
		return s.enqueue(ctx, tx, refundArgs{AppointmentID: id, AmountCents: p.GetAmountCents(), Reason: "cancelled"}, time.Time{})
	})
}

// prepareRoom asks telehealth for the consultation room of a confirmed appointment (an
// appointment cancelled meanwhile needs none).
func (s *Service) prepareRoom(ctx context.Context, id string) error {
	a, err := s.load(ctx, id)
	if err != nil || a.state != stateConfirmed {
		return err
	}
	_, err = s.telehealth.PrepareRoom(ctx, connect.NewRequest(&telehealthv1.PrepareRoomRequest{AppointmentId: id}))
	return err
}
