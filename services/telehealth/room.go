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
)

// room is one row of the rooms table.
type room struct {
	appointmentID, doctorID, patientID string
	start, end, created                time.Time
	meetingID                          *string
	generation                         int
	closed                             *time.Time
}

const roomColumns = `appointment_id::text, doctor_id::text, patient_id::text, start_at, end_at, created_at,
	provider_meeting_id, meeting_generation, closed_at`

func scanRoom(row pgx.Row) (room, error) {
	var r room
	err := row.Scan(&r.appointmentID, &r.doctorID, &r.patientID, &r.start, &r.end, &r.created,
		&r.meetingID, &r.generation, &r.closed)
	return r, err
}

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
	if connect.CodeOf(err) == connect.CodeNotFound {
		return nil, errAppointmentNotFound
	}
	if err != nil {
		return nil, unavailable("SCHEDULING_UNAVAILABLE", "the scheduling service", err)
	}
	return resp.Msg.GetAppointment(), nil
}

// prepareRoom is PrepareRoom: the room of a CONFIRMED appointment, prepared once.
func (s *Service) prepareRoom(ctx context.Context, id string) (room, error) {
	r, err := s.loadRoom(ctx, id)
	if err == nil || !errors.Is(err, pgx.ErrNoRows) {
		return r, internal(err) // already prepared: returned as it is, whatever came since
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
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		var err error
		r, err = scanRoom(tx.QueryRow(ctx, `INSERT INTO rooms (appointment_id, doctor_id, patient_id, start_at, end_at, created_at)
			VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (appointment_id) DO NOTHING RETURNING `+roomColumns,
			a.GetId(), a.GetDoctorId(), a.GetPatientId(), a.GetStartTime().AsTime(), a.GetEndTime().AsTime(), s.now()))
		if errors.Is(err, pgx.ErrNoRows) { // prepared meanwhile, by a join or PrepareRoom
			r, err = scanRoom(tx.QueryRow(ctx, `SELECT `+roomColumns+` FROM rooms WHERE appointment_id = $1`, a.GetId()))
			return err
		}
		if err != nil {
			return err
		}
		_, err = s.jobs.InsertTx(ctx, tx, closeRoomArgs{AppointmentID: r.appointmentID}, &river.InsertOpts{ScheduledAt: r.end})
		return err
	})
	return r, internal(err)
}

func (s *Service) loadRoom(ctx context.Context, id string) (room, error) {
	return scanRoom(s.db.QueryRow(ctx, `SELECT `+roomColumns+` FROM rooms WHERE appointment_id = $1`, id))
}

// internal passes nil, our own errors and the caller's cancellation through, and
// hides anything else behind INTERNAL.
func internal(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := errors.AsType[*errs.Error](err); ok {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return errs.Internal("telehealth: internal", err)
}
