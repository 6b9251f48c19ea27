package pix

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/types/known/timestamppb"

	pixv1 "healthcore/gen/healthcore/pix/v1"
	"healthcore/gen/healthcore/pix/v1/pixv1connect"
	"healthcore/platform/authn"
	"healthcore/platform/errs"
	"healthcore/platform/server"
	"healthcore/platform/testkit"
)

// servePix serves svc on the production server stack (every interceptor,
// authentication and validation included) on 127.0.0.1 and returns its URL.
func servePix(t *testing.T, svc *Service) string {
	t.Helper()
	return testkit.Serve(t, testkit.ServiceAuth("pix"), func(s *server.Server) {
		s.Handle(svc.Handler(s.HandlerOptions()...))
	})
}

// grpcClient calls the service over gRPC (h2c) as payments, its one caller.
func grpcClient(t *testing.T, url string) pixv1connect.PixServiceClient {
	return pixv1connect.NewPixServiceClient(testkit.HTTPClient(t), url,
		connect.WithGRPC(), connect.WithInterceptors(testkit.Caller("payments")))
}

func (e *env) createReq(amount int64, key string, expireIn time.Duration) *pixv1.CreateChargeRequest {
	return &pixv1.CreateChargeRequest{
		AmountCents: amount, Description: "Consulta de dermatologia", PayerEmail: "joao@example.com", PayerCpf: "52998224725",
		PayerFirstName: "João", PayerLastName: "Pereira", ExpireTime: timestamppb.New(e.clock.Now().Add(expireIn)),
		ExternalReference: "pay-" + key, IdempotencyKey: key,
	}
}

// wantReason fails the test unless err carries reason r, with r's code.
func wantReason(t *testing.T, what string, err error, r errs.Reason) {
	t.Helper()
	if !errs.Has(err, r) {
		t.Fatalf("%s: error = %v (reason %q), want %v", what, err, errs.ReasonOf(err), r)
	}
}

func violatedFields(err error) []string {
	ce := new(connect.Error)
	if !errors.As(err, &ce) {
		return nil
	}
	var fields []string
	for _, d := range ce.Details() {
		if v, derr := d.Value(); derr == nil {
			if br, ok := v.(*errdetails.BadRequest); ok {
				for _, fv := range br.GetFieldViolations() {
					fields = append(fields, fv.GetField())
				}
			}
		}
	}
	return fields
}

func TestService_CreateChargeOverGRPCAsPayments(t *testing.T) {
	e := newEnv(t)
	client := grpcClient(t, servePix(t, e.svc))
	ctx := context.Background()
	resp, err := client.CreateCharge(ctx, connect.NewRequest(e.createReq(25000, "svc-create-1", 24*time.Hour)))
	if err != nil {
		t.Fatalf("CreateCharge: %v", err)
	}
	c := resp.Msg.GetCharge()
	if c.GetStatus() != pixv1.ChargeStatus_CHARGE_STATUS_PENDING || c.GetAmountCents() != 25000 || c.GetQrCode() == "" ||
		c.GetQrCodeBase64() == "" || c.GetTicketUrl() == "" || c.GetExternalReference() != "pay-svc-create-1" {
		t.Fatalf("charge = %v, want pending 25000 with QR fields", c)
	}
	if c.GetApproveTime() != nil || !c.GetExpireTime().AsTime().Equal(e.clock.Now().Add(24*time.Hour)) {
		t.Errorf("approve_time %v expire_time %v", c.GetApproveTime(), c.GetExpireTime())
	}
	got, err := client.GetCharge(ctx, connect.NewRequest(&pixv1.GetChargeRequest{Id: c.GetId()}))
	if err != nil || got.Msg.GetCharge().GetId() != c.GetId() {
		t.Fatalf("GetCharge = %v, %v", got, err)
	}
	if err := e.sandbox.Approve(ctx, c.GetId()); err != nil {
		t.Fatal(err)
	}
	r, err := client.Refund(ctx, connect.NewRequest(&pixv1.RefundRequest{ChargeId: c.GetId(), AmountCents: 5000, IdempotencyKey: "svc-refund-1"}))
	if err != nil {
		t.Fatalf("Refund: %v", err)
	}
	if r.Msg.GetAmountCents() != 5000 || r.Msg.GetRefundId() == "" || r.Msg.GetCharge().GetRefundedCents() != 5000 ||
		r.Msg.GetCharge().GetStatus() != pixv1.ChargeStatus_CHARGE_STATUS_APPROVED || r.Msg.GetCharge().GetApproveTime() == nil {
		t.Errorf("refund = %v, want 5000 of an approved charge", r.Msg)
	}
}

func TestService_InvalidRequestsAreInvalidArgumentNamingTheField(t *testing.T) {
	e := newEnv(t)
	client := grpcClient(t, servePix(t, e.svc))
	for _, tc := range []struct {
		name  string
		req   *pixv1.CreateChargeRequest
		field string
	}{
		{"amount 0", e.createReq(0, "svc-bad-1", time.Hour), "amount_cents"},
		{"expiry 10 minutes ahead", e.createReq(1000, "svc-bad-2", 10*time.Minute), "expire_time"},
		{"expiry 31 days ahead", e.createReq(1000, "svc-bad-3", 31*24*time.Hour), "expire_time"},
		{"expiry in the past", e.createReq(1000, "svc-bad-4", -time.Hour), "expire_time"},
		{"bad CPF", func() *pixv1.CreateChargeRequest {
			r := e.createReq(1000, "svc-bad-5", time.Hour)
			r.PayerCpf = "123"
			return r
		}(), "payer_cpf"},
	} {
		_, err := client.CreateCharge(context.Background(), connect.NewRequest(tc.req))
		wantReason(t, tc.name, err, server.ReasonValidationFailed)
		if got := violatedFields(err); len(got) != 1 || got[0] != tc.field {
			t.Errorf("%s: field violations = %v, want [%s]", tc.name, got, tc.field)
		}
	}
	if n := e.countPayments("pay-svc-bad-2"); n != 0 {
		t.Errorf("an invalid request reached the provider")
	}
}

func TestService_ProviderRefusalsMapToReasons(t *testing.T) {
	e := newEnv(t)
	client := grpcClient(t, servePix(t, e.svc))
	ctx := context.Background()
	c := e.create(10000, "svc-map-1")
	e.approve(c.ID)
	_, err := client.CancelCharge(ctx, connect.NewRequest(&pixv1.CancelChargeRequest{Id: c.ID, IdempotencyKey: "svc-map-1-cancel"}))
	wantReason(t, "cancel approved", err, ReasonChargeNotCancellable)
	_, err = client.Refund(ctx, connect.NewRequest(&pixv1.RefundRequest{ChargeId: c.ID, AmountCents: 10001, IdempotencyKey: "svc-map-1-refund"}))
	wantReason(t, "refund over the amount", err, ReasonRefundExceedsAmount)
	pending := e.create(10000, "svc-map-2")
	_, err = client.Refund(ctx, connect.NewRequest(&pixv1.RefundRequest{ChargeId: pending.ID, IdempotencyKey: "svc-map-2-refund"}))
	wantReason(t, "refund unpaid", err, ReasonChargeNotRefundable)
	_, err = client.GetCharge(ctx, connect.NewRequest(&pixv1.GetChargeRequest{Id: "999999999"}))
	wantReason(t, "get unknown", err, ReasonChargeNotFound)
	req := e.createReq(3000, "svc-map-1", time.Hour) // the first charge's key, another request
	_, err = client.CreateCharge(ctx, connect.NewRequest(req))
	wantReason(t, "key reused", err, ReasonIdempotencyKeyReused)
}

func TestService_ProviderDownIsUnavailable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	d, err := NewMercadoPago(MercadoPagoConfig{AccessToken: "t", WebhookSecret: "s", BaseURL: "http://" + addr})
	if err != nil {
		t.Fatal(err)
	}
	client := grpcClient(t, servePix(t, New(d, nil)))
	_, err = client.GetCharge(context.Background(), connect.NewRequest(&pixv1.GetChargeRequest{Id: "1320000001"}))
	wantReason(t, "provider down", err, ReasonProviderUnavailable)
	if ce := new(connect.Error); errors.As(err, &ce) && (strings.Contains(ce.Message(), addr) || strings.Contains(ce.Message(), "127.0.0.1")) {
		t.Errorf("message %q reveals the provider's address", ce.Message())
	}
}

func TestService_VerifyNotification(t *testing.T) {
	e := newEnv(t)
	client := grpcClient(t, servePix(t, e.svc))
	ctx := context.Background()
	secret := []byte(testWebhookSecret)
	ok := SignNotification(secret, "1320000001", "req-1", e.clock.Now())
	resp, err := client.VerifyNotification(ctx, connect.NewRequest(&pixv1.VerifyNotificationRequest{XSignature: ok, XRequestId: "req-1", DataId: "1320000001"}))
	if err != nil || !resp.Msg.GetSignTime().AsTime().Equal(e.clock.Now().Truncate(time.Second)) {
		t.Fatalf("VerifyNotification = %v, %v; want the signing time", resp, err)
	}
	_, err = client.VerifyNotification(ctx, connect.NewRequest(&pixv1.VerifyNotificationRequest{XSignature: ok, XRequestId: "req-2", DataId: "1320000001"}))
	wantReason(t, "other request id", err, ReasonSignatureInvalid)
	old := SignNotification(secret, "1320000001", "req-1", e.clock.Now().Add(-time.Hour))
	_, err = client.VerifyNotification(ctx, connect.NewRequest(&pixv1.VerifyNotificationRequest{XSignature: old, XRequestId: "req-1", DataId: "1320000001"}))
	wantReason(t, "an hour old", err, ReasonSignatureStale)
}

func TestService_CallsNotByPaymentsAreRefused(t *testing.T) {
	e := newEnv(t)
	url := servePix(t, e.svc) // first, so the client's connections close before the server stops
	anonymous := pixv1connect.NewPixServiceClient(testkit.HTTPClient(t), url, connect.WithGRPC())
	_, err := anonymous.CreateCharge(context.Background(), connect.NewRequest(e.createReq(1000, "svc-anon-1", time.Hour)))
	wantReason(t, "no token", err, authn.ReasonTokenMissing)
	scheduling := pixv1connect.NewPixServiceClient(testkit.HTTPClient(t), url, connect.WithGRPC(),
		connect.WithInterceptors(testkit.Caller("scheduling")))
	_, err = scheduling.CreateCharge(context.Background(), connect.NewRequest(e.createReq(1000, "svc-sched-1", time.Hour)))
	wantReason(t, "a service other than payments", err, authn.ReasonCallerNotAllowed)
}
