package meetings

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"healthcore/platform/testkit"
)

var roomURLPattern = regexp.MustCompile(`^` + regexp.QuoteMeta(testJitsi) + `/[a-z2-7]{32}$`)

func TestLocal_EachMeetingGetsItsOwnUnguessableRoom(t *testing.T) {
	e := newLocalEnv(t)
	rooms := map[string]bool{}
	for i := range 50 {
		m := e.create(t, "room-"+uuid.NewString()[:8])
		if !roomURLPattern.MatchString(m.JoinURL) {
			t.Fatalf("join URL %q: want %s/ and 32 lowercase base32 characters (160 bits)", m.JoinURL, testJitsi)
		}
		room := m.JoinURL[strings.LastIndexByte(m.JoinURL, '/')+1:]
		if rooms[room] {
			t.Fatalf("meeting %d got a room already given", i)
		}
		rooms[room] = true
		if strings.Contains(room, strings.ReplaceAll(m.ID, "-", "")[:8]) {
			t.Errorf("room %q shows the meeting id %s", room, m.ID)
		}
		if m.ARN != "" || m.MediaPlacement != (MediaPlacement{}) || strings.Contains(string(m.JSON), "MediaPlacement") {
			t.Errorf("the local driver claims Chime media: %+v", m)
		}
	}
}

func TestLocal_RoomIsDerivedFromTheSecretAndTheMeetingID(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	a, _ := NewLocal(LocalConfig{BaseURL: testJitsi, Secret: secret})
	b, _ := NewLocal(LocalConfig{BaseURL: testJitsi + "/", Secret: secret})
	other, _ := NewLocal(LocalConfig{BaseURL: testJitsi, Secret: []byte("another secret of thirty-two b..")})
	id := uuid.NewString()
	if a.roomURL(id) != b.roomURL(id) {
		t.Errorf("same secret and meeting: rooms %s and %s (a trailing slash on the base must not matter)", a.roomURL(id), b.roomURL(id))
	}
	if a.roomName(id) == other.roomName(id) || a.roomName(id) == a.roomName(uuid.NewString()) {
		t.Error("the room does not depend on both the secret and the meeting id")
	}
	random1, _ := NewLocal(LocalConfig{})
	random2, _ := NewLocal(LocalConfig{})
	if random1.roomName(id) == random2.roomName(id) {
		t.Error("two drivers without a configured secret share rooms")
	}
	if !strings.HasPrefix(random1.roomURL(id), DefaultLocalBaseURL+"/") {
		t.Errorf("default room %s is not on %s", random1.roomURL(id), DefaultLocalBaseURL)
	}
}

func TestLocal_MemoryHoldsAtMostADayOfMeetings(t *testing.T) {
	clock := testkit.NewClock(time.Date(2026, 3, 2, 13, 0, 0, 0, time.UTC))
	l, err := NewLocal(LocalConfig{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	req := MeetingRequest{ClientRequestToken: "token-1", ExternalMeetingID: "appt-1", MediaRegion: "sa-east-1", MaxAttendees: 2}
	first, _ := l.CreateMeeting(ctx, req)
	deleted, _ := l.CreateMeeting(ctx, MeetingRequest{ClientRequestToken: "token-2", ExternalMeetingID: "appt-2", MediaRegion: "sa-east-1"})
	if err := l.DeleteMeeting(ctx, deleted.ID); err != nil {
		t.Fatal(err)
	}
	if len(l.meetings) != 1 || len(l.byToken) != 1 {
		t.Errorf("after a delete: %d meetings, %d tokens; want 1 and 1", len(l.meetings), len(l.byToken))
	}
	clock.Advance(25 * time.Hour)
	again, _ := l.CreateMeeting(ctx, req)
	if again.ID == first.ID {
		t.Error("a token of an ended meeting returned the ended meeting")
	}
	if len(l.meetings) != 1 || l.meetings[first.ID] != nil {
		t.Errorf("%d meetings kept, want only the new one", len(l.meetings))
	}
}

func TestAttendee_StringAndLogValueLeaveTheJoinTokenOut(t *testing.T) {
	a := Attendee{ID: "a1", ExternalUserID: "u1", JoinToken: "c2VjcmV0LWpvaW4tdG9rZW4", JSON: []byte(`{"JoinToken":"c2VjcmV0LWpvaW4tdG9rZW4"}`)}
	for _, s := range []string{a.String(), a.LogValue().String()} {
		if strings.Contains(s, a.JoinToken) || !strings.Contains(s, "a1") {
			t.Errorf("%q: want the id and no token", s)
		}
	}
}
