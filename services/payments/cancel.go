package payments

import (
	"context"
	"errors"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	paymentsv1 "healthcore/gen/healthcore/payments/v1"
	pixv1 "healthcore/gen/healthcore/pix/v1"
	"healthcore/platform/errs"
	"healthcore/platform/pg"
)

// cancelPayment stops an unpaid appointment's payment: a CREATING one fails at once
// (a charge being made for it is cancelled when it arrives), a PENDING one has its
// charge cancelled at the provider — unless the provider says it was paid, and then
// the payment is PAID. Any other payment is returned as it is.
func (s *Service) cancelPayment(ctx context.Context, appointmentID string) (*paymentsv1.Payment, error) {
	p, err := payments.getByAppointment(ctx, s.db, appointmentID)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errPaymentNotFound
	}
	if err != nil {
		return nil, errs.Internal("payments: get payment", err)
	}
	if p.Status == statusCreating {
		if p, err = s.failCreating(ctx, p); err != nil {
			return nil, errs.Internal("payments: fail creating payment", err)
		}
	}
	if p.Status == statusPending {
		if p, err = s.stopCharge(ctx, p, sourceCancel, false); err != nil {
			return nil, err
		}
	}
	out, err := view(ctx, s.db, p, false)
	if err != nil {
		return nil, errs.Internal("payments: get payment's refunds", err)
	}
	return out, nil
}

// failCreating fails a payment whose charge is not made yet, and returns it as it then
// is (PENDING, when a charge was stored first).
func (s *Service) failCreating(ctx context.Context, p *payment) (*payment, error) {
	id := p.ID
	err := pg.InTx(ctx, s.db, func(tx pgx.Tx) error {
		now := s.now()
		failed, err := payments.fail(ctx, tx, id, statusCreating, now)
		if err != nil {
			return err
		}
		if failed {
			if err := payments.addEvent(ctx, tx, id, paymentEvent{Status: statusFailed, Source: sourceCancel, At: now}); err != nil {
				return err
			}
		}
		p, err = payments.get(ctx, tx, id)
		return err
	})
	return p, err
}

// stopCharge cancels a payment's charge at the provider and settles the payment with
// the answer. A charge that can no longer be cancelled is read instead: if it was paid,
// the payment becomes PAID (and scheduling is told).
func (s *Service) stopCharge(ctx context.Context, p *payment, source string, notifyFailure bool) (*payment, error) {
	id := p.providerID()
	resp, err := s.pix.CancelCharge(ctx, connect.NewRequest(&pixv1.CancelChargeRequest{Id: id, IdempotencyKey: "cancel-" + p.ID}))
	var c *pixv1.Charge
	switch {
	case err == nil:
		c = resp.Msg.GetCharge()
	case errs.Has(err, ReasonChargeNotCancellable):
		got, err := s.pix.GetCharge(ctx, connect.NewRequest(&pixv1.GetChargeRequest{Id: id}))
		if err != nil {
			return nil, errPixUnavailable.WithCause(err)
		}
		c = got.Msg.GetCharge()
	default:
		return nil, errPixUnavailable.WithCause(err)
	}
	p, err = s.settle(ctx, p.ID, c, source, notifyFailure)
	if err != nil {
		return nil, errs.Internal("payments: settle cancelled charge", err)
	}
	return p, nil
}

// workCancelCharge cancels the charge of an overdue PENDING payment (failing it and
// telling scheduling), or the leftover charge of a payment cancelled while its charge
// was being made.
func (s *Service) workCancelCharge(ctx context.Context, job *river.Job[cancelChargeArgs]) error {
	p, err := payments.get(ctx, s.db, job.Args.PaymentID)
	if err != nil {
		return err
	}
	switch {
	case p.Status == statusPending:
		if s.now().Before(p.ExpireAt.Add(s.cfg.ExpiryGrace)) {
			return nil // not overdue (by this replica's clock): a later reconciliation decides
		}
		s.log.InfoContext(ctx, "payment overdue; cancelling its charge", "payment_id", p.ID, "appointment_id", p.AppointmentID)
		_, err = s.stopCharge(ctx, p, sourceReconciliation, true)
	case p.Status == statusFailed && p.providerID() != "":
		_, err = s.stopCharge(ctx, p, sourceCancel, false)
	}
	return err
}
