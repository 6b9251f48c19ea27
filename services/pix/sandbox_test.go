package pix

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"healthcore/platform/pgtest"
	"healthcore/platform/testkit"
	"healthcore/services/pix/pixsandbox"
)

// A client's spare connection that never sent a request (http.Transport dials one
// when requests race for connections) does not make the sandbox's stop fail: net/http
// counts such a connection idle, and closes it, only once it is 5 s old.
func TestSandbox_StopsCleanlyWithASpareConnectionOpen(t *testing.T) {
	t.Parallel()
	db := pgtest.Pool(t, pixsandbox.Schema.Name, pixsandbox.Schema)
	clock := testkit.NewClock(time.Now().UTC().Truncate(time.Millisecond))
	sb, stop := runSandbox(t, db, sandboxOptions(t, clock))
	conn, err := net.Dial("tcp", strings.TrimPrefix(sb.URL(), "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	stop() // fails the test when Run returns an error
}

func TestSandbox_AtMostTwentyPartialRefunds(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c := e.create(10000, "partials-1")
	e.approve(c.ID)
	for i := range 20 { // Mercado Pago's limit of partial refunds
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

func TestSandbox_StateAndQueuedWebhooksSurviveARestart(t *testing.T) {
	db := pgtest.Pool(t, pixsandbox.Schema.Name, pixsandbox.Schema)
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

func newTestDriver(t *testing.T, sb *pixsandbox.Sandbox) *MercadoPago {
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
	db := pgtest.Pool(t, pixsandbox.Schema.Name, pixsandbox.Schema)
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
	hooks.waitFor(t, "ten created", func(ns []notification) bool { return len(ns) >= 10 })
	time.Sleep(200 * time.Millisecond) // let a duplicate, if any, arrive
	got := hooks.waitFor(t, "", func([]notification) bool { return true })
	for _, id := range ids {
		if n := count(got, id, "payment.created"); n != 1 {
			t.Errorf("payment %s: %d payment.created, want exactly 1", id, n)
		}
	}
}

func TestSandbox_GivesUpAfterMaxAttempts(t *testing.T) {
	db := pgtest.Pool(t, pixsandbox.Schema.Name, pixsandbox.Schema)
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
