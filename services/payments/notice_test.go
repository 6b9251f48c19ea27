package payments

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	notificationsv1 "healthcore/gen/healthcore/notifications/v1"
	"healthcore/platform/notify"
	"healthcore/platform/pg"
)

// notices lists the committed payments.notify jobs about an appointment, oldest first.
func (f *fixture) notices(apptID string) []*notificationsv1.NotifyRequest {
	f.t.Helper()
	out, err := notify.QueuedAbout(context.Background(), f.db, "payments.notify", apptID)
	if err != nil {
		f.t.Fatal(err)
	}
	return out
}

func (f *fixture) startTime(b booking) time.Time {
	f.t.Helper()
	var at time.Time
	if err := f.schedDB.QueryRow(context.Background(), `SELECT start_at FROM appointments WHERE id = $1`, b.id).Scan(&at); err != nil {
		f.t.Fatal(err)
	}
	return at
}

func TestNotice_ChargeStoredTellsThePatientTheCodeOnce_UntilItIsPaid(t *testing.T) {
	f := newFixture(t, true)
	b := f.newBooking(25000)
	p := f.start(b)
	f.start(b) // scheduling's retry
	ns := f.notices(b.id)
	if len(ns) != 1 {
		t.Fatalf("%d notices, want 1", len(ns))
	}
	m, d := ns[0], ns[0].GetAppointment()
	if m.GetEvent() != notificationsv1.Event_EVENT_BOOKING_PENDING_PAYMENT || m.GetIdempotencyKey() != "appt-"+b.id+"-pending_payment-patient" ||
		m.GetRecipientId() != b.patientID || d.GetDoctorId() != b.doctorID || d.GetPriceCents() != 25000 ||
		d.GetPixCopyPaste() == "" || d.GetPixCopyPaste() != p.GetQrCode() || !d.GetPixExpireTime().AsTime().Equal(p.GetExpireTime().AsTime()) {
		t.Fatalf("notice = %v (payment %v)", m, p)
	}
	// The start time is scheduling's: read when the job runs.
	ctx := context.Background()
	send, err := f.svc.completeNotice(ctx, m)
	if err != nil || !send {
		t.Fatalf("completeNotice = %v, %v", send, err)
	}
	if got := d.GetStartTime().AsTime(); !got.Equal(f.startTime(b)) {
		t.Errorf("start time %s, want %s", got, f.startTime(b))
	}
	if err := m.ValidateAll(); err != nil {
		t.Errorf("completed notice is not a valid NotifyRequest: %v", err)
	}
	// Once paid, the code to pay is no news.
	f.approve(p.GetProviderPaymentId())
	if code, body := f.post(f.hooks.waitFor(t, p.GetProviderPaymentId(), "payment.updated")); code != 200 {
		t.Fatalf("notification: %d %s", code, body)
	}
	f.waitStatus(b, paid)
	if send, err := f.svc.completeNotice(ctx, f.notices(b.id)[0]); err != nil || send {
		t.Errorf("completeNotice after payment = %v, %v; want not sent", send, err)
	}
}

func TestNotice_RefundCompletedTellsTheAmountOnce_ARolledBackOneNothing(t *testing.T) {
	f := newFixture(t, true)
	b, _ := f.paidBooking(25000)
	r := f.mustRefund(b, 10000, "refund-notice")
	f.waitStatus(b, partly)
	f.idle()
	var refundNotices []*notificationsv1.NotifyRequest
	for _, m := range f.notices(b.id) {
		if m.GetEvent() == notificationsv1.Event_EVENT_REFUND_COMPLETED {
			refundNotices = append(refundNotices, m)
		}
	}
	if len(refundNotices) != 1 {
		t.Fatalf("%d refund notices, want 1", len(refundNotices))
	}
	m := refundNotices[0]
	if m.GetIdempotencyKey() != "appt-"+b.id+"-refund-"+r.GetRefund().GetId()+"-patient" || m.GetRecipientId() != b.patientID ||
		m.GetAppointment().GetRefundCents() != 10000 || m.GetAppointment().GetRefundMethod() != "PIX" {
		t.Fatalf("refund notice = %v", m)
	}

	// A notice queued in a transaction that rolls back is gone with it.
	ctx := context.Background()
	pay, err := payments.getByAppointment(ctx, f.db, b.id)
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("the change failed after the notice was queued")
	err = pg.InTx(ctx, f.db, func(tx pgx.Tx) error {
		if err := f.svc.tellRefunded(ctx, tx, pay, refund{ID: "0b7e7c43-0f4b-4a3e-8d8c-2f1f6e0b9c21", AmountCents: 1}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("InTx = %v", err)
	}
	if n := len(f.notices(b.id)); n != 2 { // the booking's and the refund's
		t.Errorf("%d notices after a rollback, want 2", n)
	}
}
