package pix

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"healthcore/platform/pgtest"
	"healthcore/platform/testkit"
)

// call sends a raw API request to the sandbox and returns the status and JSON body.
func call(t *testing.T, method, url, token, key, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if key != "" {
		req.Header.Set("X-Idempotency-Key", key)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out
}

func pixBody(amount, expires string) string {
	return `{"transaction_amount":` + amount + `,"payment_method_id":"pix","description":"Consulta","external_reference":"raw",` +
		`"date_of_expiration":"` + expires + `","payer":{"email":"ana@example.com","identification":{"type":"CPF","number":"52998224725"}}}`
}

func TestSandbox_SpeaksMercadoPagosRulesOverHTTP(t *testing.T) {
	e := newEnv(t)
	u := e.sandbox.URL() + "/v1/payments"
	expires := e.clock.Now().Add(2 * time.Hour).In(brasilia).Format(expirationLayout)
	body := pixBody("19.99", expires)

	if status, out := call(t, "POST", u, "", "raw-1", body); status != 401 || out["error"] != "unauthorized" {
		t.Errorf("no token: %d %v, want 401 unauthorized", status, out)
	}
	if status, _ := call(t, "POST", u, "TEST-wrong", "raw-1", body); status != 401 {
		t.Errorf("wrong token: %d, want 401", status)
	}
	if status, out := call(t, "POST", u, testAccessToken, "", body); status != 400 || !strings.Contains(fmt.Sprint(out["message"]), "X-Idempotency-Key") {
		t.Errorf("no idempotency key: %d %v, want 400 naming the header", status, out)
	}
	status, first := call(t, "POST", u, testAccessToken, "raw-1", body)
	if status != 201 || first["status"] != "pending" || first["transaction_amount"] != 19.99 {
		t.Fatalf("create: %d %v", status, first)
	}
	// Same key and body (whitespace aside): the same payment. Other body: 409.
	if status, again := call(t, "POST", u, testAccessToken, "raw-1", strings.ReplaceAll(body, ",", ", ")); status != 201 || again["id"] != first["id"] {
		t.Errorf("replay: %d id %v, want 201 and id %v", status, again["id"], first["id"])
	}
	if status, out := call(t, "POST", u, testAccessToken, "raw-1", pixBody("20.00", expires)); status != 409 || out["error"] != "idempotency_key_already_used" {
		t.Errorf("same key, other body: %d %v, want 409 idempotency_key_already_used", status, out)
	}
	for name, bad := range map[string]string{
		"RFC 3339 without milliseconds": pixBody("19.99", e.clock.Now().Add(2*time.Hour).UTC().Format(time.RFC3339)),
		"expiry in 10 minutes":          pixBody("19.99", e.clock.Now().Add(10*time.Minute).In(brasilia).Format(expirationLayout)),
		"fraction of a centavo":         pixBody("19.999", expires),
		"card payment":                  strings.Replace(body, `"pix"`, `"visa"`, 1),
	} {
		if status, out := call(t, "POST", u, testAccessToken, "raw-"+name, bad); status != 400 || out["error"] != "bad_request" {
			t.Errorf("%s: %d %v, want 400 bad_request", name, status, out)
		}
	}
	id := fmt.Sprint(int64(first["id"].(float64)))
	if status, out := call(t, "PUT", u+"/"+id, testAccessToken, "", `{"status":"approved"}`); status != 400 {
		t.Errorf("PUT status approved: %d %v, want 400 (only cancelling)", status, out)
	}
	if status, out := call(t, "POST", u+"/"+id+"/refunds", testAccessToken, "raw-refund", ""); status != 400 || out["error"] != "bad_request" {
		t.Errorf("refund of a pending payment: %d %v, want 400", status, out)
	}
	if status, out := call(t, "GET", u+"/77", testAccessToken, "", ""); status != 404 || out["message"] != "Payment not found" {
		t.Errorf("unknown payment: %d %v, want 404", status, out)
	}
}

func TestSandbox_AtMostTwentyPartialRefunds(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c := e.create(10000, "partials-1")
	e.approve(c.ID)
	for i := range maxPartialRefunds {
		if _, err := e.driver.Refund(ctx, c.ID, 100, fmt.Sprintf("partials-1-%02d", i)); err != nil {
			t.Fatalf("partial refund %d: %v", i+1, err)
		}
	}
	_, err := e.driver.Refund(ctx, c.ID, 100, "partials-1-21")
	wantErr(t, "21st partial refund", err, ErrNotRefundable)
	r, err := e.driver.Refund(ctx, c.ID, 0, "partials-1-rest")
	if err != nil || r.AmountCents != 8000 || r.Charge.Status != StatusRefunded {
		t.Errorf("full refund of the rest = %+v, %v; want 8000 and refunded", r, err)
	}
}

func TestSandbox_DevControlsAnswerLikeTheAPI(t *testing.T) {
	e := newEnv(t)
	c := e.create(1000, "controls-1")
	if err := e.sandbox.Reject(context.Background(), c.ID); err != nil {
		t.Fatal(err)
	}
	if got := e.get(c.ID); got.Status != StatusRejected || got.StatusDetail != "rejected_by_bank" {
		t.Errorf("after Reject: %s/%s", got.Status, got.StatusDetail)
	}
	if status, _ := call(t, "POST", e.sandbox.URL()+"/sandbox/payments/"+c.ID+"/approve", "", "", ""); status != http.StatusConflict {
		t.Errorf("approving a rejected payment: %d, want 409", status)
	}
	if status, _ := call(t, "POST", e.sandbox.URL()+"/sandbox/payments/42/approve", "", "", ""); status != http.StatusNotFound {
		t.Errorf("approving an unknown payment: %d, want 404", status)
	}
	wantErr(t, "Approve unknown", e.sandbox.Approve(context.Background(), "42"), ErrChargeNotFound)
}

func TestSandbox_StateAndQueuedWebhooksSurviveARestart(t *testing.T) {
	db := pgtest.Pool(t, SandboxSchema.Name, SandboxSchema)
	clock := testkit.NewClock(time.Now().UTC().Truncate(time.Millisecond))
	hooks := newReceiver(t, func(xSig, xReq, dataID string) error {
		_, err := VerifySignature([]byte(testWebhookSecret), time.Minute, xSig, xReq, dataID, clock.Now())
		return err
	})
	hooks.failAll = true // the gateway is down while the first sandbox runs
	opts := sandboxOptions(t, clock)
	opts.NotificationURL = hooks.url + "/webhooks/mercadopago"
	// Attempts every 200 ms at most: with the default ten, a slow machine could give the
	// queued webhook up before the restart this test is about.
	opts.MaxAttempts = 200
	first, stop := runSandbox(t, db, opts)
	e := &env{t: t, db: db, clock: clock}
	e.driver = newTestDriver(t, first)
	c := e.create(1234, "restart-1")
	waitRow(t, db, `SELECT true FROM webhook_deliveries WHERE attempts >= 1 AND delivered_at IS NULL`)
	stop()

	hooks.mu.Lock()
	hooks.failAll = false
	hooks.mu.Unlock()
	second := startSandbox(t, db, opts)
	e.driver = newTestDriver(t, second)
	if got := e.get(c.ID); utc(got) != utc(c) {
		t.Fatalf("after a restart the sandbox reads %+v, want %+v", got, c)
	}
	if err := second.Approve(context.Background(), c.ID); err != nil {
		t.Fatal(err)
	}
	hooks.waitFor(t, "the queued payment.created and the new payment.updated", func(ns []notification) bool {
		return count(ns, c.ID, "payment.created") == 1 && count(ns, c.ID, "payment.updated") == 1
	})
}

func newTestDriver(t *testing.T, sb *Sandbox) *MercadoPago {
	t.Helper()
	d, err := NewMercadoPago(MercadoPagoConfig{AccessToken: testAccessToken, WebhookSecret: testWebhookSecret, BaseURL: sb.URL()})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// waitRow waits until query returns a row.
func waitRow(t *testing.T, db *pgxpool.Pool, query string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		var ok bool
		if db.QueryRow(context.Background(), query).Scan(&ok) == nil {
			return
		}
	}
	t.Fatalf("no row for %s", query)
}

func TestSandbox_TwoProcessesDeliverEachWebhookOnce(t *testing.T) {
	db := pgtest.Pool(t, SandboxSchema.Name, SandboxSchema)
	clock := testkit.NewClock(time.Now().UTC().Truncate(time.Millisecond))
	hooks := newReceiver(t, func(xSig, xReq, dataID string) error {
		_, err := VerifySignature([]byte(testWebhookSecret), time.Minute, xSig, xReq, dataID, clock.Now())
		return err
	})
	opts := sandboxOptions(t, clock)
	opts.NotificationURL = hooks.url
	a, b := startSandbox(t, db, opts), startSandbox(t, db, opts)
	e := &env{t: t, db: db, clock: clock}
	var ids []string
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Go(func() {
			sb := a
			if i%2 == 1 {
				sb = b
			}
			c, err := newTestDriver(t, sb).CreateCharge(context.Background(), e.chargeReq(100+int64(i), fmt.Sprintf("two-%02d", i)))
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			ids = append(ids, c.ID)
			mu.Unlock()
		})
	}
	wg.Wait()
	got := hooks.waitFor(t, "ten created", func(ns []notification) bool { return len(ns) >= 10 })
	time.Sleep(200 * time.Millisecond) // let a duplicate, if any, arrive
	got = hooks.waitFor(t, "", func([]notification) bool { return true })
	for _, id := range ids {
		if n := count(got, id, "payment.created"); n != 1 {
			t.Errorf("payment %s: %d payment.created, want exactly 1", id, n)
		}
	}
}

func TestSandbox_GivesUpAfterMaxAttempts(t *testing.T) {
	db := pgtest.Pool(t, SandboxSchema.Name, SandboxSchema)
	clock := testkit.NewClock(time.Now().UTC().Truncate(time.Millisecond))
	var mu sync.Mutex
	attempts := 0
	rcv := stubProvider(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		attempts++
		mu.Unlock()
		w.WriteHeader(http.StatusAccepted) // not 200 or 201: Mercado Pago retries
	})
	opts := sandboxOptions(t, clock)
	opts.NotificationURL, opts.MaxAttempts = rcv, 3
	d := newTestDriver(t, startSandbox(t, db, opts))
	e := &env{t: t, db: db, clock: clock}
	if _, err := d.CreateCharge(context.Background(), e.chargeReq(500, "giveup-1")); err != nil {
		t.Fatal(err)
	}
	var tries int
	var lastErr string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		err := db.QueryRow(context.Background(), `SELECT attempts, coalesce(last_error, '') FROM webhook_deliveries WHERE failed_at IS NOT NULL`).Scan(&tries, &lastErr)
		if err == nil {
			break
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if tries != 3 || attempts != 3 || !strings.Contains(lastErr, "202") {
		t.Errorf("given up after %d attempts (%d received, last error %q), want 3", tries, attempts, lastErr)
	}
}

func TestSandbox_BackoffDoublesUpToTheMaximum(t *testing.T) {
	s := &Sandbox{opts: SandboxOptions{RetryBase: time.Second, RetryMax: 10 * time.Second}}
	for attempt, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 4: 8 * time.Second, 5: 10 * time.Second, 40: 10 * time.Second} {
		if got := s.backoff(attempt); got != want {
			t.Errorf("backoff(%d) = %s, want %s", attempt, got, want)
		}
	}
}
