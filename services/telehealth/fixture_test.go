package telehealth

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/protobuf/types/known/timestamppb"

	accessv1 "healthcore/gen/healthcore/access/v1"
	directoryv1 "healthcore/gen/healthcore/directory/v1"
	"healthcore/gen/healthcore/directory/v1/directoryv1connect"
	meetingsv1 "healthcore/gen/healthcore/meetings/v1"
	"healthcore/gen/healthcore/meetings/v1/meetingsv1connect"
	"healthcore/gen/healthcore/payments/v1/paymentsv1connect"
	schedulingv1 "healthcore/gen/healthcore/scheduling/v1"
	"healthcore/gen/healthcore/scheduling/v1/schedulingv1connect"
	telehealthv1 "healthcore/gen/healthcore/telehealth/v1"
	"healthcore/gen/healthcore/telehealth/v1/telehealthv1connect"
	"healthcore/platform/authn"
	"healthcore/platform/envelope"
	"healthcore/platform/errs"
	"healthcore/platform/jobs"
	"healthcore/platform/pg"
	"healthcore/platform/pgtest"
	"healthcore/platform/server"
	"healthcore/platform/testkit"
	"healthcore/services/directory"
	"healthcore/services/identity"
	"healthcore/services/identity/identitytest"
	"healthcore/services/meetings"
	"healthcore/services/meetings/meetingstest"
	"healthcore/services/scheduling"
)

// monday is the fixture's "now": Monday 1 June 2026, 03:00 in São Paulo (06:00 UTC).
// It is in the past of the wall clock, so River runs a room's closing job, scheduled
// at the consultation's end, as soon as a client works the queue.
var monday = time.Date(2026, 6, 1, 6, 0, 0, 0, time.UTC)

// The consultation every fixture appointment is: the doctor's first Monday slot,
// 09:00–09:50 in São Paulo (the directory's default 50 minutes).
var (
	consultStart = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	consultEnd   = consultStart.Add(50 * time.Minute)
	windowStart  = consultStart.Add(-10 * time.Minute)
)

// fixture is the telehealth service with everything it talks to, each on the
// production server stack on loopback: a real scheduling service (and the directory
// it asks for time zones and prices) owning its schema of the same fresh database, and
// a real meetings service with its local driver, or its chime driver signing requests
// to a meetingstest.Chime. All of them read one settable clock.
// Payments is unreachable: booking still holds the slot, and the test reports the
// payment itself, as the payments service would.
type fixture struct {
	t     *testing.T
	svc   *Service
	db    *pgxpool.Pool // search_path = telehealth
	clock *testkit.Clock
	users *testkit.Users
	logs  *testkit.LogBuffer // the telehealth service's own log

	client     telehealthv1connect.TelehealthServiceClient // as browsers call it, with a user's token
	internal   telehealthv1connect.TelehealthServiceClient // as scheduling calls it
	scheduling schedulingv1connect.SchedulingServiceClient // public, with a user's token
	schedSvc   schedulingv1connect.SchedulingServiceClient // as telehealth calls it
	payments   schedulingv1connect.SchedulingServiceClient // as payments calls it
	directory  directoryv1connect.DirectoryServiceClient
	dirURL     string
	meetings   meetingsv1connect.MeetingsServiceClient // as telehealth calls it
	provider   *providerCalls
	chime      *meetingstest.Chime // what the chime driver talks to; nil with the local driver
	crm        int
	identity   *identitytest.Identity // doctors are verified through it
}

// newFixture builds the fixture with the meetings service's local driver.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	return newFixtureWith(t, meetings.DriverLocal)
}

// newFixtureWith builds the fixture with the meetings service's driver named
// meetings.DriverLocal or meetings.DriverChime; the chime driver talks to f.chime,
// which ends meetings by the fixture's clock.
func newFixtureWith(t *testing.T, driverName string) *fixture {
	t.Helper()
	ctx := context.Background()
	url := pgtest.URL(t, identity.Schema, directory.Schema, scheduling.Schema, Schema)
	pool := func(schema string) *pgxpool.Pool {
		db, err := pg.Open(ctx, url, schema, 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(db.Close)
		return db
	}
	f := &fixture{t: t, clock: testkit.NewClock(monday), users: testkit.NewUsers(t), logs: &testkit.LogBuffer{}, provider: &providerCalls{}, crm: 223455}
	serve := func(self string, mount func(*server.Server)) string {
		return testkit.Serve(t, f.users.Interceptor(self), mount)
	}
	as := func(caller string) connect.ClientOption { return connect.WithInterceptors(testkit.Caller(caller)) }

	f.identity = identitytest.Start(t, pool(identity.Schema.Name), identitytest.Options{Users: f.users})

	dir, err := directory.New(ctx, directory.Deps{DB: pool(directory.Schema.Name), Logger: testkit.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	dirURL := serve("directory", func(s *server.Server) { s.Handle(dir.Handler(s.HandlerOptions()...)) })

	sched, err := scheduling.New(scheduling.Deps{
		DB: pool(scheduling.Schema.Name), Logger: testkit.Logger(t), Now: f.clock.Now,
		Envelope:  envelope.New(testkit.Keys(t, "scheduling"), envelope.Defaults),
		Directory: directoryv1connect.NewDirectoryServiceClient(testkit.HTTPClient(t), dirURL, connect.WithGRPC(), as("scheduling")),
		Payments:  paymentsv1connect.NewPaymentsServiceClient(testkit.HTTPClient(t), "http://127.0.0.1:1", connect.WithGRPC()),
		Identity:  f.identity.As("scheduling"),
	}, scheduling.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	schedURL := serve("scheduling", func(s *server.Server) { s.Handle(sched.Handler(s.HandlerOptions()...)) })

	driver := f.meetingsDriver(driverName)
	meetURL := serve("meetings", func(s *server.Server) {
		s.Handle(meetings.New(driver, "").Handler(append(s.HandlerOptions(), connect.WithInterceptors(f.provider))...))
	})

	f.db = pool(Schema.Name)
	f.svc, err = New(Deps{
		DB: f.db, Now: f.clock.Now, Logger: slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Scheduling: schedulingv1connect.NewSchedulingServiceClient(testkit.HTTPClient(t), schedURL, connect.WithGRPC(), as("telehealth")),
		Meetings:   meetingsv1connect.NewMeetingsServiceClient(testkit.HTTPClient(t), meetURL, connect.WithGRPC(), as("telehealth")),
	}, Config{JoinEarly: 10 * time.Minute, Jobs: jobs.Options{PollInterval: 50 * time.Millisecond, Backoff: 50 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	teleURL := serve("telehealth", func(s *server.Server) { s.Handle(f.svc.Handler(s.HandlerOptions()...)) })
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("telehealth log:\n%s", f.logs.String())
		}
	})

	f.client = telehealthv1connect.NewTelehealthServiceClient(testkit.HTTPClient(t), teleURL)
	f.internal = telehealthv1connect.NewTelehealthServiceClient(testkit.HTTPClient(t), teleURL, connect.WithGRPC(), as("scheduling"))
	f.scheduling = schedulingv1connect.NewSchedulingServiceClient(testkit.HTTPClient(t), schedURL)
	f.schedSvc = schedulingv1connect.NewSchedulingServiceClient(testkit.HTTPClient(t), schedURL, connect.WithGRPC(), as("telehealth"))
	f.payments = schedulingv1connect.NewSchedulingServiceClient(testkit.HTTPClient(t), schedURL, connect.WithGRPC(), as("payments"))
	f.directory, f.dirURL = directoryv1connect.NewDirectoryServiceClient(testkit.HTTPClient(t), dirURL), dirURL
	f.meetings = meetingsv1connect.NewMeetingsServiceClient(testkit.HTTPClient(t), meetURL, connect.WithGRPC(), as("telehealth"))
	return f
}

// meetingsDriver returns the meetings service's driver named name.
func (f *fixture) meetingsDriver(name string) meetings.Driver {
	f.t.Helper()
	if name == meetings.DriverChime {
		f.chime = meetingstest.New(f.t, f.clock)
		d, err := meetings.NewChime(context.Background(), meetings.ChimeConfig{
			Region: meetingstest.Region, Endpoint: f.chime.URL, Timeout: 5 * time.Second, Credentials: meetingstest.Credentials(),
		})
		if err != nil {
			f.t.Fatal(err)
		}
		return d
	}
	d, err := meetings.NewLocal(meetings.LocalConfig{BaseURL: "https://meet.clinic.example", Now: f.clock.Now})
	if err != nil {
		f.t.Fatal(err)
	}
	return d
}

// user is an account as the services see it: an id and an access token.
type user struct{ id, token string }

func (f *fixture) patient() user {
	id, token := f.users.Sign(accessv1.Role_ROLE_PATIENT, "")
	return user{id, token}
}

func (f *fixture) doctor() user {
	f.crm++
	id := f.identity.DoctorWithCRM(fmt.Sprint(f.crm), "SP")
	f.identity.Approve(id)
	testkit.ListDoctor(f.t, f.dirURL, id) // verified: its complete profile is listed
	return user{id, f.users.SignPrincipal(authn.Principal{UserID: id, Role: accessv1.Role_ROLE_DOCTOR, CRM: fmt.Sprintf("%d/SP", f.crm),
		DoctorVerified: true, EmailVerified: true, AMR: []string{"pwd", "otp"}})}
}

// setClock moves the shared clock forward to t.
func (f *fixture) setClock(t time.Time) {
	f.t.Helper()
	d := t.Sub(f.clock.Now())
	if d < 0 {
		f.t.Fatalf("the clock cannot go back to %s", t)
	}
	f.clock.Advance(d)
}

// appointment books the 09:00 São Paulo slot of a new doctor, whose consultations last
// minutes (0: the directory's default 50), for a new patient through scheduling's RPCs
// and reports it paid, as payments does: AWAITING_DOCTOR.
func (f *fixture) appointment(minutes int32) (doctor, patient user, id string) {
	f.t.Helper()
	ctx := context.Background()
	doctor, patient = f.doctor(), f.patient()
	if _, err := f.directory.UpsertMyProfile(ctx, testkit.Authed(&directoryv1.UpsertMyProfileRequest{Profile: &directoryv1.ProfileInput{
		DisplayName: "Dra. Ana Souza", PriceCents: 25000, ConsultationMinutes: minutes, TimeZone: "America/Sao_Paulo",
		Specialties: []*directoryv1.SpecialtyPractice{{Code: "cardiologia"}},
		Location: &directoryv1.Location{Address: "Av. Paulista, 1000", City: "São Paulo", Uf: "SP",
			Point: &directoryv1.LatLng{Latitude: new(-23.5505), Longitude: new(-46.6333)}},
	}}, doctor.token)); err != nil {
		f.t.Fatalf("profile: %v", err)
	}
	if _, err := f.scheduling.SetAvailability(ctx, testkit.Authed(&schedulingv1.SetAvailabilityRequest{Availability: &schedulingv1.Availability{
		Weekly: []*schedulingv1.WeeklyWindow{{Weekday: schedulingv1.Weekday_WEEKDAY_MONDAY, StartTime: "09:00", EndTime: "12:00"}},
	}}, doctor.token)); err != nil {
		f.t.Fatalf("availability: %v", err)
	}
	slots, err := f.scheduling.ListAvailableSlots(ctx, connect.NewRequest(&schedulingv1.ListAvailableSlotsRequest{
		DoctorId: doctor.id, StartTime: timestamppb.New(consultStart), EndTime: timestamppb.New(consultStart.Add(time.Minute)),
	}))
	if err != nil || len(slots.Msg.GetSlots()) != 1 {
		f.t.Fatalf("slots: %v %v", slots, err)
	}
	booked, err := f.scheduling.BookAppointment(ctx, testkit.Authed(&schedulingv1.BookAppointmentRequest{
		SlotId: slots.Msg.GetSlots()[0].GetId(), IdempotencyKey: "book-" + patient.id, Reason: "dor no peito ao subir escadas",
	}, patient.token))
	if err != nil {
		f.t.Fatalf("book: %v", err)
	}
	id = booked.Msg.GetAppointment().GetId()
	if _, err := f.payments.ApplyPaymentOutcome(ctx, connect.NewRequest(&schedulingv1.ApplyPaymentOutcomeRequest{
		AppointmentId: id, PaymentId: "5f0c4a43-5b1e-4b8e-9c55-000000000001", Outcome: schedulingv1.PaymentOutcome_PAYMENT_OUTCOME_PAID,
	})); err != nil {
		f.t.Fatalf("paid: %v", err)
	}
	return doctor, patient, id
}

// confirmed is an appointment of the default length accepted by its doctor: CONFIRMED.
func (f *fixture) confirmed() (doctor, patient user, id string) {
	f.t.Helper()
	return f.confirmedWith(0)
}

func (f *fixture) confirmedWith(minutes int32) (doctor, patient user, id string) {
	f.t.Helper()
	doctor, patient, id = f.appointment(minutes)
	if _, err := f.scheduling.AcceptAppointment(context.Background(), testkit.Authed(&schedulingv1.AcceptAppointmentRequest{Id: id}, doctor.token)); err != nil {
		f.t.Fatalf("accept: %v", err)
	}
	return doctor, patient, id
}

func (f *fixture) join(u user, id string) (*telehealthv1.GetJoinInfoResponse, error) {
	resp, err := f.client.GetJoinInfo(context.Background(), testkit.Authed(&telehealthv1.GetJoinInfoRequest{AppointmentId: id}, u.token))
	if err != nil {
		return nil, err
	}
	return resp.Msg, nil
}

func (f *fixture) mustJoin(u user, id string) *telehealthv1.GetJoinInfoResponse {
	f.t.Helper()
	out, err := f.join(u, id)
	if err != nil {
		f.t.Fatalf("join at %s: %v", f.clock.Now().Format(time.RFC3339), err)
	}
	return out
}

func (f *fixture) prepareRoom(id string) (*telehealthv1.Room, error) {
	resp, err := f.internal.PrepareRoom(context.Background(), connect.NewRequest(&telehealthv1.PrepareRoomRequest{AppointmentId: id}))
	if err != nil {
		return nil, err
	}
	return resp.Msg.GetRoom(), nil
}

// get reads the appointment, with its history, as another service does.
func (f *fixture) get(id string) *schedulingv1.Appointment {
	f.t.Helper()
	resp, err := f.schedSvc.GetAppointment(context.Background(), connect.NewRequest(&schedulingv1.GetAppointmentRequest{Id: id}))
	if err != nil {
		f.t.Fatalf("get appointment: %v", err)
	}
	return resp.Msg.GetAppointment()
}

// joins lists who joined, in order, from an appointment's history.
func joins(a *schedulingv1.Appointment) []string {
	var out []string
	for _, e := range a.GetHistory() {
		if e.GetKind() == "joined" {
			out = append(out, e.GetActorId())
		}
	}
	return out
}

// room reads the stored room.
func (f *fixture) room(id string) room {
	f.t.Helper()
	r, err := f.svc.rooms.get(context.Background(), f.db, id)
	if err != nil {
		f.t.Fatalf("room %s: %v", id, err)
	}
	return r
}

// closeJobs counts the queued closing jobs of a room.
func (f *fixture) closeJobs(id string) (n int, at time.Time) {
	f.t.Helper()
	err := f.db.QueryRow(context.Background(), `SELECT count(*), coalesce(max(scheduled_at), 'epoch') FROM river_job
		WHERE kind = 'telehealth.close_room' AND args->>'appointment_id' = $1`, id).Scan(&n, &at)
	if err != nil {
		f.t.Fatal(err)
	}
	return n, at
}

// meetingExists asks the meetings service whether it still has a meeting.
func (f *fixture) meetingExists(meetingID string) bool {
	f.t.Helper()
	_, err := f.meetings.GetMeeting(context.Background(), connect.NewRequest(&meetingsv1.GetMeetingRequest{MeetingId: meetingID}))
	if errs.Has(err, ReasonMeetingNotFound) {
		return false
	}
	if err != nil {
		f.t.Fatalf("get meeting: %v", err)
	}
	return true
}

// providerCalls records the CreateMeeting requests the meetings service receives.
type providerCalls struct {
	mu     sync.Mutex
	tokens []string // client request tokens, in order
}

func (p *providerCalls) created() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.tokens...)
}

// WrapUnary implements connect.Interceptor.
func (p *providerCalls) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		if m, ok := req.Any().(*meetingsv1.CreateMeetingRequest); ok {
			p.mu.Lock()
			p.tokens = append(p.tokens, m.GetClientRequestToken())
			p.mu.Unlock()
		}
		return next(ctx, req)
	}
}

// WrapStreamingClient implements connect.Interceptor.
func (p *providerCalls) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

// WrapStreamingHandler implements connect.Interceptor.
func (p *providerCalls) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return next
}
