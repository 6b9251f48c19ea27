package whatsapp_test

import (
	"encoding/hex"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"healthcore/services/notifications/whatsapp"
)

func sig(secret string, body []byte) string {
	return "sha256=" + hex.EncodeToString(whatsapp.Sign(secret, body))
}

func TestVerifySignature(t *testing.T) {
	body := []byte(`{"object":"whatsapp_business_account","entry":[]}`)
	// A known answer computed outside Go, so Sign cannot vouch for itself:
	// printf '%s' "$body" | openssl dgst -sha256 -hmac app-secret-for-tests
	const good = "sha256=1ca363dab318df784e1963b29dca91e2098e6cf2fbf0d3c14e09580a90684a61"
	if sig(testSecret, body) != good {
		t.Fatalf("Sign = %s, want %s", sig(testSecret, body), good)
	}
	cases := []struct {
		name, secret, header string
		body                 []byte
		ok                   bool
	}{
		{"good", testSecret, good, body, true},
		{"forged with another secret", testSecret, sig("another-secret", body), body, false},
		{"body changed after signing", testSecret, good, append([]byte(" "), body...), false},
		{"missing header", testSecret, "", body, false},
		{"wrong prefix", testSecret, "sha1=" + good[len("sha256="):], body, false},
		{"no prefix", testSecret, good[len("sha256="):], body, false},
		{"not hex", testSecret, "sha256=zz" + good[len("sha256=")+2:], body, false},
		{"upper-case prefix", testSecret, "SHA256=" + good[len("sha256="):], body, false},
		{"truncated", testSecret, good[:len(good)-2], body, false},
		{"no secret configured", "", sig("", body), body, false},
	}
	for _, tc := range cases {
		err := whatsapp.VerifySignature(tc.secret, tc.body, tc.header)
		if tc.ok != (err == nil) {
			t.Errorf("%s: err = %v", tc.name, err)
		}
		if err != nil && !errors.Is(err, whatsapp.ErrSignature) {
			t.Errorf("%s: %v does not wrap ErrSignature", tc.name, err)
		}
	}
}

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseStatusWebhook_Payloads(t *testing.T) {
	cases := []struct {
		file string
		want []whatsapp.StatusUpdate
	}{
		{"status_sent.json", []whatsapp.StatusUpdate{{
			MessageID:   "wamid.HBgNNTUxMTk4NzY1NDMyMRUCABEYEjQyQkE4RjU2RDFBNzNDMTYxQQA=",
			RecipientID: "5511987654321", Status: "sent", Time: time.Date(2025, 12, 2, 13, 40, 0, 0, time.UTC),
		}}},
		{"status_delivered_read.json", []whatsapp.StatusUpdate{
			{MessageID: "wamid.HBgNNTUxMTk4NzY1NDMyMRUCABEYEjQyQkE4RjU2RDFBNzNDMTYxQQA=", RecipientID: "5511987654321",
				Status: "delivered", Time: time.Date(2025, 12, 2, 13, 40, 3, 0, time.UTC)},
			{MessageID: "wamid.HBgNNTUyMTk5ODg3NzY2NRUCABEYEkI3QzFBMkU0RjY4OTBBQkNERQA=", RecipientID: "5521998877665",
				Status: "read", Time: time.Date(2025, 12, 2, 13, 41, 1, 0, time.UTC)},
		}},
		{"status_failed.json", []whatsapp.StatusUpdate{{
			MessageID:   "wamid.HBgNNTUzMTkxMjM0MDAwMRUCABEYEjlGMEUxRDJDM0I0QTU5Njg3NwA=",
			RecipientID: "5531912340001", Status: "failed", Time: time.Date(2025, 12, 2, 13, 42, 0, 0, time.UTC),
			ErrorCode: 131026, ErrorTitle: "Message undeliverable",
		}}},
		{"incoming_message_and_other_fields.json", nil},
	}
	for _, tc := range cases {
		got, err := whatsapp.ParseStatusWebhook(readTestdata(t, tc.file))
		if err != nil {
			t.Errorf("%s: %v", tc.file, err)
			continue
		}
		if len(got) != len(tc.want) {
			t.Errorf("%s: %d updates, want %d: %+v", tc.file, len(got), len(tc.want), got)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("%s[%d]:\n got %+v\nwant %+v", tc.file, i, got[i], tc.want[i])
			}
		}
	}
}

func TestParseStatusWebhook_Refuses(t *testing.T) {
	for name, body := range map[string][]byte{
		"another object":    readTestdata(t, "wrong_object.json"),
		"not JSON":          []byte("sha256=..."),
		"no object":         []byte(`{"entry":[]}`),
		"status without id": []byte(`{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"statuses":[{"status":"sent","timestamp":"1764682800"}]}}]}]}`),
		"timestamp in ms?":  []byte(`{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"statuses":[{"id":"wamid.A","status":"sent","timestamp":"soon"}]}}]}]}`),
	} {
		if got, err := whatsapp.ParseStatusWebhook(body); err == nil {
			t.Errorf("%s: accepted, %+v", name, got)
		}
	}
}

func TestVerifyChallenge(t *testing.T) {
	q := func(mode, token, challenge string) url.Values {
		return url.Values{"hub.mode": {mode}, "hub.verify_token": {token}, "hub.challenge": {challenge}}
	}
	got, err := whatsapp.VerifyChallenge(q("subscribe", "meu-token", "1158201444"), "meu-token")
	if err != nil || got != "1158201444" {
		t.Fatalf("VerifyChallenge = %q, %v", got, err)
	}
	for name, tc := range map[string]struct {
		q     url.Values
		token string
	}{
		"wrong token":        {q("subscribe", "other", "1158201444"), "meu-token"},
		"wrong mode":         {q("unsubscribe", "meu-token", "1158201444"), "meu-token"},
		"no challenge":       {q("subscribe", "meu-token", ""), "meu-token"},
		"nothing configured": {q("subscribe", "", "1158201444"), ""},
		"empty query":        {url.Values{}, "meu-token"},
	} {
		if got, err := whatsapp.VerifyChallenge(tc.q, tc.token); err == nil || !errors.Is(err, whatsapp.ErrChallenge) || got != "" {
			t.Errorf("%s: %q, %v", name, got, err)
		}
	}
}

// The sandbox's webhooks, verified and parsed by the production code: sent then
// delivered for a good number, sent then failed (131026) for one ending 0001.
func TestSandboxWebhooks_SignedAndParsed(t *testing.T) {
	h := newHook(t, 0)
	e := newEnv(t, h)
	okID, err := e.client.SendTemplate(t.Context(), "5511987654321", confirmed)
	if err != nil {
		t.Fatal(err)
	}
	h.waitFor(t, 2) // both of the first message's, so the order below is fixed
	failID, err := e.client.SendTemplate(t.Context(), "5511912340001", confirmed)
	if err != nil {
		t.Fatalf("a number ending 0001 is accepted first: %v", err)
	}
	bodies, headers := h.waitFor(t, 4)
	want := []struct {
		id, status string
		code       int
	}{{okID, "sent", 0}, {okID, "delivered", 0}, {failID, "sent", 0}, {failID, "failed", 131026}}
	for i, b := range bodies {
		if err := whatsapp.VerifySignature(testSecret, b, headers[i].Get(whatsapp.SignatureHeader)); err != nil {
			t.Fatalf("webhook %d: %v", i, err)
		}
		ups, err := whatsapp.ParseStatusWebhook(b)
		if err != nil || len(ups) != 1 {
			t.Fatalf("webhook %d: %+v, %v", i, ups, err)
		}
		u := ups[0]
		if u.MessageID != want[i].id || u.Status != want[i].status || u.ErrorCode != want[i].code || u.Time.IsZero() {
			t.Fatalf("webhook %d: %+v, want %+v", i, u, want[i])
		}
	}
	msgs := e.sandbox.Messages()
	if len(msgs) != 2 || msgs[0].Status != "delivered" || msgs[1].Status != "failed" || msgs[1].ErrorCode != 131026 {
		t.Fatalf("sandbox statuses %+v", msgs)
	}
}

// A receiver that fails gets the same signed webhook again until it answers 200.
func TestSandboxWebhooks_RetriedUntilAccepted(t *testing.T) {
	h := newHook(t, 3)
	e := newEnv(t, h)
	id, err := e.client.SendTemplate(t.Context(), "5511987654321", confirmed)
	if err != nil {
		t.Fatal(err)
	}
	bodies, headers := h.waitFor(t, 2)
	for i, status := range []string{"sent", "delivered"} {
		if err := whatsapp.VerifySignature(testSecret, bodies[i], headers[i].Get(whatsapp.SignatureHeader)); err != nil {
			t.Fatal(err)
		}
		ups, err := whatsapp.ParseStatusWebhook(bodies[i])
		if err != nil || len(ups) != 1 || ups[0].MessageID != id || ups[0].Status != status {
			t.Fatalf("webhook %d: %+v, %v", i, ups, err)
		}
	}
}
