package payments

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	paymentsv1 "healthcore/gen/healthcore/payments/v1"
)

// These tests stop the job runner at the worst moments, as a crash or a deploy would,
// and start another (a new process on the same database): the saga must resume and
// finish exactly once.

func TestCrash_RefundCutOffAfterTheProviderRefundedCompletesOnce(t *testing.T) {
	f := newFixture(t, true)
	b, p := f.paidBooking(25000)
	release := f.provider.holdMatching("POST", "/refunds")
	defer release()
	f.mustRefund(b, 25000, "refund-crash")
	f.provider.waitHeld(t) // the provider has refunded; its answer has not arrived
	f.stopJobs()           // the process dies mid-job
	release()
	if c := f.charge(p.GetProviderPaymentId()); c.status != "refunded" || c.refunds != 1 {
		t.Fatalf("provider %+v, want refunded once before the crash", c)
	}
	if got := f.payment(b); got.GetStatus() != paid {
		t.Fatalf("payment %v right after the crash, want PAID (the refund unrecorded)", got.GetStatus())
	}
	f.runJobs(f.newService())
	got := f.waitStatus(b, refunded)
	f.idle()
	if got.GetRefundedCents() != 25000 || len(got.GetRefunds()) != 1 ||
		got.GetRefunds()[0].GetStatus() != paymentsv1.RefundStatus_REFUND_STATUS_COMPLETED {
		t.Fatalf("after the restart: %v", got)
	}
	if c := f.charge(p.GetProviderPaymentId()); c.refunds != 1 || c.refunded != 25000 {
		t.Fatalf("provider %+v, want one refund: the retry reused the first", c)
	}
	if n := f.events(p.GetId(), statusRefunded); n != 1 {
		t.Errorf("%d REFUNDED events, want 1", n)
	}
}

func TestCrash_RefundFailingWhenTheRunnerStopsResumesInANewProcess(t *testing.T) {
	f := newFixture(t, true)
	b, p := f.paidBooking(25000)
	f.provider.setDown(true)
	f.mustRefund(b, 10000, "refund-down-crash")
	f.waitAttempts(refundArgs{}.Kind(), 2)
	f.stopJobs()
	f.provider.setDown(false)
	time.Sleep(300 * time.Millisecond)
	if got := f.payment(b); got.GetStatus() != paid {
		t.Fatalf("with no runner: %v, want PAID", got.GetStatus())
	}
	f.runJobs(f.newService())
	got := f.waitStatus(b, partly)
	f.idle()
	if got.GetRefundedCents() != 10000 {
		t.Fatalf("refunded %d, want 10000", got.GetRefundedCents())
	}
	if c := f.charge(p.GetProviderPaymentId()); c.refunds != 1 || c.refunded != 10000 {
		t.Fatalf("provider %+v, want one refund of 10000", c)
	}
}

func TestCrash_PaymentNoticedWhileNoRunnerIsUpFinishesTheSagaOnce(t *testing.T) {
	f := newFixture(t, true)
	b := f.newBooking(25000)
	p := f.start(b)
	f.stopJobs() // every replica is down but the RPC server
	f.approve(p.GetProviderPaymentId())
	if code, _ := f.post(f.hooks.waitFor(t, p.GetProviderPaymentId(), "payment.updated")); code != 200 {
		t.Fatal("the notification was not accepted while the runner was down")
	}
	if code, _ := f.post(signed(p.GetProviderPaymentId(), uuid.NewString(), f.provClock.Now())); code != 200 {
		t.Fatal("a second notification was not accepted")
	}
	if n := f.jobsOf(syncChargeArgs{}.Kind(), "available"); n != 1 {
		t.Fatalf("%d syncs waiting, want the two notifications collapsed into 1", n)
	}
	f.runJobs(f.newService())
	f.waitStatus(b, paid)
	f.waitAppointment(b, "AWAITING_DOCTOR")
	f.idle()
	if n := f.transitions(b, "paid"); n != 1 {
		t.Fatalf("scheduling recorded %d payments, want 1", n)
	}
	if n := f.events(p.GetId(), statusPaid); n != 1 {
		t.Fatalf("%d PAID events, want 1", n)
	}
}

func TestCrash_SchedulingNotifiedAfterTheRunnerDiesBetweenPaidAndTheNotice(t *testing.T) {
	f := newFixture(t, true)
	b := f.newBooking(25000)
	p := f.start(b)
	f.approve(p.GetProviderPaymentId())
	f.stopJobs()
	// The sync runs in this process's last moments (here: directly) and commits PAID
	// with the job that tells scheduling; then nothing runs the job.
	if _, err := f.svc.settle(context.Background(), p.GetId(), f.chargeProto(p.GetProviderPaymentId()), sourceNotification, true); err != nil {
		t.Fatal(err)
	}
	if s := f.appointmentState(b); s != "PENDING_PAYMENT" {
		t.Fatalf("appointment %s before any runner, want PENDING_PAYMENT", s)
	}
	f.runJobs(f.newService())
	f.waitAppointment(b, "AWAITING_DOCTOR")
	f.idle()
	if n := f.transitions(b, "paid"); n != 1 {
		t.Fatalf("scheduling recorded %d payments, want 1", n)
	}
}
