package pix

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5/pgxpool"

	pixv1 "healthcore/gen/healthcore/pix/v1"
	"healthcore/platform/pgtest"
	"healthcore/platform/testkit"
	"healthcore/services/pix/pixsandbox"
)

const (
	testAccessToken   = "TEST-healthcore-suite-token"
	testWebhookSecret = "healthcore-suite-webhook-secret"
)

// env is the production driver talking HTTP to a sandbox on 127.0.0.1, with the
// service over that driver and a webhook receiver that checks every notification
// with the service's VerifyNotification. The sandbox and the service share a clock.
type env struct {
	t       *testing.T
	db      *pgxpool.Pool
	clock   *testkit.Clock
	sandbox *pixsandbox.Sandbox
	driver  *MercadoPago
	svc     *Service
	hooks   *receiver
}

// sandboxOptions are fast retries for tests.
func sandboxOptions(t testing.TB, clock *testkit.Clock) pixsandbox.Options {
	return pixsandbox.Options{
		AccessToken: testAccessToken, WebhookSecret: testWebhookSecret, Logger: testkit.Logger(t), Now: clock.Now,
		RetryBase: 20 * time.Millisecond, RetryMax: 200 * time.Millisecond, PollInterval: 20 * time.Millisecond,
		WebhookTimeout: 5 * time.Second,
	}
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, db: pgtest.Pool(t, pixsandbox.Schema.Name, pixsandbox.Schema)}
	e.clock = testkit.NewClock(time.Now().UTC().Truncate(time.Millisecond))
	e.hooks = newReceiver(t, func(xSig, xReq, dataID string) error {
		_, err := e.svc.VerifyNotification(context.Background(), connect.NewRequest(&pixv1.VerifyNotificationRequest{
			XSignature: xSig, XRequestId: xReq, DataId: dataID,
		}))
		return err
	})
	e.sandbox = startSandbox(t, e.db, sandboxOptions(t, e.clock))
	// The driver's connections close before the sandbox stops (cleanups run last
	// first), so its stop does not wait for a spare connection that never sent a
	// request.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	var err error
	e.driver, err = NewMercadoPago(MercadoPagoConfig{
		AccessToken: testAccessToken, WebhookSecret: testWebhookSecret, BaseURL: e.sandbox.URL(),
		NotificationURL: e.hooks.url + "/webhooks/mercadopago", Timeout: 10 * time.Second, Transport: tr,
	})
	if err != nil {
		t.Fatal(err)
	}
	e.svc = New(e.driver, e.clock.Now)
	return e
}

// startSandbox runs a sandbox on 127.0.0.1 until the test ends.
func startSandbox(t testing.TB, db *pgxpool.Pool, opts pixsandbox.Options) *pixsandbox.Sandbox {
	sb, _ := runSandbox(t, db, opts)
	return sb
}

// runSandbox runs a sandbox on 127.0.0.1 and returns it with a function that stops it
// (and waits); it stops at the end of the test at the latest.
func runSandbox(t testing.TB, db *pgxpool.Pool, opts pixsandbox.Options) (*pixsandbox.Sandbox, func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sb, err := pixsandbox.New(db, ln, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sb.Run(ctx) }()
	stop := sync.OnceFunc(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("sandbox Run: %v", err)
		}
	})
	t.Cleanup(stop)
	return sb, stop
}

// chargeReq is a valid request for amount centavos, expiring in two hours.
func (e *env) chargeReq(amount int64, key string) ChargeRequest {
	return ChargeRequest{
		AmountCents: amount, Description: "Consulta de cardiologia", PayerEmail: "maria@example.com",
		PayerCPF: "52998224725", PayerFirstName: "Maria", PayerLastName: "da Silva",
		ExpireTime: e.clock.Now().Add(2 * time.Hour), ExternalReference: "pay-" + key, IdempotencyKey: key,
	}
}

func (e *env) create(amount int64, key string) Charge {
	e.t.Helper()
	c, err := e.driver.CreateCharge(context.Background(), e.chargeReq(amount, key))
	if err != nil {
		e.t.Fatalf("CreateCharge(%d, %s): %v", amount, key, err)
	}
	return c
}

func (e *env) get(id string) Charge {
	e.t.Helper()
	c, err := e.driver.GetCharge(context.Background(), id)
	if err != nil {
		e.t.Fatalf("GetCharge(%s): %v", id, err)
	}
	return c
}

// approve "pays" a charge through the sandbox's HTTP development control.
func (e *env) approve(id string) {
	e.t.Helper()
	resp, err := http.Post(e.sandbox.URL()+"/sandbox/payments/"+id+"/approve", "application/json", nil)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		e.t.Fatalf("approve %s: %s %s", id, resp.Status, b)
	}
}

func (e *env) countPayments(externalRef string) int {
	e.t.Helper()
	var n int
	if err := e.db.QueryRow(context.Background(), `SELECT count(*) FROM payments WHERE external_reference = $1`, externalRef).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// notification is one webhook the receiver got.
type notification struct {
	Action, DataID, QueryDataID, QueryType, RequestID string
	Body                                              map[string]any
	VerifyErr                                         error
}

// receiver is a webhook endpoint on 127.0.0.1. It answers 200 to a notification whose
// signature verifies, 401 to one that does not, and 500 when told to fail, to make the
// sandbox retry; it keeps the notifications it did not fail.
type receiver struct {
	url string

	mu        sync.Mutex
	failFirst bool // answer 500 to the first delivery
	failAll   bool // answer 500 to every delivery
	failed    int
	got       []notification
	changed   chan struct{}
}

func newReceiver(t testing.TB, verify func(xSig, xReq, dataID string) error) *receiver {
	rc := &receiver{changed: make(chan struct{}, 1)}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n notification
		raw, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(raw, &n.Body)
		n.Action, _ = n.Body["action"].(string)
		if d, ok := n.Body["data"].(map[string]any); ok {
			n.DataID, _ = d["id"].(string)
		}
		n.QueryDataID, n.QueryType = r.URL.Query().Get("data.id"), r.URL.Query().Get("type")
		n.RequestID = r.Header.Get("x-request-id")
		n.VerifyErr = verify(r.Header.Get("x-signature"), n.RequestID, n.QueryDataID)
		rc.mu.Lock()
		fail := rc.failAll || rc.failFirst && rc.failed == 0
		if fail {
			rc.failed++
		} else {
			rc.got = append(rc.got, n)
		}
		rc.mu.Unlock()
		select {
		case rc.changed <- struct{}{}:
		default:
		}
		switch {
		case fail:
			http.Error(w, "try again", http.StatusInternalServerError)
		case n.VerifyErr != nil:
			http.Error(w, "bad signature", http.StatusUnauthorized)
		default:
			w.WriteHeader(http.StatusOK)
		}
	}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	rc.url = srv.URL
	return rc
}

// waitFor waits until cond holds over the notifications received, or fails.
func (rc *receiver) waitFor(t testing.TB, what string, cond func([]notification) bool) []notification {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		rc.mu.Lock()
		got := append([]notification(nil), rc.got...)
		rc.mu.Unlock()
		if cond(got) {
			return got
		}
		select {
		case <-rc.changed:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			t.Fatalf("timed out waiting for %s; got %s", what, describe(got))
		}
	}
}

func describe(ns []notification) string {
	s := fmt.Sprintf("%d notifications:", len(ns))
	for _, n := range ns {
		s += fmt.Sprintf(" [%s %s verify=%v]", n.Action, n.DataID, n.VerifyErr)
	}
	return s
}

func count(ns []notification, dataID, action string) int {
	n := 0
	for _, x := range ns {
		if x.DataID == dataID && x.Action == action {
			n++
		}
	}
	return n
}

// wantErr asserts that err wraps want.
func wantErr(t testing.TB, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: error = %v, want %v", what, err, want)
	}
}

// utc returns c with its times in UTC, to compare charges read at different offsets.
func utc(c Charge) Charge {
	c.CreateTime, c.ExpireTime, c.ApproveTime = c.CreateTime.UTC(), c.ExpireTime.UTC(), c.ApproveTime.UTC()
	return c
}
