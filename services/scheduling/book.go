package scheduling

import (
	"context"
	"errors"
	"time"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"google.golang.org/protobuf/types/known/timestamppb"

	paymentsv1 "healthcore/gen/healthcore/payments/v1"
	schedulingv1 "healthcore/gen/healthcore/scheduling/v1"
	"healthcore/platform/authn"
	"healthcore/platform/errs"
)

var (
	errSlotTaken = errs.FailedPrecondition("SLOT_TAKEN",
		"another patient booked this slot first; choose another slot")
	errPatientBusy = errs.FailedPrecondition("PATIENT_BUSY",
		"you already have an appointment at an overlapping time")
	errSlotBlocked = errs.FailedPrecondition("SLOT_BLOCKED", "the doctor took this slot out of booking")
	errKeyReused   = errs.InvalidArgument("IDEMPOTENCY_KEY_REUSED",
		"this idempotency key already booked another slot; use a new key for a new booking",
		errs.Violation{Field: "idempotency_key", Description: "already used for another slot"})
	errBookSlotNotFound = errs.NotFound("SLOT_NOT_FOUND", "no slot has this id")
)

// book holds a slot for the calling patient and starts the payment. The partial unique
// index on appointments(slot_id) decides races: of N concurrent bookers exactly one
// insert succeeds, and the others get SLOT_TAKEN.
func (s *Service) book(ctx context.Context, r *schedulingv1.BookAppointmentRequest) (*schedulingv1.BookAppointmentResponse, error) {
	patient, _ := authn.FromContext(ctx)
	if a, found, err := s.byKey(ctx, patient.UserID, r.GetIdempotencyKey()); err != nil || found {
		if err != nil {
			return nil, err
		}
		return s.retried(ctx, a, r.GetSlotId())
	}

	var doctorID, status string
	var start, end time.Time
	err := s.db.QueryRow(ctx, `SELECT doctor_id::text, start_at, end_at, status FROM slots WHERE id = $1`, r.GetSlotId()).
		Scan(&doctorID, &start, &end, &status)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil, errBookSlotNotFound
	case err != nil:
		return nil, errs.Internal("scheduling: book", err)
	case status == "blocked":
		return nil, errSlotBlocked
	}
	now := s.now()
	if !start.After(now) {
		return nil, errSlotPast
	}
	if start.Sub(now) < s.cfg.MinLead {
		return nil, errs.FailedPrecondition("TOO_LATE_TO_BOOK",
			"a slot must be booked at least "+s.cfg.MinLead.String()+" before it starts, to leave time to pay and for the doctor to answer")
	}
	pr, err := s.practiceOf(ctx, doctorID)
	if err != nil {
		return nil, err
	}
	if !pr.listed || pr.price <= 0 {
		return nil, errs.FailedPrecondition("DOCTOR_NOT_BOOKABLE", "the doctor is not taking bookings now")
	}

	a := appointment{
		id: uuid.NewString(), slotID: r.GetSlotId(), doctorID: doctorID, patientID: patient.UserID, state: statePending,
		reason: r.GetReason(), start: start, end: end, price: pr.price, idempotencyKey: new(r.GetIdempotencyKey()),
	}
	hold := now.Add(s.cfg.PaymentWindow)
	a.holdUntil = &hold
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		// FOR SHARE waits for a doctor blocking this slot (BlockSlot locks it FOR UPDATE).
		if err := tx.QueryRow(ctx, `SELECT status FROM slots WHERE id = $1 FOR SHARE`, a.slotID).Scan(&status); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return errBookSlotNotFound
			}
			return err
		}
		if status == "blocked" {
			return errSlotBlocked
		}
		err := tx.QueryRow(ctx, `INSERT INTO appointments (id, slot_id, start_at, end_at, doctor_id, patient_id, state,
				price_cents, reason, idempotency_key, hold_until, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) RETURNING created_at, updated_at`,
			a.id, a.slotID, a.start, a.end, a.doctorID, a.patientID, a.state, a.price, a.reason, a.idempotencyKey,
			a.holdUntil, now).Scan(&a.created, &a.updated)
		if err != nil {
			return bookingConflict(err)
		}
		if err := s.record(ctx, tx, a.id, event{kind: "booked", to: statePending, who: actorOf(ctx)}); err != nil {
			return err
		}
		// The charge is started below; these jobs finish the saga if this process dies.
		if err := s.enqueue(ctx, tx, ensurePaymentArgs{AppointmentID: a.id}, now.Add(s.cfg.PaymentRetryAfter)); err != nil {
			return err
		}
		return s.enqueue(ctx, tx, expireHoldArgs{AppointmentID: a.id}, hold)
	})
	if errs.Code(err) == connect.CodeFailedPrecondition || errs.ReasonOf(err) == "IDEMPOTENCY_RACE" {
		// A concurrent request with the same key may have won (whichever constraint this
		// insert hit first): then this is its retry.
		if won, found, kerr := s.byKey(ctx, patient.UserID, r.GetIdempotencyKey()); kerr == nil && found {
			return s.retried(ctx, won, r.GetSlotId())
		}
	}
	if err != nil {
		return nil, err
	}
	return &schedulingv1.BookAppointmentResponse{Appointment: a.proto(), Payment: s.startPayment(ctx, a)}, nil
}

// bookingConflict names the constraint a failed insert hit.
func bookingConflict(err error) error {
	pgErr, ok := errors.AsType[*pgconn.PgError](err)
	if !ok {
		return err
	}
	switch pgErr.ConstraintName {
	case "appointments_one_live_per_slot":
		return errSlotTaken
	case "appointments_patient_no_overlap":
		return errPatientBusy
	case "appointments_patient_key_idx":
		return errs.AlreadyExists("IDEMPOTENCY_RACE", "a concurrent request with this key booked")
	}
	return err
}

// byKey finds the appointment an idempotency key created.
func (s *Service) byKey(ctx context.Context, patientID, key string) (appointment, bool, error) {
	a, err := readAppointment(ctx, s.db, false, "patient_id = $1 AND idempotency_key = $2", patientID, key)
	if errors.Is(err, pgx.ErrNoRows) {
		return a, false, nil
	}
	if err != nil {
		return a, false, errs.Internal("scheduling: byKey", err)
	}
	return a, true, nil
}

// retried answers a repeated booking: the same appointment and, while it waits for
// payment, the same charge.
func (s *Service) retried(ctx context.Context, a appointment, slotID string) (*schedulingv1.BookAppointmentResponse, error) {
	if a.slotID != slotID {
		return nil, errKeyReused
	}
	out := &schedulingv1.BookAppointmentResponse{Appointment: a.proto()}
	if a.state == statePending {
		out.Payment = s.startPayment(ctx, a)
	}
	return out, nil
}

// startPayment asks payments for the appointment's charge (idempotent per appointment).
// A failure is logged, not returned: the appointment is booked, the client may retry
// with its key, and the ensure-payment job retries anyway.
func (s *Service) startPayment(ctx context.Context, a appointment) *schedulingv1.PaymentInstructions {
	p, err := s.requestPayment(ctx, a)
	if err != nil {
		s.log.WarnContext(ctx, "payment not started; the ensure-payment job will retry",
			"appointment_id", a.id, "error", err.Error())
		return nil
	}
	return &schedulingv1.PaymentInstructions{
		PaymentId: p.GetId(), Amount: &schedulingv1.Money{AmountCents: p.GetAmountCents(), Currency: "BRL"},
		QrCode: p.GetQrCode(), QrCodeBase64: p.GetQrCodeBase64(), TicketUrl: p.GetTicketUrl(), ExpireTime: p.GetExpireTime(),
	}
}

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
