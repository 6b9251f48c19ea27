package meetings

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/google/uuid"

	"healthcore/services/meetings/meetingstest"
)

func TestChime_RequestsAreSignedForChimeAndCarryTheDocumentedBodies(t *testing.T) {
	e := newChimeEnv(t)
	ctx := context.Background()
	m := e.create(t, "wire-1")
	user := uuid.NewString()
	if _, err := e.driver.CreateAttendee(ctx, m.ID, user); err != nil {
		t.Fatal(err)
	}
	if _, err := e.driver.GetMeeting(ctx, m.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.driver.DeleteMeeting(ctx, m.ID); err != nil {
		t.Fatal(err)
	}
	want := []struct{ method, path, body string }{
		{"POST", "/meetings", `{"ClientRequestToken":"appt-wire-1","ExternalMeetingId":"appointment-wire-1","MediaRegion":"sa-east-1","MeetingFeatures":{"Attendee":{"MaxCount":2}}}`},
		{"POST", "/meetings/" + m.ID + "/attendees", `{"ExternalUserId":"` + user + `"}`},
		{"GET", "/meetings/" + m.ID, ""},
		{"DELETE", "/meetings/" + m.ID, ""},
	}
	got := e.fake.Received()
	if len(got) != len(want) {
		t.Fatalf("%d requests, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		r := got[i]
		if r.SigErr != nil {
			t.Errorf("%s %s: signature refused: %v", r.Method, r.Path, r.SigErr)
		}
		if !strings.HasSuffix(r.Scope, "/"+meetingstest.Region+"/chime/aws4_request") {
			t.Errorf("%s %s: credential scope %q, want …/%s/chime/aws4_request", r.Method, r.Path, r.Scope, meetingstest.Region)
		}
		if r.Method != w.method || r.Path != w.path || string(r.Body) != w.body {
			t.Errorf("request %d = %s %s %s\nwant %s %s %s", i, r.Method, r.Path, r.Body, w.method, w.path, w.body)
		}
	}
}

func TestChime_MeetingJSONReachesTheCallerUnchanged(t *testing.T) {
	e := newChimeEnv(t)
	m := e.create(t, "raw-1")
	if raw := e.fake.MeetingJSON(m.ID); !bytes.Equal(m.JSON, raw) {
		t.Errorf("meeting JSON\n%s\nwant Chime's\n%s", m.JSON, raw)
	}
	p := m.MediaPlacement
	if !strings.HasSuffix(p.AudioHostURL, ".sa-east-1.app.chime.aws:3478") || !strings.HasSuffix(p.SignalingURL, "/control/"+m.ID) ||
		p.AudioFallbackURL == "" || p.TurnControlURL == "" || p.ScreenDataURL == "" || p.ScreenSharingURL == "" ||
		p.ScreenViewingURL == "" || p.EventIngestionURL == "" || !strings.HasPrefix(m.ARN, "arn:aws:chime:") {
		t.Errorf("media placement %+v, ARN %q: want every URL of the answer", p, m.ARN)
	}
	a, err := e.driver.CreateAttendee(context.Background(), m.ID, uuid.NewString())
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]any
	if err := json.Unmarshal(a.JSON, &fields); err != nil || fields["Capabilities"] == nil || fields["JoinToken"] != a.JoinToken {
		t.Errorf("attendee JSON lost Chime's fields (Capabilities, JoinToken): %v", err)
	}
}

func TestChime_WrongSecretIsRefusedAndNotRetried(t *testing.T) {
	e := newChimeEnv(t)
	d, err := NewChime(context.Background(), ChimeConfig{
		Region: meetingstest.Region, Endpoint: e.fake.URL,
		Credentials: credentials.NewStaticCredentialsProvider(meetingstest.AccessKeyID, "not-the-secret", meetingstest.SessionToken),
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = d.CreateMeeting(context.Background(), e.meetingReq("badsig"))
	if err == nil || errors.Is(err, ErrUnavailable) || errors.Is(err, ErrRejected) || errors.Is(err, ErrMeetingNotFound) {
		t.Fatalf("error = %v, want a server fault (our credentials)", err)
	}
	got := e.fake.Received()
	if len(got) != 1 || got[0].SigErr == nil || !strings.Contains(err.Error(), "InvalidSignatureException") {
		t.Errorf("%d requests (signature error %v), error %v; want one refused request", len(got), got[0].SigErr, err)
	}
}

func TestChime_TransientFailuresAreRetriedUntilTheySucceed(t *testing.T) {
	for _, tc := range []struct {
		status int
		code   string
	}{
		{http.StatusTooManyRequests, "ThrottlingException"},
		{http.StatusBadRequest, "ThrottledClientException"},
		{http.StatusServiceUnavailable, "ServiceUnavailableException"},
		{http.StatusInternalServerError, "ServiceFailureException"},
		{http.StatusConflict, "ConflictException"},
		{http.StatusBadGateway, ""},
	} {
		t.Run(tc.code+"_"+http.StatusText(tc.status), func(t *testing.T) {
			t.Parallel()
			e := newChimeEnv(t)
			e.fake.FailNext(3, tc.status, tc.code, "")
			m := e.create(t, "retry-1")
			if n := len(e.fake.Received()); n != 4 {
				t.Errorf("%d requests, want 3 failed + 1", n)
			}
			e.fake.FailNext(2, tc.status, tc.code, "")
			if got, err := e.driver.GetMeeting(context.Background(), m.ID); err != nil || got.ID != m.ID {
				t.Errorf("GetMeeting after 2 failures = %v, %v", got.ID, err)
			}
			if n := len(e.fake.Received()); n != 7 {
				t.Errorf("%d requests in all, want 4 + 3", n)
			}
		})
	}
}

func TestChime_PersistentThrottlingIsUnavailableAfterMaxAttempts(t *testing.T) {
	e := newChimeEnv(t)
	d := newTestChime(t, e.fake.URL, 3)
	e.fake.FailNext(10, http.StatusTooManyRequests, "ThrottlingException", "")
	_, err := d.CreateMeeting(context.Background(), e.meetingReq("throttled"))
	wantErr(t, "throttled 10 times", err, ErrUnavailable)
	if n := len(e.fake.Received()); n != 3 {
		t.Errorf("%d requests, want exactly 3 attempts", n)
	}
	if err == nil || !strings.Contains(err.Error(), "3 attempts") || !strings.Contains(err.Error(), "ThrottlingException") {
		t.Errorf("error %v does not say what happened", err)
	}
}

func TestChime_ClientErrorsAreNotRetried(t *testing.T) {
	e := newChimeEnv(t)
	e.fake.FailNext(1, http.StatusBadRequest, "BadRequestException", "")
	_, err := e.driver.CreateMeeting(context.Background(), e.meetingReq("bad"))
	wantErr(t, "BadRequestException", err, ErrRejected)
	e.fake.FailNext(1, http.StatusBadRequest, "LimitExceededException", "")
	_, err = e.driver.CreateMeeting(context.Background(), e.meetingReq("bad"))
	wantErr(t, "LimitExceededException", err, ErrUnavailable)
	if n := len(e.fake.Received()); n != 2 {
		t.Errorf("%d requests, want 2 (no retries)", n)
	}
}

func TestChime_RetryAfterIsHonoured(t *testing.T) {
	e := newChimeEnv(t)
	d := newTestChime(t, e.fake.URL, 0)
	d.retryMax = 5 * time.Second
	e.fake.FailNext(1, http.StatusServiceUnavailable, "ServiceUnavailableException", "1")
	start := time.Now()
	if _, err := d.CreateMeeting(context.Background(), e.meetingReq("after")); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < time.Second {
		t.Errorf("retried after %s, want the 1s Retry-After", took)
	}
}

func TestChime_WaitingStopsWithTheCaller(t *testing.T) {
	e := newChimeEnv(t)
	d := newTestChime(t, e.fake.URL, 0)
	d.retryBase, d.retryMax = time.Minute, time.Minute
	e.fake.FailNext(10, http.StatusServiceUnavailable, "ServiceUnavailableException", "")

	// A deadline shorter than the next wait: the provider's failure now, not a timeout.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	start := time.Now()
	_, err := d.CreateMeeting(ctx, e.meetingReq("deadline"))
	wantErr(t, "deadline shorter than the backoff", err, ErrUnavailable)
	if took := time.Since(start); took > time.Second {
		t.Errorf("took %s, want an answer at once", took)
	}

	// No deadline: cancelling ends the wait.
	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start = time.Now()
	_, err = d.CreateMeeting(ctx, e.meetingReq("cancel"))
	wantErr(t, "cancelled while waiting", err, context.Canceled)
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("took %s after cancel", took)
	}
}

func TestChime_UnreachableProviderIsUnavailable(t *testing.T) {
	d := newTestChime(t, deadEndpoint(t), 2)
	_, err := d.GetMeeting(context.Background(), uuid.NewString())
	wantErr(t, "nobody listening", err, ErrUnavailable)
	if !strings.Contains(err.Error(), "2 attempts") {
		t.Errorf("error %v does not count the attempts", err)
	}
}

func TestErrorCode_ReadsHeaderThenTypeThenCode(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want string
	}{
		{[]string{"NotFoundException:http://internal.amazon.com/coral/com.amazonaws.chime/", "x", "y"}, "NotFoundException"},
		{[]string{"", "com.amazonaws.chimesdkmeetings#ThrottlingException", "y"}, "ThrottlingException"},
		{[]string{"", "", "ServiceUnavailableException"}, "ServiceUnavailableException"},
		{[]string{"", "", ""}, ""},
	} {
		if got := errorCode(tc.in...); got != tc.want {
			t.Errorf("errorCode(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestNewChime_DefaultEndpointIsTheControlRegions(t *testing.T) {
	d, err := NewChime(context.Background(), ChimeConfig{
		Region: "eu-central-1", Credentials: credentials.NewStaticCredentialsProvider("a", "b", ""),
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := d.base.String(); got != "https://meetings-chime.eu-central-1.amazonaws.com" {
		t.Errorf("endpoint = %s", got)
	}
	if _, err := NewChime(context.Background(), ChimeConfig{Endpoint: "https://vpce.example/path"}); err == nil {
		t.Error("an endpoint with a path was accepted")
	}
}

// deadEndpoint is the URL of a loopback port nobody listens on.
func deadEndpoint(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return "http://" + ln.Addr().String()
}
