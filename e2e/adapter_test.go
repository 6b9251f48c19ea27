package e2e

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"healthcore/internal/catalog"
	"healthcore/platform/pgtest"
)

// haOutage is how long TestHA_AdapterOutage keeps the PIX provider unreachable: a few
// seconds in make test; go test -count=1 -run TestHA_AdapterOutage ./e2e/ -ha.outage=1m -v
// by hand.
var haOutage = flag.Duration("ha.outage", 5*time.Second, "how long TestHA_AdapterOutage keeps the PIX provider unreachable")

// TestHA_AdapterOutage runs the stack with the PIX provider (the sandbox, reached by the
// production Mercado Pago driver) behind a proxy, and cuts the proxy for -ha.outage:
// the provider is unreachable, as when Mercado Pago or the network to it is down.
//
// Bookings made meanwhile are accepted: each appointment waits PENDING_PAYMENT with its
// payment CREATING and no charge, while scheduling's ensure_payment job keeps retrying
// it. The gateway stays ready (the provider's outage does not take it out: every other
// route still works, and the gateways would all be out alike). Once the provider is
// back, every charge is created, exactly once at the provider (the idempotency key is
// the payment's), and paying it completes the saga (AWAITING_DOCTOR).
func TestHA_AdapterOutage(t *testing.T) {
	pixProxy := startLB(t)
	dbURL := pgtest.URL(t, catalog.Schemas(catalog.Names())...)
	s := startStackOn(t, dbURL, "-pix.base-url=http://"+pixProxy.addr,
		"-scheduling.jobs-max-backoff=2s", "-payments.jobs-max-backoff=2s", "-scheduling.payment-retry-after=1s",
		"-identity.register-per-address=1000000", "-scheduling.bookings-per-address=0", "-scheduling.bookings-per-patient=0",
	)
	pixProxy.add(strings.TrimPrefix(s.sandbox, "http://"))
	db := openPool(t, dbURL)

	doctorID, _ := s.openDoctor("Dra. Ana Souza", "556677", "ana.outage@clinica.com.br", 20000, 15, 0)
	from := time.Now().Add(2 * time.Hour)
	var slots slotsJSON
	if code, _ := s.rest("GET", "/v1/doctors/"+doctorID+"/slots"+rangeQuery(from, from.Add(24*time.Hour)), "", nil, &slots); code != http.StatusOK {
		t.Fatalf("slots: %d", code)
	}
	type appt struct{ token, id string }
	book := func(i int) appt {
		t.Helper()
		token := s.loginPatient(fmt.Sprintf("paciente%d.outage@example.com", i), fmt.Sprintf("%09d", 512000000+i*7919))
		code, b, e := s.book(token, slots.Slots[i].ID, fmt.Sprintf("outage-booking-%d", i))
		if code != http.StatusOK {
			t.Fatalf("book %d: %d %s", i, code, reason(e))
		}
		if b.Appointment.State != "APPOINTMENT_STATE_PENDING_PAYMENT" {
			t.Fatalf("booking %d: %s", i, b.Appointment.State)
		}
		return appt{token, b.Appointment.ID}
	}

	// One booking while the provider answers: its charge is made at once.
	before := book(0)
	if p := s.payment(before.token, before.id); p.ProviderPaymentID == "" {
		t.Fatalf("booked while the provider answers, no charge: %+v", p)
	}

	// The provider goes away; bookings are still taken, and wait.
	pixProxy.cut()
	cutAt := time.Now()
	var during []appt
	for i := 1; i <= 3; i++ {
		during = append(during, book(i))
	}
	if code, _ := httpGet(s.gateway + "/readyz"); code != http.StatusOK {
		t.Errorf("/readyz answers %d while only the PIX provider is down, want 200", code)
	}
	// The pix process tells operators which dependency is degraded, and stays ready.
	pixReady := "http://" + s.ops["pix"] + "/readyz"
	var seen string
	waitFor(t, "the pix process to report its provider degraded", 30*time.Second, &seen, func() bool {
		code, body := httpGet(pixReady)
		seen = fmt.Sprintf("%d %s", code, body)
		return code == http.StatusOK && strings.HasPrefix(body, "degraded\n") &&
			strings.Contains(body, "\npix provider: DEGRADED: ") && strings.Contains(body, "\ndatabase: SERVING\n")
	})
	if left := *haOutage - time.Since(cutAt); left > 0 {
		time.Sleep(left)
	}
	for i, a := range during {
		if got := s.appointment(a.token, a.id); got.State != "APPOINTMENT_STATE_PENDING_PAYMENT" {
			t.Errorf("booking %d after %s without the provider: %s, want PENDING_PAYMENT", i+1, *haOutage, got.State)
		}
		if p := s.payment(a.token, a.id); p.Status != "PAYMENT_STATUS_CREATING" || p.ProviderPaymentID != "" {
			t.Errorf("payment of booking %d after %s without the provider: %s %q, want CREATING without a charge", i+1, *haOutage, p.Status, p.ProviderPaymentID)
		}
	}
	var retried int
	if err := db.QueryRow(context.Background(),
		`SELECT count(*) FROM scheduling.river_job WHERE kind = 'scheduling.ensure_payment' AND attempt > 1`).Scan(&retried); err != nil {
		t.Fatal(err)
	}
	if retried == 0 {
		t.Errorf("no ensure_payment job was retried during the outage")
	}

	// The provider is back: every waiting charge is made, once, and the saga goes on.
	pixProxy.restore()
	restoredAt := time.Now()
	var charged time.Duration
	for i, a := range during {
		s.pay(a.token, a.id, true) // waits for the charge
		charged = max(charged, time.Since(restoredAt))
		s.waitState(a.token, a.id, "APPOINTMENT_STATE_AWAITING_DOCTOR")
		t.Logf("booking %d: charged and paid after the outage", i+1)
	}
	waitFor(t, "the pix process to report its provider back", 30*time.Second, &seen, func() bool {
		code, body := httpGet(pixReady)
		seen = fmt.Sprintf("%d %s", code, body)
		return code == http.StatusOK && body == "ready\ndatabase: SERVING\npix provider: SERVING\n"
	})
	var charges, refs, payments int
	if err := db.QueryRow(context.Background(), `SELECT count(*), count(DISTINCT external_reference) FROM pixsandbox.payments`).Scan(&charges, &refs); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(context.Background(), `SELECT count(*) FROM payments.payments`).Scan(&payments); err != nil {
		t.Fatal(err)
	}
	if want := 1 + len(during); charges != want || refs != want || payments != want {
		t.Errorf("charges at the provider %d (%d distinct payments), payments %d; want %d each", charges, refs, payments, want)
	}
	t.Logf("PIX provider unreachable for %s: %d bookings taken meanwhile, PENDING_PAYMENT with payment CREATING; %d ensure_payment jobs retried; "+
		"every charge made (once) within %s of its return", restoredAt.Sub(cutAt).Round(time.Millisecond),
		len(during), retried, charged.Round(time.Millisecond))
}
