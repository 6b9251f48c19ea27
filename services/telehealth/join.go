package telehealth

import (
	"context"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	accessv1 "healthcore/gen/healthcore/access/v1"
	schedulingv1 "healthcore/gen/healthcore/scheduling/v1"
	telehealthv1 "healthcore/gen/healthcore/telehealth/v1"
	"healthcore/platform/authn"
)

// Providers as GetJoinInfo names them.
const (
	providerChime = "chime"
	providerLocal = "local"
)

// join is GetJoinInfo. A doctor whose token does not say verified (pending, rejected
// or suspended) joins nothing. The appointment is read from scheduling at every join,
// so a cancellation or a finished consultation takes effect on the very next request.
// The checks go from who to what to when: an outsider learns nothing of the
// appointment's state or times.
func (s *Service) join(ctx context.Context, id string) (*telehealthv1.GetJoinInfoResponse, error) {
	caller, _ := authn.FromContext(ctx)
	if caller.Role == accessv1.Role_ROLE_DOCTOR && !caller.DoctorVerified {
		// Before anything is read: the answer says nothing of the appointment.
		return nil, errNotVerified
	}
	a, err := s.appointment(ctx, id)
	if err != nil {
		return nil, err
	}
	if caller.UserID != a.GetPatientId() && caller.UserID != a.GetDoctorId() {
		// As scheduling does: someone else's appointment reads as an unknown id, so a
		// stranger cannot learn that an id exists.
		return nil, errAppointmentNotFound
	}
	start, end := a.GetStartTime().AsTime(), a.GetEndTime().AsTime()
	opens := start.Add(-s.cfg.JoinEarly)
	if err := admits(a, opens, end, s.now()); err != nil {
		return nil, err
	}
	r, err := s.prepare(ctx, a)
	if err != nil {
		return nil, err
	}
	att, err := s.attend(ctx, r, caller.UserID)
	if err != nil {
		return nil, err
	}
	if _, err := s.scheduling.RecordJoin(ctx, connect.NewRequest(&schedulingv1.RecordJoinRequest{
		AppointmentId: id, UserId: caller.UserID,
	})); err != nil {
		// Without the join in its history the appointment would end as a no-show; a
		// retry gets the same attendee, so failing here costs nothing.
		return nil, unavailable(ReasonSchedulingUnavailable, "the scheduling service", err)
	}
	out := &telehealthv1.GetJoinInfoResponse{
		Provider:        providerChime,
		WindowStartTime: timestamppb.New(opens), StartTime: timestamppb.New(start), WindowEndTime: timestamppb.New(end),
	}
	if u := att.GetMeeting().GetJoinUrl(); u != "" {
		out.Provider, out.JoinUrl = providerLocal, u
	} else {
		out.MeetingJson, out.AttendeeJson = att.GetMeeting().GetMeetingJson(), att.GetAttendee().GetAttendeeJson()
	}
	return out, nil
}

// admits says whether an appointment's room is open at now: CONFIRMED (and not
// already closed as a no-show), from opens until end.
func admits(a *schedulingv1.Appointment, opens, end, now time.Time) error {
	switch {
	case a.GetState() == schedulingv1.AppointmentState_APPOINTMENT_STATE_COMPLETED, a.GetNoShow():
		return errEnded
	case a.GetState() != schedulingv1.AppointmentState_APPOINTMENT_STATE_CONFIRMED:
		return errNotConfirmed
	case now.Before(opens):
		return errTooEarly(opens)
	case !now.Before(end):
		return errEnded
	}
	return nil
}
