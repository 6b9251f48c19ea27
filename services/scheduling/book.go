package scheduling

import (
	"context"
	"errors"
	"time"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"google.golang.org/protobuf/types/known/timestamppb"

	paymentsv1 "healthcore/gen/healthcore/payments/v1"
	schedulingv1 "healthcore/gen/healthcore/scheduling/v1"
	"healthcore/platform/authn"
	"healthcore/platform/errs"
	"healthcore/platform/pg"
	"healthcore/platform/server"
)

var (
	errSlotBlocked = ReasonSlotBlocked.New("the doctor took this slot out of booking")
	errKeyReused   = ReasonIdempotencyKeyReused.New("this idempotency key already booked another slot; use a new key for a new booking").
			WithViolations(errs.Violation{Field: "idempotency_key", Description: "already used for another slot"})
	errBookSlotNotFound = ReasonSlotNotFound.New("no slot has this id")
)

// book holds a slot for the calling patient and queues the creation of its charge. The
// answer comes at once, its payment CREATING; the QR code follows on the payment's
// long-poll. The partial unique index on appointments(slot_id) decides races: of N
// concurrent bookers exactly one insert succeeds, and the others get SLOT_TAKEN.
func (s *Service) book(ctx context.Context, r *schedulingv1.BookAppointmentRequest) (*schedulingv1.BookAppointmentResponse, error) {
	patient, _ := authn.FromContext(ctx)
	if !patient.EmailVerified {
		return nil, ReasonEmailNotVerified.New("booking needs a confirmed e-mail address: " + "confirm your e-mail address first (the link in the e-mail we sent; POST /v1/me/email:resend-verification sends a new one), then refresh the session so its token carries the confirmation")
	}
	if a, found, err := s.byKey(ctx, patient.UserID, r.GetIdempotencyKey()); err != nil || found {
		if err != nil {
			return nil, err
		}
		return s.retried(ctx, a, r.GetSlotId())
	}
	if err := s.takeBookingTokens(ctx, patient.UserID, server.ClientAddr(ctx)); err != nil {
		return nil, err
	}

	slot, err := s.slots.get(ctx, s.db, r.GetSlotId())
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil, errBookSlotNotFound
	case err != nil:
		return nil, errs.Internal("scheduling: book: read slot", err)
	case slot.status == "blocked":
		return nil, errSlotBlocked
	}
	now := s.now()
	if !slot.start.After(now) {
		return nil, errSlotPast
	}
	if slot.start.Sub(now) < s.cfg.MinLead {
		return nil, ReasonTooLateToBook.New("a slot must be booked at least " + s.cfg.MinLead.String() +
			" before it starts, to leave time to pay and for the doctor to answer")
	}
	pr, err := s.cachedPracticeOf(ctx, slot.doctorID)
	if err != nil {
		return nil, err
	}
	if !pr.listed || pr.price <= 0 {
		return nil, ReasonDoctorNotBookable.New("the doctor is not taking bookings now")
	}
	if err := s.checkVerified(ctx, slot.doctorID); err != nil {
		return nil, err
	}

	a := appointment{
		id: uuid.NewString(), slotID: slot.id, doctorID: slot.doctorID, patientID: patient.UserID, state: statePending,
		reason: r.GetReason(), start: slot.start, end: slot.end, price: pr.price, idempotencyKey: new(r.GetIdempotencyKey()),
	}
	hold := now.Add(s.cfg.PaymentWindow)
	a.holdUntil = &hold
	if a.sealedReason, err = s.sealReason(ctx, a.id, a.reason); err != nil {
		return nil, errs.Internal("scheduling: book: seal the reason", err)
	}
	err = s.hold(ctx, &a, now, hold)
	if errs.Code(err) == connect.CodeFailedPrecondition || errors.Is(err, errIdempotencyRace) {
		// A concurrent request with the same key may have won (whichever constraint this
		// insert hit first): then this is its retry.
		if won, found, kerr := s.byKey(ctx, patient.UserID, r.GetIdempotencyKey()); kerr == nil && found {
			return s.retried(ctx, won, r.GetSlotId())
		}
	}
	if err != nil {
		return nil, orInternal(ctx, "scheduling: book", err)
	}
	return &schedulingv1.BookAppointmentResponse{Appointment: a.proto(), Payment: creating(a)}, nil
}

// hold is the booking's transaction: the pending-bookings cap, the doctor's suspension
// (under the doctor's booking lock), the slot read FOR SHARE, the appointment and its
// first history event, and the saga's two jobs — ensure_payment (due at once: it makes
// the charge) and expire_hold (at the hold's end) — with the partner event's, in one
// statement.
func (s *Service) hold(ctx context.Context, a *appointment, now, hold time.Time) error {
	return pg.InTx(ctx, s.db, func(tx pgx.Tx) error {
		if err := s.withinPendingCap(ctx, tx, a.patientID, now); err != nil {
			return err
		}
		if err := s.bookable(ctx, tx, a.doctorID); err != nil {
			return err
		}
		status, err := s.slots.statusForShare(ctx, tx, a.slotID)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return errBookSlotNotFound
		case err != nil:
			return err
		case status == "blocked":
			return errSlotBlocked
		}
		if err := s.appointments.insert(ctx, tx, a, now); err != nil {
			return err
		}
		if err := s.record(ctx, tx, a.id, event{kind: "booked", to: statePending, who: actorOf(ctx)}); err != nil {
			return err
		}
		// The charge is created by ensure_payment, off the request: the booking's answer
		// says CREATING, and the app waits for the QR code on the payment's long-poll. It
		// retries until the hold ends; expire_hold then frees the slot. The jobs go in
		// one statement with the partner event's.
		jobs := []river.InsertManyParams{
			{Args: ensurePaymentArgs{AppointmentID: a.id}},
			{Args: expireHoldArgs{AppointmentID: a.id}, InsertOpts: &river.InsertOpts{ScheduledAt: hold}},
		}
		if ev, ok := s.partnerEventJob(a, ""); ok {
			jobs = append(jobs, ev)
		}
		_, err = s.jobs.InsertManyTx(ctx, tx, jobs)
		return err
	})
}

// paymentPath is the REST path of an appointment's payment (and its long-poll).
func paymentPath(appointmentID string) string {
	return "/v1/appointments/" + appointmentID + "/payment"
}

// creating is the payment of a booking whose charge the ensure-payment job is creating.
func creating(a appointment) *schedulingv1.PaymentInstructions {
	return &schedulingv1.PaymentInstructions{
		Amount: &schedulingv1.Money{AmountCents: a.price, Currency: "BRL"}, ExpireTime: timestamppb.New(*a.holdUntil),
		Status: paymentsv1.PaymentStatus_PAYMENT_STATUS_CREATING, PaymentPath: paymentPath(a.id),
	}
}

// cachedPracticeOf is practiceOf kept for DoctorCacheTTL (see doctorCache). Only a
// listed doctor's settings are kept, as only VERIFIED is: a doctor listed a moment ago
// is bookable, and shows slots, at once.
func (s *Service) cachedPracticeOf(ctx context.Context, doctorID string) (practice, error) {
	if pr, ok := s.practices.get(doctorID, time.Now()); ok {
		return pr, nil
	}
	pr, err := s.practiceOf(ctx, doctorID)
	if err == nil && pr.listed {
		s.practices.put(doctorID, pr, time.Now())
	}
	return pr, err
}

// byKey finds the appointment an idempotency key created.
func (s *Service) byKey(ctx context.Context, patientID, key string) (appointment, bool, error) {
	a, err := s.appointments.getByPatientKey(ctx, s.db, patientID, key)
	if errors.Is(err, pgx.ErrNoRows) {
		return a, false, nil
	}
	if err != nil {
		return a, false, errs.Internal("scheduling: book: read appointment by idempotency key", err)
	}
	return a, true, nil
}

// retried answers a repeated booking: the same appointment and, while it waits for
// payment, its payment as it stands (CREATING until the job has created the charge).
func (s *Service) retried(ctx context.Context, a appointment, slotID string) (*schedulingv1.BookAppointmentResponse, error) {
	if a.slotID != slotID {
		return nil, errKeyReused
	}
	if err := s.openReason(ctx, &a); err != nil {
		return nil, err
	}
	out := &schedulingv1.BookAppointmentResponse{Appointment: a.proto()}
	if a.state == statePending {
		out.Payment = s.paymentOf(ctx, a)
	}
	return out, nil
}

// paymentOf reads an appointment's payment from payments. Not recorded yet, or
// payments unreachable (logged): CREATING, which the long-poll then follows.
func (s *Service) paymentOf(ctx context.Context, a appointment) *schedulingv1.PaymentInstructions {
	resp, err := s.payments.GetPayment(ctx, connect.NewRequest(&paymentsv1.GetPaymentRequest{AppointmentId: a.id}))
	if err != nil {
		if connect.CodeOf(err) != connect.CodeNotFound {
			s.log.WarnContext(ctx, "payment not read for a repeated booking", "appointment_id", a.id, "error", err.Error())
		}
		return creating(a)
	}
	p := resp.Msg.GetPayment()
	return &schedulingv1.PaymentInstructions{
		PaymentId: p.GetId(), Amount: &schedulingv1.Money{AmountCents: p.GetAmountCents(), Currency: "BRL"},
		QrCode: p.GetQrCode(), QrCodeBase64: p.GetQrCodeBase64(), TicketUrl: p.GetTicketUrl(), ExpireTime: p.GetExpireTime(),
		Status: p.GetStatus(), PaymentPath: paymentPath(a.id),
	}
}

// requestPayment asks payments to record the appointment's payment and create its
// charge (idempotent per appointment); the ensure-payment job calls it.
func (s *Service) requestPayment(ctx context.Context, a appointment) (*paymentsv1.Payment, error) {
	resp, err := s.payments.StartPayment(ctx, connect.NewRequest(&paymentsv1.StartPaymentRequest{
		AppointmentId: a.id, PatientId: a.patientID, DoctorId: a.doctorID, AmountCents: a.price,
		Description: "Consulta Healthcore " + a.start.UTC().Format("2006-01-02 15:04") + " UTC",
		ExpireTime:  timestamppb.New(*a.holdUntil),
	}))
	if err != nil {
		return nil, err
	}
	return resp.Msg.GetPayment(), nil
}
