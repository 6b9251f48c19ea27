package payments

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	paymentsv1 "healthcore/gen/healthcore/payments/v1"
	pixv1 "healthcore/gen/healthcore/pix/v1"
	"healthcore/gen/healthcore/pix/v1/pixv1connect"
	"healthcore/platform/errs"
	"healthcore/platform/testkit"
)

var (
	pending  = paymentsv1.PaymentStatus_PAYMENT_STATUS_PENDING
	paid     = paymentsv1.PaymentStatus_PAYMENT_STATUS_PAID
	failed   = paymentsv1.PaymentStatus_PAYMENT_STATUS_FAILED
	partly   = paymentsv1.PaymentStatus_PAYMENT_STATUS_PARTIALLY_REFUNDED
	refunded = paymentsv1.PaymentStatus_PAYMENT_STATUS_REFUNDED
)

func TestWebhook_SandboxApprovalThroughTheGatewayPaysAndTellsScheduling(t *testing.T) {
	f := newFixture(t, false) // the sandbox posts to the gateway, as in development
	b := f.newBooking(25000)
	p := f.start(b)
	f.approve(p.GetProviderPaymentId())
	got := f.waitStatus(b, paid)
	if got.GetPaidTime() == nil {
		t.Errorf("paid payment has no paid time: %v", got)
	}
	f.waitAppointment(b, "AWAITING_DOCTOR")
	f.idle()
	if n := f.events(p.GetId(), statusPaid); n != 1 {
		t.Errorf("%d PAID events, want 1", n)
	}
	if n := f.transitions(b, "paid"); n != 1 {
		t.Errorf("scheduling recorded %d payments, want 1", n)
	}
}

func TestWebhook_ForgedSignatureIsRefusedAndChangesNothing(t *testing.T) {
	f := newFixture(t, true)
	b := f.newBooking(25000)
	p := f.start(b)
	id := p.GetProviderPaymentId()
	f.approve(id) // the money is there, but only a genuine notification may say so
	f.idle()

	forged := signed(id, uuid.NewString(), f.provClock.Now())
	forged.header.Set("X-Signature", strings.Replace(forged.header.Get("X-Signature"), "v1=", "v1=00", 1)[:len(forged.header.Get("X-Signature"))])
	code, body := f.post(forged)
	wantRefusal(t, code, body, 401, ReasonSignatureInvalid)
	other := signed(id, uuid.NewString(), f.provClock.Now())
	other.query = "data.id=999999&type=payment" // signed for another charge
	if code, body := f.post(other); code != 401 {
		t.Fatalf("notification with a swapped data.id: %d %s, want 401", code, body)
	}
	if n := f.jobsOf(syncChargeArgs{}.Kind(), "available", "running", "retryable", "scheduled", "completed"); n != 0 {
		t.Fatalf("%d charge syncs queued by refused notifications, want 0", n)
	}
	if got := f.payment(b); got.GetStatus() != pending {
		t.Fatalf("payment %v after forged notifications, want PENDING", got.GetStatus())
	}
	// The genuine one, as the sandbox sent it, goes through.
	if code, body := f.post(f.hooks.waitFor(t, id, "payment.updated")); code != 200 {
		t.Fatalf("genuine notification: %d %s", code, body)
	}
	f.waitStatus(b, paid)
}

func TestWebhook_StaleSignatureIsRefused(t *testing.T) {
	f := newFixture(t, true)
	b := f.newBooking(25000)
	p := f.start(b)
	f.approve(p.GetProviderPaymentId())
	code, body := f.post(signed(p.GetProviderPaymentId(), uuid.NewString(), f.provClock.Now().Add(-10*time.Minute)))
	wantRefusal(t, code, body, 401, ReasonSignatureStale)
	// A genuine notification replayed past the tolerance is stale too.
	genuine := f.hooks.waitFor(t, p.GetProviderPaymentId(), "payment.updated")
	f.provClock.Advance(6 * time.Minute)
	if code, body := f.post(genuine); code != 401 {
		t.Fatalf("replay after 6 minutes: %d %s, want 401", code, body)
	}
	if got := f.payment(b); got.GetStatus() != pending {
		t.Fatalf("payment %v, want PENDING", got.GetStatus())
	}
}

func TestWebhook_PixRefusingPaymentsCredentialIsUnavailableNotASignatureFault(t *testing.T) {
	f := newFixture(t, true)
	b := f.newBooking(25000)
	p := f.start(b)
	deps := f.deps
	deps.Pix = pixv1connect.NewPixServiceClient(testkit.HTTPClient(t), f.pixURL) // no service token
	svc, err := New(deps, f.cfg)
	if err != nil {
		t.Fatal(err)
	}
	w := signed(p.GetProviderPaymentId(), uuid.NewString(), f.provClock.Now())
	err = svc.receiveNotification(context.Background(), &paymentsv1.ReceiveNotificationRequest{
		XSignature: w.header.Get("X-Signature"), XRequestId: w.header.Get("X-Request-Id"),
		DataId: p.GetProviderPaymentId(), Type: "payment",
	})
	// Answered 503, the provider sends the notification again once the credential is fixed.
	if !errs.Has(err, ReasonProviderUnavailable) {
		t.Fatalf("pix refusing payments' credential: %v, want %v", err, ReasonProviderUnavailable)
	}
}

func TestWebhook_DuplicatesAndReplaysMakeOneTransitionAndOneEvent(t *testing.T) {
	f := newFixture(t, true)
	b := f.newBooking(25000)
	p := f.start(b)
	id := p.GetProviderPaymentId()
	f.approve(id)
	genuine := f.hooks.waitFor(t, id, "payment.updated")
	for range 5 {
		if code, body := f.post(genuine); code != 200 {
			t.Fatalf("duplicate: %d %s", code, body)
		}
	}
	f.waitStatus(b, paid)
	f.waitAppointment(b, "AWAITING_DOCTOR")
	f.idle()
	// Replayed later (still within the signature's tolerance), and freshly signed again.
	f.post(genuine)
	f.post(signed(id, uuid.NewString(), f.provClock.Now()))
	f.idle()
	if n := f.events(p.GetId(), statusPaid); n != 1 {
		t.Errorf("%d PAID events, want 1", n)
	}
	if n := f.jobsOf(notifyArgs{}.Kind(), "completed"); n != 1 {
		t.Errorf("scheduling was told %d times, want once", n)
	}
	if n := f.transitions(b, "paid"); n != 1 {
		t.Errorf("scheduling recorded %d payments, want 1", n)
	}
}

func TestWebhook_UnknownChargeIsAcceptedAndIgnored(t *testing.T) {
	f := newFixture(t, true)
	if code, body := f.post(signed("1399999999", uuid.NewString(), f.provClock.Now())); code != 200 {
		t.Fatalf("unknown charge: %d %s, want 200", code, body)
	}
	if n := f.jobsOf(syncChargeArgs{}.Kind(), "available", "running", "completed"); n != 0 {
		t.Fatalf("%d syncs for an unknown charge", n)
	}
}

func TestWebhook_BadRequests(t *testing.T) {
	f := newFixture(t, true)
	w := signed("1320000001", uuid.NewString(), f.provClock.Now())
	w.query, w.body = "type=payment", []byte(`{"type":"payment"}`)
	if code, _ := f.post(w); code != 400 {
		t.Errorf("no data.id: %d, want 400", code)
	}
	w = signed("1320000001", uuid.NewString(), f.provClock.Now())
	w.header.Del("X-Signature")
	code, body := f.post(w) // a signature that cannot be checked
	wantRefusal(t, code, body, 401, ReasonSignatureInvalid)
	// data.id only in the body (older notification formats) is read from there.
	w = signed("1320000001", uuid.NewString(), f.provClock.Now())
	w.query = ""
	if code, body := f.post(w); code != 200 {
		t.Errorf("data.id in the body: %d %s, want 200", code, body)
	}
}

func TestSettle_OutOfOrderReadsChangeNothing(t *testing.T) {
	f := newFixture(t, true)
	b, p := f.paidBooking(25000)
	id := p.GetProviderPaymentId()
	// Reads made before the approval, applied after it (a slow sync, a stale cache).
	for _, status := range []pixv1.ChargeStatus{pixv1.ChargeStatus_CHARGE_STATUS_PENDING, pixv1.ChargeStatus_CHARGE_STATUS_CANCELLED,
		pixv1.ChargeStatus_CHARGE_STATUS_REJECTED} {
		if _, err := f.svc.settle(context.Background(), p.GetId(), &pixv1.Charge{Id: id, Status: status, AmountCents: 25000},
			sourceNotification, true); err != nil {
			t.Fatal(err)
		}
	}
	f.idle()
	got := f.payment(b)
	if got.GetStatus() != paid || len(got.GetHistory()) != 3 {
		t.Fatalf("after stale reads: %v with history %v, want PAID after CREATING, PENDING, PAID", got.GetStatus(), got.GetHistory())
	}
	if n := f.jobsOf(notifyArgs{}.Kind(), "available", "completed", "retryable"); n != 1 {
		t.Errorf("scheduling told %d times, want once", n)
	}
	if s := f.appointmentState(b); s != "AWAITING_DOCTOR" {
		t.Errorf("appointment %s, want AWAITING_DOCTOR", s)
	}
}
