package telehealth

import (
	"context"
	"errors"
	"time"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"google.golang.org/protobuf/types/known/timestamppb"

	schedulingv1 "healthcore/gen/healthcore/scheduling/v1"
	telehealthv1 "healthcore/gen/healthcore/telehealth/v1"
	"healthcore/platform/errs"
	"healthcore/platform/pg"
)

func optTime(t *time.Time) *timestamppb.Timestamp {
	if t == nil {
		return nil
	}
	return timestamppb.New(*t)
}

func (s *Service) roomProto(r room) *telehealthv1.Room {
	return &telehealthv1.Room{
		AppointmentId: r.appointmentID, DoctorId: r.doctorID, PatientId: r.patientID,
		WindowStartTime: timestamppb.New(r.start.Add(-s.cfg.JoinEarly)), StartTime: timestamppb.New(r.start),
		WindowEndTime: timestamppb.New(r.end), MeetingStarted: r.meetingID != nil && r.closed == nil,
		CloseTime: optTime(r.closed),
	}
}

// appointment reads an appointment from scheduling, as a service.
func (s *Service) appointment(ctx context.Context, id string) (*schedulingv1.Appointment, error) {
	resp, err := s.scheduling.GetAppointment(ctx, connect.NewRequest(&schedulingv1.GetAppointmentRequest{Id: id}))
	if errs.Has(err, ReasonAppointmentNotFound) {
		return nil, errAppointmentNotFound
	}
	if err != nil {
		return nil, unavailable(ReasonSchedulingUnavailable, "the scheduling service", err)
	}
	return resp.Msg.GetAppointment(), nil
}

// prepareRoom is PrepareRoom: the room of a CONFIRMED appointment, prepared once.
func (s *Service) prepareRoom(ctx context.Context, id string) (room, error) {
	r, err := s.rooms.get(ctx, s.db, id)
	if err == nil || !errors.Is(err, pgx.ErrNoRows) {
		return r, internal("telehealth: read room", err) // already prepared: returned as it is, whatever came since
	}
	a, err := s.appointment(ctx, id)
	if err != nil {
		return room{}, err
	}
	if a.GetState() != schedulingv1.AppointmentState_APPOINTMENT_STATE_CONFIRMED || a.GetNoShow() {
		return room{}, errNotConfirmed
	}
	return s.prepare(ctx, a)
}

// prepare returns the room of a CONFIRMED appointment, creating it — with the job that
// closes it at the end of the window, in the same transaction — when there is none.
func (s *Service) prepare(ctx context.Context, a *schedulingv1.Appointment) (room, error) {
	var r room
	err := pg.InTx(ctx, s.db, func(tx pgx.Tx) error {
		var inserted bool
		var err error
		r, inserted, err = s.rooms.insert(ctx, tx, room{appointmentID: a.GetId(), doctorID: a.GetDoctorId(), patientID: a.GetPatientId(),
			start: a.GetStartTime().AsTime(), end: a.GetEndTime().AsTime(), created: s.now()})
		if err != nil {
			return err
		}
		if !inserted { // prepared meanwhile, by a join or PrepareRoom
			r, err = s.rooms.get(ctx, tx, a.GetId())
			return err
		}
		_, err = s.jobs.InsertTx(ctx, tx, closeRoomArgs{AppointmentID: r.appointmentID}, &river.InsertOpts{ScheduledAt: r.end})
		return err
	})
	return r, internal("telehealth: prepare room", err)
}
