package meetings

import (
	"context"
	"errors"
	"log/slog"
)

// MaxAttendees is how many attendees every meeting admits at once: the patient and the
// doctor. It is sent as Chime's MeetingFeatures.Attendee.MaxCount.
const MaxAttendees = 2

// Driver runs meetings at a video provider. Implementations are safe for concurrent
// use. CreateMeeting is idempotent by its client request token and CreateAttendee by
// the (meeting, external user) pair, so a caller may retry either freely.
type Driver interface {
	// CreateMeeting creates a meeting, or returns the one created earlier with the same
	// ClientRequestToken.
	CreateMeeting(ctx context.Context, req MeetingRequest) (Meeting, error)
	// CreateAttendee admits externalUserID to the meeting, or returns the attendee
	// created earlier for that user.
	CreateAttendee(ctx context.Context, meetingID, externalUserID string) (Attendee, error)
	// GetMeeting reads a meeting the provider still has.
	GetMeeting(ctx context.Context, meetingID string) (Meeting, error)
	// DeleteMeeting ends a meeting and disconnects its attendees.
	DeleteMeeting(ctx context.Context, meetingID string) error
}

// MeetingRequest describes a meeting to create.
type MeetingRequest struct {
	ClientRequestToken string // idempotency token, 2–64 of [-_a-zA-Z0-9]
	ExternalMeetingID  string // our id: the appointment id
	MediaRegion        string // e.g. sa-east-1
	MaxAttendees       int
}

// Meeting is a meeting as the provider has it.
type Meeting struct {
	ID                string
	ARN               string // Chime's MeetingArn; "" for the local driver
	ExternalMeetingID string
	MediaRegion       string
	MediaPlacement    MediaPlacement // zero for the local driver
	MaxAttendees      int
	// JoinURL is the room to open, set by the local driver only. Its room name is a
	// secret capability.
	JoinURL string
	// JSON is the provider's Meeting object, unchanged, for amazon-chime-sdk-js.
	JSON []byte
}

// MediaPlacement lists a Chime meeting's media endpoints.
type MediaPlacement struct {
	AudioHostURL      string `json:"AudioHostUrl,omitempty"`
	AudioFallbackURL  string `json:"AudioFallbackUrl,omitempty"`
	SignalingURL      string `json:"SignalingUrl,omitempty"`
	TurnControlURL    string `json:"TurnControlUrl,omitempty"`
	ScreenDataURL     string `json:"ScreenDataUrl,omitempty"`
	ScreenSharingURL  string `json:"ScreenSharingUrl,omitempty"`
	ScreenViewingURL  string `json:"ScreenViewingUrl,omitempty"`
	EventIngestionURL string `json:"EventIngestionUrl,omitempty"`
}

// Attendee is one person admitted to a meeting. JoinToken is a secret: String and
// LogValue leave it out, and nothing here logs it.
type Attendee struct {
	ID             string
	ExternalUserID string
	JoinToken      string // Chime only
	JoinURL        string // local only: the meeting's room
	// JSON is the provider's Attendee object, unchanged, join token included.
	JSON []byte
}

// String describes the attendee without its join token or JSON.
func (a Attendee) String() string {
	return "attendee " + a.ID + " (user " + a.ExternalUserID + ")"
}

// LogValue implements slog.LogValuer, without the join token or JSON.
func (a Attendee) LogValue() slog.Value {
	return slog.GroupValue(slog.String("attendee_id", a.ID), slog.String("external_user_id", a.ExternalUserID))
}

// Errors that drivers wrap so the service can tell the caller what happened.
var (
	// ErrMeetingNotFound means the provider has no such meeting: it never existed, was
	// deleted, or ended (Chime ends a meeting 24 hours after creation, or about five
	// minutes after its last audio connection).
	ErrMeetingNotFound = errors.New("meetings: meeting not found")
	// ErrRejected means the provider refused the request's data.
	ErrRejected = errors.New("meetings: the provider refused the request")
	// ErrUnavailable means the provider could not be reached, throttled us, or failed
	// on its side, also after retrying; the same request may be retried later.
	ErrUnavailable = errors.New("meetings: video provider unavailable")
)
