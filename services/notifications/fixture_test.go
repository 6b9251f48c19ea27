package notifications

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/timestamppb"

	"healthcore/gateway"
	identityv1 "healthcore/gen/healthcore/identity/v1"
	"healthcore/gen/healthcore/identity/v1/identityv1connect"
	notificationsv1 "healthcore/gen/healthcore/notifications/v1"
	"healthcore/gen/healthcore/notifications/v1/notificationsv1connect"
	"healthcore/platform/authn"
	"healthcore/platform/envelope"
	"healthcore/platform/jobs"
	"healthcore/platform/pg"
	"healthcore/platform/pgtest"
	"healthcore/platform/server"
	"healthcore/platform/testkit"
	"healthcore/services/identity"
	"healthcore/services/notifications/mailsink"
	"healthcore/services/notifications/whatsapp"
	"healthcore/services/notifications/whatsappsandbox"
)

const (
	testWAToken   = "TEST-whatsapp-token"
	testWASecret  = "test-whatsapp-app-secret"
	testWAPhoneID = "100000000000009"
	waitLimit     = 20 * time.Second
)

// fixture is the notifications service on the production server stack with what it
// talks to real and on loopback: identity (with a keys service) for contacts and
// tokens, the SMTP sink as the mail server (reached by the SMTP driver), the WhatsApp
// sandbox (reached by the Cloud API driver) posting its signed status webhooks to the
// gateway's /webhooks/whatsapp handler, and PostgreSQL.
type fixture struct {
	t        *testing.T
	clock    *testkit.Clock
	db       *pgxpool.Pool
	svc      *Service
	cfg      Config
	deps     Deps
	sink     *mailsink.Sink
	sandbox  *whatsappsandbox.Sandbox
	identity identityv1connect.IdentityServiceClient
	// internal calls as scheduling; public as an app (with a user's token).
	internal notificationsv1connect.NotificationsServiceClient
	public   notificationsv1connect.NotificationsServiceClient
	webhook  string // the gateway handler's URL
	users    int
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{t: t, clock: testkit.NewClock(time.Date(2026, 12, 2, 15, 0, 0, 0, time.UTC))}
	dbURL := pgtest.URL(t, identity.Schema, Schema)
	pool := func(schema string) *pgxpool.Pool {
		db, err := pg.Open(ctx, dbURL, schema, 4)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(db.Close)
		return db
	}
	log := testkit.Logger(t)
	idCfg := identity.DefaultConfig()
	idCfg.Argon2 = identity.Argon2Params{MemoryKiB: 1024, Iterations: 1, Parallelism: 1, MaxConcurrent: 4}
	idSvc, err := identity.New(ctx, identity.Deps{
		DB: pool(identity.Schema.Name), Envelope: envelope.New(testkit.Keys(t, "identity"), envelope.Defaults), Logger: log,
	}, idCfg)
	if err != nil {
		t.Fatal(err)
	}
	users := authn.NewVerifier(idSvc.KeySource())
	auth := func(self string) *authn.Interceptor {
		return authn.NewInterceptor(users, testkit.ServiceVerifier(self))
	}
	idURL := testkit.Serve(t, auth("identity"), func(s *server.Server) { s.Handle(idSvc.Handler(s.HandlerOptions()...)) })
	f.identity = identityv1connect.NewIdentityServiceClient(testkit.HTTPClient(t), idURL)

	if f.sink, err = mailsink.New("127.0.0.1:0", mailsink.Options{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.sink.Close() })

	// The sandbox posts statuses to the gateway's handler, which calls the service:
	// reserve the service's port first.
	svcLn := testkit.Listen(t)
	conn, err := grpc.NewClient(svcLn.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	hook := httptest.NewServer(gateway.WhatsAppWebhook(notificationsv1.NewNotificationsServiceClient(conn), log))
	t.Cleanup(hook.Close)
	f.webhook = hook.URL
	f.sandbox, err = whatsappsandbox.New(whatsappsandbox.Options{
		AccessToken: testWAToken, PhoneNumberID: testWAPhoneID, Templates: SandboxTemplates(DefaultAppBaseURL),
		WebhookURL: hook.URL, AppSecret: testWASecret, Logger: log,
		RetryBase: 20 * time.Millisecond, RetryMax: 200 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.sandbox.Close() })
	waSrv := httptest.NewServer(f.sandbox.Handler())
	t.Cleanup(waSrv.Close)

	f.cfg = DefaultConfig()
	f.cfg.WhatsAppAPI = whatsapp.Config{BaseURL: waSrv.URL, APIVersion: "v23.0", PhoneNumberID: testWAPhoneID,
		AccessToken: testWAToken, AppSecret: testWASecret}
	f.cfg.WhatsAppVerifyToken = "test-verify-token"
	f.cfg.Jobs = jobs.Options{PollInterval: 20 * time.Millisecond, Backoff: 50 * time.Millisecond, MaxBackoff: 300 * time.Millisecond}
	host, port := splitAddr(t, f.sink.Addr())
	mailer, err := NewSMTP(SMTPConfig{Host: host, Port: port, TLS: "none"})
	if err != nil {
		t.Fatal(err)
	}
	wa, err := whatsapp.New(f.cfg.WhatsAppAPI)
	if err != nil {
		t.Fatal(err)
	}
	f.db = pool(Schema.Name)
	f.deps = Deps{
		DB: f.db, Mailer: mailer, WhatsApp: wa, Logger: log, Now: f.clock.Now,
		Identity: identityv1connect.NewIdentityServiceClient(testkit.HTTPClient(t), idURL,
			connect.WithGRPC(), connect.WithInterceptors(testkit.Caller("notifications"))),
	}
	f.svc, err = New(f.deps, f.cfg)
	if err != nil {
		t.Fatal(err)
	}
	url := testkit.ServeOn(t, svcLn, auth("notifications"), func(s *server.Server) { s.Handle(f.svc.Handler(s.HandlerOptions()...)) })
	runUntilCleanup(t, "notifications jobs", f.svc.Run)
	f.internal = notificationsv1connect.NewNotificationsServiceClient(testkit.HTTPClient(t), url,
		connect.WithGRPC(), connect.WithInterceptors(testkit.Caller("scheduling")))
	f.public = notificationsv1connect.NewNotificationsServiceClient(testkit.HTTPClient(t), url)
	return f
}

func splitAddr(t *testing.T, addr string) (string, int) {
	var host string
	var port int
	for i := len(addr) - 1; i >= 0; i-- {
		if addr[i] == ':' {
			host = addr[:i]
			_, _ = fmt.Sscan(addr[i+1:], &port)
			break
		}
	}
	if host == "" || port == 0 {
		t.Fatalf("address %q", addr)
	}
	return host, port
}

// runUntilCleanup runs fn until the test ends.
func runUntilCleanup(t *testing.T, what string, fn func(context.Context) error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- fn(ctx) }()
	t.Cleanup(sync.OnceFunc(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("%s: %v", what, err)
		}
	}))
}

// account is an identity account with an access token.
type account struct{ id, token, email, phone string }

// patient registers and logs in a patient with this phone.
func (f *fixture) patient(name, phone string) account {
	f.t.Helper()
	f.users++
	email := fmt.Sprintf("paciente%d@example.com", f.users)
	_, err := f.identity.RegisterPatient(context.Background(), connect.NewRequest(&identityv1.RegisterPatientRequest{
		Name: name, Email: email, Cpf: testkit.CPF(f.users), Password: "correct horse battery", Phone: phone, BirthDate: "1985-04-12",
	}))
	if err != nil {
		f.t.Fatalf("register patient: %v", err)
	}
	id, token := f.login(&identityv1.LoginRequest{Login: &identityv1.LoginRequest_Email{Email: email}, Password: "correct horse battery"})
	return account{id: id, email: email, phone: phone, token: token}
}

// doctor registers and logs in a doctor.
func (f *fixture) doctor(name string) account {
	f.t.Helper()
	f.users++
	crm := &identityv1.Crm{Number: fmt.Sprint(100000 + f.users), Uf: "SP"}
	email := fmt.Sprintf("medica%d@clinica.com.br", f.users)
	_, err := f.identity.RegisterDoctor(context.Background(), connect.NewRequest(&identityv1.RegisterDoctorRequest{
		Name: name, Crm: crm, Email: email, Password: "doctor password 1",
	}))
	if err != nil {
		f.t.Fatalf("register doctor: %v", err)
	}
	id, token := f.login(&identityv1.LoginRequest{Login: &identityv1.LoginRequest_Crm{Crm: crm}, Password: "doctor password 1"})
	return account{id: id, email: email, token: token}
}

// login logs in and returns the account's id and an access token.
func (f *fixture) login(req *identityv1.LoginRequest) (id, token string) {
	f.t.Helper()
	resp, err := f.identity.Login(context.Background(), connect.NewRequest(req))
	if err != nil {
		f.t.Fatalf("login: %v", err)
	}
	return resp.Msg.GetAccount().GetId(), resp.Msg.GetTokens().GetAccessToken()
}

// notify calls Notify as scheduling.
func (f *fixture) notify(req *notificationsv1.NotifyRequest) *notificationsv1.Notification {
	f.t.Helper()
	resp, err := f.internal.Notify(context.Background(), connect.NewRequest(req))
	if err != nil {
		f.t.Fatalf("notify %s: %v", req.GetIdempotencyKey(), err)
	}
	return resp.Msg.GetNotification()
}

// appointment is a NotifyRequest about an appointment between patient and doctor, to
// recipient.
func appointment(key string, e notificationsv1.Event, recipient string, patient, doctor account, start time.Time) *notificationsv1.NotifyRequest {
	return &notificationsv1.NotifyRequest{IdempotencyKey: key, Event: e, RecipientId: recipient,
		Detail: &notificationsv1.NotifyRequest_Appointment{Appointment: &notificationsv1.AppointmentDetail{
			AppointmentId: "0b9f3c51-5c38-4a53-9d0a-4e1b2a6f7c10", PatientId: patient.id, DoctorId: doctor.id,
			StartTime: timestamppb.New(start), AnswerBy: timestamppb.New(start.Add(-20 * time.Hour)), PriceCents: 25000,
			RefundCents: 25000, RefundMethod: "PIX", JoinPath: "/v1/appointments/0b9f3c51-5c38-4a53-9d0a-4e1b2a6f7c10/join",
		}}}
}

// waitFor polls cond until it holds or the limit passes.
func (f *fixture) waitFor(what string, cond func() bool) {
	f.t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			f.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stored reads a notification as stored.
func (f *fixture) stored(id string) notification {
	f.t.Helper()
	n, err := f.svc.notifications.get(context.Background(), f.db, id, false)
	if err != nil {
		f.t.Fatal(err)
	}
	return n
}

// settled waits until the notification is no longer PENDING and returns it.
func (f *fixture) settled(id string) notification {
	f.t.Helper()
	var n notification
	f.waitFor("notification "+id+" to settle", func() bool {
		n = f.stored(id)
		return n.status != notificationsv1.NotificationStatus_NOTIFICATION_STATUS_PENDING
	})
	return n
}

// mailTo returns the inbox's messages to addr.
func (f *fixture) mailTo(addr string) []mailsink.Message {
	var out []mailsink.Message
	for _, m := range f.sink.Messages() {
		if m.To == addr {
			out = append(out, m)
		}
	}
	return out
}

// whatsappTo returns the sandbox's messages to phone (E.164 with +).
func (f *fixture) whatsappTo(phone string) []whatsappsandbox.Message {
	var out []whatsappsandbox.Message
	for _, m := range f.sandbox.Messages() {
		if "+"+m.To == phone {
			out = append(out, m)
		}
	}
	return out
}

// optIn turns WhatsApp on for u.
func (f *fixture) optIn(u account) {
	f.t.Helper()
	_, err := f.public.UpdatePreferences(context.Background(), testkit.Authed(&notificationsv1.UpdatePreferencesRequest{
		Preferences: &notificationsv1.Preferences{Whatsapp: true, ConsentTextVersion: "whatsapp-v1", ConsentSource: "app"},
		UpdateMask:  fieldMask("whatsapp"),
	}, u.token))
	if err != nil {
		f.t.Fatalf("opt in: %v", err)
	}
}

var _ = http.StatusOK

func connectReq[T any](m *T) *connect.Request[T] { return connect.NewRequest(m) }
