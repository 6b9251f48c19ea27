package scheduling

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/protobuf/types/known/timestamppb"

	accessv1 "healthcore/gen/healthcore/access/v1"
	directoryv1 "healthcore/gen/healthcore/directory/v1"
	"healthcore/gen/healthcore/directory/v1/directoryv1connect"
	"healthcore/gen/healthcore/payments/v1/paymentsv1connect"
	schedulingv1 "healthcore/gen/healthcore/scheduling/v1"
	"healthcore/gen/healthcore/scheduling/v1/schedulingv1connect"
	"healthcore/platform/authn"
	"healthcore/platform/envelope"
	"healthcore/platform/pg"
	"healthcore/platform/pgtest"
	"healthcore/platform/server"
	"healthcore/platform/testkit"
	"healthcore/services/directory"
	"healthcore/services/identity"
	"healthcore/services/identity/identitytest"
)

// monday is the fixture's "now": Monday 1 June 2026, 03:00 in São Paulo (06:00 UTC),
// before that day's morning window opens. São Paulo has kept UTC-3 all year since 2019.
var monday = time.Date(2026, 6, 1, 6, 0, 0, 0, time.UTC)

// fixture is the scheduling service on the production server stack, calling a real
// directory service (also on the production stack) with the internal service
// credential. Both own a schema of one fresh database, as in a deployment. Tokens are
// signed with a key generated here, which both services' verifiers trust: the check
// they make on tokens signed by identity.
type fixture struct {
	t         *testing.T
	svc       *Service
	db        *pgxpool.Pool // search_path = scheduling
	client    schedulingv1connect.SchedulingServiceClient
	directory directoryv1connect.DirectoryServiceClient // as a doctor's app calls it
	clock     *testkit.Clock
	users     *testkit.Users
	crm       int
	url       string             // the scheduling server
	dirURL    string             // the directory server
	deps      Deps               // what svc was built from, for another replica
	logs      *testkit.LogBuffer // everything the service logged
	identity  *identitytest.Identity
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	return newFixtureWith(t, DefaultConfig())
}

func newFixtureWith(t *testing.T, cfg Config) *fixture {
	t.Helper()
	return newFixtureWithPayments(t, cfg, unreachablePayments(t))
}

// unreachablePayments is a payments client with no server behind it: booking still
// holds the slot and reports no payment instructions, as when payments is down.
func unreachablePayments(t *testing.T) paymentsv1connect.PaymentsServiceClient {
	return paymentsv1connect.NewPaymentsServiceClient(testkit.HTTPClient(t), "http://127.0.0.1:1", connect.WithGRPC())
}

func newFixtureWithPayments(t *testing.T, cfg Config, payments paymentsv1connect.PaymentsServiceClient) *fixture {
	t.Helper()
	ctx := context.Background()
	url := pgtest.URL(t, identity.Schema, directory.Schema, Schema)
	pool := func(schema string) *pgxpool.Pool {
		db, err := pg.Open(ctx, url, schema, 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(db.Close)
		return db
	}

	users := testkit.NewUsers(t)
	id := identitytest.Start(t, pool(identity.Schema.Name), identitytest.Options{Users: users})

	dir, err := directory.New(ctx, directory.Deps{DB: pool(directory.Schema.Name), Logger: testkit.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	dirURL := testkit.Serve(t, users.Interceptor("directory"), func(s *server.Server) {
		s.Handle(dir.Handler(s.HandlerOptions()...))
	})

	clk := testkit.NewClock(monday)
	db := pool(Schema.Name)
	logs := &testkit.LogBuffer{}
	logger := slog.New(slog.NewMultiHandler(testkit.Logger(t).Handler(),
		slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	deps := Deps{
		DB: db, Envelope: envelope.New(testkit.Keys(t, "scheduling"), envelope.Defaults), Logger: logger, Now: clk.Now,
		Directory: directoryv1connect.NewDirectoryServiceClient(testkit.HTTPClient(t), dirURL,
			connect.WithGRPC(), connect.WithInterceptors(testkit.Caller("scheduling"))),
		Payments: payments,
		Identity: id.As("scheduling"),
	}
	svc, err := New(deps, cfg)
	if err != nil {
		t.Fatal(err)
	}
	schedURL := testkit.Serve(t, users.Interceptor("scheduling"), func(s *server.Server) {
		s.Handle(svc.Handler(s.HandlerOptions()...))
	})
	return &fixture{
		t: t, svc: svc, db: db, clock: clk, users: users, crm: 123455, url: schedURL, dirURL: dirURL, deps: deps, logs: logs, identity: id,
		client:    schedulingv1connect.NewSchedulingServiceClient(testkit.HTTPClient(t), schedURL),
		directory: directoryv1connect.NewDirectoryServiceClient(testkit.HTTPClient(t), dirURL),
	}
}

// user is an account as the services see it: an id and an access token.
type user struct{ id, token string }

// sign returns a token for a new account. Tokens are checked against the wall clock,
// not the fixture's clock, which only the scheduling service reads.
func (f *fixture) sign(role accessv1.Role, crm string) user {
	id, token := f.users.Sign(role, crm)
	return user{id, token}
}

// newDoctor returns a doctor an operator verified, with no directory profile (the
// directory holds it verified, so a complete profile is listed); the first has CRM
// 123456/SP.
func (f *fixture) newDoctor() user {
	f.crm++
	number := fmt.Sprint(f.crm)
	id := f.identity.DoctorWithCRM(number, "SP")
	f.identity.Approve(id)
	testkit.ListDoctor(f.t, f.dirURL, id)
	return f.doctorUser(id, number, true)
}

// newPendingDoctor returns a doctor with CRM number/SP whose verification is pending.
func (f *fixture) newPendingDoctor(number string) user {
	return f.doctorUser(f.identity.DoctorWithCRM(number, "SP"), number, false)
}

// doctorUser signs a token for doctor id with CRM number/SP and the verified claim.
func (f *fixture) doctorUser(id, number string, verified bool) user {
	return user{id, f.users.SignPrincipal(authn.Principal{UserID: id, Role: accessv1.Role_ROLE_DOCTOR, CRM: number + "/SP",
		DoctorVerified: verified, EmailVerified: true, AMR: []string{"pwd", "otp"}})}
}

func (f *fixture) newPatient() user { return f.sign(accessv1.Role_ROLE_PATIENT, "") }

// profile is a complete directory profile: listed, with a time zone and a price.
func profile(zone string, priceCents int64, minutes int32) *directoryv1.ProfileInput {
	return &directoryv1.ProfileInput{
		DisplayName: "Dra. Ana Souza", PriceCents: priceCents, ConsultationMinutes: minutes, TimeZone: zone,
		Specialties: []*directoryv1.SpecialtyPractice{{Code: "cardiologia"}},
		Location: &directoryv1.Location{Address: "Av. Paulista, 1000", City: "São Paulo", Uf: "SP",
			Point: &directoryv1.LatLng{Latitude: new(-23.5505), Longitude: new(-46.6333)}},
	}
}

// upsertProfile writes the doctor's profile through the directory's public RPC.
func (f *fixture) upsertProfile(d user, in *directoryv1.ProfileInput) *directoryv1.Profile {
	f.t.Helper()
	resp, err := f.directory.UpsertMyProfile(context.Background(), testkit.Authed(&directoryv1.UpsertMyProfileRequest{Profile: in}, d.token))
	if err != nil {
		f.t.Fatalf("upsert profile: %v", err)
	}
	return resp.Msg.GetProfile()
}

// listedDoctor returns a doctor whose listed profile is in São Paulo at R$ 250,00 with
// the default 50-minute consultation.
func (f *fixture) listedDoctor() user {
	f.t.Helper()
	d := f.newDoctor()
	if p := f.upsertProfile(d, profile("America/Sao_Paulo", 25000, 0)); !p.GetListed() {
		f.t.Fatalf("profile not listed: %v", p)
	}
	return d
}

func (f *fixture) set(d user, a *schedulingv1.Availability) (*schedulingv1.SetAvailabilityResponse, error) {
	resp, err := f.client.SetAvailability(context.Background(), testkit.Authed(&schedulingv1.SetAvailabilityRequest{Availability: a}, d.token))
	if err != nil {
		return nil, err
	}
	return resp.Msg, nil
}

func (f *fixture) mustSet(d user, a *schedulingv1.Availability) *schedulingv1.SetAvailabilityResponse {
	f.t.Helper()
	resp, err := f.set(d, a)
	if err != nil {
		f.t.Fatalf("set availability: %v", err)
	}
	return resp
}

func (f *fixture) available(doctorID string, from, to time.Time) (*schedulingv1.ListAvailableSlotsResponse, error) {
	resp, err := f.client.ListAvailableSlots(context.Background(), connect.NewRequest(&schedulingv1.ListAvailableSlotsRequest{
		DoctorId: doctorID, StartTime: timestamppb.New(from), EndTime: timestamppb.New(to),
	}))
	if err != nil {
		return nil, err
	}
	return resp.Msg, nil
}

func (f *fixture) mustAvailable(doctorID string, from, to time.Time) *schedulingv1.ListAvailableSlotsResponse {
	f.t.Helper()
	resp, err := f.available(doctorID, from, to)
	if err != nil {
		f.t.Fatalf("list available slots: %v", err)
	}
	return resp
}

func (f *fixture) agenda(d user, from, to time.Time) (*schedulingv1.GetMyAgendaResponse, error) {
	resp, err := f.client.GetMyAgenda(context.Background(), testkit.Authed(&schedulingv1.GetMyAgendaRequest{
		StartTime: timestamppb.New(from), EndTime: timestamppb.New(to),
	}, d.token))
	if err != nil {
		return nil, err
	}
	return resp.Msg, nil
}

func (f *fixture) block(d user, slotID string) (*schedulingv1.Slot, error) {
	resp, err := f.client.BlockSlot(context.Background(), testkit.Authed(&schedulingv1.BlockSlotRequest{SlotId: slotID}, d.token))
	if err != nil {
		return nil, err
	}
	return resp.Msg.GetSlot(), nil
}

func (f *fixture) reopen(d user, slotID string) (*schedulingv1.Slot, error) {
	resp, err := f.client.ReopenSlot(context.Background(), testkit.Authed(&schedulingv1.ReopenSlotRequest{SlotId: slotID}, d.token))
	if err != nil {
		return nil, err
	}
	return resp.Msg.GetSlot(), nil
}

// stored is a slot row as the database holds it.
type stored struct {
	id         string
	start, end time.Time
	status     string
}

// slots reads every slot of a doctor from the database, earliest first.
func (f *fixture) slots(doctorID string) []stored {
	f.t.Helper()
	rows, err := f.db.Query(context.Background(), `SELECT id::text, start_at, end_at, status FROM slots
		WHERE doctor_id = $1 ORDER BY start_at`, doctorID)
	if err != nil {
		f.t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (stored, error) {
		var s stored
		err := r.Scan(&s.id, &s.start, &s.end, &s.status)
		s.start, s.end = s.start.UTC(), s.end.UTC()
		return s, err
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return out
}

// slotAt returns the doctor's stored slot starting at t.
func (f *fixture) slotAt(doctorID string, t time.Time) stored {
	f.t.Helper()
	for _, s := range f.slots(doctorID) {
		if s.start.Equal(t) {
			return s
		}
	}
	f.t.Fatalf("no slot of %s starts at %s", doctorID, t.Format(time.RFC3339))
	return stored{}
}

// book inserts an appointment on a slot directly: the booking flow is not part of this
// service yet.
func (f *fixture) book(s stored, doctorID, state string) string {
	f.t.Helper()
	id := uuid.NewString()
	if _, err := f.db.Exec(context.Background(), `INSERT INTO appointments
		(id, slot_id, doctor_id, patient_id, start_at, end_at, state, price_cents) VALUES ($1, $2, $3, $4, $5, $6, $7, 25000)`,
		id, s.id, doctorID, uuid.NewString(), s.start, s.end, state); err != nil {
		f.t.Fatal(err)
	}
	return id
}

// starts returns the start instants of stored slots, in UTC.
func starts(ss []stored) []time.Time {
	out := make([]time.Time, len(ss))
	for i, s := range ss {
		out[i] = s.start
	}
	return out
}

// protoStarts returns the start instants of slots, in UTC.
func protoStarts(ss []*schedulingv1.Slot) []time.Time {
	out := make([]time.Time, len(ss))
	for i, s := range ss {
		out[i] = s.GetStartTime().AsTime()
	}
	return out
}

// utc parses RFC 3339 instants.
func utc(ts ...string) []time.Time {
	out := make([]time.Time, len(ts))
	for i, s := range ts {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			panic(err)
		}
		out[i] = t.UTC()
	}
	return out
}

func tsp(t time.Time) *timestamppb.Timestamp { return timestamppb.New(t) }

// at is utc for one instant.
func at(s string) time.Time { return utc(s)[0] }

// timesEqual reports whether two lists hold the same instants in order.
func timesEqual(a, b []time.Time) bool {
	return slices.EqualFunc(a, b, time.Time.Equal)
}

func formatTimes(ts []time.Time) string {
	parts := make([]string, len(ts))
	for i, t := range ts {
		parts[i] = t.UTC().Format(time.RFC3339)
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// wantTimes fails the test unless got and want hold the same instants in order.
func wantTimes(t *testing.T, what string, got, want []time.Time) {
	t.Helper()
	if !timesEqual(got, want) {
		t.Errorf("%s:\n got  %s\n want %s", what, formatTimes(got), formatTimes(want))
	}
}

// weekly is a weekly window.
func weekly(day schedulingv1.Weekday, start, end string) *schedulingv1.WeeklyWindow {
	return &schedulingv1.WeeklyWindow{Weekday: day, StartTime: start, EndTime: end}
}

func dayOff(date string) *schedulingv1.DateException {
	return &schedulingv1.DateException{Date: date, Kind: schedulingv1.ExceptionKind_EXCEPTION_KIND_DAY_OFF}
}

func extra(date, start, end string) *schedulingv1.DateException {
	return &schedulingv1.DateException{Date: date, Kind: schedulingv1.ExceptionKind_EXCEPTION_KIND_EXTRA, StartTime: start, EndTime: end}
}

const (
	mon = schedulingv1.Weekday_WEEKDAY_MONDAY
	tue = schedulingv1.Weekday_WEEKDAY_TUESDAY
	wed = schedulingv1.Weekday_WEEKDAY_WEDNESDAY
	sat = schedulingv1.Weekday_WEEKDAY_SATURDAY
	sun = schedulingv1.Weekday_WEEKDAY_SUNDAY
)

// mondayMornings is Monday 09:00–12:00 with 50-minute slots and a 10-minute gap.
func mondayMornings() *schedulingv1.Availability {
	return &schedulingv1.Availability{Weekly: []*schedulingv1.WeeklyWindow{weekly(mon, "09:00", "12:00")}, SlotMinutes: 50, GapMinutes: 10}
}
