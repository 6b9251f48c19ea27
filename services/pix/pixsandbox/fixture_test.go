package pixsandbox

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"healthcore/platform/pgtest"
	"healthcore/platform/testkit"
)

const (
	testAccessToken   = "TEST-pixsandbox-token"
	testWebhookSecret = "pixsandbox-webhook-secret"
)

// env is a sandbox on 127.0.0.1 over a fresh database, on a clock of its own, spoken
// to in raw HTTP as a client of Mercado Pago's API would.
type env struct {
	t     *testing.T
	db    *pgxpool.Pool
	clock *testkit.Clock
	sb    *Sandbox
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, db: pgtest.Pool(t, Schema.Name, Schema), clock: testkit.NewClock(time.Now().UTC().Truncate(time.Millisecond))}
	sb, err := New(e.db, testkit.Listen(t), Options{
		AccessToken: testAccessToken, WebhookSecret: testWebhookSecret, Logger: testkit.Logger(t), Now: e.clock.Now,
		PollInterval: 20 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sb.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("sandbox Run: %v", err)
		}
	})
	e.sb = sb
	return e
}

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

// create makes a payment of amount reais expiring in two hours and returns its id.
func (e *env) create(amount, key string) string {
	e.t.Helper()
	body := pixBody(amount, apiTime(e.clock.Now().Add(2*time.Hour)))
	status, out := call(e.t, "POST", e.sb.URL()+"/v1/payments", testAccessToken, key, body)
	if status != http.StatusCreated {
		e.t.Fatalf("create %s: %d %v", amount, status, out)
	}
	return fmt.Sprint(int64(out["id"].(float64)))
}
