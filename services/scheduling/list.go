package scheduling

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/types/known/timestamppb"

	accessv1 "healthcore/gen/healthcore/access/v1"
	schedulingv1 "healthcore/gen/healthcore/scheduling/v1"
	"healthcore/platform/authn"
	"healthcore/platform/errs"
	"healthcore/platform/pagetoken"
)

// getAppointment returns one appointment with its history to its patient or doctor,
// texts opened, or to another service without what people wrote (no service needs
// it); the system's own phrases ("the doctor did not join") are not health data and
// are answered to services too.
func (s *Service) getAppointment(ctx context.Context, id string) (*schedulingv1.Appointment, error) {
	a, err := s.appointmentFor(ctx, s.db, id, false)
	if err != nil {
		return nil, err
	}
	events, err := s.appointments.history(ctx, s.db, id)
	if err != nil {
		return nil, errs.Internal("scheduling: get appointment: read history", err)
	}
	own := ownReader(ctx, a)
	if own {
		if err := s.openReason(ctx, &a); err != nil {
			return nil, err
		}
		if err := s.openEvents(ctx, a.id, events); err != nil {
			return nil, err
		}
	}
	out := a.proto()
	if p, _ := authn.FromContext(ctx); p.Role == accessv1.Role_ROLE_PATIENT && p.UserID == a.patientID {
		if refund, until, ok := s.cfg.Policy.quote(a, s.now()); ok {
			out.CancelRefundCents = &refund
			if !until.IsZero() {
				out.CancelRefundUntil = timestamppb.New(until)
			}
		}
	}
	for _, e := range events {
		if !own && e.GetActorRole() != system.role {
			e.Reason = ""
		}
		out.History = append(out.History, e.AppointmentEvent)
	}
	return out, nil
}

// listMine pages through the caller's appointments by (start, id).
func (s *Service) listMine(ctx context.Context, r *schedulingv1.ListMyAppointmentsRequest) (*schedulingv1.ListMyAppointmentsResponse, error) {
	p, _ := authn.FromContext(ctx)
	asDoctor := p.Role == accessv1.Role_ROLE_DOCTOR
	side := "patient_id" // which side's list a page token continues (the names tokens always had)
	if asDoctor {
		side = "doctor_id"
	}
	size := int(r.GetPageSize())
	if size == 0 {
		size = 50
	}
	var states []string
	for _, st := range r.GetStates() {
		states = append(states, stateName(st))
	}
	var from, to *time.Time
	if r.GetStartTime() != nil {
		from = new(r.GetStartTime().AsTime())
	}
	if r.GetEndTime() != nil {
		to = new(r.GetEndTime().AsTime())
	}
	filter := pagetoken.Filter(p.UserID, side, fmt.Sprint(states), fmt.Sprint(from), fmt.Sprint(to))
	c, err := pagetoken.Decode(r.GetPageToken(), filter, func(id string) bool { return uuid.Validate(id) == nil })
	if err != nil {
		return nil, err
	}
	var after *time.Time
	var afterID *string
	if c != nil {
		after, afterID = new(c.Time()), &c.ID
	}
	list, err := s.appointments.list(ctx, s.db, appointmentFilter{
		userID: p.UserID, asDoctor: asDoctor, states: states, from: from, to: to,
		after: after, afterID: afterID, limit: size + 1,
	})
	if err != nil {
		return nil, errs.Internal("scheduling: list my appointments", err)
	}
	out := &schedulingv1.ListMyAppointmentsResponse{}
	if len(list) > size {
		list = list[:size]
		last := list[size-1]
		out.NextPageToken = pagetoken.Encode(filter, last.start, last.id)
	}
	for _, a := range list { // all the caller's own
		if err := s.openReason(ctx, &a); err != nil {
			return nil, err
		}
		out.Appointments = append(out.Appointments, a.proto())
	}
	return out, nil
}
