package pixsandbox

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"healthcore/platform/pgtest"
)

func TestRefundStore_InsertGetAndListByPayment(t *testing.T) {
	db := pgtest.Pool(t, Schema.Name, Schema)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)
	p := insertTestPayment(t, db, 10000, now, now.Add(time.Hour))
	other := insertTestPayment(t, db, 500, now, now.Add(time.Hour))
	first, err := refunds.insert(ctx, db, p.ID, 1050, true, now)
	if err != nil {
		t.Fatal(err)
	}
	second, err := refunds.insert(ctx, db, p.ID, 8950, false, now.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := refunds.insert(ctx, db, other.ID, 500, false, now); err != nil {
		t.Fatal(err)
	}
	got, err := refunds.get(ctx, db, p.ID, second)
	got.CreatedAt = got.CreatedAt.UTC()
	if err != nil || got != (refund{ID: second, PaymentID: p.ID, AmountCents: 8950, Partial: false, CreatedAt: now.Add(time.Second)}) {
		t.Errorf("get = %+v, %v", got, err)
	}
	if _, err := refunds.get(ctx, db, other.ID, first); !errors.Is(err, pgx.ErrNoRows) {
		t.Errorf("a refund asked for under another payment: %v, want pgx.ErrNoRows", err)
	}
	list, err := refunds.listByPayment(ctx, db, p.ID)
	if err != nil || len(list) != 2 || list[0].ID != first || list[1].ID != second || !list[0].Partial || list[0].AmountCents != 1050 {
		t.Errorf("listByPayment = %+v, %v; want refunds %d (partial, 1050) then %d", list, err, first, second)
	}
}
