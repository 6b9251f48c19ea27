package meetings

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"google.golang.org/genproto/googleapis/rpc/errdetails"

	accessv1 "healthcore/gen/healthcore/access/v1"
	meetingsv1 "healthcore/gen/healthcore/meetings/v1"
	"healthcore/gen/healthcore/meetings/v1/meetingsv1connect"
	"healthcore/platform/authn"
	"healthcore/platform/logging"
	"healthcore/platform/server"
	"healthcore/platform/testkit"
)

// serveMeetings serves the service over d on the production server stack (every
// interceptor, authentication by users' and services' tokens, validation) on
// 127.0.0.1, and returns a gRPC client that calls as telehealth, its caller.
func serveMeetings(t *testing.T, d Driver) meetingsv1connect.MeetingsServiceClient {
	t.Helper()
	url := testkit.Serve(t, testkit.NewUsers(t).Interceptor("meetings"), func(s *server.Server) {
		s.Handle(New(d, "").Handler(s.HandlerOptions()...))
	})
	return meetingsv1connect.NewMeetingsServiceClient(testkit.HTTPClient(t), url,
		connect.WithGRPC(), connect.WithInterceptors(testkit.Caller("telehealth")))
}

func TestService_MeetingLifecycle(t *testing.T) {
	for name, newEnv := range map[string]func(*testing.T) *env{"local": newLocalEnv, "chime": newChimeEnv} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			client := serveMeetings(t, e.driver)
			ctx := context.Background()
			appt := uuid.NewString()
			created, err := client.CreateMeeting(ctx, connect.NewRequest(&meetingsv1.CreateMeetingRequest{
				ExternalMeetingId: appt, ClientRequestToken: "appt-" + appt,
			}))
			if err != nil {
				t.Fatalf("CreateMeeting: %v", err)
			}
			m := created.Msg.GetMeeting()
			if m.GetExternalMeetingId() != appt || m.GetMediaRegion() != DefaultMediaRegion || m.GetMaxAttendees() != 2 ||
				!strings.Contains(m.GetMeetingJson(), `"MeetingId":"`+m.GetMeetingId()+`"`) {
				t.Errorf("meeting = %v, want %s in %s for 2, with its JSON", m, appt, DefaultMediaRegion)
			}
			user := uuid.NewString()
			joined, err := client.CreateAttendee(ctx, connect.NewRequest(&meetingsv1.CreateAttendeeRequest{MeetingId: m.GetMeetingId(), ExternalUserId: user}))
			if err != nil {
				t.Fatalf("CreateAttendee: %v", err)
			}
			a := joined.Msg.GetAttendee()
			if joined.Msg.GetMeeting().GetMeetingId() != m.GetMeetingId() || a.GetExternalUserId() != user || a.GetAttendeeJson() == "" {
				t.Errorf("CreateAttendee = %v, want the meeting and the attendee of %s", joined.Msg, user)
			}
			if e.fake != nil && (a.GetJoinToken() == "" || !strings.Contains(a.GetAttendeeJson(), a.GetJoinToken()) ||
				m.GetMediaPlacement().GetSignalingUrl() == "") {
				t.Errorf("chime: want a join token in the attendee and its JSON, and media URLs: %v %v", a, m)
			}
			if e.fake == nil && (a.GetJoinUrl() == "" || a.GetJoinUrl() != m.GetJoinUrl()) {
				t.Errorf("local: attendee room %q, meeting room %q; want the same room", a.GetJoinUrl(), m.GetJoinUrl())
			}
			got, err := client.GetMeeting(ctx, connect.NewRequest(&meetingsv1.GetMeetingRequest{MeetingId: m.GetMeetingId()}))
			if err != nil || got.Msg.GetMeeting().GetMeetingJson() != m.GetMeetingJson() {
				t.Errorf("GetMeeting = %v, %v", got, err)
			}
			if _, err := client.DeleteMeeting(ctx, connect.NewRequest(&meetingsv1.DeleteMeetingRequest{MeetingId: m.GetMeetingId()})); err != nil {
				t.Fatalf("DeleteMeeting: %v", err)
			}
			_, err = client.GetMeeting(ctx, connect.NewRequest(&meetingsv1.GetMeetingRequest{MeetingId: m.GetMeetingId()}))
			testkit.WantReason(t, err, ReasonMeetingNotFound)
			_, err = client.CreateAttendee(ctx, connect.NewRequest(&meetingsv1.CreateAttendeeRequest{MeetingId: m.GetMeetingId(), ExternalUserId: user}))
			testkit.WantReason(t, err, ReasonMeetingNotFound)
		})
	}
}

func TestService_InvalidRequestsAreInvalidArgumentNamingTheField(t *testing.T) {
	e := newChimeEnv(t)
	client := serveMeetings(t, e.driver)
	ctx := context.Background()
	createMeeting := func(change func(*meetingsv1.CreateMeetingRequest)) func() error {
		return func() error {
			r := &meetingsv1.CreateMeetingRequest{ExternalMeetingId: uuid.NewString(), ClientRequestToken: "appt-1"}
			change(r)
			_, err := client.CreateMeeting(ctx, connect.NewRequest(r))
			return err
		}
	}
	for _, tc := range []struct {
		name  string
		call  func() error
		field string
	}{
		{"external id of one character", createMeeting(func(r *meetingsv1.CreateMeetingRequest) { r.ExternalMeetingId = "a" }), "external_meeting_id"},
		{"media region that is not one", createMeeting(func(r *meetingsv1.CreateMeetingRequest) { r.MediaRegion = "São Paulo" }), "media_region"},
		{"token with a space", createMeeting(func(r *meetingsv1.CreateMeetingRequest) { r.ClientRequestToken = "appt 1" }), "client_request_token"},
		{"a CPF as the attendee", func() error {
			_, err := client.CreateAttendee(ctx, connect.NewRequest(&meetingsv1.CreateAttendeeRequest{MeetingId: uuid.NewString(), ExternalUserId: "52998224725"}))
			return err
		}, "external_user_id"},
		{"meeting id that is a path", func() error {
			_, err := client.GetMeeting(ctx, connect.NewRequest(&meetingsv1.GetMeetingRequest{MeetingId: "../meetings"}))
			return err
		}, "meeting_id"},
		{"no meeting id", func() error {
			_, err := client.DeleteMeeting(ctx, connect.NewRequest(&meetingsv1.DeleteMeetingRequest{}))
			return err
		}, "meeting_id"},
	} {
		err := tc.call()
		testkit.WantReason(t, err, server.ReasonValidationFailed)
		if got := violatedFields(err); !slices.Equal(got, []string{tc.field}) {
			t.Errorf("%s: field violations %v, want [%s]", tc.name, got, tc.field)
		}
	}
	if n := len(e.fake.Received()); n != 0 {
		t.Errorf("%d invalid requests reached the provider", n)
	}
}

func TestService_IsInternal(t *testing.T) {
	users := testkit.NewUsers(t)
	url := testkit.Serve(t, users.Interceptor("meetings"), func(s *server.Server) {
		s.Handle(New(newLocalEnv(t).driver, "").Handler(s.HandlerOptions()...))
	})
	client := meetingsv1connect.NewMeetingsServiceClient(testkit.HTTPClient(t), url, connect.WithGRPC())
	req := &meetingsv1.CreateMeetingRequest{ExternalMeetingId: uuid.NewString(), ClientRequestToken: "appt-internal"}
	for _, role := range []accessv1.Role{accessv1.Role_ROLE_PATIENT, accessv1.Role_ROLE_DOCTOR, accessv1.Role_ROLE_ADMIN} {
		_, token := users.Sign(role, "")
		_, err := client.CreateMeeting(context.Background(), testkit.Authed(req, token))
		testkit.WantReason(t, err, authn.ReasonServiceOnly)
	}
	_, err := client.CreateMeeting(context.Background(), connect.NewRequest(req))
	testkit.WantReason(t, err, authn.ReasonTokenMissing)
	scheduling := meetingsv1connect.NewMeetingsServiceClient(testkit.HTTPClient(t), url, connect.WithGRPC(),
		connect.WithInterceptors(testkit.Caller("scheduling")))
	_, err = scheduling.CreateMeeting(context.Background(), connect.NewRequest(req))
	testkit.WantReason(t, err, authn.ReasonCallerNotAllowed)
	telehealth := meetingsv1connect.NewMeetingsServiceClient(testkit.HTTPClient(t), url, connect.WithGRPC(),
		connect.WithInterceptors(testkit.Caller("telehealth")))
	if _, err := telehealth.CreateMeeting(context.Background(), connect.NewRequest(req)); err != nil {
		t.Errorf("as telehealth: %v", err)
	}
}

func TestService_ProviderFailuresMapToStatuses(t *testing.T) {
	e := newChimeEnv(t)
	client := serveMeetings(t, e.driver)
	ctx := context.Background()
	req := &meetingsv1.CreateMeetingRequest{ExternalMeetingId: uuid.NewString(), ClientRequestToken: "appt-fail"}
	e.fake.FailNext(DefaultMaxAttempts, 429, "ThrottlingException", "")
	_, err := client.CreateMeeting(ctx, connect.NewRequest(req))
	testkit.WantReason(t, err, ReasonMeetingsUnavailable)
	if strings.Contains(err.Error(), "127.0.0.1") || strings.Contains(err.Error(), "Throttling") {
		t.Errorf("message %q reveals the provider's words or address", err)
	}
	e.fake.FailNext(1, 400, "BadRequestException", "")
	_, err = client.CreateMeeting(ctx, connect.NewRequest(req))
	testkit.WantReason(t, err, ReasonMeetingRejected)
	if _, err := client.CreateMeeting(ctx, connect.NewRequest(req)); err != nil {
		t.Errorf("once the provider is back: %v", err)
	}
	_, err = serveMeetings(t, newTestChime(t, deadEndpoint(t), 2)).GetMeeting(ctx, connect.NewRequest(&meetingsv1.GetMeetingRequest{MeetingId: uuid.NewString()}))
	testkit.WantReason(t, err, ReasonMeetingsUnavailable)
}

func TestService_JoinTokensNeverReachTheLogs(t *testing.T) {
	e := newChimeEnv(t)
	var logs testkit.LogBuffer
	srv := server.New(server.Options{
		Addr: "127.0.0.1:0", Auth: testkit.NewUsers(t).Interceptor("meetings"), Logger: logging.New(&logs, slog.LevelDebug),
		ShutdownTimeout: 5 * time.Second,
	})
	srv.Handle(New(e.driver, "").Handler(srv.HandlerOptions()...))
	ln, err := srv.Listen()
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() { stop(); <-done })
	client := meetingsv1connect.NewMeetingsServiceClient(testkit.HTTPClient(t), "http://"+ln.Addr().String(),
		connect.WithGRPC(), connect.WithInterceptors(testkit.Caller("telehealth")))

	m, err := client.CreateMeeting(ctx, connect.NewRequest(&meetingsv1.CreateMeetingRequest{ExternalMeetingId: "appt-logs", ClientRequestToken: "appt-logs"}))
	if err != nil {
		t.Fatal(err)
	}
	req := &meetingsv1.CreateAttendeeRequest{MeetingId: m.Msg.GetMeeting().GetMeetingId(), ExternalUserId: uuid.NewString()}
	a, err := client.CreateAttendee(ctx, connect.NewRequest(req))
	if err != nil {
		t.Fatal(err)
	}
	e.fake.FailNext(DefaultMaxAttempts, 500, "InternalFailure", "") // logged with its cause
	_, err = client.CreateAttendee(ctx, connect.NewRequest(req))
	testkit.WantReason(t, err, ReasonMeetingsUnavailable)
	token := a.Msg.GetAttendee().GetJoinToken()
	if token == "" || !strings.Contains(logs.String(), "MeetingsService/CreateAttendee") {
		t.Fatalf("no token (%q) or no log lines:\n%s", token, logs.String())
	}
	if strings.Contains(logs.String(), token) {
		t.Errorf("a join token is in the logs:\n%s", logs.String())
	}
}

// violatedFields lists the fields of a status's BadRequest detail.
func violatedFields(err error) []string {
	ce, ok := errors.AsType[*connect.Error](err)
	if !ok {
		return nil
	}
	var fields []string
	for _, d := range ce.Details() {
		if v, derr := d.Value(); derr == nil {
			if br, ok := v.(*errdetails.BadRequest); ok {
				for _, fv := range br.GetFieldViolations() {
					fields = append(fields, fv.GetField())
				}
			}
		}
	}
	return fields
}
