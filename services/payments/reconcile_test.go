package payments

import (
	"context"
	"testing"
	"time"

	"connectrpc.com/connect"

	paymentsv1 "healthcore/gen/healthcore/payments/v1"
	"healthcore/platform/testkit"
)

func (f *fixture) cancel(b booking) *paymentsv1.Payment {
	f.t.Helper()
	resp, err := f.internal.CancelPayment(context.Background(), connect.NewRequest(&paymentsv1.CancelPaymentRequest{AppointmentId: b.id}))
	if err != nil {
		f.t.Fatalf("CancelPayment: %v", err)
	}
	return resp.Msg.GetPayment()
}

func TestReconcile_LostWebhookIsFoundByReconciliation(t *testing.T) {
	f := newFixture(t, true) // notifications go nowhere we listen
	b := f.newBooking(25000)
	p := f.start(b)
	f.approve(p.GetProviderPaymentId())
	time.Sleep(1500 * time.Millisecond) // a reconciliation run or so: not due yet
	if got := f.payment(b); got.GetStatus() != pending {
		t.Fatalf("payment %v before it was due a re-check, want PENDING", got.GetStatus())
	}
	f.clock.Advance(f.cfg.RecheckAfter + time.Second)
	f.waitStatus(b, paid)
	f.waitAppointment(b, "AWAITING_DOCTOR")
	f.idle()
	got := f.payment(b)
	if h := got.GetHistory(); h[len(h)-1].GetSource() != sourceReconciliation {
		t.Errorf("last event %v, want one from reconciliation", h[len(h)-1])
	}
}

func TestReconcile_ExpiredPastGraceIsCancelledAtTheProviderAndFails(t *testing.T) {
	f := newFixture(t, true)
	b := f.newBooking(25000)
	p := f.start(b)
	f.clock.Advance(time.Hour + f.cfg.ExpiryGrace - time.Second) // past expiry, within grace
	time.Sleep(1500 * time.Millisecond)
	if got := f.payment(b); got.GetStatus() != pending {
		t.Fatalf("payment %v within the grace period, want PENDING", got.GetStatus())
	}
	f.clock.Advance(2 * time.Second)
	f.waitStatus(b, failed)
	if c := f.charge(p.GetProviderPaymentId()); c.status != "cancelled" || c.detail != "by_collector" {
		t.Fatalf("provider charge %+v, want cancelled by us", c)
	}
	f.waitAppointment(b, "EXPIRED")
}

func TestReconcile_ExpiredButPaidBecomesPaid(t *testing.T) {
	f := newFixture(t, true)
	b := f.newBooking(25000)
	p := f.start(b)
	f.approve(p.GetProviderPaymentId()) // paid in the last minute; the notification is lost
	f.clock.Advance(time.Hour + f.cfg.ExpiryGrace + time.Second)
	f.waitStatus(b, paid)
	f.waitAppointment(b, "AWAITING_DOCTOR")
	if c := f.charge(p.GetProviderPaymentId()); c.status != "approved" {
		t.Fatalf("provider charge %+v, want approved", c)
	}
}

func TestCancelPayment_PendingIsCancelledAndPaidComesBackPaid(t *testing.T) {
	f := newFixture(t, true)
	b := f.newBooking(25000)
	p := f.start(b)
	if got := f.cancel(b); got.GetStatus() != failed {
		t.Fatalf("cancel of a pending payment: %v, want FAILED", got.GetStatus())
	}
	if c := f.charge(p.GetProviderPaymentId()); c.status != "cancelled" {
		t.Fatalf("provider charge %+v, want cancelled", c)
	}
	if got := f.cancel(b); got.GetStatus() != failed { // idempotent
		t.Fatalf("second cancel: %v", got.GetStatus())
	}
	f.idle()
	if n := f.jobsOf(notifyArgs{}.Kind(), "available", "completed"); n != 0 {
		t.Errorf("scheduling told %d times of a failure it asked for", n)
	}

	b2 := f.newBooking(25000)
	p2 := f.start(b2)
	f.approve(p2.GetProviderPaymentId()) // paid; the notification is lost
	if got := f.cancel(b2); got.GetStatus() != paid {
		t.Fatalf("cancel of a paid charge: %v, want PAID", got.GetStatus())
	}
	if c := f.charge(p2.GetProviderPaymentId()); c.status != "approved" {
		t.Fatalf("provider charge %+v, want approved", c)
	}
	f.waitAppointment(b2, "AWAITING_DOCTOR")
	if got := f.cancel(b2); got.GetStatus() != paid {
		t.Fatalf("cancel again: %v", got.GetStatus())
	}

	_, err := f.internal.CancelPayment(context.Background(), connect.NewRequest(&paymentsv1.CancelPaymentRequest{
		AppointmentId: "7a1c1f5e-2d8b-4f4e-9a57-0c6d1c2b3a4f"}))
	testkit.WantReason(t, err, ReasonPaymentNotFound)
}

func TestCancelPayment_ProviderDownIsUnavailable(t *testing.T) {
	f := newFixture(t, true)
	b := f.newBooking(25000)
	f.start(b)
	f.provider.setDown(true)
	_, err := f.internal.CancelPayment(context.Background(), connect.NewRequest(&paymentsv1.CancelPaymentRequest{AppointmentId: b.id}))
	testkit.WantReason(t, err, ReasonProviderUnavailable)
	if got := f.payment(b); got.GetStatus() != pending {
		t.Fatalf("payment %v, want still PENDING", got.GetStatus())
	}
}
