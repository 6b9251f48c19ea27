package payments

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"healthcore/platform/pg"
	"healthcore/platform/pgtest"
)

// storeEpoch is a time PostgreSQL stores exactly (microseconds, UTC).
var storeEpoch = time.Date(2026, 3, 9, 14, 30, 0, 0, time.UTC)

// storeDB is a fresh, migrated payments schema of its own.
func storeDB(t *testing.T) *pgxpool.Pool {
	t.Helper()
	return pgtest.Pool(t, Schema.Name, Schema)
}

// newStoredPayment inserts a CREATING payment of a new appointment, created at
// storeEpoch and expiring an hour later, and returns it as inserted.
func newStoredPayment(t *testing.T, db *pgxpool.Pool, cents int64) *payment {
	t.Helper()
	p := &payment{ID: uuid.NewString(), AppointmentID: uuid.NewString(), PatientID: uuid.NewString(),
		DoctorID: uuid.NewString(), AmountCents: cents, Description: "Consulta de cardiologia", Status: statusCreating,
		ExpireAt: storeEpoch.Add(time.Hour), CreatedAt: storeEpoch}
	inserted, err := payments.insert(context.Background(), db, p)
	if err != nil || !inserted {
		t.Fatalf("insert: %v, inserted %v", err, inserted)
	}
	return p
}

// samePayment fails the test unless got has want's values.
func samePayment(t *testing.T, what string, got, want *payment) {
	t.Helper()
	if got.ID != want.ID || got.AppointmentID != want.AppointmentID || got.PatientID != want.PatientID ||
		got.DoctorID != want.DoctorID || got.AmountCents != want.AmountCents || got.Description != want.Description ||
		got.Status != want.Status || got.providerID() != want.providerID() || got.QRCode != want.QRCode ||
		got.QRCodeBase64 != want.QRCodeBase64 || got.TicketURL != want.TicketURL || !got.ExpireAt.Equal(want.ExpireAt) ||
		(got.PaidAt == nil) != (want.PaidAt == nil) || got.PaidAt != nil && !got.PaidAt.Equal(*want.PaidAt) ||
		got.RefundedCents != want.RefundedCents || got.RefundsRequestedCents != want.RefundsRequestedCents ||
		!got.CreatedAt.Equal(want.CreatedAt) {
		t.Fatalf("%s: got %+v, want %+v", what, got, want)
	}
}

func TestPaymentStore_InsertOncePerAppointmentAndReadByEachKey(t *testing.T) {
	ctx := context.Background()
	db := storeDB(t)
	p := newStoredPayment(t, db, 25000)
	other := newStoredPayment(t, db, 18000)

	again := *p
	again.ID, again.AmountCents = uuid.NewString(), 99
	if inserted, err := payments.insert(ctx, db, &again); err != nil || inserted {
		t.Fatalf("second payment of the appointment: inserted %v, %v; want false", inserted, err)
	}
	got, err := payments.get(ctx, db, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	samePayment(t, "get", got, p)
	got, err = payments.getByAppointment(ctx, db, p.AppointmentID)
	if err != nil {
		t.Fatal(err)
	}
	samePayment(t, "getByAppointment", got, p)
	got, err = payments.get(ctx, db, other.ID)
	if err != nil {
		t.Fatal(err)
	}
	samePayment(t, "get the other", got, other)
	err = pg.InTx(ctx, db, func(tx pgx.Tx) error {
		got, err := payments.getForUpdate(ctx, tx, p.ID)
		if err != nil {
			return err
		}
		samePayment(t, "getForUpdate", got, p)
		got, err = payments.getByAppointmentForUpdate(ctx, tx, other.AppointmentID)
		if err != nil {
			return err
		}
		samePayment(t, "getByAppointmentForUpdate", got, other)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	unknown := uuid.NewString()
	for name, get := range map[string]func() error{
		"get":              func() error { _, err := payments.get(ctx, db, unknown); return err },
		"getByAppointment": func() error { _, err := payments.getByAppointment(ctx, db, unknown); return err },
		"getByCharge":      func() error { _, err := payments.getByCharge(ctx, db, "1300000000"); return err },
	} {
		if err := get(); !errors.Is(err, pgx.ErrNoRows) {
			t.Errorf("%s of an unknown payment: %v, want pgx.ErrNoRows", name, err)
		}
	}
}

func TestPaymentStore_ChargePaidAndRefundedEachMoveOnlyFromTheirStatus(t *testing.T) {
	ctx := context.Background()
	db := storeDB(t)
	p := newStoredPayment(t, db, 25000)
	now := storeEpoch.Add(time.Minute)
	c := providerCharge{ProviderPaymentID: "1310000001", QRCode: "000201…", QRCodeBase64: "iVBOR…", TicketURL: "https://pix.example/t/1"}

	if set, err := payments.setCharge(ctx, db, p.ID, c, now); err != nil || !set {
		t.Fatalf("setCharge: %v, %v", set, err)
	}
	if set, err := payments.setCharge(ctx, db, p.ID, providerCharge{ProviderPaymentID: "1310000002"}, now); err != nil || set {
		t.Fatalf("setCharge of a PENDING payment: %v, %v; want false", set, err)
	}
	p.Status, p.ProviderPaymentID, p.QRCode, p.QRCodeBase64, p.TicketURL = statusPending, &c.ProviderPaymentID, c.QRCode, c.QRCodeBase64, c.TicketURL
	got, err := payments.getByCharge(ctx, db, c.ProviderPaymentID)
	if err != nil {
		t.Fatal(err)
	}
	samePayment(t, "after setCharge", got, p)
	if checked := lastChecked(t, db, p.ID); !checked.Equal(now) {
		t.Errorf("last checked %v, want the charge's time %v", checked, now)
	}

	if failed, err := payments.fail(ctx, db, p.ID, statusCreating, now); err != nil || failed {
		t.Fatalf("fail from CREATING of a PENDING payment: %v, %v; want false", failed, err)
	}
	paidAt := now.Add(time.Minute)
	if marked, err := payments.markPaid(ctx, db, p.ID, statusPending, "another-id", paidAt, paidAt); err != nil || !marked {
		t.Fatalf("markPaid: %v, %v", marked, err)
	}
	if marked, err := payments.markPaid(ctx, db, p.ID, statusPending, "", paidAt.Add(time.Hour), paidAt); err != nil || marked {
		t.Fatalf("markPaid of a PAID payment from PENDING: %v, %v; want false", marked, err)
	}
	p.Status, p.PaidAt = statusPaid, &paidAt // the charge's id is kept
	if err := payments.addRefundRequested(ctx, db, p.ID, 10000, paidAt); err != nil {
		t.Fatal(err)
	}
	if err := payments.addRefundRequested(ctx, db, p.ID, 5000, paidAt); err != nil {
		t.Fatal(err)
	}
	if err := payments.setRefunded(ctx, db, p.ID, 10000, statusPartiallyRefunded, paidAt); err != nil {
		t.Fatal(err)
	}
	p.RefundsRequestedCents, p.RefundedCents, p.Status = 15000, 10000, statusPartiallyRefunded
	later := paidAt.Add(time.Hour)
	if err := payments.checked(ctx, db, p.ID, later); err != nil {
		t.Fatal(err)
	}
	got, err = payments.get(ctx, db, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	samePayment(t, "after paid and refunds", got, p)
	if checked := lastChecked(t, db, p.ID); !checked.Equal(later) {
		t.Errorf("last checked %v, want %v", checked, later)
	}
}

func TestPaymentStore_PaidWithoutAChargeKeepsTheProvidersID(t *testing.T) {
	ctx := context.Background()
	db := storeDB(t)
	p := newStoredPayment(t, db, 25000)
	if failed, err := payments.fail(ctx, db, p.ID, statusCreating, storeEpoch); err != nil || !failed {
		t.Fatalf("fail: %v, %v", failed, err)
	}
	if marked, err := payments.markPaid(ctx, db, p.ID, statusFailed, "1310000009", storeEpoch, storeEpoch); err != nil || !marked {
		t.Fatalf("markPaid from FAILED: %v, %v", marked, err)
	}
	got, err := payments.getByCharge(ctx, db, "1310000009")
	if err != nil || got.ID != p.ID || got.Status != statusPaid {
		t.Fatalf("getByCharge: %+v, %v; want the payment PAID", got, err)
	}
}

func TestPaymentStore_LateChargeIsKeptOnlyOnAFailedPaymentWithoutOne(t *testing.T) {
	ctx := context.Background()
	db := storeDB(t)
	p := newStoredPayment(t, db, 25000)
	if kept, err := payments.keepLateCharge(ctx, db, p.ID, "1310000003"); err != nil || kept {
		t.Fatalf("keepLateCharge of a CREATING payment: %v, %v; want false", kept, err)
	}
	if failed, err := payments.fail(ctx, db, p.ID, statusCreating, storeEpoch); err != nil || !failed {
		t.Fatalf("fail: %v, %v", failed, err)
	}
	if kept, err := payments.keepLateCharge(ctx, db, p.ID, "1310000003"); err != nil || !kept {
		t.Fatalf("keepLateCharge: %v, %v", kept, err)
	}
	if kept, err := payments.keepLateCharge(ctx, db, p.ID, "1310000004"); err != nil || kept {
		t.Fatalf("keepLateCharge of a payment that has one: %v, %v; want false", kept, err)
	}
	got, err := payments.getByCharge(ctx, db, "1310000003")
	if err != nil || got.ID != p.ID || got.Status != statusFailed {
		t.Fatalf("getByCharge: %+v, %v; want the FAILED payment", got, err)
	}
}

func TestPaymentStore_ListsPendingChargesToRecheckAndOverdueOnesInOrder(t *testing.T) {
	ctx := context.Background()
	db := storeDB(t)
	// pending makes a PENDING payment expiring at expire, last read at checked.
	pending := func(id string, expire, checked time.Time) *payment {
		t.Helper()
		p := newStoredPayment(t, db, 25000)
		if _, err := db.Exec(ctx, `UPDATE payments SET expire_at = $2 WHERE id = $1`, p.ID, expire); err != nil {
			t.Fatal(err)
		}
		if set, err := payments.setCharge(ctx, db, p.ID, providerCharge{ProviderPaymentID: id}, checked); err != nil || !set {
			t.Fatalf("setCharge: %v, %v", set, err)
		}
		return p
	}
	now := storeEpoch.Add(24 * time.Hour)
	pending("recent", now.Add(time.Hour), now.Add(-time.Second))
	pending("older", now.Add(time.Hour), now.Add(-10*time.Minute))
	oldest := pending("oldest", now.Add(2*time.Hour), now.Add(-20*time.Minute))
	overdue := pending("overdue", now.Add(-5*time.Minute), now.Add(-30*time.Minute))
	longOverdue := pending("long-overdue", now.Add(-time.Hour), now.Add(-30*time.Minute))
	paid := pending("paid", now.Add(-time.Hour), now.Add(-time.Hour))
	if _, err := payments.markPaid(ctx, db, paid.ID, statusPending, "", now, now); err != nil {
		t.Fatal(err)
	}
	newStoredPayment(t, db, 25000) // CREATING: no charge to read

	checkedBefore, expiredFrom := now.Add(-time.Minute), now.Add(-2*time.Minute)
	ids, err := payments.listUnchecked(ctx, db, checkedBefore, expiredFrom, 10)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"oldest", "older"}; !slices.Equal(ids, want) {
		t.Errorf("listUnchecked = %v, want %v", ids, want)
	}
	if ids, _ := payments.listUnchecked(ctx, db, checkedBefore, expiredFrom, 1); !slices.Equal(ids, []string{"oldest"}) {
		t.Errorf("listUnchecked limited to 1 = %v, want [oldest]", ids)
	}
	ids, err = payments.listOverdue(ctx, db, expiredFrom, 10)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{longOverdue.ID, overdue.ID}; !slices.Equal(ids, want) {
		t.Errorf("listOverdue = %v, want %v", ids, want)
	}
	if ids, _ := payments.listOverdue(ctx, db, expiredFrom, 1); !slices.Equal(ids, []string{longOverdue.ID}) {
		t.Errorf("listOverdue limited to 1 = %v, want [%s]", ids, longOverdue.ID)
	}
	// Read just now, the oldest is no longer due a re-read.
	if err := payments.checked(ctx, db, oldest.ID, now); err != nil {
		t.Fatal(err)
	}
	if ids, _ := payments.listUnchecked(ctx, db, checkedBefore, expiredFrom, 10); !slices.Equal(ids, []string{"older"}) {
		t.Errorf("after a read, listUnchecked = %v, want [older]", ids)
	}
}

func TestPaymentStore_HistoryIsTheEventsInTheOrderAdded(t *testing.T) {
	ctx := context.Background()
	db := storeDB(t)
	p := newStoredPayment(t, db, 25000)
	other := newStoredPayment(t, db, 25000)
	want := []paymentEvent{
		{Status: statusCreating, Source: sourceStart, At: storeEpoch},
		{Status: statusPending, Source: sourceStart, Detail: "pending_waiting_transfer", At: storeEpoch.Add(time.Second)},
		// Added later with an earlier time: the history keeps the order of what happened.
		{Status: statusPaid, Source: sourceNotification, Detail: "accredited", At: storeEpoch},
	}
	for _, e := range want {
		if err := payments.addEvent(ctx, db, p.ID, e); err != nil {
			t.Fatal(err)
		}
	}
	if err := payments.addEvent(ctx, db, other.ID, paymentEvent{Status: statusFailed, Source: sourceCancel, At: storeEpoch}); err != nil {
		t.Fatal(err)
	}
	got, err := payments.history(ctx, db, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("history = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i].Status != want[i].Status || got[i].Source != want[i].Source || got[i].Detail != want[i].Detail ||
			!got[i].At.Equal(want[i].At) {
			t.Errorf("event %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	if err := payments.addEvent(ctx, db, uuid.NewString(), want[0]); err == nil {
		t.Error("an event of no payment was added")
	}
}

// lastChecked reads when the payment's charge was last read.
func lastChecked(t *testing.T, db *pgxpool.Pool, id string) time.Time {
	t.Helper()
	var at time.Time
	if err := db.QueryRow(context.Background(), `SELECT last_checked_at FROM payments WHERE id = $1`, id).Scan(&at); err != nil {
		t.Fatal(err)
	}
	return at
}
