package payments

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	pixv1 "healthcore/gen/healthcore/pix/v1"
	schedulingv1 "healthcore/gen/healthcore/scheduling/v1"
	"healthcore/platform/pg"
)

// settle brings a payment up to date with the provider's view of its charge, in one
// transaction with the payment locked, and returns it. Every caller — notifications,
// reconciliation, cancel, start — goes through here, so the rules live in one place:
//
//   - the status only moves forward: a stale read (pending after approved, say) changes
//     nothing, and a repeated one finds nothing left to do;
//   - approved (or refunded, charged back) makes an unpaid payment PAID, even one we had
//     marked FAILED: the money is real, and scheduling decides whether it is refunded;
//   - rejected or cancelled makes a CREATING or PENDING payment FAILED;
//   - a change scheduling must hear of commits with the job that tells it.
//
// notifyFailure is false when the caller asked for the failure (CancelPayment), since
// it already knows.
func (s *Service) settle(ctx context.Context, paymentID string, c *pixv1.Charge, source string, notifyFailure bool) (*payment, error) {
	var p *payment
	err := pg.InTx(ctx, s.db, func(tx pgx.Tx) error {
		var err error
		if p, err = payments.getForUpdate(ctx, tx, paymentID); err != nil {
			return err
		}
		if err := s.applyCharge(ctx, tx, p, c, source, notifyFailure); err != nil {
			return err
		}
		return payments.checked(ctx, tx, p.ID, s.now())
	})
	return p, err
}

// applyCharge is settle's work inside its transaction; p is locked and is updated in
// place.
func (s *Service) applyCharge(ctx context.Context, tx pgx.Tx, p *payment, c *pixv1.Charge, source string, notifyFailure bool) error {
	now := s.now()
	switch c.GetStatus() {
	case pixv1.ChargeStatus_CHARGE_STATUS_APPROVED, pixv1.ChargeStatus_CHARGE_STATUS_REFUNDED,
		pixv1.ChargeStatus_CHARGE_STATUS_CHARGED_BACK:
		if !p.paid() {
			paidAt := now
			if c.GetApproveTime() != nil {
				paidAt = c.GetApproveTime().AsTime()
			}
			if err := s.markPaid(ctx, tx, p, c.GetId(), paidAt, source, c.GetStatusDetail()); err != nil {
				return err
			}
		}
		refunded := c.GetRefundedCents()
		if st := c.GetStatus(); st == pixv1.ChargeStatus_CHARGE_STATUS_REFUNDED || st == pixv1.ChargeStatus_CHARGE_STATUS_CHARGED_BACK {
			refunded = p.AmountCents // the money went back, whatever the provider counts
		}
		return s.reflectRefunds(ctx, tx, p, refunded, source, c.GetStatusDetail(), now)
	case pixv1.ChargeStatus_CHARGE_STATUS_REJECTED, pixv1.ChargeStatus_CHARGE_STATUS_CANCELLED:
		if p.Status != statusCreating && p.Status != statusPending {
			return nil
		}
		failed, err := payments.fail(ctx, tx, p.ID, p.Status, now)
		if err != nil || !failed {
			return err
		}
		p.Status = statusFailed
		if err := payments.addEvent(ctx, tx, p.ID, paymentEvent{Status: statusFailed, Source: source,
			Detail: c.GetStatusDetail(), At: now}); err != nil {
			return err
		}
		s.log.InfoContext(ctx, "payment failed", "payment_id", p.ID, "appointment_id", p.AppointmentID,
			"source", source, "detail", c.GetStatusDetail())
		if !notifyFailure {
			return nil
		}
		return s.notifyTx(ctx, tx, p, schedulingv1.PaymentOutcome_PAYMENT_OUTCOME_FAILED)
	}
	// pending, in process, authorized, in mediation: nothing to do yet.
	return nil
}

// markPaid moves an unpaid payment to PAID and queues the job that tells scheduling.
func (s *Service) markPaid(ctx context.Context, tx pgx.Tx, p *payment, providerID string, paidAt time.Time, source, detail string) error {
	marked, err := payments.markPaid(ctx, tx, p.ID, p.Status, providerID, paidAt, s.now())
	if err != nil || !marked {
		return err
	}
	if p.Status == statusFailed {
		// Money for a payment we had given up on: scheduling will say whether the
		// appointment still stands or the money goes back.
		s.log.WarnContext(ctx, "payment arrived after the payment failed", "payment_id", p.ID, "appointment_id", p.AppointmentID)
	}
	p.Status, p.PaidAt = statusPaid, &paidAt
	if err := payments.addEvent(ctx, tx, p.ID, paymentEvent{Status: statusPaid, Source: source, Detail: detail, At: s.now()}); err != nil {
		return err
	}
	s.log.InfoContext(ctx, "payment paid", "payment_id", p.ID, "appointment_id", p.AppointmentID, "source", source)
	return s.notifyTx(ctx, tx, p, schedulingv1.PaymentOutcome_PAYMENT_OUTCOME_PAID)
}

// reflectRefunds records that refunded centavos of a paid payment have gone back
// (never less than already recorded) and moves its status to PARTIALLY_REFUNDED or
// REFUNDED. An increase is an event even when the status stays, so the history shows
// every refund.
func (s *Service) reflectRefunds(ctx context.Context, tx pgx.Tx, p *payment, refunded int64, source, detail string, now time.Time) error {
	refunded = min(refunded, p.AmountCents)
	if refunded <= p.RefundedCents {
		return nil
	}
	status := statusPartiallyRefunded
	if refunded == p.AmountCents {
		status = statusRefunded
	}
	if err := payments.setRefunded(ctx, tx, p.ID, refunded, status, now); err != nil {
		return err
	}
	p.RefundedCents, p.Status = refunded, status
	return payments.addEvent(ctx, tx, p.ID, paymentEvent{Status: status, Source: source, Detail: detail, At: now})
}
