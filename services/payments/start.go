package payments

import (
	"context"
	"errors"
	"fmt"
	"time"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/timestamppb"

	identityv1 "healthcore/gen/healthcore/identity/v1"
	paymentsv1 "healthcore/gen/healthcore/payments/v1"
	pixv1 "healthcore/gen/healthcore/pix/v1"
	"healthcore/platform/errs"
)

// The window a PIX charge's expiry must fall in (Mercado Pago's rule, checked here too
// so a payment is never recorded with an expiry no charge can have).
const (
	minExpiry = 30 * time.Minute
	maxExpiry = 30 * 24 * time.Hour
)

// startPayment records the appointment's payment (or finds it) and, while it is
// CREATING, creates its charge. Concurrent and repeated calls share the row, and the
// charge's idempotency key is derived from the row's id, so they make one charge.
func (s *Service) startPayment(ctx context.Context, m *paymentsv1.StartPaymentRequest) (*paymentsv1.Payment, error) {
	p, err := loadPayment(ctx, s.db, "appointment_id", m.GetAppointmentId(), false)
	if errors.Is(err, errNoPayment) {
		p, err = s.recordPayment(ctx, m)
	}
	if err != nil {
		if _, ok := errors.AsType[*errs.Error](err); ok {
			return nil, err
		}
		return nil, errs.Internal("payments: startPayment", err)
	}
	if p.PatientID != m.GetPatientId() || p.DoctorID != m.GetDoctorId() || p.AmountCents != m.GetAmountCents() {
		return nil, errPaymentMismatch
	}
	if p.Status == statusCreating {
		if p, err = s.createCharge(ctx, p); err != nil {
			return nil, err
		}
	}
	out, err := view(ctx, s.db, p, false)
	if err != nil {
		return nil, errs.Internal("payments: startPayment", err)
	}
	return out, nil
}

// recordPayment inserts the payment CREATING, or returns the one a concurrent call
// inserted first.
func (s *Service) recordPayment(ctx context.Context, m *paymentsv1.StartPaymentRequest) (*payment, error) {
	now := s.now()
	expire := m.GetExpireTime().AsTime()
	if ahead := expire.Sub(now); ahead < minExpiry || ahead > maxExpiry {
		return nil, expiryViolation(fmt.Sprintf("must be 30 minutes to 30 days ahead; it is %s ahead", ahead.Round(time.Second)))
	}
	var p *payment
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		id := uuid.NewString()
		tag, err := tx.Exec(ctx, `
			INSERT INTO payments (id, appointment_id, patient_id, doctor_id, amount_cents, description, status,
				expire_at, created_at, updated_at, last_checked_at)
			VALUES ($1, $2, $3, $4, $5, $6, 'CREATING', $7, $8, $8, $8)
			ON CONFLICT (appointment_id) DO NOTHING`,
			id, m.GetAppointmentId(), m.GetPatientId(), m.GetDoctorId(), m.GetAmountCents(), m.GetDescription(), expire, now)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 1 {
			if err := addEvent(ctx, tx, id, statusCreating, sourceStart, "", now); err != nil {
				return err
			}
		}
		p, err = loadPayment(ctx, tx, "appointment_id", m.GetAppointmentId(), false)
		return err
	})
	return p, err
}

// createCharge creates the provider charge of a CREATING payment and stores it. When
// the provider cannot be reached the payment stays CREATING and the caller retries;
// when the payment was cancelled meanwhile, the new charge is cancelled too.
func (s *Service) createCharge(ctx context.Context, p *payment) (*payment, error) {
	payer, err := s.identity.GetPayer(ctx, connect.NewRequest(&identityv1.GetPayerRequest{AccountId: p.PatientID}))
	if err != nil {
		if permanent(err) {
			return nil, err // e.g. not a patient: the caller's mistake, said by identity
		}
		return nil, errIdentityUnavailable.WithCause(err)
	}
	py := payer.Msg
	resp, err := s.pix.CreateCharge(ctx, connect.NewRequest(&pixv1.CreateChargeRequest{
		AmountCents: p.AmountCents, Description: p.Description,
		PayerEmail: py.GetEmail(), PayerCpf: py.GetCpf(), PayerFirstName: py.GetFirstName(), PayerLastName: py.GetLastName(),
		ExpireTime: timestamppb.New(p.ExpireAt), ExternalReference: p.ID, IdempotencyKey: "charge-" + p.ID,
	}))
	switch {
	case connect.CodeOf(err) == connect.CodeInvalidArgument:
		return nil, err // the expiry came too close since the payment was recorded
	case permanent(err):
		return nil, errProviderRefused.WithCause(err)
	case err != nil:
		return nil, errPixUnavailable.WithCause(err)
	}
	c := resp.Msg.GetCharge()
	err = pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		now := s.now()
		tag, err := tx.Exec(ctx, `
			UPDATE payments SET status = 'PENDING', provider_payment_id = $2, qr_code = $3, qr_code_base64 = $4,
				ticket_url = $5, updated_at = $6, last_checked_at = $6
			WHERE id = $1 AND status = 'CREATING'`, p.ID, c.GetId(), c.GetQrCode(), c.GetQrCodeBase64(), c.GetTicketUrl(), now)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return s.chargeMadeTooLate(ctx, tx, p, c.GetId())
		}
		if p, err = loadPayment(ctx, tx, "id", p.ID, true); err != nil {
			return err
		}
		s.log.InfoContext(ctx, "charge created", "payment_id", p.ID, "appointment_id", p.AppointmentID, "provider_payment_id", c.GetId())
		if err := addEvent(ctx, tx, p.ID, statusPending, sourceStart, c.GetStatusDetail(), now); err != nil {
			return err
		}
		// A retry long after the charge was made may find it already paid or expired.
		return s.applyCharge(ctx, tx, p, c, sourceStart, true)
	})
	if err != nil {
		return nil, errs.Internal("payments: createCharge", err)
	}
	return p, nil
}

// chargeMadeTooLate handles a charge created for a payment that is no longer CREATING:
// another call stored it first (nothing to do), or the payment was cancelled while the
// charge was being made. Then the charge's id is kept — so a payment made anyway is
// still found, and refunded — and a job cancels the charge at the provider.
func (s *Service) chargeMadeTooLate(ctx context.Context, tx pgx.Tx, p *payment, chargeID string) error {
	tag, err := tx.Exec(ctx, `UPDATE payments SET provider_payment_id = $2 WHERE id = $1 AND status = 'FAILED' AND provider_payment_id IS NULL`,
		p.ID, chargeID)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 1 {
		s.log.InfoContext(ctx, "payment cancelled while its charge was made; cancelling the charge", "payment_id", p.ID)
		if _, err := s.jobs.InsertTx(ctx, tx, cancelChargeArgs{PaymentID: p.ID}, nil); err != nil {
			return err
		}
	}
	got, err := loadPayment(ctx, tx, "id", p.ID, false)
	if err != nil {
		return err
	}
	*p = *got
	return nil
}
