package scheduling

import (
	"context"
	"crypto/x509"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/encoding/protojson"

	accessv1 "healthcore/gen/healthcore/access/v1"
	clinicsv1 "healthcore/gen/healthcore/clinics/v1"
	"healthcore/gen/healthcore/clinics/v1/clinicsv1connect"
	"healthcore/platform/envelope"
	"healthcore/platform/jobs"
	"healthcore/platform/pgtest"
	"healthcore/platform/server"
	"healthcore/platform/testkit"
	"healthcore/services/clinics"
)

// partnerEvents lists the committed scheduling.partner_event jobs about an appointment
// as "<type> <sequence>", oldest first, with the events.
func (f *fixture) partnerEvents(apptID string) ([]string, []*clinicsv1.PartnerEvent) {
	f.t.Helper()
	rows, err := f.db.Query(context.Background(), `SELECT args FROM river_job WHERE kind = 'scheduling.partner_event' ORDER BY id`)
	if err != nil {
		f.t.Fatal(err)
	}
	raws, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	if err != nil {
		f.t.Fatal(err)
	}
	var names []string
	var evs []*clinicsv1.PartnerEvent
	for _, raw := range raws {
		var a partnerEventArgs
		if err := a.UnmarshalJSON(raw); err != nil {
			f.t.Fatal(err)
		}
		if a.Event.GetAppointmentId() == apptID {
			names = append(names, a.Event.GetType().String()+" "+strconv.Itoa(int(a.Event.GetSequence())))
			evs = append(evs, a.Event)
		}
	}
	return names, evs
}

func TestPartnerEvents_EachTransitionCommitsItsEventOnceWithNoPatientData(t *testing.T) {
	f := newFixture(t)
	d, p, a := f.paidAppointment()
	id := a.GetId()
	if _, err := f.accept(d, id); err != nil {
		t.Fatal(err)
	}
	f.paid(id) // payments' retry: no transition, no event
	names, evs := f.partnerEvents(id)
	want := []string{"EVENT_TYPE_APPOINTMENT_BOOKED 1", "EVENT_TYPE_APPOINTMENT_PAID 2", "EVENT_TYPE_APPOINTMENT_CONFIRMED 3"}
	if strings.Join(names, ",") != strings.Join(want, ",") {
		t.Fatalf("events = %q, want %q", names, want)
	}
	seen := map[string]bool{}
	for i, ev := range evs {
		if err := ev.ValidateAll(); err != nil {
			t.Errorf("event %d is not a valid PartnerEvent: %v", i, err)
		}
		if ev.GetDoctorId() != d.id || !ev.GetStartTime().AsTime().Equal(firstSlot) || !ev.GetEndTime().AsTime().Equal(firstSlot.Add(50*time.Minute)) {
			t.Errorf("event %d = %v", i, ev)
		}
		raw, _ := protojson.Marshal(ev)
		if strings.Contains(string(raw), p.id) || strings.Contains(string(raw), "dor no peito") {
			t.Errorf("event %d carries the patient or the reason: %s", i, raw)
		}
		seen[ev.GetEventId()] = true
	}
	if len(seen) != 3 || evs[2].GetState().String() != "APPOINTMENT_STATE_CONFIRMED" {
		t.Errorf("ids %v, last state %v: want three ids and CONFIRMED", seen, evs[2].GetState())
	}
	// The same transition made again (a rolled-back attempt, then a commit) carries the same id.
	if again := confirmedEventAgain(f, id); again.GetEventId() != evs[2].GetEventId() {
		t.Errorf("a repeated transition's event id %s, want %s", again.GetEventId(), evs[2].GetEventId())
	}
}

// confirmedEventAgain is the event CONFIRMED of the appointment as a retried transition would build it.
func confirmedEventAgain(f *fixture, id string) *clinicsv1.PartnerEvent {
	a, err := f.svc.load(context.Background(), id)
	if err != nil {
		f.t.Fatal(err)
	}
	return a.partnerEvent(stateAwaiting, f.clock.Now())
}

// signedLog is a clinic's endpoint that keeps the events whose signature matches.
type signedLog struct {
	mu     sync.Mutex
	secret string
	got    []*clinicsv1.PartnerEvent
}

func (l *signedLog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	l.mu.Lock()
	defer l.mu.Unlock()
	header := r.Header.Get("Healthcore-Signature")
	ts, _, _ := strings.Cut(strings.TrimPrefix(header, "t="), ",")
	sec, _ := strconv.ParseInt(ts, 10, 64)
	ev := new(clinicsv1.PartnerEvent)
	if header != clinics.Signature([][]byte{[]byte(l.secret)}, time.Unix(sec, 0), body) || protojson.Unmarshal(body, ev) != nil {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	l.got = append(l.got, ev)
	w.WriteHeader(http.StatusOK)
}

// affiliatedClinic registers a clinic, as an operator, with the doctor ACTIVE.
func affiliatedClinic(t *testing.T, f *fixture, cl clinicsv1connect.ClinicsServiceClient, d user) string {
	ctx := context.Background()
	_, admin := f.users.Sign(accessv1.Role_ROLE_ADMIN, "")
	c, err := cl.CreateClinic(ctx, testkit.Authed(&clinicsv1.CreateClinicRequest{
		Cnpj: "11.222.333/0001-81", Name: "Clínica", Email: "contato@clinica.com.br", Phone: "+551133334444"}, admin))
	if err != nil {
		t.Fatal(err)
	}
	id := c.Msg.GetClinic().GetClinicId()
	if _, err := cl.InviteDoctor(ctx, testkit.Authed(&clinicsv1.InviteDoctorRequest{ClinicId: id, DoctorId: d.id}, admin)); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.AcceptAffiliation(ctx, testkit.Authed(&clinicsv1.AcceptAffiliationRequest{ClinicId: id}, d.token)); err != nil {
		t.Fatal(err)
	}
	return id
}

// A crash after the transitions committed, before any job ran: another replica's
// runner publishes the committed events, and the clinic's endpoint receives them in
// order, signed.
func TestPartnerEvents_ACrashBetweenTheTransitionAndTheFanOutLosesNothing(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	// Clinics, with its delivery runner, trusting the receiver's test certificate.
	log := &signedLog{}
	hook := httptest.NewTLSServer(log)
	t.Cleanup(hook.Close)
	roots := x509.NewCertPool()
	roots.AddCert(hook.Certificate())
	ccfg := clinics.DefaultConfig()
	ccfg.EventAllowLoopback, ccfg.EventOrderWait = true, 50*time.Millisecond
	ccfg.Jobs = jobs.Options{PollInterval: 20 * time.Millisecond}
	csvc, err := clinics.New(clinics.Deps{DB: pgtest.Pool(t, clinics.Schema.Name, clinics.Schema), Logger: testkit.Logger(t),
		Envelope: envelope.New(testkit.Keys(t, "clinics"), envelope.Defaults), EventRoots: roots}, ccfg)
	if err != nil {
		t.Fatal(err)
	}
	clinicsURL := testkit.Serve(t, f.users.Interceptor("clinics"), func(s *server.Server) { s.Handle(csvc.Handler(s.HandlerOptions()...)) })
	run := func(r func(context.Context) error) {
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- r(rctx) }()
		t.Cleanup(func() { cancel(); <-done })
	}
	run(csvc.Run)
	cl := clinicsv1connect.NewClinicsServiceClient(testkit.HTTPClient(t), clinicsURL)

	d, slot := f.bookable()
	clinicID := affiliatedClinic(t, f, cl, d)
	_, partner := f.users.SignPartner(clinicID, "events.manage")
	resp, err := cl.CreateEventEndpoint(ctx, testkit.Authed(&clinicsv1.CreateEventEndpointRequest{Url: hook.URL,
		Types: []clinicsv1.EventType{clinicsv1.EventType_EVENT_TYPE_APPOINTMENT_BOOKED, clinicsv1.EventType_EVENT_TYPE_APPOINTMENT_PAID}}, partner))
	if err != nil {
		t.Fatal(err)
	}
	log.mu.Lock()
	log.secret = resp.Msg.GetSigningSecret()
	log.mu.Unlock()

	// The transitions commit their events; no runner works them (the replica crashed).
	a := f.mustBook(f.newPatient(), slot, "crash-key")
	f.paid(a.GetId())
	if names, _ := f.partnerEvents(a.GetId()); len(names) != 2 {
		t.Fatalf("committed events = %q", names)
	}

	// Another replica starts and works the jobs it finds.
	deps := f.deps
	deps.Clinics = clinicsv1connect.NewClinicsServiceClient(testkit.HTTPClient(t), clinicsURL, connect.WithGRPC(),
		connect.WithInterceptors(testkit.Caller("scheduling")))
	cfg := DefaultConfig()
	cfg.Jobs = jobs.Options{PollInterval: 20 * time.Millisecond, Backoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond}
	replica, err := New(deps, cfg)
	if err != nil {
		t.Fatal(err)
	}
	run(replica.Run)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		log.mu.Lock()
		n := len(log.got)
		log.mu.Unlock()
		if n >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the endpoint received %d events, want 2", n)
		}
	}
	log.mu.Lock()
	defer log.mu.Unlock()
	if len(log.got) != 2 || log.got[0].GetType() != clinicsv1.EventType_EVENT_TYPE_APPOINTMENT_BOOKED ||
		log.got[1].GetType() != clinicsv1.EventType_EVENT_TYPE_APPOINTMENT_PAID || log.got[1].GetAppointmentId() != a.GetId() {
		t.Errorf("received %v, want the booking then the payment", log.got)
	}
}
