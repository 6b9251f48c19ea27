package payments

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"healthcore/platform/errs"
)

// sameRefund fails the test unless got has want's values.
func sameRefund(t *testing.T, what string, got, want refund) {
	t.Helper()
	if got.ID != want.ID || got.PaymentID != want.PaymentID || got.AmountCents != want.AmountCents ||
		got.Reason != want.Reason || got.Key != want.Key || got.Status != want.Status ||
		(got.ProviderRefundID == nil) != (want.ProviderRefundID == nil) ||
		got.ProviderRefundID != nil && *got.ProviderRefundID != *want.ProviderRefundID ||
		!got.CreatedAt.Equal(want.CreatedAt) || (got.CompletedAt == nil) != (want.CompletedAt == nil) ||
		got.CompletedAt != nil && !got.CompletedAt.Equal(*want.CompletedAt) {
		t.Fatalf("%s: got %+v, want %+v", what, got, want)
	}
}

func TestRefundStore_InsertReadListAndComplete(t *testing.T) {
	ctx := context.Background()
	db := storeDB(t)
	p := newStoredPayment(t, db, 25000)
	other := newStoredPayment(t, db, 25000)
	first := refund{ID: uuid.NewString(), PaymentID: p.ID, AmountCents: 10000, Reason: "cancelled", Key: "key-1",
		Status: refundRequested, CreatedAt: storeEpoch}
	second := refund{ID: uuid.NewString(), PaymentID: p.ID, AmountCents: 5000, Reason: "refused", Key: "key-2",
		Status: refundRequested, CreatedAt: storeEpoch.Add(time.Minute)}
	elsewhere := refund{ID: uuid.NewString(), PaymentID: other.ID, AmountCents: 7000, Reason: "late_payment", Key: "key-3",
		Status: refundRequested, CreatedAt: storeEpoch}
	for _, f := range []refund{second, first, elsewhere} {
		if err := refunds.insert(ctx, db, f); err != nil {
			t.Fatal(err)
		}
	}

	got, err := refunds.get(ctx, db, first.ID)
	if err != nil {
		t.Fatal(err)
	}
	sameRefund(t, "get", got, first)
	got, err = refunds.getByKey(ctx, db, "key-2")
	if err != nil {
		t.Fatal(err)
	}
	sameRefund(t, "getByKey", got, second)
	list, err := refunds.listByPayment(ctx, db, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 {
		t.Fatalf("listByPayment = %+v, want the payment's 2 refunds", list)
	}
	sameRefund(t, "listed first", list[0], first)
	sameRefund(t, "listed second", list[1], second)
	if cents, err := refunds.completedCents(ctx, db, p.ID); err != nil || cents != 0 {
		t.Fatalf("completedCents before any completes: %d, %v; want 0", cents, err)
	}

	done := storeEpoch.Add(time.Hour)
	for _, f := range []refund{first, second, elsewhere} {
		if completed, err := refunds.complete(ctx, db, f.ID, "prov-"+f.Key, done); err != nil || !completed {
			t.Fatalf("complete %s: %v, %v", f.Key, completed, err)
		}
	}
	if completed, err := refunds.complete(ctx, db, first.ID, "prov-again", done.Add(time.Hour)); err != nil || completed {
		t.Fatalf("complete of a COMPLETED refund: %v, %v; want false", completed, err)
	}
	provID := "prov-key-1"
	first.Status, first.ProviderRefundID, first.CompletedAt = refundCompleted, &provID, &done
	got, err = refunds.get(ctx, db, first.ID)
	if err != nil {
		t.Fatal(err)
	}
	sameRefund(t, "completed", got, first)
	if cents, err := refunds.completedCents(ctx, db, p.ID); err != nil || cents != 15000 {
		t.Fatalf("completedCents: %d, %v; want 15000 (the other payment's refund not counted)", cents, err)
	}
}

func TestRefundStore_AKeyHeldByAnotherRefundIsIdempotencyKeyReused(t *testing.T) {
	ctx := context.Background()
	db := storeDB(t)
	p := newStoredPayment(t, db, 25000)
	f := refund{ID: uuid.NewString(), PaymentID: p.ID, AmountCents: 100, Reason: "cancelled", Key: "same-key",
		Status: refundRequested, CreatedAt: storeEpoch}
	if err := refunds.insert(ctx, db, f); err != nil {
		t.Fatal(err)
	}
	f.ID = uuid.NewString()
	if err := refunds.insert(ctx, db, f); !errs.Has(err, ReasonIdempotencyKeyReused) {
		t.Fatalf("second refund with the key: %v, want %v", err, ReasonIdempotencyKeyReused)
	}
	// Any other refusal is no domain error: an unknown payment breaks the foreign key.
	f.ID, f.Key, f.PaymentID = uuid.NewString(), "other-key", uuid.NewString()
	if err := refunds.insert(ctx, db, f); err == nil || errs.Has(err, ReasonIdempotencyKeyReused) {
		t.Fatalf("refund of no payment: %v, want a database error", err)
	}
}

func TestRefundStore_UnknownRefundIsNoRows(t *testing.T) {
	ctx := context.Background()
	db := storeDB(t)
	if _, err := refunds.get(ctx, db, uuid.NewString()); !errors.Is(err, pgx.ErrNoRows) {
		t.Errorf("get: %v, want pgx.ErrNoRows", err)
	}
	if _, err := refunds.getByKey(ctx, db, "no-such-key"); !errors.Is(err, pgx.ErrNoRows) {
		t.Errorf("getByKey: %v, want pgx.ErrNoRows", err)
	}
	if list, err := refunds.listByPayment(ctx, db, uuid.NewString()); err != nil || len(list) != 0 {
		t.Errorf("listByPayment of no payment: %v, %v; want none", list, err)
	}
}
