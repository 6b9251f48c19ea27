package payments

import (
	"context"
	"sync"
	"testing"

	"connectrpc.com/connect"

	paymentsv1 "healthcore/gen/healthcore/payments/v1"
	"healthcore/platform/server"
	"healthcore/platform/testkit"
)

func TestStartPayment_TwentyConcurrentCallersGetOnePaymentAndOneCharge(t *testing.T) {
	f := newFixture(t, true)
	b := f.newBooking(25000)
	var wg sync.WaitGroup
	got := make([]*paymentsv1.Payment, 20)
	errs := make([]error, 20)
	for i := range got {
		wg.Go(func() {
			resp, err := f.internal.StartPayment(context.Background(), connect.NewRequest(f.startReq(b)))
			errs[i] = err
			if err == nil {
				got[i] = resp.Msg.GetPayment()
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("caller %d: %v", i, err)
		}
		p := got[i]
		if p.GetId() != got[0].GetId() || p.GetProviderPaymentId() != got[0].GetProviderPaymentId() ||
			p.GetStatus() != paymentsv1.PaymentStatus_PAYMENT_STATUS_PENDING || p.GetQrCode() == "" {
			t.Fatalf("caller %d got %v, caller 0 got %v", i, p, got[0])
		}
	}
	var rows, charges int
	if err := f.db.QueryRow(context.Background(), `SELECT count(*) FROM payments WHERE appointment_id = $1`, b.id).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if err := f.sandboxDB.QueryRow(context.Background(), `SELECT count(*) FROM payments WHERE external_reference = $1`,
		got[0].GetId()).Scan(&charges); err != nil {
		t.Fatal(err)
	}
	if rows != 1 || charges != 1 {
		t.Fatalf("%d payment rows and %d provider charges, want 1 and 1", rows, charges)
	}
	if n := f.events(got[0].GetId(), statusPending); n != 1 {
		t.Errorf("%d PENDING events, want 1", n)
	}
	if p := f.payment(b); p.GetAmountCents() != 25000 || p.GetExpireTime() == nil || len(p.GetHistory()) != 2 {
		t.Errorf("stored payment %v: want 25000 centavos, an expiry and CREATING, PENDING in its history", p)
	}
	// The history is append-only.
	for _, sql := range []string{`UPDATE payment_events SET detail = 'edited'`, `DELETE FROM payment_events`, `TRUNCATE payment_events`} {
		if _, err := f.db.Exec(context.Background(), sql); err == nil {
			t.Errorf("%s succeeded on the append-only history", sql)
		}
	}
}

func TestStartPayment_ProviderDownLeavesItCreatingAndARetryCompletesIt(t *testing.T) {
	f := newFixture(t, true)
	b := f.newBooking(18000)
	f.provider.setDown(true)
	_, err := f.internal.StartPayment(context.Background(), connect.NewRequest(f.startReq(b)))
	testkit.WantReason(t, err, ReasonProviderUnavailable)
	if p := f.payment(b); p.GetStatus() != paymentsv1.PaymentStatus_PAYMENT_STATUS_CREATING {
		t.Fatalf("after a failed create the payment is %v, want CREATING", p.GetStatus())
	}
	f.provider.setDown(false)
	p := f.start(b)
	if p.GetStatus() != paymentsv1.PaymentStatus_PAYMENT_STATUS_PENDING || p.GetProviderPaymentId() == "" {
		t.Fatalf("retry gave %v, want PENDING with a charge", p)
	}
	if c := f.charge(p.GetProviderPaymentId()); c.status != "pending" {
		t.Fatalf("provider charge %+v, want pending", c)
	}
}

func TestStartPayment_RefusesADifferentAmountAndBadExpiry(t *testing.T) {
	f := newFixture(t, true)
	b := f.newBooking(18000)
	f.start(b)
	req := f.startReq(b)
	req.AmountCents = 100
	_, err := f.internal.StartPayment(context.Background(), connect.NewRequest(req))
	testkit.WantReason(t, err, ReasonPaymentMismatch)

	other := f.newBooking(18000)
	req = f.startReq(other)
	req.ExpireTime.Seconds -= 45 * 60 // 15 minutes ahead
	_, err = f.internal.StartPayment(context.Background(), connect.NewRequest(req))
	testkit.WantReason(t, err, server.ReasonValidationFailed)
}

func TestStartPayment_CancelledWhileTheChargeIsMadeCancelsTheCharge(t *testing.T) {
	f := newFixture(t, true)
	b := f.newBooking(18000)
	release := f.provider.holdMatching("POST", "/v1/payments")
	started := make(chan *paymentsv1.Payment, 1)
	go func() {
		resp, err := f.internal.StartPayment(context.Background(), connect.NewRequest(f.startReq(b)))
		if err != nil {
			t.Errorf("StartPayment: %v", err)
		}
		started <- resp.Msg.GetPayment()
	}()
	f.provider.waitHeld(t) // the provider made the charge; we have not heard
	cancelled, err := f.internal.CancelPayment(context.Background(), connect.NewRequest(&paymentsv1.CancelPaymentRequest{AppointmentId: b.id}))
	if err != nil {
		t.Fatal(err)
	}
	if cancelled.Msg.GetPayment().GetStatus() != paymentsv1.PaymentStatus_PAYMENT_STATUS_FAILED {
		t.Fatalf("cancel while creating gave %v, want FAILED", cancelled.Msg.GetPayment().GetStatus())
	}
	release()
	p := <-started
	if p.GetStatus() != paymentsv1.PaymentStatus_PAYMENT_STATUS_FAILED || p.GetProviderPaymentId() == "" {
		t.Fatalf("StartPayment answered %v, want FAILED with the charge's id kept", p)
	}
	eventually(t, "the leftover charge cancelled", func() bool { return f.charge(p.GetProviderPaymentId()).status == "cancelled" })
	f.idle()
	if p := f.payment(b); p.GetStatus() != paymentsv1.PaymentStatus_PAYMENT_STATUS_FAILED {
		t.Fatalf("payment %v after the charge was cancelled, want FAILED", p.GetStatus())
	}
}
