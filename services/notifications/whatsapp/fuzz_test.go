package whatsapp_test

import (
	"os"
	"path/filepath"
	"testing"

	"healthcore/services/notifications/whatsapp"
)

// FuzzParseStatusWebhook: no body panics the parser, and whatever it returns is a
// status it promises (an id, one of the four statuses, a time).
func FuzzParseStatusWebhook(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.json"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"statuses":[{"id":"w","status":"read","timestamp":"-1"}]}}]}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ups, err := whatsapp.ParseStatusWebhook(body)
		if err != nil {
			if ups != nil {
				t.Fatalf("updates %+v with error %v", ups, err)
			}
			return
		}
		for _, u := range ups {
			switch u.Status {
			case whatsapp.StatusSent, whatsapp.StatusDelivered, whatsapp.StatusRead, whatsapp.StatusFailed:
			default:
				t.Fatalf("status %q", u.Status)
			}
			if u.MessageID == "" || u.Time.IsZero() || u.Time.Unix() <= 0 {
				t.Fatalf("update %+v", u)
			}
		}
	})
}

// FuzzVerifySignature: a header made from the body's own HMAC verifies; any other
// header verifies only if it is that same one.
func FuzzVerifySignature(f *testing.F) {
	f.Add("app-secret", []byte(`{"object":"whatsapp_business_account"}`), "sha256=00")
	f.Add("s", []byte{}, "")
	f.Add("s", []byte("x"), "sha256=")
	f.Fuzz(func(t *testing.T, secret string, body []byte, header string) {
		good := sig(secret, body)
		if secret != "" {
			if err := whatsapp.VerifySignature(secret, body, good); err != nil {
				t.Fatalf("own signature refused: %v", err)
			}
		}
		if err := whatsapp.VerifySignature(secret, body, header); err == nil && (secret == "" || header != good) {
			// Hex is case-insensitive; anything else must be the exact header.
			if secret == "" || !equalFoldHex(header, good) {
				t.Fatalf("header %q verified for body %q", header, body)
			}
		}
	})
}

func equalFoldHex(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range len(a) {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'F' {
			x += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
