package meetings

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"healthcore/platform/testkit"
	"healthcore/services/meetings/meetingstest"
)

// env is one driver under test with the clock its provider ends meetings by.
type env struct {
	driver Driver
	clock  *testkit.Clock
	fake   *meetingstest.Chime // the chime driver's server; nil for the local driver
}

const testJitsi = "https://meet.clinic.example/consultas"

func newLocalEnv(t *testing.T) *env {
	t.Helper()
	clock := testkit.NewClock(time.Date(2026, 3, 2, 13, 0, 0, 0, time.UTC))
	d, err := NewLocal(LocalConfig{BaseURL: testJitsi, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return &env{driver: d, clock: clock}
}

func newChimeEnv(t *testing.T) *env {
	t.Helper()
	clock := testkit.NewClock(time.Date(2026, 3, 2, 13, 0, 0, 0, time.UTC))
	fake := meetingstest.New(t, clock)
	return &env{driver: newTestChime(t, fake.URL, 0), clock: clock, fake: fake}
}

// newTestChime returns the chime driver on endpoint with the test credentials and
// millisecond backoff; attempts 0 keeps the default.
func newTestChime(t *testing.T, endpoint string, attempts int) *Chime {
	t.Helper()
	d, err := NewChime(context.Background(), ChimeConfig{
		Region: meetingstest.Region, Endpoint: endpoint, Timeout: 5 * time.Second, MaxAttempts: attempts,
		Credentials: meetingstest.Credentials(),
	})
	if err != nil {
		t.Fatal(err)
	}
	d.retryBase, d.retryMax = time.Millisecond, 10*time.Millisecond
	return d
}

func (e *env) meetingReq(key string) MeetingRequest {
	return MeetingRequest{ClientRequestToken: "appt-" + key, ExternalMeetingID: "appointment-" + key, MediaRegion: "sa-east-1", MaxAttendees: MaxAttendees}
}

func (e *env) create(t *testing.T, key string) Meeting {
	t.Helper()
	m, err := e.driver.CreateMeeting(context.Background(), e.meetingReq(key))
	if err != nil {
		t.Fatalf("CreateMeeting: %v", err)
	}
	return m
}

// runDriverSuite checks the Driver contract; it runs against the local driver and
// against the chime driver speaking HTTP to meetingstest.Chime.
func runDriverSuite(t *testing.T, newEnv func(t *testing.T) *env) {
	ctx := context.Background()
	run := func(name string, f func(t *testing.T, e *env)) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f(t, newEnv(t))
		})
	}

	run("CreatedMeetingIsAsRequestedAndItsJSONSaysTheSame", func(t *testing.T, e *env) {
		req := e.meetingReq("0001")
		m := e.create(t, "0001")
		if !meetingIDPattern.MatchString(m.ID) || m.ExternalMeetingID != req.ExternalMeetingID ||
			m.MediaRegion != "sa-east-1" || m.MaxAttendees != 2 {
			t.Errorf("meeting = %+v, want a UUID, %s, sa-east-1, 2 attendees", m, req.ExternalMeetingID)
		}
		var keys map[string]json.RawMessage
		if err := json.Unmarshal(m.JSON, &keys); err != nil {
			t.Fatalf("meeting JSON %s: %v", m.JSON, err)
		}
		for _, k := range []string{"MeetingId", "ExternalMeetingId", "MediaRegion", "MeetingFeatures"} {
			if _, ok := keys[k]; !ok {
				t.Errorf("meeting JSON %s lacks Chime's key %s", m.JSON, k)
			}
		}
		var chime chimeMeeting
		_ = json.Unmarshal(m.JSON, &chime)
		if chime.MeetingID != m.ID || chime.ExternalMeetingID != m.ExternalMeetingID || chime.MediaRegion != "sa-east-1" ||
			chime.MeetingFeatures == nil || chime.MeetingFeatures.Attendee.MaxCount != 2 {
			t.Errorf("meeting JSON %s disagrees with %+v", m.JSON, m)
		}
	})

	run("SameClientRequestTokenReturnsTheSameMeeting", func(t *testing.T, e *env) {
		first := e.create(t, "0002")
		var wg sync.WaitGroup
		ids := make([]string, 5)
		for i := range ids {
			wg.Go(func() {
				m, err := e.driver.CreateMeeting(ctx, e.meetingReq("0002"))
				if err != nil {
					t.Errorf("retry %d: %v", i, err)
				}
				ids[i] = m.ID
			})
		}
		wg.Wait()
		for i, id := range ids {
			if id != first.ID {
				t.Errorf("retry %d got meeting %s, want %s", i, id, first.ID)
			}
		}
		if other := e.create(t, "0003"); other.ID == first.ID {
			t.Errorf("another token got the same meeting %s", other.ID)
		}
	})

	run("AttendeesAreAdmittedOncePerUser", func(t *testing.T, e *env) {
		m := e.create(t, "0004")
		patient, doctor := uuid.NewString(), uuid.NewString()
		a, err := e.driver.CreateAttendee(ctx, m.ID, patient)
		if err != nil {
			t.Fatalf("CreateAttendee: %v", err)
		}
		if !meetingIDPattern.MatchString(a.ID) || a.ExternalUserID != patient {
			t.Errorf("attendee = %v, want a UUID for user %s", a, patient)
		}
		var js chimeAttendee
		if err := json.Unmarshal(a.JSON, &js); err != nil || js.AttendeeID != a.ID || js.ExternalUserID != patient || js.JoinToken != a.JoinToken {
			t.Errorf("attendee JSON disagrees with %v (%v)", a, err)
		}
		again, err := e.driver.CreateAttendee(ctx, m.ID, patient)
		if err != nil || again.ID != a.ID || again.JoinToken != a.JoinToken || again.JoinURL != a.JoinURL {
			t.Errorf("second CreateAttendee for the same user = %v, %v; want attendee %s again", again, err, a.ID)
		}
		d, err := e.driver.CreateAttendee(ctx, m.ID, doctor)
		if err != nil || d.ID == a.ID || d.ExternalUserID != doctor {
			t.Errorf("doctor = %v, %v; want another attendee", d, err)
		}
		if e.fake == nil { // local: one room per meeting, for everyone in it
			if a.JoinURL != m.JoinURL || d.JoinURL != m.JoinURL || a.JoinToken != "" {
				t.Errorf("join URLs %q, %q; want the meeting's %q and no token", a.JoinURL, d.JoinURL, m.JoinURL)
			}
		} else if a.JoinToken == "" || a.JoinToken == d.JoinToken || a.JoinURL != "" {
			t.Errorf("join tokens: each attendee needs its own, and no join URL")
		}
	})

	run("GetMeetingReturnsTheCreatedMeeting", func(t *testing.T, e *env) {
		m := e.create(t, "0005")
		got, err := e.driver.GetMeeting(ctx, m.ID)
		if err != nil {
			t.Fatalf("GetMeeting: %v", err)
		}
		if !reflect.DeepEqual(got, m) {
			t.Errorf("GetMeeting = %+v\nwant %+v", got, m)
		}
	})

	run("DeletedMeetingIsNotFoundEverywhere", func(t *testing.T, e *env) {
		m := e.create(t, "0006")
		if err := e.driver.DeleteMeeting(ctx, m.ID); err != nil {
			t.Fatalf("DeleteMeeting: %v", err)
		}
		_, err := e.driver.GetMeeting(ctx, m.ID)
		wantErr(t, "GetMeeting after delete", err, ErrMeetingNotFound)
		_, err = e.driver.CreateAttendee(ctx, m.ID, uuid.NewString())
		wantErr(t, "CreateAttendee after delete", err, ErrMeetingNotFound)
		wantErr(t, "DeleteMeeting again", e.driver.DeleteMeeting(ctx, m.ID), ErrMeetingNotFound)
	})

	run("UnknownAndMalformedIdsAreNotFound", func(t *testing.T, e *env) {
		for _, id := range []string{uuid.NewString(), "../meetings", "not-a-meeting", ""} {
			_, err := e.driver.GetMeeting(ctx, id)
			wantErr(t, "GetMeeting "+id, err, ErrMeetingNotFound)
			_, err = e.driver.CreateAttendee(ctx, id, uuid.NewString())
			wantErr(t, "CreateAttendee "+id, err, ErrMeetingNotFound)
			wantErr(t, "DeleteMeeting "+id, e.driver.DeleteMeeting(ctx, id), ErrMeetingNotFound)
		}
	})

	run("MeetingEnds24HoursAfterCreation", func(t *testing.T, e *env) {
		m := e.create(t, "0007")
		e.clock.Advance(24*time.Hour - time.Second)
		if _, err := e.driver.GetMeeting(ctx, m.ID); err != nil {
			t.Fatalf("a second before 24 hours: %v", err)
		}
		e.clock.Advance(time.Second)
		_, err := e.driver.GetMeeting(ctx, m.ID)
		wantErr(t, "GetMeeting at 24 hours", err, ErrMeetingNotFound)
	})
}

func TestLocal_DriverSuite(t *testing.T) { runDriverSuite(t, newLocalEnv) }

func TestChime_DriverSuiteAgainstAServerSpeakingChime(t *testing.T) { runDriverSuite(t, newChimeEnv) }

// wantErr asserts that err wraps want.
func wantErr(t testing.TB, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: error = %v, want %v", what, err, want)
	}
}
