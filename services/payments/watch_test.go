package payments

import (
	"context"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/durationpb"

	paymentsv1 "healthcore/gen/healthcore/payments/v1"
	"healthcore/platform/server"
	"healthcore/platform/testkit"
)

// TestGetPayment_LongPollAnswersTheChangeAndFreesItsWaiters: the patient app waits,
// right after booking, for a payment not recorded yet; it is answered the payment
// PENDING with its PIX code once the charge is made. With nothing new, a wait ends with
// the payment as it stands (200); a waiter whose caller goes away is dropped; someone
// else's payment is NOT_FOUND after the wait as without it; more than 30 s is refused.
func TestGetPayment_LongPollAnswersTheChangeAndFreesItsWaiters(t *testing.T) {
	f := newFixture(t, true)
	patient := f.patient()
	b := f.book(patient, f.doctor(), 25000)
	eventually(t, "the payments process to listen", f.svc.changes.listening)
	get := func(ctx context.Context, token string, known paymentsv1.PaymentStatus, wait time.Duration) (*paymentsv1.Payment, error) {
		resp, err := f.public.GetPayment(ctx, testkit.Authed(&paymentsv1.GetPaymentRequest{
			AppointmentId: b.id, KnownStatus: known, Wait: durationpb.New(wait)}, token))
		if err != nil {
			return nil, err
		}
		return resp.Msg.GetPayment(), nil
	}

	type answer struct {
		p   *paymentsv1.Payment
		err error
	}
	answered := make(chan answer, 1)
	go func() {
		p, err := get(context.Background(), patient.token, paymentsv1.PaymentStatus_PAYMENT_STATUS_CREATING, 30*time.Second)
		answered <- answer{p, err}
	}()
	eventually(t, "the app to wait", func() bool { return f.svc.changes.waiting() == 1 })
	charged := f.start(b) // records the payment and makes its charge, as the booking's job does
	got := <-answered
	if got.err != nil || got.p.GetStatus() != paymentsv1.PaymentStatus_PAYMENT_STATUS_PENDING ||
		got.p.GetQrCode() == "" || got.p.GetQrCode() != charged.GetQrCode() {
		t.Fatalf("long-poll answered %v, %v; want the payment PENDING with the charge's code", got.p, got.err)
	}
	if n := f.svc.changes.waiting(); n != 0 {
		t.Errorf("%d waiters left after the answer", n)
	}

	// Nothing new: the payment as it stands, not an error.
	if p, err := get(context.Background(), patient.token, paymentsv1.PaymentStatus_PAYMENT_STATUS_PENDING, time.Second); err != nil ||
		p.GetStatus() != paymentsv1.PaymentStatus_PAYMENT_STATUS_PENDING {
		t.Fatalf("wait with nothing new: %v, %v", p, err)
	}

	// The caller goes away: its waiter is dropped.
	ctx, cancel := context.WithCancel(context.Background())
	gone := make(chan error, 1)
	go func() {
		_, err := get(ctx, patient.token, paymentsv1.PaymentStatus_PAYMENT_STATUS_PENDING, 30*time.Second)
		gone <- err
	}()
	eventually(t, "the second wait", func() bool { return f.svc.changes.waiting() == 1 })
	cancel()
	if err := <-gone; connect.CodeOf(err) != connect.CodeCanceled {
		t.Errorf("cancelled wait: %v", err)
	}
	eventually(t, "the cancelled waiter to be dropped", func() bool { return f.svc.changes.waiting() == 0 })

	// Another patient learns nothing, waiting or not.
	_, err := get(context.Background(), f.patient().token, paymentsv1.PaymentStatus_PAYMENT_STATUS_PENDING, time.Second)
	testkit.WantReason(t, err, ReasonPaymentNotFound)

	// At most 30 s.
	_, err = get(context.Background(), patient.token, paymentsv1.PaymentStatus_PAYMENT_STATUS_CREATING, 31*time.Second)
	testkit.WantReason(t, err, server.ReasonValidationFailed)
}

// TestChanges_AWakeReachesEveryWaiterOfItsAppointmentOnly: the fan-out, alone.
func TestChanges_AWakeReachesEveryWaiterOfItsAppointmentOnly(t *testing.T) {
	c := newChanges()
	a1, done1 := c.subscribe("a")
	a2, done2 := c.subscribe("a")
	b1, doneB := c.subscribe("b")
	c.wake("a")
	c.wake("a") // a second wake while the first is unread does not block
	for i, ch := range []<-chan struct{}{a1, a2} {
		select {
		case <-ch:
		default:
			t.Errorf("waiter %d of a not woken", i)
		}
	}
	select {
	case <-b1:
		t.Error("the waiter of b woken by a's change")
	default:
	}
	c.wakeAll()
	select {
	case <-b1:
	default:
		t.Error("wakeAll missed b")
	}
	done1()
	done2()
	doneB()
	if n := c.waiting(); n != 0 || len(c.waiters) != 0 {
		t.Errorf("%d waiters, %d appointments left", n, len(c.waiters))
	}
}
