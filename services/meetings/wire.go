package meetings

import (
	"encoding/json"
	"fmt"
	"regexp"
)

// The JSON of Chime SDK Meetings' REST API (chime-sdk-meetings, version 2021-07-15).
// The local driver writes the same shapes, so telehealth hands the browser one kind
// of object whichever driver made it.

// chimeMeeting is Chime's Meeting object (the fields we read or the local driver
// writes; the chime driver passes the provider's whole object on untouched).
type chimeMeeting struct {
	MeetingID         string           `json:"MeetingId"`
	MeetingArn        string           `json:"MeetingArn,omitempty"`
	ExternalMeetingID string           `json:"ExternalMeetingId,omitempty"`
	MediaRegion       string           `json:"MediaRegion,omitempty"`
	MediaPlacement    *MediaPlacement  `json:"MediaPlacement,omitempty"`
	MeetingFeatures   *meetingFeatures `json:"MeetingFeatures,omitempty"`
}

// meetingFeatures is MeetingFeatures; we set only the attendee cap.
type meetingFeatures struct {
	Attendee *attendeeFeatures `json:"Attendee,omitempty"`
}

type attendeeFeatures struct {
	MaxCount int `json:"MaxCount"`
}

// chimeAttendee is Chime's Attendee object.
type chimeAttendee struct {
	AttendeeID     string `json:"AttendeeId"`
	ExternalUserID string `json:"ExternalUserId"`
	JoinToken      string `json:"JoinToken,omitempty"`
}

// createMeetingInput is the body of POST /meetings.
type createMeetingInput struct {
	ClientRequestToken string           `json:"ClientRequestToken"`
	ExternalMeetingID  string           `json:"ExternalMeetingId"`
	MediaRegion        string           `json:"MediaRegion"`
	MeetingFeatures    *meetingFeatures `json:"MeetingFeatures,omitempty"`
}

// createAttendeeInput is the body of POST /meetings/{MeetingId}/attendees.
type createAttendeeInput struct {
	ExternalUserID string `json:"ExternalUserId"`
}

// meetingOutput is the answer of CreateMeeting and GetMeeting; Meeting stays raw so
// that it reaches the browser exactly as Chime wrote it.
type meetingOutput struct {
	Meeting json.RawMessage `json:"Meeting"`
}

// attendeeOutput is the answer of CreateAttendee.
type attendeeOutput struct {
	Attendee json.RawMessage `json:"Attendee"`
}

// meetingIDPattern is Chime's pattern of meeting (and attendee) ids. An id that does
// not match cannot name a meeting, and is never put into a URL path.
var meetingIDPattern = regexp.MustCompile(`^[a-fA-F0-9]{8}(?:-[a-fA-F0-9]{4}){3}-[a-fA-F0-9]{12}$`)

// checkMeetingID refuses, as not found, an id that cannot name a meeting.
func checkMeetingID(id string) error {
	if !meetingIDPattern.MatchString(id) {
		return fmt.Errorf("%w: %q is not a meeting id", ErrMeetingNotFound, id)
	}
	return nil
}

// parseMeeting reads a Meeting object, keeping raw as its JSON.
func parseMeeting(raw json.RawMessage) (Meeting, error) {
	var m chimeMeeting
	if err := json.Unmarshal(raw, &m); err != nil {
		return Meeting{}, fmt.Errorf("meetings: Meeting object: %w", err)
	}
	if m.MeetingID == "" {
		return Meeting{}, fmt.Errorf("meetings: Meeting object without MeetingId")
	}
	out := Meeting{
		ID: m.MeetingID, ARN: m.MeetingArn, ExternalMeetingID: m.ExternalMeetingID,
		MediaRegion: m.MediaRegion, JSON: raw,
	}
	if m.MediaPlacement != nil {
		out.MediaPlacement = *m.MediaPlacement
	}
	if m.MeetingFeatures != nil && m.MeetingFeatures.Attendee != nil {
		out.MaxAttendees = m.MeetingFeatures.Attendee.MaxCount
	}
	return out, nil
}

// parseAttendee reads an Attendee object, keeping raw as its JSON.
func parseAttendee(raw json.RawMessage) (Attendee, error) {
	var a chimeAttendee
	if err := json.Unmarshal(raw, &a); err != nil {
		return Attendee{}, fmt.Errorf("meetings: Attendee object: %w", err)
	}
	if a.AttendeeID == "" {
		return Attendee{}, fmt.Errorf("meetings: Attendee object without AttendeeId")
	}
	return Attendee{ID: a.AttendeeID, ExternalUserID: a.ExternalUserID, JoinToken: a.JoinToken, JSON: raw}, nil
}
