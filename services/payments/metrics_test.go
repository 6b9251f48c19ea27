package payments

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestCollector_ReportsPendingPaymentsPastTheirExpiry(t *testing.T) {
	ctx := context.Background()
	db := storeDB(t)
	now := storeEpoch.Add(24 * time.Hour)
	pending := func(id string, expire time.Time) *payment {
		t.Helper()
		p := newStoredPayment(t, db, 25000)
		if _, err := db.Exec(ctx, `UPDATE payments SET expire_at = $2 WHERE id = $1`, p.ID, expire); err != nil {
			t.Fatal(err)
		}
		if set, err := payments.setCharge(ctx, db, p.ID, providerCharge{ProviderPaymentID: id}, now); err != nil || !set {
			t.Fatalf("setCharge: %v, %v", set, err)
		}
		return p
	}
	pending("not yet", now.Add(time.Hour))
	pending("late", now.Add(-5*time.Minute))
	pending("latest", now.Add(-20*time.Minute))
	paid := pending("paid", now.Add(-time.Hour)) // expired, but paid: not stuck
	if _, err := payments.markPaid(ctx, db, paid.ID, statusPending, "", now, now); err != nil {
		t.Fatal(err)
	}
	newStoredPayment(t, db, 25000) // CREATING: no charge yet

	svc := &Service{db: db, now: func() time.Time { return now }, log: slog.New(slog.DiscardHandler)}
	reg := prometheus.NewRegistry()
	reg.MustRegister(svc.Collector())
	if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP healthcore_payments_pending_expired_overdue_seconds How long the oldest PENDING payment has been past its charge's expiry; 0 when none is.
# TYPE healthcore_payments_pending_expired_overdue_seconds gauge
healthcore_payments_pending_expired_overdue_seconds 1200
# HELP healthcore_payments_pending_expired_payments PENDING payments whose charge has expired; reconciliation should settle or fail them.
# TYPE healthcore_payments_pending_expired_payments gauge
healthcore_payments_pending_expired_payments 2
# HELP healthcore_payments_health_up 1 when the scrape read the pending payments, 0 when the query failed (the other series are then missing).
# TYPE healthcore_payments_health_up gauge
healthcore_payments_health_up 1
`)); err != nil {
		t.Error(err)
	}
}

func TestCollector_CountsWebhookOutcomes(t *testing.T) {
	f := newFixture(t, true)
	reg := prometheus.NewRegistry()
	reg.MustRegister(f.svc.Collector())
	b := f.newBooking(25000)
	p := f.start(b)
	id := p.GetProviderPaymentId()
	f.approve(id)

	forged := signed(id, uuid.NewString(), f.provClock.Now())
	forged.header.Set("X-Signature", strings.Replace(forged.header.Get("X-Signature"), "v1=", "v1=00", 1)[:len(forged.header.Get("X-Signature"))])
	code, body := f.post(forged)
	wantRefusal(t, code, body, 401, ReasonSignatureInvalid)
	code, body = f.post(signed(id, uuid.NewString(), f.provClock.Now().Add(-10*time.Minute)))
	wantRefusal(t, code, body, 401, ReasonSignatureStale)
	for range 2 {
		if code, body := f.post(signed(id, uuid.NewString(), f.provClock.Now())); code != 200 {
			t.Fatalf("genuine notification: %d %s", code, body)
		}
	}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP healthcore_payments_webhook_notifications_total Provider payment notifications received by payments, by outcome (accepted, signature_invalid, signature_stale, unavailable).
# TYPE healthcore_payments_webhook_notifications_total counter
healthcore_payments_webhook_notifications_total{outcome="accepted"} 2
healthcore_payments_webhook_notifications_total{outcome="signature_invalid"} 1
healthcore_payments_webhook_notifications_total{outcome="signature_stale"} 1
healthcore_payments_webhook_notifications_total{outcome="unavailable"} 0
`), "healthcore_payments_webhook_notifications_total"); err != nil {
		t.Error(err)
	}
}
