package telehealth

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	telehealthv1 "healthcore/gen/healthcore/telehealth/v1"
	"healthcore/services/meetings"
	"healthcore/services/meetings/meetingstest"
)

// The parts of Chime's Meeting and Attendee objects a browser's Chime SDK needs.
type (
	chimeMeeting struct {
		MeetingID         string `json:"MeetingId"`
		ExternalMeetingID string `json:"ExternalMeetingId"`
		MediaPlacement    *struct {
			AudioHostURL string `json:"AudioHostUrl"`
			SignalingURL string `json:"SignalingUrl"`
		}
	}
	chimeAttendee struct {
		AttendeeID     string `json:"AttendeeId"`
		ExternalUserID string `json:"ExternalUserId"`
		JoinToken      string
		Capabilities   map[string]string
	}
)

func TestGetJoinInfo_ChimeGivesOneMeetingAndEachParticipantTheirOwnAttendee(t *testing.T) {
	f := newFixtureWith(t, meetings.DriverChime)
	doctor, patient, id := f.confirmed()
	f.setClock(windowStart)

	var meetingIDs, attendeeIDs, tokens []string
	for _, u := range []user{patient, doctor} {
		out := f.mustJoin(u, id)
		m, a := chimeJoin(t, out)
		if out.GetProvider() != "chime" || out.GetJoinUrl() != "" {
			t.Errorf("provider %q, join URL %q; want chime and no URL", out.GetProvider(), out.GetJoinUrl())
		}
		if m.MeetingID == "" || m.ExternalMeetingID != id || m.MediaPlacement == nil ||
			m.MediaPlacement.AudioHostURL == "" || m.MediaPlacement.SignalingURL == "" {
			t.Errorf("meeting JSON %s: want a MeetingId, ExternalMeetingId %s and MediaPlacement", out.GetMeetingJson(), id)
		}
		if raw := f.chime.MeetingJSON(m.MeetingID); out.GetMeetingJson() != string(raw) {
			t.Errorf("meeting JSON\n%s\nwant Chime's\n%s", out.GetMeetingJson(), raw)
		}
		if a.AttendeeID == "" || a.ExternalUserID != u.id || a.JoinToken == "" || a.Capabilities == nil {
			t.Errorf("attendee JSON %s: want Chime's Attendee (AttendeeId, JoinToken, Capabilities) of user %s", out.GetAttendeeJson(), u.id)
		}
		meetingIDs, attendeeIDs, tokens = append(meetingIDs, m.MeetingID), append(attendeeIDs, a.AttendeeID), append(tokens, a.JoinToken)
	}
	if meetingIDs[0] != meetingIDs[1] || meetingIDs[0] != *f.room(id).meetingID {
		t.Errorf("patient in meeting %s, doctor in %s, room has %s; want one meeting", meetingIDs[0], meetingIDs[1], *f.room(id).meetingID)
	}
	if attendeeIDs[0] == attendeeIDs[1] || tokens[0] == tokens[1] {
		t.Errorf("patient and doctor share attendee %v / join token", attendeeIDs)
	}
	if got := createdAtChime(t, f.chime); len(got) != 1 || got[0] != (createMeetingBody{ClientRequestToken: id, ExternalMeetingID: id}) {
		t.Errorf("CreateMeeting requests %+v, want one with token and external id %s", got, id)
	}
}

func TestGetJoinInfo_MeetingChimeNoLongerHasIsReplaced(t *testing.T) {
	f := newFixtureWith(t, meetings.DriverChime)
	doctor, patient, id := f.confirmed()
	f.setClock(consultStart)
	stale, _ := chimeJoin(t, f.mustJoin(patient, id))

	// Chime ended the meeting early (its last attendee left): it answers NotFound.
	f.chime.FailNext(1, http.StatusNotFound, "NotFoundException", "")
	replaced, a := chimeJoin(t, f.mustJoin(doctor, id))
	if replaced.MeetingID == "" || replaced.MeetingID == stale.MeetingID || a.ExternalUserID != doctor.id {
		t.Errorf("doctor joined meeting %s as %s after Chime lost %s; want a new meeting", replaced.MeetingID, a.ExternalUserID, stale.MeetingID)
	}
	if r := f.room(id); r.meetingID == nil || *r.meetingID != replaced.MeetingID || r.generation != 1 {
		t.Errorf("room after replacement: %+v", r)
	}
	if again, _ := chimeJoin(t, f.mustJoin(patient, id)); again.MeetingID != replaced.MeetingID {
		t.Errorf("patient rejoined meeting %s, doctor is in %s", again.MeetingID, replaced.MeetingID)
	}
	want := []createMeetingBody{{ClientRequestToken: id, ExternalMeetingID: id}, {ClientRequestToken: id + "-1", ExternalMeetingID: id}}
	if got := createdAtChime(t, f.chime); len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("CreateMeeting requests %+v, want %+v", got, want)
	}
}

// chimeJoin reads the Chime objects of a join's answer.
func chimeJoin(t *testing.T, out *telehealthv1.GetJoinInfoResponse) (chimeMeeting, chimeAttendee) {
	t.Helper()
	var m chimeMeeting
	var a chimeAttendee
	if err := json.Unmarshal([]byte(out.GetMeetingJson()), &m); err != nil {
		t.Fatalf("meeting JSON %q: %v", out.GetMeetingJson(), err)
	}
	if err := json.Unmarshal([]byte(out.GetAttendeeJson()), &a); err != nil {
		t.Fatalf("attendee JSON %q: %v", out.GetAttendeeJson(), err)
	}
	return m, a
}

// createMeetingBody is what identifies a CreateMeeting request.
type createMeetingBody struct {
	ClientRequestToken string
	ExternalMeetingID  string `json:"ExternalMeetingId"`
}

// createdAtChime returns the CreateMeeting requests Chime received, in order, after
// checking that every request it received was signed for it.
func createdAtChime(t *testing.T, chime *meetingstest.Chime) []createMeetingBody {
	t.Helper()
	var out []createMeetingBody
	for _, r := range chime.Received() {
		if r.SigErr != nil || !strings.HasSuffix(r.Scope, "/"+meetingstest.Region+"/chime/aws4_request") {
			t.Errorf("%s %s: scope %q, signature refused: %v", r.Method, r.Path, r.Scope, r.SigErr)
		}
		if r.Method != http.MethodPost || r.Path != "/meetings" {
			continue
		}
		var b createMeetingBody
		if err := json.Unmarshal(r.Body, &b); err != nil {
			t.Fatalf("CreateMeeting body %s: %v", r.Body, err)
		}
		out = append(out, b)
	}
	return out
}
