package payments

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"healthcore/gateway"
	"healthcore/gen/healthcore/directory/v1/directoryv1connect"
	identityv1 "healthcore/gen/healthcore/identity/v1"
	"healthcore/gen/healthcore/identity/v1/identityv1connect"
	paymentsv1 "healthcore/gen/healthcore/payments/v1"
	"healthcore/gen/healthcore/payments/v1/paymentsv1connect"
	pixv1 "healthcore/gen/healthcore/pix/v1"
	"healthcore/gen/healthcore/pix/v1/pixv1connect"
	"healthcore/gen/healthcore/scheduling/v1/schedulingv1connect"
	"healthcore/gen/openapi"
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
	"healthcore/services/pix"
	"healthcore/services/pix/pixsandbox"
	"healthcore/services/scheduling"
)

const (
	testAccessToken   = "TEST-payments-suite-token"
	testWebhookSecret = "payments-suite-webhook-secret"
	waitLimit         = 20 * time.Second
)

// fixture is the payments service on the production server stack with everything it
// talks to real and on loopback: identity (with a keys service) for payers and tokens,
// scheduling (with a directory) for outcomes, the pix service over the Mercado Pago
// driver talking HTTP to the PIX sandbox, and the gateway with the webhook route. All
// own a schema of one fresh database. Between the driver and the sandbox sits a proxy
// that can take the provider down or hold its answers, as a network would.
//
// Payments has its own clock (reconciliation, expiry); the sandbox and pix share
// another (charges, signatures), so a test can move one without the other.
type fixture struct {
	t          *testing.T
	id         *identitytest.Identity // identity, where doctors are verified
	clock      *testkit.Clock         // payments
	provClock  *testkit.Clock         // sandbox and pix
	db         *pgxpool.Pool          // payments
	schedDB    *pgxpool.Pool          // scheduling
	sched      *scheduling.Service
	schedURL   string
	dirURL     string
	sandboxDB  *pgxpool.Pool // the sandbox's state
	sandboxURL string
	pixURL     string
	provider   *provider
	hooks      *sink // the sandbox's webhooks, when they do not go to the gateway
	cfg        Config
	deps       Deps
	svc        *Service
	stopJobs   func()
	internal   paymentsv1connect.PaymentsServiceClient // as scheduling calls it
	public     paymentsv1connect.PaymentsServiceClient // as an app calls it
	identity   identityv1connect.IdentityServiceClient
	identityDB *pgxpool.Pool
	gateway    string
	users      int
}

// newFixture builds the stack. With sink, the sandbox posts its webhooks to a recorder
// instead of the gateway, and the test decides what reaches the gateway.
func newFixture(t *testing.T, sink bool) *fixture {
	t.Helper()
	ctx := context.Background()
	start := time.Now().UTC().Truncate(time.Millisecond)
	f := &fixture{t: t, clock: testkit.NewClock(start), provClock: testkit.NewClock(start)}
	dbURL := pgtest.URL(t, identity.Schema, directory.Schema, scheduling.Schema, pixsandbox.Schema, Schema)
	pool := func(schema string) *pgxpool.Pool {
		db, err := pg.Open(ctx, dbURL, schema, 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(db.Close)
		return db
	}
	log := testkit.Logger(t)
	as := func(caller string) []connect.ClientOption {
		return []connect.ClientOption{connect.WithGRPC(), connect.WithInterceptors(testkit.Caller(caller))}
	}

	f.identityDB = pool(identity.Schema.Name)
	f.id = identitytest.Start(t, f.identityDB, identitytest.Options{})
	idSvc := f.id.Service
	// Every service verifies identity's tokens, and the tokens of the services that
	// call it, as in production.
	users := authn.NewVerifier(idSvc.KeySource())
	auth := func(self string) *authn.Interceptor {
		return authn.NewInterceptor(users, testkit.ServiceVerifier(self))
	}
	mount := func(h interface {
		Handler(...connect.HandlerOption) (string, http.Handler)
	}) func(*server.Server) {
		return func(s *server.Server) { s.Handle(h.Handler(s.HandlerOptions()...)) }
	}
	idURL := f.id.URL
	f.identity = f.id.Client

	// Payments and scheduling call each other: reserve payments' port first.
	paymentsLn := testkit.Listen(t)
	paymentsURL := "http://" + paymentsLn.Addr().String()
	gatewayLn := testkit.Listen(t)
	f.gateway = "http://" + gatewayLn.Addr().String()

	dir, err := directory.New(ctx, directory.Deps{DB: pool(directory.Schema.Name), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	dirURL := testkit.Serve(t, auth("directory"), mount(dir))
	f.dirURL = dirURL
	f.schedDB = pool(scheduling.Schema.Name)
	schedCfg := scheduling.DefaultConfig()
	schedCfg.Jobs = jobs.Options{PollInterval: 20 * time.Millisecond, Backoff: 50 * time.Millisecond, MaxBackoff: 300 * time.Millisecond}
	sched, err := scheduling.New(scheduling.Deps{
		DB: f.schedDB, Logger: log, Now: f.clock.Now,
		Envelope:  envelope.New(testkit.Keys(t, "scheduling"), envelope.Defaults),
		Directory: directoryv1connect.NewDirectoryServiceClient(testkit.HTTPClient(t), dirURL, as("scheduling")...),
		Payments:  paymentsv1connect.NewPaymentsServiceClient(testkit.HTTPClient(t), paymentsURL, as("scheduling")...),
		Identity:  identityv1connect.NewIdentityServiceClient(testkit.HTTPClient(t), idURL, as("scheduling")...),
	}, schedCfg)
	if err != nil {
		t.Fatal(err)
	}
	f.sched = sched
	schedURL := testkit.Serve(t, auth("scheduling"), mount(sched))
	f.schedURL = schedURL

	notifyURL := f.gateway + gateway.MercadoPagoWebhookPath
	if sink {
		f.hooks = newSink(t)
		notifyURL = f.hooks.url
	}
	f.sandboxDB = pool(pixsandbox.Schema.Name)
	sb, err := pixsandbox.New(f.sandboxDB, testkit.Listen(t), pixsandbox.Options{
		AccessToken: testAccessToken, WebhookSecret: testWebhookSecret, NotificationURL: notifyURL, Logger: log,
		Now: f.provClock.Now, RetryBase: 20 * time.Millisecond, RetryMax: 200 * time.Millisecond,
		PollInterval: 20 * time.Millisecond, WebhookTimeout: 5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	runUntilCleanup(t, "sandbox", sb.Run)
	f.sandboxURL = sb.URL()
	f.provider = newProvider(t, sb.URL())
	driver, err := pix.NewMercadoPago(pix.MercadoPagoConfig{
		AccessToken: testAccessToken, WebhookSecret: testWebhookSecret, BaseURL: f.provider.url,
		NotificationURL: notifyURL, Timeout: 10 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	f.pixURL = testkit.Serve(t, auth("pix"), mount(pix.New(driver, f.provClock.Now)))

	f.cfg = DefaultConfig()
	f.cfg.ReconcileEvery = time.Second
	f.cfg.Jobs = jobs.Options{PollInterval: 20 * time.Millisecond, Backoff: 50 * time.Millisecond, MaxBackoff: 300 * time.Millisecond}
	f.db = pool(Schema.Name)
	f.deps = Deps{
		DB: f.db, Logger: log, Now: f.clock.Now,
		Pix:        pixv1connect.NewPixServiceClient(testkit.HTTPClient(t), f.pixURL, as("payments")...),
		Identity:   identityv1connect.NewIdentityServiceClient(testkit.HTTPClient(t), idURL, as("payments")...),
		Scheduling: schedulingv1connect.NewSchedulingServiceClient(testkit.HTTPClient(t), schedURL, as("payments")...),
	}
	f.svc = f.newService()
	testkit.ServeOn(t, paymentsLn, auth("payments"), mount(f.svc))
	f.stopJobs = f.runJobs(f.svc)
	f.internal = paymentsv1connect.NewPaymentsServiceClient(testkit.HTTPClient(t), paymentsURL, as("scheduling")...)
	f.public = paymentsv1connect.NewPaymentsServiceClient(testkit.HTTPClient(t), paymentsURL)

	conn, err := grpc.NewClient(paymentsLn.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	g, err := gateway.New(ctx, gateway.Options{
		Upstreams: []gateway.Upstream{{Service: paymentsv1connect.PaymentsServiceName, Addr: paymentsLn.Addr().String(),
			Register: paymentsv1.RegisterPaymentsServiceHandler}},
		Logger: log, OpenAPI: openapi.JSON,
		Extra: map[string]http.Handler{
			"POST " + gateway.MercadoPagoWebhookPath: gateway.MercadoPagoWebhook(paymentsv1.NewPaymentsServiceClient(conn), log),
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	runUntilCleanup(t, "gateway", func(ctx context.Context) error { return g.Serve(ctx, gatewayLn) })
	return f
}

// newService builds a payments service on the fixture's dependencies: a second one
// stands for another process (or the same one restarted).
func (f *fixture) newService() *Service {
	f.t.Helper()
	svc, err := New(f.deps, f.cfg)
	if err != nil {
		f.t.Fatal(err)
	}
	return svc
}

// runJobs works svc's jobs until the returned function (or the test's end) stops it.
func (f *fixture) runJobs(svc *Service) func() {
	return runUntilCleanup(f.t, "payments jobs", svc.Run)
}

// runUntilCleanup runs fn until the returned stop is called or the test ends.
func runUntilCleanup(t *testing.T, what string, fn func(context.Context) error) func() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- fn(ctx) }()
	stop := sync.OnceFunc(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("%s: %v", what, err)
		}
	})
	t.Cleanup(stop)
	return stop
}

// user is an identity account with an access token.
type user struct{ id, token string }

// patient registers and logs in a patient with a CPF of their own.
func (f *fixture) patient() user {
	f.t.Helper()
	return f.patientNamed("Maria da Silva")
}

// patientNamed registers and logs in a patient with this name.
func (f *fixture) patientNamed(name string) user {
	f.t.Helper()
	f.users++
	email := fmt.Sprintf("paciente%d@example.com", f.users)
	_, err := f.identity.RegisterPatient(context.Background(), connect.NewRequest(&identityv1.RegisterPatientRequest{
		Name: name, Email: email, Cpf: testkit.CPF(f.users), Password: "correct horse battery",
		Phone: "+5511987654321", BirthDate: "1985-04-12",
	}))
	if err != nil {
		f.t.Fatalf("register patient: %v", err)
	}
	// A patient books with a confirmed e-mail: confirm it, then log in.
	login := &identityv1.LoginRequest{Login: &identityv1.LoginRequest_Email{Email: email}, Password: "correct horse battery"}
	id, _ := f.login(login)
	testkit.VerifyEmail(f.t, f.identityDB, f.identity, id)
	_, token := f.login(login)
	return user{id, token}
}

// doctor registers a doctor, has an operator verify it, and logs it in.
func (f *fixture) doctor() user {
	f.t.Helper()
	f.users++
	crm := &identityv1.Crm{Number: fmt.Sprint(100000 + f.users), Uf: "SP"}
	id := f.id.DoctorWithCRM(crm.GetNumber(), crm.GetUf())
	f.id.Approve(id)
	_, token := f.login(&identityv1.LoginRequest{
		Login: &identityv1.LoginRequest_Crm{Crm: crm}, Password: "Staple-Doctor-Horse-42"})
	return user{id, token}
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

// booking is an appointment waiting for payment, as scheduling holds it.
type booking struct {
	id, patientID, doctorID string
	price                   int64
}

// book inserts a PENDING_PAYMENT appointment into scheduling's schema, as booking does
// (these tests are about the money, not the slot), and returns it.
func (f *fixture) book(patient, doctor user, price int64) booking {
	f.t.Helper()
	b := booking{id: uuid.NewString(), patientID: patient.id, doctorID: doctor.id, price: price}
	start := f.clock.Now().Add(24*time.Hour + time.Duration(f.users)*time.Hour)
	_, err := f.schedDB.Exec(context.Background(), `
		INSERT INTO appointments (id, start_at, end_at, doctor_id, patient_id, state, price_cents, hold_until, idempotency_key)
		VALUES ($1, $2, $3, $4, $5, 'PENDING_PAYMENT', $6, $7, $8)`,
		b.id, start, start.Add(50*time.Minute), b.doctorID, b.patientID, price, f.clock.Now().Add(time.Hour), "key-"+b.id)
	if err != nil {
		f.t.Fatalf("insert appointment: %v", err)
	}
	return b
}

// newBooking is a booking of a new patient with a new doctor.
func (f *fixture) newBooking(price int64) booking { return f.book(f.patient(), f.doctor(), price) }

func (f *fixture) startReq(b booking) *paymentsv1.StartPaymentRequest {
	return &paymentsv1.StartPaymentRequest{
		AppointmentId: b.id, PatientId: b.patientID, DoctorId: b.doctorID, AmountCents: b.price,
		Description: "Consulta de cardiologia", ExpireTime: timestamppb.New(f.clock.Now().Add(time.Hour)),
	}
}

// start starts the booking's payment as scheduling does.
func (f *fixture) start(b booking) *paymentsv1.Payment {
	f.t.Helper()
	resp, err := f.internal.StartPayment(context.Background(), connect.NewRequest(f.startReq(b)))
	if err != nil {
		f.t.Fatalf("StartPayment: %v", err)
	}
	return resp.Msg.GetPayment()
}

// payment reads the booking's payment as scheduling does.
func (f *fixture) payment(b booking) *paymentsv1.Payment {
	f.t.Helper()
	resp, err := f.internal.GetPayment(context.Background(), connect.NewRequest(&paymentsv1.GetPaymentRequest{AppointmentId: b.id}))
	if err != nil {
		f.t.Fatalf("GetPayment: %v", err)
	}
	return resp.Msg.GetPayment()
}

// await is GetPayment's long-poll as the booking's patient app uses it: it waits (up
// to 30 s in all) until the booking's payment is recorded and not known, and returns it.
func (f *fixture) await(b booking, known paymentsv1.PaymentStatus) *paymentsv1.Payment {
	f.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := f.internal.GetPayment(context.Background(), connect.NewRequest(&paymentsv1.GetPaymentRequest{
			AppointmentId: b.id, KnownStatus: known, Wait: durationpb.New(5 * time.Second)}))
		switch {
		case err == nil && resp.Msg.GetPayment().GetStatus() != known:
			return resp.Msg.GetPayment()
		case err != nil && connect.CodeOf(err) != connect.CodeNotFound:
			f.t.Fatalf("GetPayment waiting: %v", err)
		case time.Now().After(deadline):
			f.t.Fatalf("payment of %s still %v after 30s (%v)", b.id, known, err)
		}
	}
}

// charged waits for the charge the booking's ensure_payment job creates, and returns
// the payment, PENDING with its PIX code.
func (f *fixture) charged(b booking) *paymentsv1.Payment {
	f.t.Helper()
	p := f.await(b, paymentsv1.PaymentStatus_PAYMENT_STATUS_CREATING)
	if p.GetStatus() != paymentsv1.PaymentStatus_PAYMENT_STATUS_PENDING || p.GetQrCode() == "" || p.GetProviderPaymentId() == "" {
		f.t.Fatalf("payment %v, want PENDING with a charge and its PIX code", p)
	}
	return p
}

// waitStatus waits until the booking's payment has the status, and returns it.
func (f *fixture) waitStatus(b booking, want paymentsv1.PaymentStatus) *paymentsv1.Payment {
	f.t.Helper()
	var p *paymentsv1.Payment
	eventually(f.t, "payment "+want.String(), func() bool {
		p = f.payment(b)
		return p.GetStatus() == want
	})
	return p
}

// appointmentState is the booking's state in scheduling.
func (f *fixture) appointmentState(b booking) string {
	f.t.Helper()
	var s string
	if err := f.schedDB.QueryRow(context.Background(), `SELECT state FROM appointments WHERE id = $1`, b.id).Scan(&s); err != nil {
		f.t.Fatal(err)
	}
	return s
}

func (f *fixture) waitAppointment(b booking, want string) {
	f.t.Helper()
	eventually(f.t, "appointment "+want, func() bool { return f.appointmentState(b) == want })
}

// approve "pays" a charge through the sandbox's development control.
func (f *fixture) approve(providerID string) {
	f.t.Helper()
	resp, err := http.Post(f.sandboxURL+"/sandbox/payments/"+providerID+"/approve", "application/json", nil)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		f.t.Fatalf("approve %s: %s %s", providerID, resp.Status, b)
	}
}

// charge is the sandbox's record of a charge.
type charge struct {
	status, detail string
	refunded       int64
	refunds        int
}

func (f *fixture) charge(providerID string) charge {
	f.t.Helper()
	var c charge
	err := f.sandboxDB.QueryRow(context.Background(), `
		SELECT status, status_detail, refunded_cents, (SELECT count(*) FROM refunds WHERE payment_id = p.id)
		FROM payments p WHERE id = $1`, providerID).Scan(&c.status, &c.detail, &c.refunded, &c.refunds)
	if err != nil {
		f.t.Fatalf("sandbox charge %s: %v", providerID, err)
	}
	return c
}

// chargeProto reads a charge through the pix service, as payments does.
func (f *fixture) chargeProto(providerID string) *pixv1.Charge {
	f.t.Helper()
	resp, err := f.deps.Pix.GetCharge(context.Background(), connect.NewRequest(&pixv1.GetChargeRequest{Id: providerID}))
	if err != nil {
		f.t.Fatalf("GetCharge: %v", err)
	}
	return resp.Msg.GetCharge()
}

// events counts the payment's history entries with the status.
func (f *fixture) events(paymentID, status string) int {
	f.t.Helper()
	var n int
	if err := f.db.QueryRow(context.Background(), `SELECT count(*) FROM payment_events WHERE payment_id = $1 AND status = $2`,
		paymentID, status).Scan(&n); err != nil {
		f.t.Fatal(err)
	}
	return n
}

// transitions counts the appointment's history entries of the kind in scheduling.
func (f *fixture) transitions(b booking, kind string) int {
	f.t.Helper()
	var n int
	if err := f.schedDB.QueryRow(context.Background(), `SELECT count(*) FROM appointment_history WHERE appointment_id = $1 AND kind = $2`,
		b.id, kind).Scan(&n); err != nil {
		f.t.Fatal(err)
	}
	return n
}

// jobsOf counts the payments jobs of the kind in the states.
func (f *fixture) jobsOf(kind string, states ...string) int {
	f.t.Helper()
	var n int
	if err := f.db.QueryRow(context.Background(), `SELECT count(*) FROM river_job WHERE kind = $1 AND state::text = ANY($2)`,
		kind, states).Scan(&n); err != nil {
		f.t.Fatal(err)
	}
	return n
}

// waitAttempts waits until a job of the kind has been tried n times.
func (f *fixture) waitAttempts(kind string, n int) {
	f.t.Helper()
	eventually(f.t, fmt.Sprintf("%d attempts of %s", n, kind), func() bool {
		var attempts int
		if err := f.db.QueryRow(context.Background(), `SELECT coalesce(max(attempt), 0) FROM river_job WHERE kind = $1`,
			kind).Scan(&attempts); err != nil {
			f.t.Fatal(err)
		}
		return attempts >= n
	})
}

// idle waits until no payments job is waiting or running.
func (f *fixture) idle() {
	f.t.Helper()
	eventually(f.t, "jobs done", func() bool {
		var n int
		if err := f.db.QueryRow(context.Background(), `SELECT count(*) FROM river_job
			WHERE state IN ('available', 'running', 'retryable', 'scheduled') AND kind <> $1`, reconcileArgs{}.Kind()).Scan(&n); err != nil {
			f.t.Fatal(err)
		}
		return n == 0
	})
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// webhook is a notification as it reaches the gateway.
type webhook struct {
	query  string
	header http.Header
	body   []byte
}

// signed is a notification about providerID signed with the webhook secret at ts.
func signed(providerID, requestID string, ts time.Time) webhook {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("X-Request-Id", requestID)
	h.Set("X-Signature", pix.SignNotification([]byte(testWebhookSecret), providerID, requestID, ts))
	body, _ := json.Marshal(map[string]any{"type": "payment", "action": "payment.updated", "data": map[string]string{"id": providerID}})
	return webhook{query: "data.id=" + url.QueryEscape(providerID) + "&type=payment", header: h, body: body}
}

// post sends a notification to the gateway's webhook route and returns the status and
// body.
func (f *fixture) post(w webhook) (int, string) {
	f.t.Helper()
	req, err := http.NewRequest(http.MethodPost, f.gateway+gateway.MercadoPagoWebhookPath+"?"+w.query, bytes.NewReader(w.body))
	if err != nil {
		f.t.Fatal(err)
	}
	req.Header = w.header.Clone()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// wantRefusal fails the test unless the gateway answered a notification with httpStatus
// and a google.rpc.Status body carrying the declared reason r with its code.
func wantRefusal(t *testing.T, code int, body string, httpStatus int, r errs.Reason) {
	t.Helper()
	var st spb.Status
	if err := protojson.Unmarshal([]byte(body), &st); err != nil {
		t.Fatalf("answer %d %s is not a status: %v", code, body, err)
	}
	reason := ""
	for _, d := range st.GetDetails() {
		if m, err := d.UnmarshalNew(); err == nil {
			if info, ok := m.(*errdetails.ErrorInfo); ok {
				reason = info.GetReason()
			}
		}
	}
	if code != httpStatus || connect.Code(st.GetCode()) != r.Code() || reason != r.Name() {
		t.Fatalf("answer %d %s, want %d %v", code, body, httpStatus, r)
	}
}

// sink records the sandbox's webhooks and answers 200.
type sink struct {
	url string
	mu  sync.Mutex
	got []received
}

type received struct {
	webhook
	dataID, action string
}

func newSink(t *testing.T) *sink {
	s := &sink{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var n struct {
			Action string `json:"action"`
		}
		_ = json.Unmarshal(body, &n)
		s.mu.Lock()
		s.got = append(s.got, received{webhook{r.URL.RawQuery, r.Header.Clone(), body}, r.URL.Query().Get("data.id"), n.Action})
		s.mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	s.url = srv.URL + gateway.MercadoPagoWebhookPath
	return s
}

// waitFor returns the first webhook the sandbox sent about the charge with the action.
func (s *sink) waitFor(t *testing.T, providerID, action string) webhook {
	t.Helper()
	var w webhook
	eventually(t, action+" webhook for "+providerID, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, r := range s.got {
			if r.dataID == providerID && r.action == action {
				w = r.webhook
				return true
			}
		}
		return false
	})
	return w
}

// provider is the network between the pix driver and the sandbox: up, down (503s, as
// Mercado Pago when it fails), or holding answers — the sandbox has done the work, the
// caller has not heard yet — until released.
type provider struct {
	url string

	mu      sync.Mutex
	down    bool
	hold    func(*http.Request) bool
	release chan struct{}
	held    chan string // the method and path of each request held
}

func newProvider(t *testing.T, target string) *provider {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(u)
	p := &provider{held: make(chan string, 16)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		down, hold, release := p.down, p.hold != nil && p.hold(r), p.release
		p.mu.Unlock()
		switch {
		case down:
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, `{"message":"service unavailable","error":"service_unavailable","status":503,"cause":[]}`)
		case hold:
			rec := httptest.NewRecorder()
			proxy.ServeHTTP(rec, r)
			p.held <- r.Method + " " + r.URL.Path
			select {
			case <-release:
			case <-r.Context().Done():
				return // the caller gave up: the answer is lost
			}
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.Code)
			_, _ = w.Write(rec.Body.Bytes())
		default:
			proxy.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	p.url = srv.URL
	return p
}

func (p *provider) setDown(down bool) {
	p.mu.Lock()
	p.down = down
	p.mu.Unlock()
}

// holdMatching holds the answers of requests whose method and path contain match
// until the returned release is called.
func (p *provider) holdMatching(method, pathPart string) (release func()) {
	ch := make(chan struct{})
	p.mu.Lock()
	p.hold = func(r *http.Request) bool { return r.Method == method && strings.Contains(r.URL.Path, pathPart) }
	p.release = ch
	p.mu.Unlock()
	return sync.OnceFunc(func() {
		p.mu.Lock()
		p.hold = nil
		p.mu.Unlock()
		close(ch)
	})
}

// waitHeld waits until a request is being held and returns its method and path.
func (p *provider) waitHeld(t *testing.T) string {
	t.Helper()
	select {
	case s := <-p.held:
		return s
	case <-time.After(waitLimit):
		t.Fatal("no request reached the provider")
		return ""
	}
}
