package scheduling

import (
	"context"
	"fmt"
	"slices"
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
	list, next, err := s.appointmentPage(ctx, appointmentQuery{owner: p.UserID, asDoctor: asDoctor, scope: []string{p.UserID, side},
		states: r.GetStates(), start: r.GetStartTime(), end: r.GetEndTime(), size: r.GetPageSize(), token: r.GetPageToken()})
	if err != nil {
		return nil, err
	}
	out := &schedulingv1.ListMyAppointmentsResponse{NextPageToken: next}
	for _, a := range list { // all the caller's own
		if err := s.openReason(ctx, &a); err != nil {
			return nil, err
		}
		out.Appointments = append(out.Appointments, a.proto())
	}
	return out, nil
}

// appointmentQuery is one page asked of a participant's appointments.
type appointmentQuery struct {
	owner    string // the patient's or doctor's id
	asDoctor bool
	// scope names whose list a page token continues: a token of another list is
	// refused.
	scope      []string
	states     []schedulingv1.AppointmentState
	start, end *timestamppb.Timestamp
	size       int32 // 0: 50
	token      string
}

// appointmentPage reads one page of a participant's appointments by (start, id), and
// the token of the next page ("" on the last).
func (s *Service) appointmentPage(ctx context.Context, q appointmentQuery) ([]appointment, string, error) {
	size := int(q.size)
	if size == 0 {
		size = 50
	}
	var states []string
	for _, st := range q.states {
		states = append(states, stateName(st))
	}
	var from, to *time.Time
	if q.start != nil {
		from = new(q.start.AsTime())
	}
	if q.end != nil {
		to = new(q.end.AsTime())
	}
	filter := pagetoken.Filter(append(slices.Clip(q.scope), fmt.Sprint(states), fmt.Sprint(from), fmt.Sprint(to))...)
	c, err := pagetoken.Decode(q.token, filter, func(id string) bool { return uuid.Validate(id) == nil })
	if err != nil {
		return nil, "", err
	}
	var after *time.Time
	var afterID *string
	if c != nil {
		after, afterID = new(c.Time()), &c.ID
	}
	list, err := s.appointments.list(ctx, s.db, appointmentFilter{
		userID: q.owner, asDoctor: q.asDoctor, states: states, from: from, to: to,
		after: after, afterID: afterID, limit: size + 1,
	})
	if err != nil {
		return nil, "", errs.Internal("scheduling: list appointments", err)
	}
	if len(list) <= size {
		return list, "", nil
	}
	list = list[:size]
	last := list[size-1]
	return list, pagetoken.Encode(filter, last.start, last.id), nil
}
