package scheduling

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	accessv1 "healthcore/gen/healthcore/access/v1"
	schedulingv1 "healthcore/gen/healthcore/scheduling/v1"
	"healthcore/platform/authn"
	"healthcore/platform/errs"
	"healthcore/platform/pagetoken"
)

// getAppointment returns one appointment with its history to its patient or doctor (or
// to another service).
func (s *Service) getAppointment(ctx context.Context, id string) (*schedulingv1.Appointment, error) {
	a, err := s.appointmentFor(ctx, s.db, id, false)
	if err != nil {
		return nil, err
	}
	out := a.proto()
	if out.History, err = s.history(ctx, id); err != nil {
		return nil, errs.Internal("scheduling: getAppointment", err)
	}
	return out, nil
}

// listMine pages through the caller's appointments by (start, id).
func (s *Service) listMine(ctx context.Context, r *schedulingv1.ListMyAppointmentsRequest) (*schedulingv1.ListMyAppointmentsResponse, error) {
	p, _ := authn.FromContext(ctx)
	column := "patient_id"
	if p.Role == accessv1.Role_ROLE_DOCTOR {
		column = "doctor_id"
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
	filter := pagetoken.Filter(p.UserID, column, fmt.Sprint(states), fmt.Sprint(from), fmt.Sprint(to))
	c, err := pagetoken.Decode(r.GetPageToken(), filter, func(id string) bool { return uuid.Validate(id) == nil })
	if err != nil {
		return nil, err
	}
	var after *time.Time
	var afterID *string
	if c != nil {
		after, afterID = new(c.Time()), &c.ID
	}
	rows, err := s.db.Query(ctx, `SELECT `+appointmentColumns+` FROM appointments
		WHERE `+column+` = $1
		  AND ($2::text[] IS NULL OR state = ANY($2))
		  AND ($3::timestamptz IS NULL OR start_at >= $3)
		  AND ($4::timestamptz IS NULL OR start_at < $4)
		  AND ($5::timestamptz IS NULL OR (start_at, id) > ($5, $6::uuid))
		ORDER BY start_at, id LIMIT $7`, p.UserID, states, from, to, after, afterID, size+1)
	if err != nil {
		return nil, errs.Internal("scheduling: listMine", err)
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (appointment, error) { return scanAppointment(row) })
	if err != nil {
		return nil, errs.Internal("scheduling: listMine", err)
	}
	out := &schedulingv1.ListMyAppointmentsResponse{}
	if len(list) > size {
		list = list[:size]
		last := list[size-1]
		out.NextPageToken = pagetoken.Encode(filter, last.start, last.id)
	}
	for _, a := range list {
		out.Appointments = append(out.Appointments, a.proto())
	}
	return out, nil
}
