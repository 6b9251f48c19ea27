package pixsandbox

import (
	"context"
	"testing"
	"time"

	"healthcore/platform/pgtest"
)

func TestDeliveryStore_ClaimLeasesAndRecordsOutcomes(t *testing.T) {
	db := pgtest.Pool(t, Schema.Name, Schema)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)
	p := insertTestPayment(t, db, 100, now, now.Add(time.Hour))
	for _, action := range []string{"payment.created", "payment.updated", "payment.updated"} {
		if err := deliveries.enqueue(ctx, db, p.ID, action, "http://127.0.0.1:9/hooks", now); err != nil {
			t.Fatal(err)
		}
	}
	due, err := deliveries.claimDue(ctx, db, time.Hour, 2)
	if err != nil || len(due) != 2 {
		t.Fatalf("claimDue(limit 2) = %+v, %v; want 2", due, err)
	}
	d := due[0]
	if d.PaymentID != p.ID || d.Action != "payment.created" || d.URL != "http://127.0.0.1:9/hooks" || d.Attempts != 1 || !d.CreatedAt.Equal(now) {
		t.Errorf("first claimed = %+v; want the payment.created of %d, attempt 1", d, p.ID)
	}
	third, err := deliveries.claimDue(ctx, db, time.Hour, 10)
	if err != nil || len(third) != 1 || third[0].ID == due[0].ID || third[0].ID == due[1].ID {
		t.Fatalf("claimDue while two are leased = %+v, %v; want only the third", third, err)
	}
	if err := deliveries.markDelivered(ctx, db, due[0].ID); err != nil {
		t.Fatal(err)
	}
	if err := deliveries.markFailed(ctx, db, due[1].ID, "receiver answered 500"); err != nil {
		t.Fatal(err)
	}
	if err := deliveries.retryIn(ctx, db, third[0].ID, 0, "receiver answered 502"); err != nil {
		t.Fatal(err)
	}
	again, err := deliveries.claimDue(ctx, db, time.Hour, 10)
	if err != nil || len(again) != 1 || again[0].ID != third[0].ID || again[0].Attempts != 2 {
		t.Fatalf("claimDue after the outcomes = %+v, %v; want only the retried one, attempt 2", again, err)
	}
	var delivered, failed int
	var lastError string
	if err := db.QueryRow(ctx, `SELECT count(*) FILTER (WHERE delivered_at IS NOT NULL), count(*) FILTER (WHERE failed_at IS NOT NULL),
		max(last_error) FILTER (WHERE failed_at IS NOT NULL) FROM webhook_deliveries`).Scan(&delivered, &failed, &lastError); err != nil {
		t.Fatal(err)
	}
	if delivered != 1 || failed != 1 || lastError != "receiver answered 500" {
		t.Errorf("%d delivered, %d failed (%q); want 1, 1 and the failure's error", delivered, failed, lastError)
	}
}
