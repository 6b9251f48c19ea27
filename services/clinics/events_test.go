package clinics_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	accessv1 "healthcore/gen/healthcore/access/v1"
	clinicsv1 "healthcore/gen/healthcore/clinics/v1"
	schedulingv1 "healthcore/gen/healthcore/scheduling/v1"
	"healthcore/platform/errs"
	"healthcore/platform/jobs"
	"healthcore/platform/testkit"
	"healthcore/services/clinics"
)

// receiver is a clinic's endpoint on a real HTTPS server: it checks each request's
// signature with the secrets it is given, handles each event id once, and records what
// it saw. While down it answers 503; slow makes it answer its first request late.
type receiver struct {
	t   *testing.T
	srv *httptest.Server

	mu       sync.Mutex
	secrets  []string
	down     bool
	slowOnce time.Duration
	seen     []*clinicsv1.PartnerEvent // every verified request, in arrival order
	handled  []*clinicsv1.PartnerEvent // once per event id
	sigs     []string                  // the Healthcore-Signature headers
	bad      []string                  // what failed verification
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{t: t}
	r.srv = httptest.NewTLSServer(r)
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.down {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	ev := new(clinicsv1.PartnerEvent)
	sig := req.Header.Get("Healthcore-Signature")
	switch {
	case req.Header.Get("Content-Type") != "application/json":
		r.bad = append(r.bad, "content type "+req.Header.Get("Content-Type"))
	case !r.verified(sig, body):
		r.bad = append(r.bad, "signature "+sig)
	case protojson.Unmarshal(body, ev) != nil:
		r.bad = append(r.bad, "body "+string(body))
	case req.Header.Get("Healthcore-Event-Id") != ev.GetEventId() || req.Header.Get("Healthcore-Event-Type") != ev.GetType().String():
		r.bad = append(r.bad, "headers "+req.Header.Get("Healthcore-Event-Id")+" "+req.Header.Get("Healthcore-Event-Type"))
	default:
		r.seen = append(r.seen, ev)
		r.sigs = append(r.sigs, sig)
		if !slices.ContainsFunc(r.handled, func(h *clinicsv1.PartnerEvent) bool { return h.GetEventId() == ev.GetEventId() }) {
			r.handled = append(r.handled, ev)
		}
		if r.slowOnce > 0 { // handled, but the answer comes after the sender gave up
			d := r.slowOnce
			r.slowOnce = 0
			r.mu.Unlock()
			time.Sleep(d)
			r.mu.Lock()
		}
		w.WriteHeader(http.StatusNoContent)
		return
	}
	w.WriteHeader(http.StatusBadRequest)
}

// verified checks "t=…,v1=…[,v1=…]": a v1 by one of the secrets, a t within 5 minutes.
func (r *receiver) verified(header string, body []byte) bool {
	var ts string
	var sigs []string
	for part := range strings.SplitSeq(header, ",") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sigs = append(sigs, v)
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || time.Since(time.Unix(sec, 0)).Abs() > 5*time.Minute {
		return false
	}
	for _, secret := range r.secrets {
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write([]byte(ts + "."))
		mac.Write(body)
		want := hex.EncodeToString(mac.Sum(nil))
		for _, s := range sigs {
			if hmac.Equal([]byte(s), []byte(want)) {
				return true
			}
		}
	}
	return false
}

func (r *receiver) set(f func(r *receiver)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f(r)
}

func (r *receiver) get() (seen, handled []*clinicsv1.PartnerEvent, bad []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.seen), slices.Clone(r.handled), slices.Clone(r.bad)
}

// eventFixture is the clinics service working its delivery jobs, allowed to send to
// loopback HTTPS servers whose test certificate it trusts, with short retries.
type eventFixture struct {
	*fixture
}

func newEventFixture(t *testing.T) *eventFixture {
	cert := httptest.NewTLSServer(http.NotFoundHandler()) // every httptest TLS server shares this certificate
	roots := x509.NewCertPool()
	roots.AddCert(cert.Certificate())
	cert.Close()
	cfg := clinics.DefaultConfig()
	cfg.EventAllowLoopback = true
	cfg.EventTimeout = 500 * time.Millisecond
	cfg.EventFirstRetry, cfg.EventMaxRetry = 100*time.Millisecond, 400*time.Millisecond
	cfg.EventOrderWait = 50 * time.Millisecond
	cfg.Jobs = jobs.Options{PollInterval: 20 * time.Millisecond, Backoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond}
	f := newFixtureWith(t, cfg, roots)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.svc.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	return &eventFixture{fixture: f}
}

// affiliatedClinic registers a clinic with the doctor ACTIVE and returns it with a
// partner token holding events.manage.
func (f *eventFixture) affiliatedClinic(cnpj, doctorID, doctorToken string) (clinicID, token string) {
	f.t.Helper()
	clinicID = f.clinic(cnpj)
	f.invite(clinicID, doctorID)
	if _, err := f.accept(doctorToken, clinicID); err != nil {
		f.t.Fatal(err)
	}
	_, token = f.users.SignPartner(clinicID, "events.manage")
	return clinicID, token
}

// endpoint registers the receiver for the types and returns its id, trusting the secret.
func (f *eventFixture) endpoint(token string, r *receiver, types ...clinicsv1.EventType) string {
	f.t.Helper()
	resp, err := f.client.CreateEventEndpoint(context.Background(), testkit.Authed(&clinicsv1.CreateEventEndpointRequest{
		Url: r.srv.URL + "/hooks/healthcore", Types: types}, token))
	if err != nil {
		f.t.Fatalf("create endpoint: %v", err)
	}
	if s := resp.Msg.GetSigningSecret(); !strings.HasPrefix(s, "whsec_") || len(s) < 30 {
		f.t.Fatalf("signing secret %q", s)
	}
	r.set(func(r *receiver) { r.secrets = append(r.secrets, resp.Msg.GetSigningSecret()) })
	return resp.Msg.GetEndpoint().GetEndpointId()
}

// soleEndpoint is a clinic with an affiliated doctor and one endpoint for every type,
// its receiver prepared by setup before it is registered.
func (f *eventFixture) soleEndpoint(setup func(r *receiver)) (doctorID, token, endpointID string, r *receiver) {
	f.t.Helper()
	doctorID, doctor := f.users.Sign(accessv1.Role_ROLE_DOCTOR, "1/SP")
	_, token = f.affiliatedClinic(cnpjSol, doctorID, doctor)
	r = newReceiver(f.t)
	if setup != nil {
		setup(r)
	}
	return doctorID, token, f.endpoint(token, r, allTypes...), r
}

var allTypes = []clinicsv1.EventType{
	clinicsv1.EventType_EVENT_TYPE_APPOINTMENT_BOOKED, clinicsv1.EventType_EVENT_TYPE_APPOINTMENT_PAID,
	clinicsv1.EventType_EVENT_TYPE_APPOINTMENT_CONFIRMED, clinicsv1.EventType_EVENT_TYPE_APPOINTMENT_CANCELLED,
}

// event is the n-th event (1 booked, 2 paid, 3 confirmed) of an appointment of the doctor.
func event(apptID, doctorID string, n int) *clinicsv1.PartnerEvent {
	types := []clinicsv1.EventType{0, clinicsv1.EventType_EVENT_TYPE_APPOINTMENT_BOOKED, clinicsv1.EventType_EVENT_TYPE_APPOINTMENT_PAID,
		clinicsv1.EventType_EVENT_TYPE_APPOINTMENT_CONFIRMED}
	states := []schedulingv1.AppointmentState{0, schedulingv1.AppointmentState_APPOINTMENT_STATE_PENDING_PAYMENT,
		schedulingv1.AppointmentState_APPOINTMENT_STATE_AWAITING_DOCTOR, schedulingv1.AppointmentState_APPOINTMENT_STATE_CONFIRMED}
	start := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	return &clinicsv1.PartnerEvent{
		EventId: uuid.NewSHA1(uuid.NameSpaceOID, []byte(apptID+strconv.Itoa(n))).String(), Type: types[n],
		OccurTime: timestamppb.New(time.Now().UTC().Truncate(time.Second)), Sequence: uint32(n), AppointmentId: apptID, DoctorId: doctorID,
		StartTime: timestamppb.New(start), EndTime: timestamppb.New(start.Add(50 * time.Minute)), State: states[n],
	}
}

// publish hands an event to clinics as scheduling does, returning the deliveries made.
func (f *eventFixture) publish(ev *clinicsv1.PartnerEvent) int32 {
	f.t.Helper()
	resp, err := f.as("scheduling").PublishEvent(context.Background(), connect.NewRequest(&clinicsv1.PublishEventRequest{Event: ev}))
	if err != nil {
		f.t.Fatalf("publish: %v", err)
	}
	return resp.Msg.GetDeliveries()
}

// deliveries reads the clinic's delivery log.
func (f *eventFixture) deliveries(token string, req *clinicsv1.ListEventDeliveriesRequest) []*clinicsv1.EventDelivery {
	f.t.Helper()
	resp, err := f.client.ListEventDeliveries(context.Background(), testkit.Authed(req, token))
	if err != nil {
		f.t.Fatalf("list deliveries: %v", err)
	}
	return resp.Msg.GetDeliveries()
}

// waitDelivered waits until the clinic's log holds n deliveries, all DELIVERED (the
// receiver may see a request before its delivery is recorded).
func (f *eventFixture) waitDelivered(token string, n int) []*clinicsv1.EventDelivery {
	f.t.Helper()
	var log []*clinicsv1.EventDelivery
	waitFor(f.t, fmt.Sprintf("%d deliveries delivered", n), func() bool {
		log = f.deliveries(token, &clinicsv1.ListEventDeliveriesRequest{})
		if len(log) != n {
			return false
		}
		for _, d := range log {
			if d.GetState() != clinicsv1.DeliveryState_DELIVERY_STATE_DELIVERED {
				return false
			}
		}
		return true
	})
	return log
}

// waitFor polls cond until it holds, failing the test after a long while.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting: %s", what)
		}
	}
}

func ids(evs []*clinicsv1.PartnerEvent) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.GetEventId())
	}
	return out
}

func TestEvents_ArriveSignedToTheSubscribedEndpointsOfAffiliatedClinicsOnly(t *testing.T) {
	f := newEventFixture(t)
	doctorID, doctor := f.users.Sign(accessv1.Role_ROLE_DOCTOR, "1/SP")
	sol, solToken := f.affiliatedClinic(cnpjSol, doctorID, doctor)
	_ = sol
	all, paidOnly := newReceiver(t), newReceiver(t)
	f.endpoint(solToken, all, allTypes...)
	f.endpoint(solToken, paidOnly, clinicsv1.EventType_EVENT_TYPE_APPOINTMENT_PAID)
	// A clinic that only invited the doctor hears nothing of the doctor.
	lua := f.clinic(cnpjLua)
	f.invite(lua, doctorID)
	_, luaToken := f.users.SignPartner(lua, "events.manage")
	invitedOnly := newReceiver(t)
	f.endpoint(luaToken, invitedOnly, allTypes...)

	appt := uuid.NewString()
	booked := event(appt, doctorID, 1)
	if n := f.publish(booked); n != 1 {
		t.Fatalf("booked: %d deliveries, want 1 (the endpoint subscribed to it)", n)
	}
	if n := f.publish(booked); n != 0 {
		t.Fatalf("published again: %d deliveries, want 0", n)
	}
	paid := event(appt, doctorID, 2)
	if n := f.publish(paid); n != 2 {
		t.Fatalf("paid: %d deliveries, want 2", n)
	}
	// A doctor affiliated with no clinic reaches nobody.
	if n := f.publish(event(uuid.NewString(), uuid.NewString(), 1)); n != 0 {
		t.Fatalf("a non-affiliated doctor's event: %d deliveries", n)
	}

	waitFor(t, "both endpoints receive their events", func() bool {
		_, a, _ := all.get()
		_, p, _ := paidOnly.get()
		return len(a) == 2 && len(p) == 1
	})
	seen, handled, bad := all.get()
	if len(bad) > 0 {
		t.Fatalf("failed verification: %q", bad)
	}
	if len(seen) != 2 || !proto.Equal(handled[0], booked) || !proto.Equal(handled[1], paid) {
		t.Errorf("received %v, want the booking then the payment, as published", handled)
	}
	if _, p, _ := paidOnly.get(); !proto.Equal(p[0], paid) {
		t.Errorf("the PAID-only endpoint received %v", p)
	}
	if s, _, _ := invitedOnly.get(); len(s) != 0 {
		t.Errorf("a clinic that only invited the doctor received %v", s)
	}

	// The log says delivered, once each, with the status.
	for _, d := range f.waitDelivered(solToken, 3) {
		if d.GetAttempts() != 1 || d.GetLastStatusCode() != 204 ||
			d.GetDeliverTime() == nil || d.GetAppointmentId() != appt {
			t.Errorf("delivery %v", d)
		}
	}
	if log := f.deliveries(luaToken, &clinicsv1.ListEventDeliveriesRequest{}); len(log) != 0 {
		t.Errorf("the invited-only clinic's log = %v", log)
	}
}

func TestEvents_RotationSignsWithBothSecretsUntilTheOldExpires(t *testing.T) {
	f := newEventFixture(t)
	doctorID, token, endpointID, r := f.soleEndpoint(nil)
	oldSecret := r.secrets[0]
	resp, err := f.client.RotateEventEndpointSecret(context.Background(), testkit.Authed(&clinicsv1.RotateEventEndpointSecretRequest{EndpointId: endpointID}, token))
	if err != nil {
		t.Fatal(err)
	}
	if until := resp.Msg.GetEndpoint().GetPreviousSecretExpireTime().AsTime(); time.Until(until) < 23*time.Hour {
		t.Errorf("the old secret signs until %v, want a day from now", until)
	}
	newSecret := resp.Msg.GetSigningSecret()
	if newSecret == oldSecret {
		t.Fatal("rotation kept the secret")
	}
	// Each secret alone verifies the event.
	for _, secret := range []string{newSecret, oldSecret} {
		r.set(func(r *receiver) { r.secrets, r.seen, r.handled = []string{secret}, nil, nil })
		f.publish(event(uuid.NewString(), doctorID, 1))
		waitFor(t, "the event arrives", func() bool { _, h, _ := r.get(); return len(h) == 1 })
		if _, _, bad := r.get(); len(bad) > 0 {
			t.Fatalf("failed verification: %q", bad)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if strings.Count(r.sigs[0], "v1=") != 2 {
		t.Errorf("signature %q, want two v1= during the rotation", r.sigs[0])
	}
}

func TestEvents_OncePerEventIDAtTheReceiverWhenTheFirstDeliveryTimesOut(t *testing.T) {
	f := newEventFixture(t)
	doctorID, token, _, r := f.soleEndpoint(func(r *receiver) { r.slowOnce = 2 * time.Second }) // past the sender's 500 ms
	ev := event(uuid.NewString(), doctorID, 1)
	f.publish(ev)
	waitFor(t, "the delivery succeeds", func() bool {
		log := f.deliveries(token, &clinicsv1.ListEventDeliveriesRequest{})
		return len(log) == 1 && log[0].GetState() == clinicsv1.DeliveryState_DELIVERY_STATE_DELIVERED
	})
	seen, handled, bad := r.get()
	if len(bad) > 0 {
		t.Fatalf("failed verification: %q", bad)
	}
	if got := ids(seen); len(got) != 2 || got[0] != ev.GetEventId() || got[1] != ev.GetEventId() {
		t.Errorf("the receiver saw %q, want the event twice (the first answer came too late)", got)
	}
	if len(handled) != 1 || !proto.Equal(handled[0], ev) {
		t.Errorf("handled %v, want the event once", handled)
	}
	d := f.deliveries(token, &clinicsv1.ListEventDeliveriesRequest{EventId: ev.GetEventId()})[0]
	if d.GetAttempts() != 2 || d.GetLastStatusCode() != 204 || d.GetLastError() != "" {
		t.Errorf("delivery %v, want delivered at the second attempt", d)
	}
}

func TestEvents_AnEndpointDownForAWhileReceivesTheQueuedEventsInOrder(t *testing.T) {
	f := newEventFixture(t)
	doctorID, token, _, r := f.soleEndpoint(func(r *receiver) { r.down = true })
	appt := uuid.NewString()
	evs := []*clinicsv1.PartnerEvent{event(appt, doctorID, 1), event(appt, doctorID, 2), event(appt, doctorID, 3)}
	// Scheduling's jobs may hand events over out of order: the later ones wait.
	f.publish(evs[2])
	f.publish(evs[1])
	f.publish(evs[0])
	waitFor(t, "the first event fails a few times", func() bool {
		for _, d := range f.deliveries(token, &clinicsv1.ListEventDeliveriesRequest{EventId: evs[0].GetEventId()}) {
			return d.GetAttempts() >= 3 && d.GetLastStatusCode() == 503 && d.GetNextAttemptTime() != nil
		}
		return false
	})
	for _, d := range f.deliveries(token, &clinicsv1.ListEventDeliveriesRequest{}) {
		if d.GetSequence() > 1 && d.GetAttempts() != 0 {
			t.Errorf("delivery %d was attempted before the first went through: %v", d.GetSequence(), d)
		}
	}
	r.set(func(r *receiver) { r.down = false })
	waitFor(t, "all three arrive", func() bool { _, h, _ := r.get(); return len(h) == 3 })
	seen, handled, bad := r.get()
	if len(bad) > 0 {
		t.Fatalf("failed verification: %q", bad)
	}
	if got, want := ids(seen), ids(evs); !slices.Equal(got, want) {
		t.Errorf("arrived %q, want in sequence %q", got, want)
	}
	for i := range evs {
		if !proto.Equal(handled[i], evs[i]) {
			t.Errorf("event %d = %v, want %v", i+1, handled[i], evs[i])
		}
	}
}

func TestEvents_AClinicCannotReadOrReplayAnotherClinicsDeliveries(t *testing.T) {
	f := newEventFixture(t)
	ctx := context.Background()
	doctorID, doctor := f.users.Sign(accessv1.Role_ROLE_DOCTOR, "1/SP")
	_, sol := f.affiliatedClinic(cnpjSol, doctorID, doctor)
	_, lua := f.affiliatedClinic(cnpjLua, doctorID, doctor) // the same doctor, another clinic
	solR, luaR := newReceiver(t), newReceiver(t)
	solEndpoint := f.endpoint(sol, solR, allTypes...)
	f.endpoint(lua, luaR, clinicsv1.EventType_EVENT_TYPE_APPOINTMENT_CANCELLED)
	ev := event(uuid.NewString(), doctorID, 1)
	f.publish(ev)
	solLog := f.waitDelivered(sol, 1)
	if got := f.deliveries(lua, &clinicsv1.ListEventDeliveriesRequest{}); len(got) != 0 {
		t.Errorf("Lua's log shows %v", got)
	}
	if got := f.deliveries(lua, &clinicsv1.ListEventDeliveriesRequest{EndpointId: solEndpoint}); len(got) != 0 {
		t.Errorf("Lua reads Sol's endpoint's log: %v", got)
	}
	_, err := f.client.ReplayEventDelivery(ctx, testkit.Authed(&clinicsv1.ReplayEventDeliveryRequest{
		Target: &clinicsv1.ReplayEventDeliveryRequest_DeliveryId{DeliveryId: solLog[0].GetDeliveryId()}}, lua))
	testkit.WantReason(t, err, clinics.ReasonEventDeliveryNotFound)
	_, err = f.client.ReplayEventDelivery(ctx, testkit.Authed(&clinicsv1.ReplayEventDeliveryRequest{
		Target: &clinicsv1.ReplayEventDeliveryRequest_Since{Since: &clinicsv1.ReplaySince{EndpointId: solEndpoint, StartTime: timestamppb.New(time.Now().Add(-time.Hour))}}}, lua))
	testkit.WantReason(t, err, clinics.ReasonEventEndpointNotFound)
	_, err = f.client.DeleteEventEndpoint(ctx, testkit.Authed(&clinicsv1.DeleteEventEndpointRequest{EndpointId: solEndpoint}, lua))
	testkit.WantReason(t, err, clinics.ReasonEventEndpointNotFound)
	_, err = f.client.RotateEventEndpointSecret(ctx, testkit.Authed(&clinicsv1.RotateEventEndpointSecretRequest{EndpointId: solEndpoint}, lua))
	testkit.WantReason(t, err, clinics.ReasonEventEndpointNotFound)
	if _, h, _ := solR.get(); len(h) != 1 {
		t.Fatalf("Sol received %d events after Lua's attempts, want 1", len(h))
	}

	// Sol replays its own: the same event (same id) arrives again.
	resp, err := f.client.ReplayEventDelivery(ctx, testkit.Authed(&clinicsv1.ReplayEventDeliveryRequest{
		Target: &clinicsv1.ReplayEventDeliveryRequest_DeliveryId{DeliveryId: solLog[0].GetDeliveryId()}}, sol))
	if err != nil || resp.Msg.GetReplayed() != 1 {
		t.Fatalf("replay = %v, %v", resp, err)
	}
	waitFor(t, "the replay arrives", func() bool { s, _, _ := solR.get(); return len(s) == 2 })
	f.waitDelivered(sol, 1)
	if s, h, _ := solR.get(); s[1].GetEventId() != ev.GetEventId() || len(h) != 1 {
		t.Errorf("replay delivered %v (handled %d), want the same event id", s[1], len(h))
	}
	resp, err = f.client.ReplayEventDelivery(ctx, testkit.Authed(&clinicsv1.ReplayEventDeliveryRequest{
		Target: &clinicsv1.ReplayEventDeliveryRequest_Since{Since: &clinicsv1.ReplaySince{EndpointId: solEndpoint, StartTime: timestamppb.New(time.Now().Add(-time.Hour))}}}, sol))
	if err != nil || resp.Msg.GetReplayed() != 1 {
		t.Fatalf("replay since = %v, %v", resp, err)
	}
	waitFor(t, "the second replay arrives", func() bool { s, _, _ := solR.get(); return len(s) == 3 })
	// Endpoints are the clinic's own too.
	list, err := f.client.ListEventEndpoints(ctx, testkit.Authed(&clinicsv1.ListEventEndpointsRequest{}, lua))
	if err != nil || len(list.Msg.GetEndpoints()) != 1 || list.Msg.GetEndpoints()[0].GetEndpointId() == solEndpoint {
		t.Errorf("Lua's endpoints = %v, %v", list, err)
	}
}

func TestEvents_EndpointURLsMustBePublicHTTPS(t *testing.T) {
	f := newFixture(t) // production settings: no loopback
	doctorID, doctor := f.users.Sign(accessv1.Role_ROLE_DOCTOR, "1/SP")
	ef := &eventFixture{fixture: f}
	_, token := ef.affiliatedClinic(cnpjSol, doctorID, doctor)
	for _, u := range []string{
		"http://hooks.clinicasol.com.br/healthcore", "https://127.0.0.1:8443/x", "https://localhost/x", "https://[::1]/x",
		"https://10.0.0.7/x", "https://192.168.1.10/x", "https://169.254.169.254/latest/meta-data", "https://100.64.0.1/x",
		"https://[fe80::1]/x", "https://[::ffff:10.0.0.1]/x", "https://user:pw@hooks.clinicasol.com.br/x", "ftp://hooks.clinicasol.com.br/x",
	} {
		_, err := f.client.CreateEventEndpoint(context.Background(), testkit.Authed(&clinicsv1.CreateEventEndpointRequest{
			Url: u, Types: allTypes}, token))
		if !errs.Has(err, clinics.ReasonEventEndpointURLInvalid) {
			t.Errorf("%s: %v, want EVENT_ENDPOINT_URL_INVALID", u, err)
		}
	}
	resp, err := f.client.CreateEventEndpoint(context.Background(), testkit.Authed(&clinicsv1.CreateEventEndpointRequest{
		Url: "https://hooks.clinicasol.com.br/healthcore", Types: allTypes}, token))
	if err != nil || resp.Msg.GetEndpoint().GetUrl() != "https://hooks.clinicasol.com.br/healthcore" {
		t.Fatalf("a public https URL: %v, %v", resp, err)
	}
	// Without events.manage, nothing.
	_, other := f.users.SignPartner(uuid.NewString(), "agenda.read")
	_, err = f.client.ListEventEndpoints(context.Background(), testkit.Authed(&clinicsv1.ListEventEndpointsRequest{}, other))
	if connect.CodeOf(err) != connect.CodePermissionDenied {
		t.Errorf("agenda.read lists endpoints: %v", err)
	}
}

func TestEvents_ADoctorNoClinicHoldsOrInvitedLeavesNoEventAndAnInvitedOneIsDeliveredInOrderOnceAccepted(t *testing.T) {
	f := newEventFixture(t)
	stored := func(doctorID string) (n int) {
		t.Helper()
		if err := f.db.QueryRow(context.Background(), `SELECT count(*) FROM events WHERE doctor_id = $1`, doctorID).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	// No clinic holds or invited the doctor: nothing is written.
	doctorID, doctor := f.users.Sign(accessv1.Role_ROLE_DOCTOR, "1/SP")
	appt := uuid.NewString()
	if n := f.publish(event(appt, doctorID, 1)); n != 0 {
		t.Fatalf("an unheld doctor's event: %d deliveries", n)
	}
	if n := stored(doctorID); n != 0 {
		t.Fatalf("an unheld doctor's event left %d event rows, want none", n)
	}
	// Invited: stored, delivered to no one.
	sol := f.clinic(cnpjSol)
	f.invite(sol, doctorID)
	paid := event(appt, doctorID, 2) // the second event of the appointment whose first was dropped
	next := uuid.NewString()
	first := event(next, doctorID, 1)
	if n := f.publish(first); n != 0 {
		t.Fatalf("an invited doctor's event: %d deliveries", n)
	}
	if n := f.publish(paid); n != 0 {
		t.Fatalf("an invited doctor's event: %d deliveries", n)
	}
	if n := stored(doctorID); n != 2 {
		t.Fatalf("an invited doctor's events: %d rows, want 2", n)
	}
	// Accepted: the next event of the appointment booked while invited is delivered at
	// once, its predecessor being stored (a missing one would hold it EventGapWait,
	// 15 minutes here).
	if _, err := f.accept(doctor, sol); err != nil {
		t.Fatal(err)
	}
	_, token := f.users.SignPartner(sol, "events.manage")
	r := newReceiver(t)
	f.endpoint(token, r, allTypes...)
	second := event(next, doctorID, 2)
	if n := f.publish(second); n != 1 {
		t.Fatalf("a held doctor's event: %d deliveries, want 1", n)
	}
	waitFor(t, "the held doctor's event arrives", func() bool { _, h, _ := r.get(); return len(h) == 1 })
	if _, h, bad := r.get(); len(bad) > 0 || !proto.Equal(h[0], second) {
		t.Errorf("received %v (failed verification: %q), want %v", h, bad, second)
	}
	if n := stored(doctorID); n != 3 {
		t.Errorf("%d event rows, want 3", n)
	}
}
