package payments

import (
	"context"
	"errors"
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

// refundRequest is a refund to record.
type refundRequest struct {
	column, value string // how to find the payment: appointment_id or id
	amountCents   int64
	reason, key   string
}

// requestRefund records a refund and the job that carries it out, in one transaction
// with the payment locked, so two refunds can never together exceed what was paid. A
// key already used returns its refund, whatever the payment's state now.
func (s *Service) requestRefund(ctx context.Context, r refundRequest) (refund, *payment, error) {
	var f refund
	var p *payment
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		var err error
		if p, err = loadPayment(ctx, tx, r.column, r.value, true); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT `+refundColumns+` FROM refunds WHERE idempotency_key = $1`, r.key)
		if err != nil {
			return err
		}
		existing, err := pgx.CollectRows(rows, scanRefund)
		if err != nil {
			return err
		}
		if len(existing) > 0 {
			f = existing[0]
			if f.PaymentID != p.ID || f.AmountCents != r.amountCents || f.Reason != r.reason {
				return errKeyReused
			}
			return nil
		}
		if !p.paid() {
			return errNotPaid
		}
		if left := p.AmountCents - max(p.RefundsRequestedCents, p.RefundedCents); r.amountCents > left {
			e := errExceeds.WithCause(nil)
			e.Metadata = map[string]string{"refundable_cents": strconv.FormatInt(left, 10)}
			return e
		}
		now := s.now()
		f = refund{ID: uuid.NewString(), PaymentID: p.ID, AmountCents: r.amountCents, Reason: r.reason, Key: r.key,
			Status: refundRequested, CreatedAt: now}
		if _, err := tx.Exec(ctx, `INSERT INTO refunds (id, payment_id, amount_cents, reason, idempotency_key, status, created_at)
			VALUES ($1, $2, $3, $4, $5, 'REQUESTED', $6)`, f.ID, p.ID, f.AmountCents, f.Reason, f.Key, now); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE payments SET refunds_requested_cents = refunds_requested_cents + $2, updated_at = $3 WHERE id = $1`,
			p.ID, f.AmountCents, now); err != nil {
			return err
		}
		p.RefundsRequestedCents += f.AmountCents
		_, err = s.jobs.InsertTx(ctx, tx, refundArgs{RefundID: f.ID}, nil)
		return err
	})
	switch {
	case errors.Is(err, errNoPayment):
		return refund{}, nil, errPaymentNotFound
	case pg.IsUniqueViolation(err):
		// The same key, used at the same moment for another payment's refund.
		return refund{}, nil, errKeyReused
	case err != nil:
		if _, ok := errors.AsType[*errs.Error](err); ok {
			return refund{}, nil, err
		}
		return refund{}, nil, errs.Internal("payments: requestRefund", err)
	}
	s.log.InfoContext(ctx, "refund requested", "payment_id", p.ID, "refund_id", f.ID, "amount_cents", f.AmountCents, "reason", f.Reason)
	return f, p, nil
}

// refund is the Refund RPC's use case.
func (s *Service) refund(ctx context.Context, m *paymentsv1.RefundRequest) (*paymentsv1.RefundResponse, error) {
	f, p, err := s.requestRefund(ctx, refundRequest{column: "appointment_id", value: m.GetAppointmentId(),
		amountCents: m.GetAmountCents(), reason: m.GetReason(), key: m.GetIdempotencyKey()})
	if err != nil {
		return nil, err
	}
	out, err := view(ctx, s.db, p, false)
	if err != nil {
		return nil, errs.Internal("payments: refund", err)
	}
	return &paymentsv1.RefundResponse{Refund: f.proto(), Payment: out}, nil
}

// refundLatePayment gives back, in full, money that arrived for an appointment that is
// no longer live. Its key is derived from the payment, so it happens once.
func (s *Service) refundLatePayment(ctx context.Context, paymentID string) error {
	p, err := loadPayment(ctx, s.db, "id", paymentID, false)
	if err != nil {
		return err
	}
	_, _, err = s.requestRefund(ctx, refundRequest{column: "id", value: paymentID, amountCents: p.AmountCents,
		reason: "late_payment", key: "late-payment-" + paymentID})
	if errors.Is(err, errExceeds) {
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
	rows, err := s.db.Query(ctx, `SELECT `+refundColumns+` FROM refunds WHERE id = $1`, job.Args.RefundID)
	if err != nil {
		return err
	}
	f, err := pgx.CollectExactlyOneRow(rows, scanRefund)
	if err != nil {
		return err
	}
	if f.Status == refundCompleted {
		return nil
	}
	p, err := loadPayment(ctx, s.db, "id", f.PaymentID, false)
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
	return pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		now := s.now()
		tag, err := tx.Exec(ctx, `UPDATE refunds SET status = 'COMPLETED', provider_refund_id = $2, completed_at = $3
			WHERE id = $1 AND status = 'REQUESTED'`, f.ID, resp.Msg.GetRefundId(), now)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		p, err := loadPayment(ctx, tx, "id", f.PaymentID, true)
		if err != nil {
			return err
		}
		var completed int64
		if err := tx.QueryRow(ctx, `SELECT coalesce(sum(amount_cents), 0) FROM refunds WHERE payment_id = $1 AND status = 'COMPLETED'`,
			p.ID).Scan(&completed); err != nil {
			return err
		}
		s.log.InfoContext(ctx, "refund completed", "payment_id", p.ID, "refund_id", f.ID, "amount_cents", f.AmountCents)
		return s.reflectRefunds(ctx, tx, p, max(completed, resp.Msg.GetCharge().GetRefundedCents()), sourceRefund, f.Reason, now)
	})
}
