package pixsandbox

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"healthcore/platform/pg"
	"healthcore/platform/pgtest"
)

// insertTestPayment stores a pending payment of cents expiring at expires.
func insertTestPayment(t *testing.T, db *pgxpool.Pool, cents int64, created, expires time.Time) *payment {
	t.Helper()
	ctx := context.Background()
	id, err := payments.nextID(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	p := &payment{
		ID: id, AmountCents: cents, Description: "Consulta", ExternalReference: "ref-1", PayerEmail: "ana@example.com",
		PayerFirstName: "Ana", PayerLastName: "Lima", PayerIDType: "CPF", PayerIDNumber: "52998224725",
		NotificationURL: "http://127.0.0.1:9/hooks", QRCode: "000201", QRCodeBase64: "iVBOR", TicketURL: "http://127.0.0.1:9/t",
		CreatedAt: created, ExpiresAt: expires,
	}
	if err := payments.insert(ctx, db, p); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPaymentStore_InsertedPaymentReadsBackPending(t *testing.T) {
	db := pgtest.Pool(t, Schema.Name, Schema)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)
	in := insertTestPayment(t, db, 1999, now, now.Add(time.Hour))
	if in.ID < 1320000001 {
		t.Errorf("id %d, want Mercado Pago-like ids from 1320000001", in.ID)
	}
	got, err := payments.get(ctx, db, in.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := *in
	want.Status, want.StatusDetail, want.UpdatedAt = statusPending, "pending_waiting_transfer", now
	got.CreatedAt, got.UpdatedAt, got.ExpiresAt = got.CreatedAt.UTC(), got.UpdatedAt.UTC(), got.ExpiresAt.UTC()
	if !reflect.DeepEqual(*got, want) {
		t.Errorf("get = %+v\nwant %+v", *got, want)
	}
	if _, err := payments.get(ctx, db, 77); !errors.Is(err, pgx.ErrNoRows) {
		t.Errorf("unknown payment: %v, want pgx.ErrNoRows", err)
	}
}

func TestPaymentStore_StatusApprovalAndRefundedAmount(t *testing.T) {
	db := pgtest.Pool(t, Schema.Name, Schema)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)
	p := insertTestPayment(t, db, 10000, now, now.Add(time.Hour))
	approved := now.Add(time.Minute)
	later := now.Add(2 * time.Minute)
	err := pg.InTx(ctx, db, func(tx pgx.Tx) error {
		if _, err := payments.getForUpdate(ctx, tx, p.ID); err != nil {
			return err
		}
		if err := payments.setStatus(ctx, tx, p.ID, statusApproved, "accredited", approved, &approved); err != nil {
			return err
		}
		// A second approval time does not replace the first.
		if err := payments.setStatus(ctx, tx, p.ID, statusApproved, "partially_refunded", later, &later); err != nil {
			return err
		}
		return payments.addRefunded(ctx, tx, p.ID, 1050)
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := payments.get(ctx, db, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != statusApproved || got.StatusDetail != "partially_refunded" || !got.UpdatedAt.Equal(later) ||
		got.ApprovedAt == nil || !got.ApprovedAt.Equal(approved) || got.RefundedCents != 1050 {
		t.Errorf("after the changes: %s/%s updated %v approved %v refunded %d; want approved/partially_refunded, %v, %v, 1050",
			got.Status, got.StatusDetail, got.UpdatedAt, got.ApprovedAt, got.RefundedCents, later, approved)
	}
}

func TestPaymentStore_ExpiresOnlyUnpaidPaymentsPastTheirExpiry(t *testing.T) {
	db := pgtest.Pool(t, Schema.Name, Schema)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)
	due1 := insertTestPayment(t, db, 100, now, now.Add(-time.Minute))
	due2 := insertTestPayment(t, db, 200, now, now)
	notYet := insertTestPayment(t, db, 300, now, now.Add(time.Minute))
	paid := insertTestPayment(t, db, 400, now, now.Add(-time.Minute))
	if err := payments.setStatus(ctx, db, paid.ID, statusApproved, "accredited", now, &now); err != nil {
		t.Fatal(err)
	}

	one, err := payments.expireIfDue(ctx, db, due1.ID, now)
	if err != nil || len(one) != 1 || one[0] != (expiredPayment{ID: due1.ID, NotificationURL: due1.NotificationURL}) {
		t.Fatalf("expireIfDue(due) = %+v, %v; want payment %d", one, err, due1.ID)
	}
	if none, err := payments.expireIfDue(ctx, db, notYet.ID, now); err != nil || len(none) != 0 {
		t.Errorf("expireIfDue(not yet due) = %+v, %v; want none", none, err)
	}
	rest, err := payments.expireDue(ctx, db, now)
	if err != nil || len(rest) != 1 || rest[0].ID != due2.ID {
		t.Fatalf("expireDue = %+v, %v; want only payment %d (due at now)", rest, err, due2.ID)
	}
	for id, want := range map[int64]string{due1.ID: "cancelled/expired", due2.ID: "cancelled/expired",
		notYet.ID: "pending/pending_waiting_transfer", paid.ID: "approved/accredited"} {
		p, err := payments.get(ctx, db, id)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.Status + "/" + p.StatusDetail; got != want {
			t.Errorf("payment %d: %s, want %s", id, got, want)
		}
	}
}
