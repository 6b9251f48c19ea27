package gateway_test

import (
	"net/http"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"healthcore/gateway"
	paymentsv1 "healthcore/gen/healthcore/payments/v1"
	"healthcore/platform/testkit"
)

// The webhook route against a payments address nobody listens on: what the route
// decides itself, and the 503 that makes the provider retry. Its journey through a
// real payments service is in services/payments' tests.
func TestMercadoPagoWebhook_RefusesBadRequestsAndAsksForARetryWhenPaymentsIsDown(t *testing.T) {
	conn, err := grpc.NewClient(closedAddr(t), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	e := serve(t, gateway.Options{Extra: map[string]http.Handler{
		"POST " + gateway.MercadoPagoWebhookPath: gateway.MercadoPagoWebhook(paymentsv1.NewPaymentsServiceClient(conn), testkit.Logger(t)),
	}})
	url := e.url + gateway.MercadoPagoWebhookPath
	signed := http.Header{"X-Signature": {"ts=1700000000,v1=00"}, "X-Request-Id": {"0b1c2d3e-aaaa-bbbb-cccc-1234567890ab"}}

	if r := do(t, http.MethodPost, url+"?type=payment", strings.NewReader(`{"type":"payment"}`), signed); r.status != http.StatusBadRequest {
		t.Errorf("no data.id: %d %s, want 400", r.status, r.body)
	}
	// A signature that cannot be checked is 401 SIGNATURE_INVALID, never a validation
	// error: the provider's convention for any notification it cannot authenticate.
	for name, h := range map[string]http.Header{
		"no x-signature":         {"X-Request-Id": signed["X-Request-Id"]},
		"over-long x-request-id": {"X-Signature": signed["X-Signature"], "X-Request-Id": {strings.Repeat("r", 129)}},
		"over-long x-signature":  {"X-Signature": {"ts=1,v1=" + strings.Repeat("0", 600)}},
	} {
		r := do(t, http.MethodPost, url+"?data.id=1320000001&type=payment", strings.NewReader(`{}`), h)
		if r.status != http.StatusUnauthorized {
			t.Errorf("%s: %d %s, want 401", name, r.status, r.body)
			continue
		}
		if got := parseError(t, r); got.reason != gateway.ReasonSignatureInvalid.Name() {
			t.Errorf("%s: reason %q, want %s", name, got.reason, gateway.ReasonSignatureInvalid)
		}
	}
	big := `{"data":{"id":"1"},"pad":"` + strings.Repeat("x", 70<<10) + `"}`
	if r := do(t, http.MethodPost, url+"?data.id=1&type=payment", strings.NewReader(big), signed); r.status != http.StatusRequestEntityTooLarge {
		t.Errorf("70 KiB body: %d, want 413", r.status)
	}
	r := do(t, http.MethodPost, url+"?data.id=1320000001&type=payment", strings.NewReader(`{}`), signed)
	if r.status != http.StatusServiceUnavailable {
		t.Fatalf("payments down: %d %s, want 503", r.status, r.body)
	}
	if got := parseError(t, r); got.reason != gateway.ReasonServiceUnavailable.Name() || strings.Contains(string(r.body), "127.0.0.1") {
		t.Errorf("503 body %s: want SERVICE_UNAVAILABLE and no address", r.body)
	}
	if r := do(t, http.MethodGet, url, nil, nil); r.status != http.StatusMethodNotAllowed || r.header.Get("Allow") != "POST" {
		t.Errorf("GET: %d Allow %q, want 405 and POST", r.status, r.header.Get("Allow"))
	}
}
