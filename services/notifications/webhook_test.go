package notifications

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	notificationsv1 "healthcore/gen/healthcore/notifications/v1"
	"healthcore/services/notifications/whatsapp"
)

// statusBody is a Cloud API status webhook for one message, as Meta posts it.
func statusBody(messageID, status string) []byte {
	return fmt.Appendf(nil, `{"object":"whatsapp_business_account","entry":[{"id":"100000000000000","changes":[{"field":"messages",
"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550000000","phone_number_id":%q},
"statuses":[{"id":%q,"status":%q,"timestamp":"%d","recipient_id":"5511987654321"}]}}]}]}`,
		testWAPhoneID, messageID, status, time.Now().Unix())
}

func (f *fixture) postWebhook(body []byte, signature string) int {
	f.t.Helper()
	req, err := http.NewRequest(http.MethodPost, f.webhook, strings.NewReader(string(body)))
	if err != nil {
		f.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if signature != "" {
		req.Header.Set("X-Hub-Signature-256", signature)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

func TestWebhook_SignedStatusUpdatesTheDeliveryUnsignedOrForgedIs401(t *testing.T) {
	f := newFixture(t)
	p, d := f.patient("Maria da Silva", "+5511987654321"), f.doctor("Dra. Ana Souza")
	f.optIn(p)
	n := f.notify(appointment("appt-8-confirmed-patient", notificationsv1.Event_EVENT_BOOKING_CONFIRMED, p.id, p, d, f.clock.Now().Add(48*time.Hour)))
	var wamid string
	f.waitFor("delivered", func() bool {
		st := f.stored(n.GetId())
		dl := st.find(notificationsv1.Channel_CHANNEL_WHATSAPP)
		if dl != nil && dl.providerID != nil {
			wamid = *dl.providerID
		}
		return dl != nil && dl.status == notificationsv1.DeliveryStatus_DELIVERY_STATUS_DELIVERED
	})
	read := statusBody(wamid, "read")
	for _, tc := range []struct {
		name, sig string
	}{
		{"unsigned", ""},
		{"signed with another secret", "sha256=" + hex.EncodeToString(whatsapp.Sign("not the app secret", read))},
		{"signature of another body", "sha256=" + hex.EncodeToString(whatsapp.Sign(testWASecret, statusBody(wamid, "failed")))},
		{"not hex", "sha256=zz"},
	} {
		if code := f.postWebhook(read, tc.sig); code != http.StatusUnauthorized {
			t.Errorf("%s: %d, want 401", tc.name, code)
		}
	}
	st := f.stored(n.GetId())
	if dl := st.find(notificationsv1.Channel_CHANNEL_WHATSAPP); dl.status != notificationsv1.DeliveryStatus_DELIVERY_STATUS_DELIVERED {
		t.Fatalf("a refused webhook changed the delivery: %s", dl.status)
	}
	if code := f.postWebhook(read, "sha256="+hex.EncodeToString(whatsapp.Sign(testWASecret, read))); code != http.StatusOK {
		t.Fatalf("signed: %d", code)
	}
	st = f.stored(n.GetId())
	if dl := st.find(notificationsv1.Channel_CHANNEL_WHATSAPP); dl.status != notificationsv1.DeliveryStatus_DELIVERY_STATUS_READ {
		t.Fatalf("after a signed read status: %s", dl.status)
	}
	// A late "delivered" does not move it back.
	late := statusBody(wamid, "delivered")
	if code := f.postWebhook(late, "sha256="+hex.EncodeToString(whatsapp.Sign(testWASecret, late))); code != http.StatusOK {
		t.Fatalf("late: %d", code)
	}
	st = f.stored(n.GetId())
	if dl := st.find(notificationsv1.Channel_CHANNEL_WHATSAPP); dl.status != notificationsv1.DeliveryStatus_DELIVERY_STATUS_READ {
		t.Fatalf("after a late delivered: %s", dl.status)
	}
}

func TestWebhook_VerificationHandshake(t *testing.T) {
	f := newFixture(t)
	get := func(q string) (int, string) {
		resp, err := http.Get(f.webhook + "?" + q)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("hub.mode=subscribe&hub.verify_token=test-verify-token&hub.challenge=1158201444"); code != 200 || body != "1158201444" {
		t.Fatalf("good token: %d %q", code, body)
	}
	if code, _ := get("hub.mode=subscribe&hub.verify_token=guess&hub.challenge=1158201444"); code != http.StatusForbidden {
		t.Fatalf("wrong token: %d", code)
	}
	_ = context.Background()
}

func TestWebhook_StatusOfAnUnknownMessageIsHeldThenPruned(t *testing.T) {
	f := newFixture(t)
	body := statusBody("wamid.not-ours", "delivered")
	if code := f.postWebhook(body, "sha256="+hex.EncodeToString(whatsapp.Sign(testWASecret, body))); code != http.StatusOK {
		t.Fatalf("signed: %d", code)
	}
	count := func() int {
		var n int
		if err := f.db.QueryRow(context.Background(), `SELECT count(*) FROM held_statuses WHERE provider_message_id = 'wamid.not-ours'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if count() != 1 {
		t.Fatalf("held %d", count())
	}
	if err := f.svc.pruneHeld(context.Background()); err != nil || count() != 1 {
		t.Fatalf("pruned a fresh status: %v, %d", err, count())
	}
	f.clock.Advance(heldFor + time.Minute)
	if err := f.svc.pruneHeld(context.Background()); err != nil || count() != 0 {
		t.Fatalf("kept a day-old status: %v, %d", err, count())
	}
}
