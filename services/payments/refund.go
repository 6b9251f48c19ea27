package payments

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	paymentsv1 "healthcore/gen/healthcore/payments/v1"
	pixv1 "healthcore/gen/healthcore/pix/v1"
	"healthcore/platform/errs"
	"healthcore/platform/pg"
)

// refundRequest is a refund to record, of the payment with paymentID or, when that is
// empty, of the appointment's payment.
type refundRequest struct {
	paymentID, appointmentID string
	amountCents              int64
	reason, key              string
}

// requestRefund records a refund and the job that carries it out, in one transaction
// with the payment locked, so two refunds can never together exceed what was paid. A
// key already used returns its refund, whatever the payment's state now.
func (s *Service) requestRefund(ctx context.Context, r refundRequest) (refund, *payment, error) {
	var f refund
	var p *payment
	err := pg.InTx(ctx, s.db, func(tx pgx.Tx) error {
		var err error
		if r.paymentID != "" {
			p, err = payments.getForUpdate(ctx, tx, r.paymentID)
		} else {
			p, err = payments.getByAppointmentForUpdate(ctx, tx, r.appointmentID)
		}
		if err != nil {
			return err
		}
		f, err = refunds.getByKey(ctx, tx, r.key)
		switch {
		case err == nil:
			if f.PaymentID != p.ID || f.AmountCents != r.amountCents || f.Reason != r.reason {
				return errKeyReused
			}
			return nil
		case !errors.Is(err, pgx.ErrNoRows):
			return err
		}
		if !p.paid() {
			return ReasonPaymentNotPaid.New("only a paid payment can be refunded")
		}
		if left := p.AmountCents - max(p.RefundsRequestedCents, p.RefundedCents); r.amountCents > left {
			return ReasonRefundExceedsPayment.New("the refund is larger than what was paid and not yet refunded").
				WithMetadata(map[string]string{"refundable_cents": strconv.FormatInt(left, 10)})
		}
		now := s.now()
		f = refund{ID: uuid.NewString(), PaymentID: p.ID, AmountCents: r.amountCents, Reason: r.reason, Key: r.key,
			Status: refundRequested, CreatedAt: now}
		if err := refunds.insert(ctx, tx, f); err != nil {
			return err
		}
		if err := payments.addRefundRequested(ctx, tx, p.ID, f.AmountCents, now); err != nil {
			return err
		}
		p.RefundsRequestedCents += f.AmountCents
		if _, err := s.jobs.InsertTx(ctx, tx, refundArgs{RefundID: f.ID}, nil); err != nil {
			return fmt.Errorf("queue refund %s: %w", f.ID, err)
		}
		return nil
	})
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return refund{}, nil, errPaymentNotFound
	case err != nil:
		if _, ok := errors.AsType[*errs.Error](err); ok {
			return refund{}, nil, err
		}
		return refund{}, nil, errs.Internal("payments: record refund", err)
	}
	s.log.InfoContext(ctx, "refund requested", "payment_id", p.ID, "refund_id", f.ID, "amount_cents", f.AmountCents, "reason", f.Reason)
	return f, p, nil
}

// refund is the Refund RPC's use case.
func (s *Service) refund(ctx context.Context, m *paymentsv1.RefundRequest) (*paymentsv1.RefundResponse, error) {
	f, p, err := s.requestRefund(ctx, refundRequest{appointmentID: m.GetAppointmentId(),
		amountCents: m.GetAmountCents(), reason: m.GetReason(), key: m.GetIdempotencyKey()})
	if err != nil {
		return nil, err
	}
	out, err := view(ctx, s.db, p, false)
	if err != nil {
		return nil, errs.Internal("payments: get payment's refunds", err)
	}
	return &paymentsv1.RefundResponse{Refund: f.proto(), Payment: out}, nil
}

// refundLatePayment gives back, in full, money that arrived for an appointment that is
// no longer live. Its key is derived from the payment, so it happens once.
func (s *Service) refundLatePayment(ctx context.Context, paymentID string) error {
	p, err := payments.get(ctx, s.db, paymentID)
	if err != nil {
		return err
	}
	_, _, err = s.requestRefund(ctx, refundRequest{paymentID: paymentID, amountCents: p.AmountCents,
		reason: "late_payment", key: "late-payment-" + paymentID})
	if errs.Has(err, ReasonRefundExceedsPayment) {
		// Refunded already by other means: nothing is left to give back.
		s.log.WarnContext(ctx, "late payment already refunded", "payment_id", paymentID)
		return nil
	}
	return err
}

// workRefund asks the provider for a recorded refund, then marks it completed. The
// provider's idempotency key is the refund's id, so a retry after a crash (even one
// between the provider's answer and our commit) refunds once.
func (s *Service) workRefund(ctx context.Context, job *river.Job[refundArgs]) error {
	f, err := refunds.get(ctx, s.db, job.Args.RefundID)
	if err != nil {
		return err
	}
	if f.Status == refundCompleted {
		return nil
	}
	p, err := payments.get(ctx, s.db, f.PaymentID)
	if err != nil {
		return err
	}
	amount := f.AmountCents
	if amount == p.AmountCents {
		amount = 0 // the whole payment: the provider's full refund
	}
	resp, err := s.pix.Refund(ctx, connect.NewRequest(&pixv1.RefundRequest{
		ChargeId: p.providerID(), AmountCents: amount, IdempotencyKey: f.ID,
	}))
	if err != nil {
		if permanent(err) {
			return s.giveUp(ctx, "refund", err, "payment_id", p.ID, "refund_id", f.ID)
		}
		return err
	}
	return pg.InTx(ctx, s.db, func(tx pgx.Tx) error {
		now := s.now()
		completedNow, err := refunds.complete(ctx, tx, f.ID, resp.Msg.GetRefundId(), now)
		if err != nil || !completedNow {
			return err
		}
		p, err := payments.getForUpdate(ctx, tx, f.PaymentID)
		if err != nil {
			return err
		}
		completed, err := refunds.completedCents(ctx, tx, p.ID)
		if err != nil {
			return err
		}
		s.log.InfoContext(ctx, "refund completed", "payment_id", p.ID, "refund_id", f.ID, "amount_cents", f.AmountCents)
		if err := s.tellRefunded(ctx, tx, p, f); err != nil {
			return err
		}
		return s.reflectRefunds(ctx, tx, p, max(completed, resp.Msg.GetCharge().GetRefundedCents()), sourceRefund, f.Reason, now)
	})
}
