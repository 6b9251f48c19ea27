package scheduling

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/timestamppb"

	schedulingv1 "healthcore/gen/healthcore/scheduling/v1"
	"healthcore/platform/authn"
	"healthcore/platform/errs"
	"healthcore/platform/pg"
)

// slotRow is a slot as read, with the live appointment holding it, if any.
type slotRow struct {
	id, doctorID string
	start, end   time.Time
	status       string // open or blocked
	held         bool   // a live appointment holds it
	appt         *schedulingv1.AppointmentSummary
}

func (r slotRow) proto() *schedulingv1.Slot {
	st := schedulingv1.SlotStatus_SLOT_STATUS_OPEN
	switch {
	case r.held:
		st = schedulingv1.SlotStatus_SLOT_STATUS_BOOKED
	case r.status == "blocked":
		st = schedulingv1.SlotStatus_SLOT_STATUS_BLOCKED
	}
	return &schedulingv1.Slot{Id: r.id, DoctorId: r.doctorID, StartTime: timestamppb.New(r.start), EndTime: timestamppb.New(r.end),
		Status: st, Appointment: r.appt}
}

// checkRange bounds a listing's range.
func (s *Service) checkRange(from, to time.Time) error {
	switch {
	case !to.After(from):
		return ReasonRangeInvalid.New("end_time must be after start_time").
			WithViolations(errs.Violation{Field: "end_time", Description: "must be after start_time"})
	case to.Sub(from) > s.cfg.MaxRange:
		return ReasonRangeTooLong.New("the range is longer than 31 days: ask for less").
			WithViolations(errs.Violation{Field: "end_time", Description: "must be at most 31 days after start_time"})
	}
	return nil
}

var errDoctorNotFound = ReasonDoctorNotFound.New("no listed doctor has this id")

// availableSlots lists a listed doctor's free slots in a range that can still be
// booked — starting at least the minimum lead from now — with the price the directory
// charges. The doctor's settings are those booking uses (kept DoctorCacheTTL, see
// doctorCache): the listing shows the price a booking made now would snapshot, and
// the listing itself is public and cacheable for as long (the edge's max-age).
func (s *Service) availableSlots(ctx context.Context, r *schedulingv1.ListAvailableSlotsRequest) (*schedulingv1.ListAvailableSlotsResponse, error) {
	from, to := r.GetStartTime().AsTime(), r.GetEndTime().AsTime()
	if err := s.checkRange(from, to); err != nil {
		return nil, err
	}
	pr, err := s.cachedPracticeOf(ctx, r.GetDoctorId())
	if errs.Has(err, ReasonProfileRequired) || err == nil && !pr.listed {
		return nil, errDoctorNotFound
	}
	if err != nil {
		return nil, err
	}
	if earliest := s.now().Add(s.cfg.MinLead); from.Before(earliest) {
		from = earliest // what starts sooner is refused with TOO_LATE_TO_BOOK
	}
	free, suspended, err := s.slots.listFree(ctx, s.db, r.GetDoctorId(), from, to)
	if err != nil {
		return nil, errs.Internal("scheduling: list available slots", err)
	}
	if suspended { // hidden, as notSuspended hides them elsewhere
		return nil, errDoctorNotFound
	}
	slots := make([]*schedulingv1.Slot, len(free))
	for i, sr := range free {
		slots[i] = sr.proto()
	}
	return &schedulingv1.ListAvailableSlotsResponse{
		Slots: slots, TimeZone: pr.zone, Price: &schedulingv1.Money{AmountCents: pr.price, Currency: "BRL"},
	}, nil
}

// agenda lists all of the calling doctor's slots in a range with what holds them.
func (s *Service) agenda(ctx context.Context, r *schedulingv1.GetMyAgendaRequest) (*schedulingv1.GetMyAgendaResponse, error) {
	doctor, _ := authn.FromContext(ctx)
	slots, zone, err := s.agendaOf(ctx, doctor.UserID, r.GetStartTime().AsTime(), r.GetEndTime().AsTime())
	if err != nil {
		return nil, err
	}
	return &schedulingv1.GetMyAgendaResponse{Slots: slots, TimeZone: zone}, nil
}

// agendaOf lists all of a doctor's slots in [from, to) with what holds them, and the
// doctor's time zone.
func (s *Service) agendaOf(ctx context.Context, doctorID string, from, to time.Time) ([]*schedulingv1.Slot, string, error) {
	if err := s.checkRange(from, to); err != nil {
		return nil, "", err
	}
	pr, err := s.practiceOf(ctx, doctorID)
	if err != nil {
		return nil, "", err
	}
	rows, err := s.slots.listAgenda(ctx, s.db, doctorID, from, to)
	if err != nil {
		return nil, "", errs.Internal("scheduling: agenda", err)
	}
	slots := make([]*schedulingv1.Slot, len(rows))
	for i, sr := range rows {
		slots[i] = sr.proto()
	}
	return slots, pr.zone, nil
}

var (
	errSlotNotFound = ReasonSlotNotFound.New("you have no slot with this id")
	errSlotBooked   = ReasonSlotBooked.New("the slot holds a live appointment: handle the appointment instead")
	errSlotPast     = ReasonSlotPast.New("the slot has already started")
)

// setSlotStatus blocks or reopens one of the calling doctor's future slots (to is
// "blocked" or "open").
func (s *Service) setSlotStatus(ctx context.Context, slotID, to string) (*schedulingv1.Slot, error) {
	doctor, _ := authn.FromContext(ctx)
	return s.setSlotStatusOf(ctx, doctor.UserID, slotID, to)
}

// setSlotStatusOf blocks or reopens one of the doctor's future slots. The slot row is
// locked, so a booking racing with a block either sees it blocked or makes it held
// first.
func (s *Service) setSlotStatusOf(ctx context.Context, doctorID, slotID, to string) (*schedulingv1.Slot, error) {
	var sr slotRow
	err := pg.InTx(ctx, s.db, func(tx pgx.Tx) error {
		var err error
		sr, err = s.slots.getOwnedForUpdate(ctx, tx, slotID, doctorID)
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
		}
		sr.status = to
		return s.slots.setStatus(ctx, tx, slotID, to)
	})
	if err != nil {
		return nil, orInternal(ctx, "scheduling: set slot status", err)
	}
	return sr.proto(), nil
}
