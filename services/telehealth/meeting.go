package telehealth

import (
	"context"
	"errors"
	"strconv"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5"

	meetingsv1 "healthcore/gen/healthcore/meetings/v1"
	"healthcore/platform/errs"
	"healthcore/platform/pg"
)

// attend admits user to the room's meeting and returns what their browser needs. The
// meeting is created at the first join; when the provider no longer has it (ended
// early: Chime ends a meeting minutes after its last attendee leaves), it is replaced
// once and the admission retried.
func (s *Service) attend(ctx context.Context, r room, user string) (*meetingsv1.CreateAttendeeResponse, error) {
	stale := ""
	for {
		meetingID, err := s.ensureMeeting(ctx, r.appointmentID, stale)
		if err != nil {
			return nil, err
		}
		resp, err := s.meetings.CreateAttendee(ctx, connect.NewRequest(&meetingsv1.CreateAttendeeRequest{
			MeetingId: meetingID, ExternalUserId: user,
		}))
		if errs.Has(err, ReasonMeetingNotFound) && stale == "" {
			s.log.InfoContext(ctx, "meeting gone at the provider; replacing it", "appointment_id", r.appointmentID, "meeting_id", meetingID)
			stale = meetingID
			continue
		}
		if err != nil {
			return nil, unavailable(ReasonMeetingsUnavailable, "the video provider", err)
		}
		return resp.Msg, nil
	}
}

// ensureMeeting returns the id of the room's meeting, creating it when the room has
// none yet, or has stale — a meeting the provider said it no longer has.
//
// The room's row stays locked while the provider creates the meeting, so joins that
// arrive together create one meeting: the others wait, then find it. The lock is
// held over a network call, which is acceptable for a row only two people ever use.
// The creation's idempotency token is derived from the appointment and the meeting's
// generation, so a retry after a failed commit gets the same meeting from the
// provider, while a replacement gets a new one. That also makes the call safe inside
// pg.InTx, which runs the function again after a deadlock: the rerun gets the meeting
// the first run created.
func (s *Service) ensureMeeting(ctx context.Context, apptID, stale string) (string, error) {
	var meetingID string
	err := pg.InTx(ctx, s.db, func(tx pgx.Tx) error {
		r, err := s.rooms.getForUpdate(ctx, tx, apptID)
		if err != nil {
			return err
		}
		if r.closed != nil {
			return errEnded // closed while this join was on its way
		}
		if r.meetingID != nil && *r.meetingID != stale {
			meetingID = *r.meetingID // created, or replaced, by another join
			return nil
		}
		gen := r.generation
		if r.meetingID != nil {
			gen++
		}
		resp, err := s.meetings.CreateMeeting(ctx, connect.NewRequest(&meetingsv1.CreateMeetingRequest{
			ExternalMeetingId: apptID, ClientRequestToken: requestToken(apptID, gen),
		}))
		if err != nil {
			return unavailable(ReasonMeetingsUnavailable, "the video provider", err)
		}
		meetingID = resp.Msg.GetMeeting().GetMeetingId()
		if meetingID == "" {
			return errors.New("the meetings service returned a meeting without an id")
		}
		err = s.rooms.setMeeting(ctx, tx, apptID, meetingID, gen, s.now())
		if err == nil {
			s.log.InfoContext(ctx, "meeting created", "appointment_id", apptID, "meeting_id", meetingID, "generation", gen)
		}
		return err
	})
	return meetingID, internal("telehealth: create meeting", err)
}

// requestToken is the idempotency token of the room's meeting of a generation: the
// appointment id for the first, then "<id>-<generation>".
func requestToken(apptID string, generation int) string {
	if generation == 0 {
		return apptID
	}
	return apptID + "-" + strconv.Itoa(generation)
}
