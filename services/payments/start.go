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
	"healthcore/platform/pg"
	"healthcore/platform/server"
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
	p, err := payments.getByAppointment(ctx, s.db, m.GetAppointmentId())
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		if p, err = s.recordPayment(ctx, m); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, errs.Internal("payments: get payment", err)
	}
	if p.PatientID != m.GetPatientId() || p.DoctorID != m.GetDoctorId() || p.AmountCents != m.GetAmountCents() {
		return nil, ReasonPaymentMismatch.New("this appointment already has a payment with another patient, doctor or amount")
	}
	if p.Status == statusCreating {
		if p, err = s.createCharge(ctx, p); err != nil {
			return nil, err
		}
	}
	out, err := view(ctx, s.db, p, false)
	if err != nil {
		return nil, errs.Internal("payments: get payment's refunds", err)
	}
	return out, nil
}

// recordPayment inserts the payment CREATING, or returns the one a concurrent call
// inserted first.
func (s *Service) recordPayment(ctx context.Context, m *paymentsv1.StartPaymentRequest) (*payment, error) {
	now := s.now()
	expire := m.GetExpireTime().AsTime()
	if ahead := expire.Sub(now); ahead < minExpiry || ahead > maxExpiry {
		msg := fmt.Sprintf("must be 30 minutes to 30 days ahead; it is %s ahead", ahead.Round(time.Second))
		return nil, server.ReasonValidationFailed.New("invalid request: expire_time: " + msg).
			WithViolations(errs.Violation{Field: "expire_time", Description: msg})
	}
	var p *payment
	err := pg.InTx(ctx, s.db, func(tx pgx.Tx) error {
		id := uuid.NewString()
		inserted, err := payments.insert(ctx, tx, &payment{ID: id, AppointmentID: m.GetAppointmentId(),
			PatientID: m.GetPatientId(), DoctorID: m.GetDoctorId(), AmountCents: m.GetAmountCents(),
			Description: m.GetDescription(), ExpireAt: expire, CreatedAt: now})
		if err != nil {
			return err
		}
		if inserted {
			if err := payments.addEvent(ctx, tx, id, paymentEvent{Status: statusCreating, Source: sourceStart, At: now}); err != nil {
				return err
			}
		}
		p, err = payments.getByAppointment(ctx, tx, m.GetAppointmentId())
		return err
	})
	if err != nil {
		return nil, errs.Internal("payments: record payment", err)
	}
	return p, nil
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
		return nil, ReasonIdentityUnavailable.New("the payer's details cannot be read right now; retry").WithCause(err)
	}
	py := payer.Msg
	first, last := payerNames(py.GetFirstName(), py.GetLastName())
	resp, err := s.pix.CreateCharge(ctx, connect.NewRequest(&pixv1.CreateChargeRequest{
		AmountCents: p.AmountCents, Description: p.Description,
		PayerEmail: py.GetEmail(), PayerCpf: py.GetCpf(), PayerFirstName: first, PayerLastName: last,
		ExpireTime: timestamppb.New(p.ExpireAt), ExternalReference: p.ID, IdempotencyKey: "charge-" + p.ID,
	}))
	switch {
	case connect.CodeOf(err) == connect.CodeInvalidArgument:
		return nil, err // the expiry came too close since the payment was recorded
	case permanent(err):
		return nil, ReasonChargeRefused.New("the payment provider refused the charge; the payment was not started").WithCause(err)
	case err != nil:
		return nil, errPixUnavailable.WithCause(err)
	}
	c := resp.Msg.GetCharge()
	err = pg.InTx(ctx, s.db, func(tx pgx.Tx) error {
		now := s.now()
		set, err := payments.setCharge(ctx, tx, p.ID, providerCharge{ProviderPaymentID: c.GetId(), QRCode: c.GetQrCode(),
			QRCodeBase64: c.GetQrCodeBase64(), TicketURL: c.GetTicketUrl()}, now)
		if err != nil {
			return err
		}
		if !set {
			return s.chargeMadeTooLate(ctx, tx, p, c.GetId())
		}
		if p, err = payments.getForUpdate(ctx, tx, p.ID); err != nil {
			return err
		}
		s.log.InfoContext(ctx, "charge created", "payment_id", p.ID, "appointment_id", p.AppointmentID, "provider_payment_id", c.GetId())
		if err := payments.addEvent(ctx, tx, p.ID, paymentEvent{Status: statusPending, Source: sourceStart,
			Detail: c.GetStatusDetail(), At: now}); err != nil {
			return err
		}
		if err := s.tellPending(ctx, tx, p); err != nil {
			return err
		}
		// A retry long after the charge was made may find it already paid or expired.
		return s.applyCharge(ctx, tx, p, c, sourceStart, true)
	})
	if err != nil {
		return nil, errs.Internal("payments: store charge", err)
	}
	return p, nil
}

// chargeMadeTooLate handles a charge created for a payment that is no longer CREATING:
// another call stored it first (nothing to do), or the payment was cancelled while the
// charge was being made. Then the charge's id is kept — so a payment made anyway is
// still found, and refunded — and a job cancels the charge at the provider.
func (s *Service) chargeMadeTooLate(ctx context.Context, tx pgx.Tx, p *payment, chargeID string) error {
	kept, err := payments.keepLateCharge(ctx, tx, p.ID, chargeID)
	if err != nil {
		return err
	}
	if kept {
		s.log.InfoContext(ctx, "payment cancelled while its charge was made; cancelling the charge", "payment_id", p.ID)
		if _, err := s.jobs.InsertTx(ctx, tx, cancelChargeArgs{PaymentID: p.ID}, nil); err != nil {
			return fmt.Errorf("queue cancel of charge %s: %w", chargeID, err)
		}
	}
	got, err := payments.get(ctx, tx, p.ID)
	if err != nil {
		return err
	}
	*p = *got
	return nil
}
