package payments

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	directoryv1 "healthcore/gen/healthcore/directory/v1"
	"healthcore/gen/healthcore/directory/v1/directoryv1connect"
	paymentsv1 "healthcore/gen/healthcore/payments/v1"
	schedulingv1 "healthcore/gen/healthcore/scheduling/v1"
	"healthcore/gen/healthcore/scheduling/v1/schedulingv1connect"
	"healthcore/platform/testkit"
)

// These tests drive the saga from scheduling's side — its own jobs calling payments —
// with both services' job runners working. A job due later (the hold's end) is brought
// forward by setting its scheduled time to now, as if that time had come.

// realBooking books, through scheduling's public API, a slot three hours ahead of a
// listed doctor for a new patient, and returns it with the patient.
func (f *fixture) realBooking() (booking, user, *schedulingv1.BookAppointmentResponse) {
	f.t.Helper()
	return f.realBookingBy(f.patient())
}

// realBookingBy is realBooking for a patient of the test's.
func (f *fixture) realBookingBy(p user) (booking, user, *schedulingv1.BookAppointmentResponse) {
	f.t.Helper()
	ctx := context.Background()
	d := f.doctor()
	testkit.ListDoctor(f.t, f.dirURL, d.id) // as identity does once an operator verified the doctor
	dir := directoryv1connect.NewDirectoryServiceClient(testkit.HTTPClient(f.t), f.dirURL)
	if _, err := dir.UpsertMyProfile(ctx, testkit.Authed(&directoryv1.UpsertMyProfileRequest{Profile: &directoryv1.ProfileInput{
		DisplayName: "Dra. Ana Souza", PriceCents: 25000, TimeZone: "America/Sao_Paulo",
		Specialties: []*directoryv1.SpecialtyPractice{{Code: "cardiologia"}},
		Location: &directoryv1.Location{Address: "Av. Paulista, 1000", City: "São Paulo", Uf: "SP",
			Point: &directoryv1.LatLng{Latitude: new(-23.5505), Longitude: new(-46.6333)}},
	}}, d.token)); err != nil {
		f.t.Fatalf("profile: %v", err)
	}
	slot := uuid.NewString()
	start := f.clock.Now().Add(3 * time.Hour).Truncate(time.Minute)
	if _, err := f.schedDB.Exec(ctx, `INSERT INTO slots (id, doctor_id, start_at, end_at) VALUES ($1, $2, $3, $4)`,
		slot, d.id, start, start.Add(50*time.Minute)); err != nil {
		f.t.Fatal(err)
	}
	resp, err := f.scheduling().BookAppointment(ctx, testkit.Authed(&schedulingv1.BookAppointmentRequest{
		SlotId: slot, IdempotencyKey: "saga-" + p.id, Reason: "dor no peito",
	}, p.token))
	if err != nil {
		f.t.Fatalf("book: %v", err)
	}
	a := resp.Msg.GetAppointment()
	return booking{id: a.GetId(), patientID: p.id, doctorID: d.id, price: 25000}, p, resp.Msg
}

func (f *fixture) scheduling() schedulingv1connect.SchedulingServiceClient {
	return schedulingv1connect.NewSchedulingServiceClient(testkit.HTTPClient(f.t), f.schedURL)
}

// runScheduling works scheduling's jobs until the test ends.
func (f *fixture) runScheduling() { runUntilCleanup(f.t, "scheduling jobs", f.sched.Run) }

// due makes a scheduling job of the appointment due now.
func (f *fixture) due(kind, apptID string) {
	f.t.Helper()
	tag, err := f.schedDB.Exec(context.Background(), `UPDATE river_job SET scheduled_at = now()
		WHERE kind = $1 AND args->>'appointment_id' = $2 AND state IN ('scheduled', 'available', 'retryable')`, kind, apptID)
	if err != nil || tag.RowsAffected() != 1 {
		f.t.Fatalf("make %s due: %v (%d jobs)", kind, err, tag.RowsAffected())
	}
}

func TestSaga_HoldEndsUnpaid_ChargeCancelledAndSlotFreed(t *testing.T) {
	f := newFixture(t, false)
	f.runScheduling()
	b, _, resp := f.realBooking()
	if resp.GetPayment().GetStatus() != paymentsv1.PaymentStatus_PAYMENT_STATUS_CREATING || resp.GetPayment().GetQrCode() != "" {
		t.Fatalf("booking's payment %v, want CREATING (the job makes the charge)", resp.GetPayment())
	}
	p := f.charged(b)
	f.due("scheduling.expire_hold", b.id)
	f.waitAppointment(b, "EXPIRED")
	if got := f.payment(b).GetStatus(); got != paymentsv1.PaymentStatus_PAYMENT_STATUS_FAILED {
		t.Fatalf("payment %v, want FAILED", got)
	}
	if c := f.charge(p.GetProviderPaymentId()); c.status != "cancelled" {
		t.Fatalf("charge at the provider: %+v, want cancelled", c)
	}
}

func TestSaga_HoldEndsButTheMoneyCame_TheBookingGoesOn(t *testing.T) {
	f := newFixture(t, true) // webhooks go to a sink: the payment's notification is lost
	f.runScheduling()
	b, _, _ := f.realBooking()
	p := f.charged(b)
	f.approve(p.GetProviderPaymentId())
	f.due("scheduling.expire_hold", b.id)
	f.waitAppointment(b, "AWAITING_DOCTOR")
	if got := f.payment(b).GetStatus(); got != paymentsv1.PaymentStatus_PAYMENT_STATUS_PAID {
		t.Fatalf("payment %v, want PAID", got)
	}
	if c := f.charge(p.GetProviderPaymentId()); c.status != "approved" || c.refunds != 0 {
		t.Fatalf("charge at the provider: %+v, want approved and kept", c)
	}
}

func TestSaga_CancelledBeforePayment_ChargeStopped_OrRefundedIfPaidMeanwhile(t *testing.T) {
	f := newFixture(t, true)
	f.runScheduling()
	ctx := context.Background()
	cancel := func(b booking, p user) {
		t.Helper()
		resp, err := f.scheduling().CancelAppointment(ctx, testkit.Authed(&schedulingv1.CancelAppointmentRequest{
			Id: b.id, Justification: "mudança de planos de última hora",
		}, p.token))
		if err != nil || resp.Msg.GetAppointment().GetRefundCents() != 0 {
			t.Fatalf("cancel: %v %v", resp, err)
		}
	}

	// Not paid: the charge is cancelled at the provider, nothing is refunded.
	b, p, _ := f.realBooking()
	pay := f.charged(b)
	cancel(b, p)
	f.waitStatus(b, paymentsv1.PaymentStatus_PAYMENT_STATUS_FAILED)
	if c := f.charge(pay.GetProviderPaymentId()); c.status != "cancelled" {
		t.Fatalf("charge: %+v, want cancelled", c)
	}

	// Paid a moment before the cancellation (its notification not yet in): the money goes
	// back in full, once.
	b2, p2, _ := f.realBooking()
	pay2 := f.charged(b2)
	f.approve(pay2.GetProviderPaymentId())
	cancel(b2, p2)
	got := f.waitStatus(b2, paymentsv1.PaymentStatus_PAYMENT_STATUS_REFUNDED)
	if got.GetRefundedCents() != 25000 || len(got.GetRefunds()) != 1 {
		t.Fatalf("payment %v, want one full refund", got)
	}
	if c := f.charge(pay2.GetProviderPaymentId()); c.status != "refunded" || c.refunded != 25000 || c.refunds != 1 {
		t.Fatalf("charge: %+v, want refunded once in full", c)
	}
	if f.appointmentState(b2) != "CANCELLED" {
		t.Fatalf("appointment %s", f.appointmentState(b2))
	}
}

func TestSaga_ChargeNotCreatedAtFirst_TheEnsureJobRetries(t *testing.T) {
	f := newFixture(t, false)
	f.runScheduling()
	f.provider.setDown(true)
	b, _, resp := f.realBooking()
	if resp.GetPayment().GetStatus() != paymentsv1.PaymentStatus_PAYMENT_STATUS_CREATING {
		t.Fatalf("payment instructions %v while the provider is down, want CREATING", resp.GetPayment())
	}
	// The job records the payment, fails to reach the provider, and waits to retry.
	if got := f.await(b, paymentsv1.PaymentStatus_PAYMENT_STATUS_UNSPECIFIED).GetStatus(); got != paymentsv1.PaymentStatus_PAYMENT_STATUS_CREATING {
		t.Fatalf("payment %v, want CREATING", got)
	}
	eventually(t, "ensure_payment to wait for its retry", func() bool {
		var n int
		err := f.schedDB.QueryRow(context.Background(), `SELECT count(*) FROM river_job
			WHERE kind = 'scheduling.ensure_payment' AND args->>'appointment_id' = $1 AND state = 'retryable'`, b.id).Scan(&n)
		return err == nil && n == 1
	})
	f.provider.setDown(false)
	f.due("scheduling.ensure_payment", b.id)
	p := f.waitStatus(b, paymentsv1.PaymentStatus_PAYMENT_STATUS_PENDING)
	if p.GetQrCode() == "" || p.GetProviderPaymentId() == "" {
		t.Fatalf("payment %v, want a charge", p)
	}
	// Paying it now confirms the booking as usual.
	f.approve(p.GetProviderPaymentId())
	f.waitAppointment(b, "AWAITING_DOCTOR")
}
