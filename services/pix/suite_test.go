package pix

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"image/png"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"healthcore/services/pix/pixsandbox"
)

// runDriverSuite checks the Driver contract end to end. It runs against the Mercado
// Pago driver speaking HTTP to the sandbox on loopback: the code path production runs,
// against a server with the provider's behaviour, webhooks included.
func runDriverSuite(t *testing.T, newEnv func(t *testing.T) *env) {
	ctx := context.Background()
	// Each case has its own database, sandbox and clock, so they run in parallel.
	run := func(name string, f func(t *testing.T)) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f(t)
		})
	}

	run("CreatedChargeIsPendingWithQRCodeAndExactAmount", func(t *testing.T) {
		e := newEnv(t)
		req := e.chargeReq(1999, "create-0001")
		c, err := e.driver.CreateCharge(ctx, req)
		if err != nil {
			t.Fatalf("CreateCharge: %v", err)
		}
		if _, err := strconv.ParseInt(c.ID, 10, 64); err != nil {
			t.Errorf("id %q is not numeric like Mercado Pago's", c.ID)
		}
		if c.Status != StatusPending || c.StatusDetail != "pending_waiting_transfer" {
			t.Errorf("status = %s/%s, want pending/pending_waiting_transfer", c.Status, c.StatusDetail)
		}
		if c.AmountCents != 1999 || c.RefundedCents != 0 || c.ExternalReference != req.ExternalReference {
			t.Errorf("amount %d refunded %d reference %q, want 1999, 0, %q", c.AmountCents, c.RefundedCents, c.ExternalReference, req.ExternalReference)
		}
		fields, err := pixsandbox.ParseBRCode(c.QRCode)
		if err != nil {
			t.Fatalf("qr_code %q is not a BR Code: %v", c.QRCode, err)
		}
		if fields["54"] != "19.99" || fields["58"] != "BR" || !strings.HasPrefix(fields["26"], "0014br.gov.bcb.pix") {
			t.Errorf("BR Code fields %v: want amount 19.99, country BR, GUI br.gov.bcb.pix", fields)
		}
		img, err := base64.StdEncoding.DecodeString(c.QRCodeBase64)
		if err != nil {
			t.Fatalf("qr_code_base64: %v", err)
		}
		if _, err := png.Decode(bytes.NewReader(img)); err != nil {
			t.Errorf("qr_code_base64 is not a PNG: %v", err)
		}
		if !strings.HasPrefix(c.TicketURL, e.sandbox.URL()+"/payments/"+c.ID) {
			t.Errorf("ticket_url = %q", c.TicketURL)
		}
		if !c.CreateTime.Equal(e.clock.Now()) || !c.ExpireTime.Equal(req.ExpireTime) || !c.ApproveTime.IsZero() {
			t.Errorf("times created %v expires %v approved %v; want %v, %v, zero", c.CreateTime, c.ExpireTime, c.ApproveTime, e.clock.Now(), req.ExpireTime)
		}
		if got := e.get(c.ID); utc(got) != utc(c) {
			t.Errorf("GetCharge = %+v\nwant the created charge %+v", got, c)
		}
	})

	run("AmountsCrossTheAPIExactly", func(t *testing.T) {
		e := newEnv(t)
		for i, amount := range []int64{1, 10, 99, 101, 1999, 2999, 123457, 99999999, 100000000} {
			c := e.create(amount, fmt.Sprintf("amount-%04d", i))
			if c.AmountCents != amount || e.get(c.ID).AmountCents != amount {
				t.Errorf("charge of %d centavos came back as %d", amount, c.AmountCents)
			}
		}
	})

	run("RetryWithTheSameKeyReturnsTheSameChargeAndCreatesOnePayment", func(t *testing.T) {
		e := newEnv(t)
		first := e.create(1999, "retry-0001")
		var wg sync.WaitGroup
		ids := make([]string, 6)
		errs := make([]error, 6)
		for i := range ids { // concurrent retries too: the key's row serialises them
			wg.Go(func() {
				c, err := e.driver.CreateCharge(ctx, e.chargeReq(1999, "retry-0001"))
				ids[i], errs[i] = c.ID, err
			})
		}
		wg.Wait()
		for i := range ids {
			if errs[i] != nil || ids[i] != first.ID {
				t.Errorf("retry %d = %q, %v; want %s", i, ids[i], errs[i], first.ID)
			}
		}
		if n := e.countPayments("pay-retry-0001"); n != 1 {
			t.Errorf("%d payments at the provider, want 1", n)
		}
		other := e.chargeReq(2500, "retry-0001")
		other.ExternalReference = "pay-retry-0001"
		_, err := e.driver.CreateCharge(ctx, other)
		wantErr(t, "same key, other amount", err, ErrIdempotencyKeyReused)
	})

	run("PendingChargeCancels", func(t *testing.T) {
		e := newEnv(t)
		c := e.create(5000, "cancel-0001")
		got, err := e.driver.CancelCharge(ctx, c.ID, "cancel-0001-cancel")
		if err != nil {
			t.Fatalf("CancelCharge: %v", err)
		}
		if got.Status != StatusCancelled || got.StatusDetail != "by_collector" {
			t.Errorf("after cancel: %s/%s, want cancelled/by_collector", got.Status, got.StatusDetail)
		}
		again, err := e.driver.CancelCharge(ctx, c.ID, "cancel-0001-cancel")
		if err != nil || again.Status != StatusCancelled {
			t.Errorf("retried cancel = %s, %v; want the cancelled charge", again.Status, err)
		}
		_, err = e.driver.CancelCharge(ctx, c.ID, "cancel-0001-other")
		wantErr(t, "cancelling a cancelled charge under a new key", err, ErrNotCancellable)
		if s := e.get(c.ID).Status; s != StatusCancelled {
			t.Errorf("GetCharge status = %s, want cancelled", s)
		}
	})

	run("ApprovedChargeDoesNotCancel", func(t *testing.T) {
		e := newEnv(t)
		c := e.create(5000, "cancel-0002")
		if err := e.sandbox.Approve(ctx, c.ID); err != nil {
			t.Fatalf("Approve: %v", err)
		}
		_, err := e.driver.CancelCharge(ctx, c.ID, "cancel-0002-cancel")
		wantErr(t, "cancel approved", err, ErrNotCancellable)
		got := e.get(c.ID)
		if got.Status != StatusApproved || got.StatusDetail != "accredited" || !got.ApproveTime.Equal(e.clock.Now()) {
			t.Errorf("after refused cancel: %s/%s approved %v, want approved/accredited at %v", got.Status, got.StatusDetail, got.ApproveTime, e.clock.Now())
		}
	})

	run("FullRefundOfAPaidChargeRefundsItOnce", func(t *testing.T) {
		e := newEnv(t)
		c := e.create(15000, "refund-0001")
		e.approve(c.ID)
		r, err := e.driver.Refund(ctx, c.ID, 0, "refund-0001-full")
		if err != nil {
			t.Fatalf("Refund: %v", err)
		}
		if r.ID == "" || r.AmountCents != 15000 || r.Charge.Status != StatusRefunded || r.Charge.RefundedCents != 15000 {
			t.Fatalf("refund = %+v, want 15000 refunded and the charge refunded", r)
		}
		again, err := e.driver.Refund(ctx, c.ID, 0, "refund-0001-full")
		if err != nil || again.ID != r.ID || again.Charge.RefundedCents != 15000 {
			t.Errorf("retried refund = %+v, %v; want refund %s again and 15000 refunded in all", again, err, r.ID)
		}
		_, err = e.driver.Refund(ctx, c.ID, 0, "refund-0001-second")
		wantErr(t, "second full refund", err, ErrNotRefundable)
	})

	run("PartialRefundsAddUpAndNeverExceedTheAmount", func(t *testing.T) {
		e := newEnv(t)
		c := e.create(10000, "refund-0002")
		e.approve(c.ID)
		r, err := e.driver.Refund(ctx, c.ID, 1050, "refund-0002-a")
		if err != nil {
			t.Fatalf("Refund 10.50: %v", err)
		}
		if r.AmountCents != 1050 || r.Charge.Status != StatusApproved || r.Charge.StatusDetail != "partially_refunded" || r.Charge.RefundedCents != 1050 {
			t.Fatalf("after 10.50: %+v, want approved/partially_refunded with 1050 refunded", r)
		}
		if r, err = e.driver.Refund(ctx, c.ID, 3333, "refund-0002-b"); err != nil || r.Charge.RefundedCents != 4383 {
			t.Fatalf("Refund 33.33 = %+v, %v; want 4383 refunded", r, err)
		}
		_, err = e.driver.Refund(ctx, c.ID, 10000-4383+1, "refund-0002-c")
		wantErr(t, "refund of one centavo more than is left", err, ErrRefundExceedsAmount)
		r, err = e.driver.Refund(ctx, c.ID, 10000-4383, "refund-0002-d")
		if err != nil || r.Charge.Status != StatusRefunded || r.Charge.RefundedCents != 10000 {
			t.Fatalf("refund of exactly what is left = %+v, %v; want refunded 10000", r, err)
		}
	})

	run("UnpaidChargeIsNotRefundable", func(t *testing.T) {
		e := newEnv(t)
		c := e.create(10000, "refund-0003")
		_, err := e.driver.Refund(ctx, c.ID, 100, "refund-0003-a")
		wantErr(t, "refund of a pending charge", err, ErrNotRefundable)
	})

	run("UnknownChargeIsNotFound", func(t *testing.T) {
		e := newEnv(t)
		for _, id := range []string{"999999999", "not-a-number", "-5"} {
			_, err := e.driver.GetCharge(ctx, id)
			wantErr(t, "GetCharge "+id, err, ErrChargeNotFound)
		}
		_, err := e.driver.CancelCharge(ctx, "999999999", "cancel-unknown")
		wantErr(t, "CancelCharge unknown", err, ErrChargeNotFound)
		_, err = e.driver.Refund(ctx, "999999999", 0, "refund-unknown")
		wantErr(t, "Refund unknown", err, ErrChargeNotFound)
	})

	run("UnpaidChargeExpiresIntoCancelled", func(t *testing.T) {
		e := newEnv(t)
		req := e.chargeReq(5000, "expire-0001")
		req.ExpireTime = e.clock.Now().Add(MinExpiry)
		c, err := e.driver.CreateCharge(ctx, req)
		if err != nil {
			t.Fatalf("CreateCharge: %v", err)
		}
		e.clock.Advance(29 * time.Minute)
		if s := e.get(c.ID).Status; s != StatusPending {
			t.Fatalf("29 minutes later: %s, want pending", s)
		}
		e.clock.Advance(time.Minute)
		got := e.get(c.ID)
		if got.Status != StatusCancelled || got.StatusDetail != "expired" {
			t.Fatalf("at expiry: %s/%s, want cancelled/expired", got.Status, got.StatusDetail)
		}
		_, err = e.driver.CancelCharge(ctx, c.ID, "expire-0001-cancel")
		wantErr(t, "cancel expired", err, ErrNotCancellable)
		if err := e.sandbox.Approve(ctx, c.ID); err == nil {
			t.Error("an expired charge was approved")
		}
	})

	run("WebhooksAreSignedRetriedAndAnnounceEveryChange", func(t *testing.T) {
		e := newEnv(t)
		e.hooks.mu.Lock()
		e.hooks.failFirst = true
		e.hooks.mu.Unlock()
		c := e.create(8000, "hooks-0001")
		e.approve(c.ID)
		if _, err := e.driver.Refund(ctx, c.ID, 2000, "hooks-0001-refund"); err != nil {
			t.Fatal(err)
		}
		got := e.hooks.waitFor(t, "payment.created and two payment.updated", func(ns []notification) bool {
			return count(ns, c.ID, "payment.created") == 1 && count(ns, c.ID, "payment.updated") == 2
		})
		for _, n := range got {
			if n.VerifyErr != nil {
				t.Errorf("%s: signature refused: %v", n.Action, n.VerifyErr)
			}
			if n.QueryDataID != c.ID || n.QueryType != "payment" || n.RequestID == "" {
				t.Errorf("%s: query data.id=%q type=%q, x-request-id %q", n.Action, n.QueryDataID, n.QueryType, n.RequestID)
			}
			b := n.Body
			if b["type"] != "payment" || b["api_version"] != "v1" || b["live_mode"] != false || b["id"] == nil ||
				b["user_id"] == nil || b["date_created"] == nil {
				t.Errorf("%s: body %v lacks Mercado Pago's fields", n.Action, b)
			}
		}
		e.hooks.mu.Lock()
		failed := e.hooks.failed
		e.hooks.mu.Unlock()
		if failed != 1 {
			t.Errorf("%d deliveries answered 500, want 1", failed)
		}
		// The sandbox records an outcome after the receiver answers: wait for the records.
		var delivered, retried int
		for deadline := time.Now().Add(5 * time.Second); delivered < 3 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if err := e.db.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE attempts = 2) FROM webhook_deliveries
				WHERE delivered_at IS NOT NULL`).Scan(&delivered, &retried); err != nil {
				t.Fatal(err)
			}
		}
		if delivered != 3 || retried != 1 {
			t.Errorf("%d deliveries recorded delivered, %d on the second attempt; want 3 and 1 (the one refused with 500)", delivered, retried)
		}
		time.Sleep(100 * time.Millisecond) // no duplicates arrive later
		if n := len(e.hooks.waitFor(t, "nothing more", func([]notification) bool { return true })); n != 3 {
			t.Errorf("%d notifications in all, want 3", n)
		}
	})

	run("TicketPageShowsTheCodeAndPays", func(t *testing.T) {
		e := newEnv(t)
		c := e.create(4200, "ticket-0001")
		resp, err := http.Get(c.TicketURL)
		if err != nil {
			t.Fatal(err)
		}
		var page bytes.Buffer
		_, _ = page.ReadFrom(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(page.String(), "data:image/png;base64,"+c.QRCodeBase64[:40]) ||
			!strings.Contains(page.String(), "/sandbox/payments/"+c.ID+"/approve") {
			t.Fatalf("ticket page %s: want the QR image and an approve button", resp.Status)
		}
		noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err = noRedirect.Post(e.sandbox.URL()+"/sandbox/payments/"+c.ID+"/approve", "application/x-www-form-urlencoded", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther || e.get(c.ID).Status != StatusApproved {
			t.Errorf("the page's approve button answered %s; want 303 and the charge approved", resp.Status)
		}
	})
}

func TestMercadoPago_DriverSuiteAgainstTheSandbox(t *testing.T) {
	runDriverSuite(t, newEnv)
}
