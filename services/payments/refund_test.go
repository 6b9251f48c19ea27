package payments

import (
	"context"
	"fmt"
	"testing"
	"time"

	"connectrpc.com/connect"

	paymentsv1 "healthcore/gen/healthcore/payments/v1"
	"healthcore/platform/testkit"
)

// paidBooking is a booking whose payment went through: approved at the provider and
// announced by the sandbox's genuine notification.
func (f *fixture) paidBooking(price int64) (booking, *paymentsv1.Payment) {
	f.t.Helper()
	b := f.newBooking(price)
	p := f.start(b)
	f.approve(p.GetProviderPaymentId())
	if code, body := f.post(f.hooks.waitFor(f.t, p.GetProviderPaymentId(), "payment.updated")); code != 200 {
		f.t.Fatalf("notification: %d %s", code, body)
	}
	p = f.waitStatus(b, paid)
	f.waitAppointment(b, "AWAITING_DOCTOR")
	f.idle()
	return b, p
}

func (f *fixture) refund(b booking, cents int64, key string) (*paymentsv1.RefundResponse, error) {
	resp, err := f.internal.Refund(context.Background(), connect.NewRequest(&paymentsv1.RefundRequest{
		AppointmentId: b.id, AmountCents: cents, Reason: "cancelled", IdempotencyKey: key,
	}))
	if err != nil {
		return nil, err
	}
	return resp.Msg, nil
}

func (f *fixture) mustRefund(b booking, cents int64, key string) *paymentsv1.RefundResponse {
	f.t.Helper()
	r, err := f.refund(b, cents, key)
	if err != nil {
		f.t.Fatalf("Refund(%d, %s): %v", cents, key, err)
	}
	return r
}

func TestRefund_PartThenTheRestThenNothingMore(t *testing.T) {
	f := newFixture(t, true)
	b, p := f.paidBooking(25000)

	_, err := f.refund(b, 25001, "refund-too-much")
	testkit.WantReason(t, err, ReasonRefundExceedsPayment)

	first := f.mustRefund(b, 10000, "refund-part-1")
	if first.GetRefund().GetStatus() != paymentsv1.RefundStatus_REFUND_STATUS_REQUESTED || first.GetRefund().GetAmountCents() != 10000 {
		t.Fatalf("first refund %v, want REQUESTED for 10000", first.GetRefund())
	}
	// Requested is reserved at once: more than the rest is refused before the first completes.
	_, err = f.refund(b, 15001, "refund-part-2-too-much")
	testkit.WantReason(t, err, ReasonRefundExceedsPayment)
	got := f.waitStatus(b, partly)
	if got.GetRefundedCents() != 10000 || got.GetRefunds()[0].GetStatus() != paymentsv1.RefundStatus_REFUND_STATUS_COMPLETED ||
		got.GetRefunds()[0].GetProviderRefundId() == "" {
		t.Fatalf("after the first refund: %v", got)
	}
	f.mustRefund(b, 15000, "refund-part-2")
	got = f.waitStatus(b, refunded)
	if got.GetRefundedCents() != 25000 || len(got.GetRefunds()) != 2 {
		t.Fatalf("after the second refund: %v", got)
	}
	_, err = f.refund(b, 1, "refund-part-3")
	testkit.WantReason(t, err, ReasonRefundExceedsPayment)
	if c := f.charge(p.GetProviderPaymentId()); c.status != "refunded" || c.refunded != 25000 || c.refunds != 2 {
		t.Fatalf("provider charge %+v, want refunded 25000 in 2 refunds", c)
	}
}

func TestRefund_SameKeyTwiceIsOneRefund(t *testing.T) {
	f := newFixture(t, true)
	b, p := f.paidBooking(25000)
	a := f.mustRefund(b, 5000, "refund-once")
	c := f.mustRefund(b, 5000, "refund-once")
	if a.GetRefund().GetId() != c.GetRefund().GetId() {
		t.Fatalf("same key gave refunds %s and %s", a.GetRefund().GetId(), c.GetRefund().GetId())
	}
	f.waitStatus(b, partly)
	f.idle()
	again := f.mustRefund(b, 5000, "refund-once") // after completion, still the same one
	if again.GetRefund().GetId() != a.GetRefund().GetId() || again.GetRefund().GetStatus() != paymentsv1.RefundStatus_REFUND_STATUS_COMPLETED {
		t.Fatalf("after completion the key gave %v", again.GetRefund())
	}
	_, err := f.refund(b, 6000, "refund-once")
	testkit.WantReason(t, err, ReasonIdempotencyKeyReused)
	if got := f.payment(b); got.GetRefundedCents() != 5000 || len(got.GetRefunds()) != 1 {
		t.Fatalf("payment %v, want one refund of 5000", got)
	}
	if ch := f.charge(p.GetProviderPaymentId()); ch.refunds != 1 || ch.refunded != 5000 {
		t.Fatalf("provider %+v, want one refund of 5000", ch)
	}
}

func TestRefund_UnpaidOrUnknownIsRefused(t *testing.T) {
	f := newFixture(t, true)
	b := f.newBooking(25000)
	f.start(b)
	_, err := f.refund(b, 100, "refund-unpaid")
	testkit.WantReason(t, err, ReasonPaymentNotPaid)
	_, err = f.refund(booking{id: "7a1c1f5e-2d8b-4f4e-9a57-0c6d1c2b3a4f"}, 100, "refund-unknown")
	testkit.WantReason(t, err, ReasonPaymentNotFound)
}

func TestRefund_ProviderDownIsRetriedUntilItCompletes(t *testing.T) {
	f := newFixture(t, true)
	b, p := f.paidBooking(25000)
	f.provider.setDown(true)
	r := f.mustRefund(b, 25000, "refund-while-down")
	f.waitAttempts(refundArgs{}.Kind(), 3)
	if got := f.payment(b); got.GetStatus() != paid || got.GetRefunds()[0].GetStatus() != paymentsv1.RefundStatus_REFUND_STATUS_REQUESTED {
		t.Fatalf("while the provider is down: %v", got)
	}
	f.provider.setDown(false)
	got := f.waitStatus(b, refunded)
	if got.GetRefunds()[0].GetId() != r.GetRefund().GetId() || got.GetRefundedCents() != 25000 {
		t.Fatalf("after the provider came back: %v", got)
	}
	if c := f.charge(p.GetProviderPaymentId()); c.status != "refunded" || c.refunds != 1 {
		t.Fatalf("provider %+v, want one full refund", c)
	}
}

func TestLatePayment_AfterTheAppointmentExpiredIsRefundedInFull(t *testing.T) {
	f := newFixture(t, true)
	b := f.newBooking(25000)
	p := f.start(b)
	// Scheduling released the hold while the payer was paying.
	if _, err := f.schedDB.Exec(context.Background(), `UPDATE appointments SET state = 'EXPIRED' WHERE id = $1`, b.id); err != nil {
		t.Fatal(err)
	}
	f.approve(p.GetProviderPaymentId())
	f.post(f.hooks.waitFor(t, p.GetProviderPaymentId(), "payment.updated"))
	got := f.waitStatus(b, refunded)
	if len(got.GetRefunds()) != 1 || got.GetRefunds()[0].GetReason() != "late_payment" || got.GetRefunds()[0].GetAmountCents() != 25000 {
		t.Fatalf("late payment: %v, want one full late_payment refund", got)
	}
	if c := f.charge(p.GetProviderPaymentId()); c.status != "refunded" || c.refunds != 1 {
		t.Fatalf("provider %+v, want refunded once", c)
	}
	if s := f.appointmentState(b); s != "EXPIRED" {
		t.Fatalf("appointment %s, want EXPIRED", s)
	}
	// A replayed notification changes nothing: no second refund.
	f.post(f.hooks.waitFor(t, p.GetProviderPaymentId(), "payment.updated"))
	time.Sleep(200 * time.Millisecond)
	f.idle()
	if got := f.payment(b); len(got.GetRefunds()) != 1 {
		t.Fatalf("%d refunds after a replay, want 1", len(got.GetRefunds()))
	}
}

func TestRefund_ConcurrentRequestsNeverExceedThePayment(t *testing.T) {
	f := newFixture(t, true)
	b, p := f.paidBooking(25000)
	results := make(chan error, 10)
	for i := range 10 {
		go func() {
			_, err := f.refund(b, 5000, fmt.Sprintf("refund-race-%d", i))
			results <- err
		}()
	}
	ok := 0
	for range 10 {
		switch err := <-results; {
		case err == nil:
			ok++
		default:
			testkit.WantReason(t, err, ReasonRefundExceedsPayment)
		}
	}
	if ok != 5 {
		t.Fatalf("%d refunds of 5000 accepted on 25000, want 5", ok)
	}
	got := f.waitStatus(b, refunded)
	if got.GetRefundedCents() != 25000 || len(got.GetRefunds()) != 5 {
		t.Fatalf("payment %v, want 5 refunds making 25000", got)
	}
	if c := f.charge(p.GetProviderPaymentId()); c.refunded != 25000 || c.refunds != 5 {
		t.Fatalf("provider %+v, want 25000 in 5 refunds", c)
	}
}
