package scheduling

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/timestamppb"

	schedulingv1 "healthcore/gen/healthcore/scheduling/v1"
	"healthcore/platform/authn"
	"healthcore/platform/errs"
)

// slotRow is a slot as read, with the live appointment holding it, if any.
type slotRow struct {
	id         string
	start, end time.Time
	status     string
	held       bool
	appt       *schedulingv1.AppointmentSummary
}

func (r slotRow) proto(doctorID string) *schedulingv1.Slot {
	st := schedulingv1.SlotStatus_SLOT_STATUS_OPEN
	switch {
	case r.held:
		st = schedulingv1.SlotStatus_SLOT_STATUS_BOOKED
	case r.status == "blocked":
		st = schedulingv1.SlotStatus_SLOT_STATUS_BLOCKED
	}
	return &schedulingv1.Slot{Id: r.id, DoctorId: doctorID, StartTime: timestamppb.New(r.start), EndTime: timestamppb.New(r.end),
		Status: st, Appointment: r.appt}
}

// checkRange bounds a listing's range.
func (s *Service) checkRange(from, to time.Time) error {
	switch {
	case !to.After(from):
		return errs.InvalidArgument("RANGE_INVALID", "end_time must be after start_time",
			errs.Violation{Field: "end_time", Description: "must be after start_time"})
	case to.Sub(from) > s.cfg.MaxRange:
		return errs.InvalidArgument("RANGE_TOO_LONG", "the range is longer than 31 days: ask for less",
			errs.Violation{Field: "end_time", Description: "must be at most 31 days after start_time"})
	}
	return nil
}

var errDoctorNotFound = errs.NotFound("DOCTOR_NOT_FOUND", "no listed doctor has this id")

// availableSlots lists a listed doctor's free future slots in a range, with the price
// the directory charges now.
func (s *Service) availableSlots(ctx context.Context, r *schedulingv1.ListAvailableSlotsRequest) (*schedulingv1.ListAvailableSlotsResponse, error) {
	from, to := r.GetStartTime().AsTime(), r.GetEndTime().AsTime()
	if err := s.checkRange(from, to); err != nil {
		return nil, err
	}
	pr, err := s.practiceOf(ctx, r.GetDoctorId())
	if errs.ReasonOf(err) == "PROFILE_REQUIRED" || err == nil && !pr.listed {
		return nil, errDoctorNotFound
	}
	if err != nil {
		return nil, err
	}
	if now := s.now(); from.Before(now) {
		from = now
	}
	rows, err := s.db.Query(ctx, `SELECT s.id::text, s.start_at, s.end_at FROM slots s
		WHERE s.doctor_id = $1 AND s.start_at >= $2 AND s.start_at < $3 AND s.status = 'open'
		  AND NOT EXISTS (SELECT 1 FROM appointments a WHERE a.slot_id = s.id AND a.state IN `+liveStates+`)
		ORDER BY s.start_at`, r.GetDoctorId(), from, to)
	if err != nil {
		return nil, errs.Internal("scheduling: availableSlots", err)
	}
	slots, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*schedulingv1.Slot, error) {
		sr := slotRow{status: "open"}
		err := row.Scan(&sr.id, &sr.start, &sr.end)
		return sr.proto(r.GetDoctorId()), err
	})
	if err != nil {
		return nil, errs.Internal("scheduling: availableSlots", err)
	}
	return &schedulingv1.ListAvailableSlotsResponse{
		Slots: slots, TimeZone: pr.zone, Price: &schedulingv1.Money{AmountCents: pr.price, Currency: "BRL"},
	}, nil
}

// agenda lists all of the calling doctor's slots in a range with what holds them.
func (s *Service) agenda(ctx context.Context, r *schedulingv1.GetMyAgendaRequest) (*schedulingv1.GetMyAgendaResponse, error) {
	doctor, _ := authn.FromContext(ctx)
	from, to := r.GetStartTime().AsTime(), r.GetEndTime().AsTime()
	if err := s.checkRange(from, to); err != nil {
		return nil, err
	}
	pr, err := s.practiceOf(ctx, doctor.UserID)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.Query(ctx, `SELECT s.id::text, s.start_at, s.end_at, s.status, a.id::text, a.patient_id::text, a.state
		FROM slots s LEFT JOIN appointments a ON a.slot_id = s.id AND a.state IN `+liveStates+`
		WHERE s.doctor_id = $1 AND s.start_at >= $2 AND s.start_at < $3 ORDER BY s.start_at`, doctor.UserID, from, to)
	if err != nil {
		return nil, errs.Internal("scheduling: agenda", err)
	}
	slots, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*schedulingv1.Slot, error) {
		var sr slotRow
		var apptID, patient, state *string
		if err := row.Scan(&sr.id, &sr.start, &sr.end, &sr.status, &apptID, &patient, &state); err != nil {
			return nil, err
		}
		if apptID != nil {
			sr.held = true
			sr.appt = &schedulingv1.AppointmentSummary{Id: *apptID, PatientId: *patient, State: *state}
		}
		return sr.proto(doctor.UserID), nil
	})
	if err != nil {
		return nil, errs.Internal("scheduling: agenda", err)
	}
	return &schedulingv1.GetMyAgendaResponse{Slots: slots, TimeZone: pr.zone}, nil
}

var (
	errSlotNotFound = errs.NotFound("SLOT_NOT_FOUND", "you have no slot with this id")
	errSlotBooked   = errs.FailedPrecondition("SLOT_BOOKED", "the slot holds a live appointment: handle the appointment instead")
	errSlotPast     = errs.FailedPrecondition("SLOT_PAST", "the slot has already started")
)

// setSlotStatus blocks or reopens one of the calling doctor's future slots. The slot
// row is locked, so a booking racing with a block either sees it blocked or makes it
// held first.
func (s *Service) setSlotStatus(ctx context.Context, slotID, from, to string) (*schedulingv1.Slot, error) {
	doctor, _ := authn.FromContext(ctx)
	var sr slotRow
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `SELECT s.id::text, s.start_at, s.end_at, s.status,
				EXISTS (SELECT 1 FROM appointments a WHERE a.slot_id = s.id AND a.state IN `+liveStates+`)
			FROM slots s WHERE s.id = $1 AND s.doctor_id = $2 FOR UPDATE`, slotID, doctor.UserID).
			Scan(&sr.id, &sr.start, &sr.end, &sr.status, &sr.held)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return errSlotNotFound
		case err != nil:
			return err
		case sr.held:
			return errSlotBooked
		case !sr.start.After(s.now()):
			return errSlotPast
		case sr.status == to:
			return nil // already there: idempotent
		case sr.status != from:
			return errs.FailedPrecondition("SLOT_NOT_"+strings.ToUpper(from), "the slot is "+sr.status+", not "+from)
		}
		sr.status = to
		_, err = tx.Exec(ctx, `UPDATE slots SET status = $2 WHERE id = $1`, slotID, to)
		return err
	})
	if err != nil {
		if _, ok := errors.AsType[*errs.Error](err); ok {
			return nil, err
		}
		return nil, errs.Internal("scheduling: setSlotStatus", err)
	}
	return sr.proto(doctor.UserID), nil
}
