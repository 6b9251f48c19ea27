package meetings

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/google/uuid"

	"healthcore/platform/testkit"
)

// Test credentials: the driver signs with them, the fake server checks with them.
var testCreds = aws.Credentials{
	AccessKeyID: "AKIDHEALTHCORETEST", SecretAccessKey: "healthcore-test-secret-key", SessionToken: "healthcore-session-token",
}

const testControlRegion = "us-west-2"

// fakeChime speaks Chime SDK Meetings' REST API on 127.0.0.1: it checks every
// request's SigV4 signature (verifySigV4), keeps meetings and attendees, answers
// with the documented shapes, codes and error bodies, ends meetings 24 hours after
// creation by its clock, and fails the next requests on demand.
type fakeChime struct {
	url   string
	clock *testkit.Clock

	mu       sync.Mutex
	meetings map[string]*fakeMeeting
	byToken  map[string]string
	requests []fakeRequest
	faults   []fakeFault
}

type fakeMeeting struct {
	raw       []byte
	created   time.Time
	attendees map[string][]byte // raw Attendee JSON by external user id
}

// fakeRequest is what the fake received, signature checked.
type fakeRequest struct {
	Method, Path string
	Body         []byte
	Scope        string // credential scope of the Authorization header
	SigErr       error
}

// fakeFault is an error answer given instead of serving one request.
type fakeFault struct {
	status     int
	code       string
	retryAfter string
}

var (
	tokenPattern       = regexp.MustCompile(`^[-_a-zA-Z0-9]{2,64}$`)
	fakeAttendeesRoute = regexp.MustCompile(`^/meetings/([^/]+)/attendees$`)
	fakeMeetingRoute   = regexp.MustCompile(`^/meetings/([^/]+)$`)
)

func newFakeChime(t *testing.T, clock *testkit.Clock) *fakeChime {
	f := &fakeChime{clock: clock, meetings: map[string]*fakeMeeting{}, byToken: map[string]string{}}
	srv := httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(srv.Close)
	f.url = srv.URL
	return f
}

// failNext makes the next n requests answer status with an error of the given code.
func (f *fakeChime) failNext(n, status int, code, retryAfter string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for range n {
		f.faults = append(f.faults, fakeFault{status, code, retryAfter})
	}
}

// received returns the requests so far.
func (f *fakeChime) received() []fakeRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeRequest(nil), f.requests...)
}

func (f *fakeChime) meetingJSON(id string) []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	if m := f.meetings[id]; m != nil {
		return m.raw
	}
	return nil
}

func (f *fakeChime) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	scope, sigErr := verifySigV4(r, body, testCreds, testControlRegion, "chime", time.Now())
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, fakeRequest{Method: r.Method, Path: r.URL.Path, Body: body, Scope: scope, SigErr: sigErr})
	if sigErr != nil {
		fakeError(w, http.StatusForbidden, "InvalidSignatureException", "The request signature we calculated does not match the signature you provided.", "")
		return
	}
	if len(f.faults) > 0 {
		ft := f.faults[0]
		f.faults = f.faults[1:]
		fakeError(w, ft.status, ft.code, "injected failure", ft.retryAfter)
		return
	}
	switch path := r.URL.Path; {
	case r.Method == http.MethodPost && path == "/meetings" && r.URL.RawQuery == "":
		f.createMeeting(w, body)
	case r.Method == http.MethodPost && fakeAttendeesRoute.MatchString(path):
		f.createAttendee(w, fakeAttendeesRoute.FindStringSubmatch(path)[1], body)
	case r.Method == http.MethodGet && fakeMeetingRoute.MatchString(path):
		if m := f.live(w, fakeMeetingRoute.FindStringSubmatch(path)[1]); m != nil {
			fakeJSON(w, http.StatusOK, `{"Meeting":`+string(m.raw)+`}`)
		}
	case r.Method == http.MethodDelete && fakeMeetingRoute.MatchString(path):
		id := fakeMeetingRoute.FindStringSubmatch(path)[1]
		if f.live(w, id) != nil {
			delete(f.meetings, id)
			w.WriteHeader(http.StatusNoContent)
		}
	default:
		fakeError(w, http.StatusNotFound, "UnknownOperationException", "no such operation", "")
	}
}

func (f *fakeChime) createMeeting(w http.ResponseWriter, body []byte) {
	var in createMeetingInput
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		fakeError(w, http.StatusBadRequest, "BadRequestException", "malformed body: "+err.Error(), "")
		return
	}
	if !tokenPattern.MatchString(in.ClientRequestToken) || len(in.ExternalMeetingID) < 2 || len(in.ExternalMeetingID) > 64 ||
		in.MediaRegion == "" || (in.MeetingFeatures != nil && in.MeetingFeatures.Attendee != nil &&
		(in.MeetingFeatures.Attendee.MaxCount < 1 || in.MeetingFeatures.Attendee.MaxCount > 250)) {
		fakeError(w, http.StatusBadRequest, "BadRequestException", "invalid input", "")
		return
	}
	if id, ok := f.byToken[in.ClientRequestToken]; ok && f.meetings[id] != nil {
		fakeJSON(w, http.StatusOK, `{"Meeting":`+string(f.meetings[id].raw)+`}`)
		return
	}
	id := uuid.NewString()
	mr := in.MediaRegion
	m := map[string]any{
		"MeetingId": id, "MeetingArn": "arn:aws:chime:" + testControlRegion + ":123456789012:meeting/" + id,
		"ExternalMeetingId": in.ExternalMeetingID, "MediaRegion": mr,
		"MediaPlacement": map[string]string{
			"AudioHostUrl":      id[:8] + ".k.m3." + mr + ".app.chime.aws:3478",
			"AudioFallbackUrl":  "wss://haxrp.m3." + mr + ".app.chime.aws:443/calls/" + id,
			"SignalingUrl":      "wss://signal.m3." + mr + ".app.chime.aws/control/" + id,
			"TurnControlUrl":    "https://2713.cell." + mr + ".meetings.chime.aws/v2/turn_sessions",
			"ScreenDataUrl":     "wss://bitpw.m3." + mr + ".app.chime.aws:443/v2/screen/" + id,
			"ScreenSharingUrl":  "wss://bitpw.m3." + mr + ".app.chime.aws:443/v2/screen/" + id,
			"ScreenViewingUrl":  "wss://bitpw.m3." + mr + ".app.chime.aws:443/ws/connect?passcode=null&viewer_uuid=null&X-BitHub-Call-Id=" + id,
			"EventIngestionUrl": "https://data.svc." + mr + ".ingest.chime.aws/v1/client-events",
		},
	}
	if in.MeetingFeatures != nil {
		m["MeetingFeatures"] = in.MeetingFeatures
	}
	raw, _ := json.Marshal(m)
	f.meetings[id] = &fakeMeeting{raw: raw, created: f.clock.Now(), attendees: map[string][]byte{}}
	f.byToken[in.ClientRequestToken] = id
	fakeJSON(w, http.StatusOK, `{"Meeting":`+string(raw)+`}`)
}

func (f *fakeChime) createAttendee(w http.ResponseWriter, meetingID string, body []byte) {
	var in createAttendeeInput
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil || len(in.ExternalUserID) < 2 || len(in.ExternalUserID) > 64 {
		fakeError(w, http.StatusBadRequest, "BadRequestException", "invalid input", "")
		return
	}
	m := f.live(w, meetingID)
	if m == nil {
		return
	}
	if raw, ok := m.attendees[in.ExternalUserID]; ok {
		fakeJSON(w, http.StatusOK, `{"Attendee":`+string(raw)+`}`)
		return
	}
	token := make([]byte, 96)
	_, _ = rand.Read(token)
	raw, _ := json.Marshal(map[string]any{
		"AttendeeId": uuid.NewString(), "ExternalUserId": in.ExternalUserID,
		"JoinToken":    base64.RawStdEncoding.EncodeToString(token), // Chime's pattern: ^[a-zA-Z0-9+/]+$
		"Capabilities": map[string]string{"Audio": "SendReceive", "Video": "SendReceive", "Content": "SendReceive"},
	})
	m.attendees[in.ExternalUserID] = raw
	fakeJSON(w, http.StatusOK, `{"Attendee":`+string(raw)+`}`)
}

// live returns a meeting that exists and has not ended, or answers 404 and returns
// nil; f.mu is held.
func (f *fakeChime) live(w http.ResponseWriter, id string) *fakeMeeting {
	m := f.meetings[id]
	if m != nil && !f.clock.Now().Before(m.created.Add(24*time.Hour)) {
		delete(f.meetings, id)
		m = nil
	}
	if m == nil {
		fakeError(w, http.StatusNotFound, "NotFoundException", "The requested resource does not exist.", "")
	}
	return m
}

func fakeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-RequestId", uuid.NewString())
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// fakeError answers as AWS REST-JSON services do: the code in X-Amzn-ErrorType and in
// the body, with the request id.
func fakeError(w http.ResponseWriter, status int, code, msg, retryAfter string) {
	reqID := uuid.NewString()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-RequestId", reqID)
	w.Header().Set("X-Amzn-ErrorType", code+":http://internal.amazon.com/coral/com.amazonaws.chime/")
	if retryAfter != "" {
		w.Header().Set("Retry-After", retryAfter)
	}
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]string{"__type": code, "Code": code, "Message": msg, "RequestId": reqID})
	_, _ = w.Write(b)
}
