package meetingstest

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
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/google/uuid"

	"healthcore/platform/awstest"
	"healthcore/platform/testkit"
)

// The credentials and control region the fake accepts: sign with them (Credentials
// gives them to the chime driver) and scope requests to Region, or get
// InvalidSignatureException.
const (
	AccessKeyID     = "AKIDHEALTHCORETEST"
	SecretAccessKey = "healthcore-test-secret-key"
	SessionToken    = "healthcore-session-token"
	Region          = "us-west-2"
)

// Credentials returns a provider of the credentials the fake accepts.
func Credentials() aws.CredentialsProvider {
	return credentials.NewStaticCredentialsProvider(AccessKeyID, SecretAccessKey, SessionToken)
}

// creds are the credentials the fake checks signatures with.
var creds = aws.Credentials{AccessKeyID: AccessKeyID, SecretAccessKey: SecretAccessKey, SessionToken: SessionToken}

// Chime speaks Chime SDK Meetings' REST API on 127.0.0.1: it checks every request's
// SigV4 signature (awstest.VerifySigV4), keeps meetings and attendees, answers with the
// documented shapes, codes and error bodies, ends meetings 24 hours after creation by
// its clock, and fails the next requests on demand.
type Chime struct {
	// URL is the endpoint to give the chime driver, http://127.0.0.1:port.
	URL   string
	clock *testkit.Clock

	mu       sync.Mutex
	meetings map[string]*meeting
	byToken  map[string]string
	requests []Request
	faults   []fault
}

// meeting is a meeting the fake made.
type meeting struct {
	raw       []byte
	created   time.Time
	attendees map[string][]byte // raw Attendee JSON by external user id
}

// Request is a request the fake received, its signature checked.
type Request struct {
	Method, Path string
	Body         []byte
	// Scope is the credential scope of the Authorization header:
	// date/region/service/aws4_request.
	Scope string
	// SigErr says why the signature was refused; nil when it is valid.
	SigErr error
}

// fault is an error answer given instead of serving one request.
type fault struct {
	status     int
	code       string
	retryAfter string
}

var (
	tokenPattern   = regexp.MustCompile(`^[-_a-zA-Z0-9]{2,64}$`)
	attendeesRoute = regexp.MustCompile(`^/meetings/([^/]+)/attendees$`)
	meetingRoute   = regexp.MustCompile(`^/meetings/([^/]+)$`)
)

// New starts the fake on loopback until t's cleanup; meetings end by clock.
func New(t testing.TB, clock *testkit.Clock) *Chime {
	f := &Chime{clock: clock, meetings: map[string]*meeting{}, byToken: map[string]string{}}
	srv := httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(srv.Close)
	f.URL = srv.URL
	return f
}

// FailNext makes the next n correctly signed requests answer status with an error of
// the given code (NotFoundException, ThrottlingException…) and, unless "", a
// Retry-After header.
func (f *Chime) FailNext(n, status int, code, retryAfter string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for range n {
		f.faults = append(f.faults, fault{status, code, retryAfter})
	}
}

// Received returns the requests so far, in order.
func (f *Chime) Received() []Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Request(nil), f.requests...)
}

// MeetingJSON returns the Meeting object the fake made for id, as it answers it; nil
// when it has no such meeting.
func (f *Chime) MeetingJSON(id string) []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	if m := f.meetings[id]; m != nil {
		return m.raw
	}
	return nil
}

func (f *Chime) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	scope, sigErr := awstest.VerifySigV4(r, body, creds, Region, "chime", time.Now())
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, Request{Method: r.Method, Path: r.URL.Path, Body: body, Scope: scope, SigErr: sigErr})
	if sigErr != nil {
		writeError(w, http.StatusForbidden, "InvalidSignatureException", "The request signature we calculated does not match the signature you provided.", "")
		return
	}
	if len(f.faults) > 0 {
		ft := f.faults[0]
		f.faults = f.faults[1:]
		writeError(w, ft.status, ft.code, "injected failure", ft.retryAfter)
		return
	}
	switch path := r.URL.Path; {
	case r.Method == http.MethodPost && path == "/meetings" && r.URL.RawQuery == "":
		f.createMeeting(w, body)
	case r.Method == http.MethodPost && attendeesRoute.MatchString(path):
		f.createAttendee(w, attendeesRoute.FindStringSubmatch(path)[1], body)
	case r.Method == http.MethodGet && meetingRoute.MatchString(path):
		if m := f.live(w, meetingRoute.FindStringSubmatch(path)[1]); m != nil {
			writeJSON(w, http.StatusOK, `{"Meeting":`+string(m.raw)+`}`)
		}
	case r.Method == http.MethodDelete && meetingRoute.MatchString(path):
		id := meetingRoute.FindStringSubmatch(path)[1]
		if f.live(w, id) != nil {
			delete(f.meetings, id)
			w.WriteHeader(http.StatusNoContent)
		}
	default:
		writeError(w, http.StatusNotFound, "UnknownOperationException", "no such operation", "")
	}
}

func (f *Chime) createMeeting(w http.ResponseWriter, body []byte) {
	var in createMeetingInput
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		writeError(w, http.StatusBadRequest, "BadRequestException", "malformed body: "+err.Error(), "")
		return
	}
	if !tokenPattern.MatchString(in.ClientRequestToken) || len(in.ExternalMeetingID) < 2 || len(in.ExternalMeetingID) > 64 ||
		in.MediaRegion == "" || (in.MeetingFeatures != nil && in.MeetingFeatures.Attendee != nil &&
		(in.MeetingFeatures.Attendee.MaxCount < 1 || in.MeetingFeatures.Attendee.MaxCount > 250)) {
		writeError(w, http.StatusBadRequest, "BadRequestException", "invalid input", "")
		return
	}
	if id, ok := f.byToken[in.ClientRequestToken]; ok && f.meetings[id] != nil {
		writeJSON(w, http.StatusOK, `{"Meeting":`+string(f.meetings[id].raw)+`}`)
		return
	}
	id := uuid.NewString()
	mr := in.MediaRegion
	m := map[string]any{
		"MeetingId": id, "MeetingArn": "arn:aws:chime:" + Region + ":123456789012:meeting/" + id,
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
	f.meetings[id] = &meeting{raw: raw, created: f.clock.Now(), attendees: map[string][]byte{}}
	f.byToken[in.ClientRequestToken] = id
	writeJSON(w, http.StatusOK, `{"Meeting":`+string(raw)+`}`)
}

func (f *Chime) createAttendee(w http.ResponseWriter, meetingID string, body []byte) {
	var in createAttendeeInput
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil || len(in.ExternalUserID) < 2 || len(in.ExternalUserID) > 64 {
		writeError(w, http.StatusBadRequest, "BadRequestException", "invalid input", "")
		return
	}
	m := f.live(w, meetingID)
	if m == nil {
		return
	}
	if raw, ok := m.attendees[in.ExternalUserID]; ok {
		writeJSON(w, http.StatusOK, `{"Attendee":`+string(raw)+`}`)
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
	writeJSON(w, http.StatusOK, `{"Attendee":`+string(raw)+`}`)
}

// createMeetingInput is the body of POST /meetings as Chime documents it, written
// here rather than taken from the driver so that a field the driver misnames is
// refused, as Chime would.
type createMeetingInput struct {
	ClientRequestToken string           `json:"ClientRequestToken"`
	ExternalMeetingID  string           `json:"ExternalMeetingId"`
	MediaRegion        string           `json:"MediaRegion"`
	MeetingFeatures    *meetingFeatures `json:"MeetingFeatures,omitempty"`
}

// meetingFeatures is MeetingFeatures, of which the fake knows the attendee cap.
type meetingFeatures struct {
	Attendee *attendeeFeatures `json:"Attendee,omitempty"`
}

type attendeeFeatures struct {
	MaxCount int `json:"MaxCount"`
}

// createAttendeeInput is the body of POST /meetings/{MeetingId}/attendees.
type createAttendeeInput struct {
	ExternalUserID string `json:"ExternalUserId"`
}

// live returns a meeting that exists and has not ended, or answers 404 and returns
// nil; f.mu is held.
func (f *Chime) live(w http.ResponseWriter, id string) *meeting {
	m := f.meetings[id]
	if m != nil && !f.clock.Now().Before(m.created.Add(24*time.Hour)) {
		delete(f.meetings, id)
		m = nil
	}
	if m == nil {
		writeError(w, http.StatusNotFound, "NotFoundException", "The requested resource does not exist.", "")
	}
	return m
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-RequestId", uuid.NewString())
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// writeError answers as AWS REST-JSON services do: the code in X-Amzn-ErrorType and in
// the body, with the request id.
func writeError(w http.ResponseWriter, status int, code, msg, retryAfter string) {
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
