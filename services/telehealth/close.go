package telehealth

import (
	"context"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	meetingsv1 "healthcore/gen/healthcore/meetings/v1"
	schedulingv1 "healthcore/gen/healthcore/scheduling/v1"
	"healthcore/platform/errs"
	"healthcore/platform/pg"
)

// closeRoomArgs is the job, committed with the room, that closes it at the end of its
// window.
type closeRoomArgs struct {
	AppointmentID string `json:"appointment_id"`
}

func (closeRoomArgs) Kind() string { return "telehealth.close_room" }

func (s *Service) workers() *river.Workers {
	w := river.NewWorkers()
	river.AddWorker(w, river.WorkFunc(func(ctx context.Context, j *river.Job[closeRoomArgs]) error {
		return s.closeRoom(ctx, j.Args.AppointmentID)
	}))
	return w
}

// closeRoom runs when a room's window ends: Chime has no meeting duration, so the
// meeting is ended here (everyone still in it is disconnected), and scheduling moves
// the appointment to COMPLETED, or flags it as a no-show when nobody joined. Both
// steps are idempotent, so a retry after a crash between them is harmless, and so is
// pg.InTx's rerun of the transaction after a deadlock.
func (s *Service) closeRoom(ctx context.Context, id string) error {
	err := pg.InTx(ctx, s.db, func(tx pgx.Tx) error {
		r, err := s.rooms.getForUpdate(ctx, tx, id)
		if err != nil {
			return err
		}
		if now := s.now(); now.Before(r.end) {
			return river.JobSnooze(r.end.Sub(now)) // early (clocks differ): wait for the end
		}
		if r.closed != nil {
			return nil
		}
		if r.meetingID != nil {
			_, err := s.meetings.DeleteMeeting(ctx, connect.NewRequest(&meetingsv1.DeleteMeetingRequest{MeetingId: *r.meetingID}))
			if err != nil && !errs.Has(err, ReasonMeetingNotFound) { // it ended by itself
				return err
			}
		}
		return s.rooms.close(ctx, tx, id, s.now())
	})
	if err != nil {
		return err
	}
	_, err = s.scheduling.FinishAppointment(ctx, connect.NewRequest(&schedulingv1.FinishAppointmentRequest{AppointmentId: id}))
	if errs.Has(err, ReasonAppointmentNotFound) {
		s.log.WarnContext(ctx, "closed the room of an appointment scheduling does not know", "appointment_id", id)
		return nil
	}
	return err
}
