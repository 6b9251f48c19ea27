package pix

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// recordingTransport remembers every request it carries.
type recordingTransport struct {
	mu   sync.Mutex
	reqs []*http.Request
	body map[*http.Request]string
}

func (rt *recordingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	var b []byte
	if r.Body != nil {
		b, _ = io.ReadAll(r.Body)
		r.Body.Close()
		r.Body = io.NopCloser(strings.NewReader(string(b)))
	}
	rt.mu.Lock()
	rt.reqs = append(rt.reqs, r)
	if rt.body == nil {
		rt.body = map[*http.Request]string{}
	}
	rt.body[r] = string(b)
	rt.mu.Unlock()
	return http.DefaultTransport.RoundTrip(r)
}

func TestMercadoPago_EveryCallGoesThroughOurRequesterToTheBaseURL(t *testing.T) {
	e := newEnv(t)
	rt := &recordingTransport{}
	d, err := NewMercadoPago(MercadoPagoConfig{
		AccessToken: testAccessToken, WebhookSecret: testWebhookSecret, BaseURL: e.sandbox.URL(), Transport: rt,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c, err := d.CreateCharge(ctx, e.chargeReq(1999, "requester-create"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.CancelCharge(ctx, c.ID, "requester-cancel"); err != nil {
		t.Fatal(err)
	}
	c2, _ := d.CreateCharge(ctx, e.chargeReq(2000, "requester-create-2"))
	e.approve(c2.ID)
	if _, err := d.Refund(ctx, c2.ID, 500, "requester-refund"); err != nil {
		t.Fatal(err)
	}

	base, _ := url.Parse(e.sandbox.URL())
	wantKeys := map[string]string{
		"POST /v1/payments": "", "PUT /v1/payments/" + c.ID: "requester-cancel", "POST /v1/payments/" + c2.ID + "/refunds": "requester-refund",
	}
	var writes int
	for _, r := range rt.reqs {
		if r.URL.Scheme != "http" || r.URL.Host != base.Host || r.Host != base.Host {
			t.Errorf("%s %s went to host %q (Host header %q), want the sandbox %s", r.Method, r.URL.Path, r.URL.Host, r.Host, base.Host)
		}
		if ua := r.Header.Get("User-Agent"); !strings.HasPrefix(ua, "MercadoPago Go SDK/") {
			t.Errorf("%s %s: User-Agent %q: not built by the SDK", r.Method, r.URL.Path, ua)
		}
		if r.Header.Get("Authorization") != "Bearer "+testAccessToken {
			t.Errorf("%s %s: no bearer token", r.Method, r.URL.Path)
		}
		if r.Method == http.MethodGet {
			continue
		}
		writes++
		key := r.Header.Get("X-Idempotency-Key")
		if want, ok := wantKeys[r.Method+" "+r.URL.Path]; ok && want != "" && key != want {
			t.Errorf("%s %s: X-Idempotency-Key %q, want ours %q (not the SDK's random one)", r.Method, r.URL.Path, key, want)
		}
		if r.URL.Path == "/v1/payments" && key != "requester-create" && key != "requester-create-2" {
			t.Errorf("create sent X-Idempotency-Key %q, want ours", key)
		}
	}
	if writes != 4 {
		t.Errorf("%d writes went through the requester, want 4 (two creates, a cancel, a refund)", writes)
	}
}

func TestMercadoPago_ExpirationAndAmountGoInTheDocumentedFormat(t *testing.T) {
	e := newEnv(t)
	rt := &recordingTransport{}
	d, err := NewMercadoPago(MercadoPagoConfig{
		AccessToken: testAccessToken, WebhookSecret: testWebhookSecret, BaseURL: e.sandbox.URL(), Transport: rt,
		NotificationURL: e.hooks.url + "/webhooks/mercadopago",
	})
	if err != nil {
		t.Fatal(err)
	}
	req := e.chargeReq(1999, "format-0001")
	req.ExpireTime = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC) // whole seconds: RFC 3339 would drop the .000
	e.clock.Advance(time.Until(req.ExpireTime.Add(-24 * time.Hour)))
	if _, err := d.CreateCharge(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	var body map[string]json.RawMessage
	if err := json.Unmarshal([]byte(rt.body[rt.reqs[0]]), &body); err != nil {
		t.Fatal(err)
	}
	if got, want := string(body["date_of_expiration"]), `"2030-01-02T00:04:05.000-03:00"`; got != want {
		t.Errorf("date_of_expiration = %s, want %s (yyyy-MM-dd'T'HH:mm:ss.SSSz)", got, want)
	}
	if got := string(body["transaction_amount"]); got != "19.99" {
		t.Errorf("transaction_amount = %s, want 19.99", got)
	}
	for k, want := range map[string]string{"payment_method_id": `"pix"`, "notification_url": `"` + e.hooks.url + `/webhooks/mercadopago"`,
		"external_reference": `"pay-format-0001"`} {
		if string(body[k]) != want {
			t.Errorf("%s = %s, want %s", k, body[k], want)
		}
	}
	if !regexp.MustCompile(`"identification":\{"type":"CPF","number":"52998224725"\}`).Match(body["payer"]) {
		t.Errorf("payer = %s, want the CPF identification", body["payer"])
	}
}

func TestMercadoPago_WriteWithoutAnIdempotencyKeyNeverLeaves(t *testing.T) {
	rt := &recordingTransport{}
	d, err := NewMercadoPago(MercadoPagoConfig{AccessToken: "t", WebhookSecret: "s", BaseURL: "http://127.0.0.1:9", Transport: rt})
	if err != nil {
		t.Fatal(err)
	}
	_, err = d.payments.Cancel(context.Background(), 1320000001) // no key in the context
	if err == nil || !strings.Contains(err.Error(), "without an idempotency key") {
		t.Errorf("error = %v, want a refusal", err)
	}
	if len(rt.reqs) != 0 {
		t.Errorf("%d requests left without a key", len(rt.reqs))
	}
}

// stubProvider serves answer on 127.0.0.1 for every request.
func stubProvider(t *testing.T, answer http.HandlerFunc) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(answer)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestMercadoPago_TimeoutIsTheRequestersAndMeansUnavailable(t *testing.T) {
	release := make(chan struct{})
	base := stubProvider(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	d, err := NewMercadoPago(MercadoPagoConfig{AccessToken: "t", WebhookSecret: "s", BaseURL: base, Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = d.GetCharge(context.Background(), "1320000001")
	wantErr(t, "GetCharge against a provider that does not answer", err, ErrUnavailable)
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("took %s, want about the 200ms timeout (no SDK retries)", took)
	}
}

func TestMercadoPago_ProviderAnswersMapToDriverErrors(t *testing.T) {
	for _, tc := range []struct {
		status int
		body   string
		call   string
		want   error
	}{
		{500, `{"message":"internal_error","error":"internal_error","status":500,"cause":[]}`, "get", ErrUnavailable},
		{503, `upstream down`, "create", ErrUnavailable},
		{429, `{"message":"too many requests","error":"too_many_requests","status":429}`, "get", ErrUnavailable},
		{404, `{"message":"Payment not found","error":"not_found","status":404,"cause":[{"code":2000,"description":"Payment not found"}]}`, "get", ErrChargeNotFound},
		{409, `{"message":"key used","error":"idempotency_key_already_used","status":409}`, "create", ErrIdempotencyKeyReused},
		{400, `{"message":"Invalid transaction_amount","error":"bad_request","status":400,"cause":[{"code":4037}]}`, "create", ErrRejected},
		{400, `{"message":"The action requested is not valid for the current payment state","error":"bad_request","status":400,"cause":[{"code":2063}]}`, "cancel", ErrNotCancellable},
	} {
		base := stubProvider(t, func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(tc.status)
			_, _ = io.WriteString(w, tc.body)
		})
		d, err := NewMercadoPago(MercadoPagoConfig{AccessToken: "t", WebhookSecret: "s", BaseURL: base})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		switch tc.call {
		case "get":
			_, err = d.GetCharge(ctx, "1320000001")
		case "create":
			_, err = d.CreateCharge(ctx, ChargeRequest{AmountCents: 100, PayerEmail: "a@b.co", ExpireTime: time.Now().Add(time.Hour), IdempotencyKey: "k-12345678"})
		case "cancel":
			_, err = d.CancelCharge(ctx, "1320000001", "k-12345678")
		}
		wantErr(t, tc.call+" answered "+http.StatusText(tc.status), err, tc.want)
	}
}

func TestMercadoPago_RefusedTokenIsNoCallersError(t *testing.T) {
	base := stubProvider(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, `{"message":"invalid access token","error":"unauthorized","status":401}`)
	})
	d, err := NewMercadoPago(MercadoPagoConfig{AccessToken: "t", WebhookSecret: "s", BaseURL: base})
	if err != nil {
		t.Fatal(err)
	}
	_, err = d.GetCharge(context.Background(), "1320000001")
	for _, sentinel := range []error{ErrUnavailable, ErrRejected, ErrChargeNotFound} {
		if errors.Is(err, sentinel) {
			t.Fatalf("error %v is %v; want an unexpected (internal) error", err, sentinel)
		}
	}
	if err == nil || !strings.Contains(err.Error(), "access token was refused") {
		t.Errorf("error = %v", err)
	}
}

func TestMercadoPago_UnreachableProviderIsUnavailable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	ln.Close()
	d, err := NewMercadoPago(MercadoPagoConfig{AccessToken: "t", WebhookSecret: "s", BaseURL: base})
	if err != nil {
		t.Fatal(err)
	}
	_, err = d.Refund(context.Background(), "1320000001", 0, "k-12345678")
	wantErr(t, "Refund with the provider down", err, ErrUnavailable)
}

func TestMercadoPago_NeedsCredentialsAndAGoodBaseURL(t *testing.T) {
	for _, c := range []MercadoPagoConfig{
		{WebhookSecret: "s"}, {AccessToken: "t"},
		{AccessToken: "t", WebhookSecret: "s", BaseURL: "api.mercadopago.com"},
		{AccessToken: "t", WebhookSecret: "s", BaseURL: "ftp://api.mercadopago.com"},
		{AccessToken: "t", WebhookSecret: "s", BaseURL: "https://api.mercadopago.com?x=1"},
	} {
		if _, err := NewMercadoPago(c); err == nil {
			t.Errorf("NewMercadoPago(%+v) succeeded", c)
		}
	}
}

func TestRequester_KeepsABaseURLsPathPrefix(t *testing.T) {
	var got string
	base := stubProvider(t, func(w http.ResponseWriter, r *http.Request) {
		got = r.URL.Path
		_, _ = io.WriteString(w, `{"id":1320000001,"status":"pending","transaction_amount":10}`)
	})
	d, err := NewMercadoPago(MercadoPagoConfig{AccessToken: "t", WebhookSecret: "s", BaseURL: base + "/mp/"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.GetCharge(context.Background(), "1320000001"); err != nil {
		t.Fatal(err)
	}
	if got != "/mp/v1/payments/1320000001" {
		t.Errorf("path = %q, want /mp/v1/payments/1320000001", got)
	}
}
