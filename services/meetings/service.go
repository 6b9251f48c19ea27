package meetings

import (
	"context"
	"net/http"

	"connectrpc.com/connect"

	meetingsv1 "healthcore/gen/healthcore/meetings/v1"
	"healthcore/gen/healthcore/meetings/v1/meetingsv1connect"
)

// Service serves MeetingsService over a Driver. Its methods convert; the rules of ours
// are two — every meeting admits MaxAttendees, and a request without a media region
// gets the configured one — and errors.go maps the driver's failures to statuses.
type Service struct {
	driver      Driver
	mediaRegion string
}

var _ meetingsv1connect.MeetingsServiceHandler = (*Service)(nil)

// New returns the service over d; mediaRegion hosts meetings whose request names no
// region ("": DefaultMediaRegion).
func New(d Driver, mediaRegion string) *Service {
	if mediaRegion == "" {
		mediaRegion = DefaultMediaRegion
	}
	return &Service{driver: d, mediaRegion: mediaRegion}
}

// Handler returns the mount path and the Connect handler; pass the server's
// HandlerOptions so authentication and validation run.
func (s *Service) Handler(opts ...connect.HandlerOption) (string, http.Handler) {
	return meetingsv1connect.NewMeetingsServiceHandler(s, opts...)
}

// CreateMeeting implements meetingsv1connect.MeetingsServiceHandler.
func (s *Service) CreateMeeting(ctx context.Context, req *connect.Request[meetingsv1.CreateMeetingRequest]) (*connect.Response[meetingsv1.CreateMeetingResponse], error) {
	region := req.Msg.GetMediaRegion()
	if region == "" {
		region = s.mediaRegion
	}
	m, err := s.driver.CreateMeeting(ctx, MeetingRequest{
		ClientRequestToken: req.Msg.GetClientRequestToken(), ExternalMeetingID: req.Msg.GetExternalMeetingId(),
		MediaRegion: region, MaxAttendees: MaxAttendees,
	})
	if err != nil {
		return nil, driverError(ctx, "meetings: create meeting", err)
	}
	return connect.NewResponse(&meetingsv1.CreateMeetingResponse{Meeting: meetingProto(m)}), nil
}

// CreateAttendee implements meetingsv1connect.MeetingsServiceHandler. It reads the
// meeting too, since the browser needs both to join.
func (s *Service) CreateAttendee(ctx context.Context, req *connect.Request[meetingsv1.CreateAttendeeRequest]) (*connect.Response[meetingsv1.CreateAttendeeResponse], error) {
	a, err := s.driver.CreateAttendee(ctx, req.Msg.GetMeetingId(), req.Msg.GetExternalUserId())
	if err != nil {
		return nil, driverError(ctx, "meetings: create attendee", err)
	}
	m, err := s.driver.GetMeeting(ctx, req.Msg.GetMeetingId())
	if err != nil {
		return nil, driverError(ctx, "meetings: read meeting", err)
	}
	return connect.NewResponse(&meetingsv1.CreateAttendeeResponse{Meeting: meetingProto(m), Attendee: attendeeProto(a)}), nil
}

// GetMeeting implements meetingsv1connect.MeetingsServiceHandler.
func (s *Service) GetMeeting(ctx context.Context, req *connect.Request[meetingsv1.GetMeetingRequest]) (*connect.Response[meetingsv1.GetMeetingResponse], error) {
	m, err := s.driver.GetMeeting(ctx, req.Msg.GetMeetingId())
	if err != nil {
		return nil, driverError(ctx, "meetings: read meeting", err)
	}
	return connect.NewResponse(&meetingsv1.GetMeetingResponse{Meeting: meetingProto(m)}), nil
}

// DeleteMeeting implements meetingsv1connect.MeetingsServiceHandler.
func (s *Service) DeleteMeeting(ctx context.Context, req *connect.Request[meetingsv1.DeleteMeetingRequest]) (*connect.Response[meetingsv1.DeleteMeetingResponse], error) {
	if err := s.driver.DeleteMeeting(ctx, req.Msg.GetMeetingId()); err != nil {
		return nil, driverError(ctx, "meetings: delete meeting", err)
	}
	return connect.NewResponse(&meetingsv1.DeleteMeetingResponse{}), nil
}

func meetingProto(m Meeting) *meetingsv1.Meeting {
	out := &meetingsv1.Meeting{
		MeetingId: m.ID, MeetingArn: m.ARN, ExternalMeetingId: m.ExternalMeetingID, MediaRegion: m.MediaRegion,
		MaxAttendees: int32(m.MaxAttendees), JoinUrl: m.JoinURL, MeetingJson: string(m.JSON),
	}
	if p := m.MediaPlacement; p != (MediaPlacement{}) {
		out.MediaPlacement = &meetingsv1.MediaPlacement{
			AudioHostUrl: p.AudioHostURL, AudioFallbackUrl: p.AudioFallbackURL, SignalingUrl: p.SignalingURL,
			TurnControlUrl: p.TurnControlURL, ScreenDataUrl: p.ScreenDataURL, ScreenSharingUrl: p.ScreenSharingURL,
			ScreenViewingUrl: p.ScreenViewingURL, EventIngestionUrl: p.EventIngestionURL,
		}
	}
	return out
}

func attendeeProto(a Attendee) *meetingsv1.Attendee {
	return &meetingsv1.Attendee{
		AttendeeId: a.ID, ExternalUserId: a.ExternalUserID, JoinToken: a.JoinToken, JoinUrl: a.JoinURL,
		AttendeeJson: string(a.JSON),
	}
}
