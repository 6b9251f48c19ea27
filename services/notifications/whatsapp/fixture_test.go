package whatsapp_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"healthcore/services/notifications/whatsapp"
	"healthcore/services/notifications/whatsappsandbox"
)

const (
	testToken   = "EAAsandbox-token-never-in-errors"
	testPhoneID = "106540352242922"
	testSecret  = "app-secret-for-tests"
)

// testTemplates are the sandbox's approved templates in these tests.
var testTemplates = []whatsappsandbox.Template{
	{Name: "consulta_confirmada", Language: "pt_BR", BodyParams: 2, URLButton: true,
		Body: "Olá, {{1}}! Sua consulta de {{2}} está confirmada.", ButtonURL: "https://app.example/"},
	{Name: "pagamento_recebido", Language: "pt_BR", BodyParams: 1, Body: "Recebemos seu pagamento, {{1}}."},
}

// hook is a webhook receiver on loopback that keeps what it was sent.
type hook struct {
	mu       sync.Mutex
	bodies   [][]byte
	headers  []http.Header
	failures int // answer 500 to this many posts first
	srv      *httptest.Server
}

func newHook(t *testing.T, failures int) *hook {
	t.Helper()
	h := &hook{failures: failures}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		defer h.mu.Unlock()
		if h.failures > 0 {
			h.failures--
			http.Error(w, "not now", http.StatusInternalServerError)
			return
		}
		h.bodies = append(h.bodies, body)
		h.headers = append(h.headers, r.Header.Clone())
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

// waitFor polls until n posts arrived (the sandbox delivers in the background) and
// returns them; it fails the test after a generous limit, which is not a timing claim.
func (h *hook) waitFor(t *testing.T, n int) ([][]byte, []http.Header) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		h.mu.Lock()
		if len(h.bodies) >= n {
			b, hd := append([][]byte(nil), h.bodies...), append([]http.Header(nil), h.headers...)
			h.mu.Unlock()
			return b, hd
		}
		h.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("waited for %d webhooks, got %d", n, len(h.bodies))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// env is a sandbox on loopback and a production client pointed at it.
type env struct {
	sandbox *whatsappsandbox.Sandbox
	url     string
	client  *whatsapp.Client
}

func newEnv(t *testing.T, h *hook) *env {
	t.Helper()
	opts := whatsappsandbox.Options{
		AccessToken: testToken, PhoneNumberID: testPhoneID, Templates: testTemplates,
		AppSecret: testSecret, RetryBase: 5 * time.Millisecond, RetryMax: 20 * time.Millisecond,
	}
	if h != nil {
		opts.WebhookURL = h.srv.URL
	}
	sb, err := whatsappsandbox.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sb.Handler())
	t.Cleanup(func() {
		srv.Close()
		_ = sb.Close()
	})
	return &env{sandbox: sb, url: srv.URL, client: newClient(t, srv.URL, testToken, testPhoneID)}
}

func newClient(t *testing.T, baseURL, token, phoneID string) *whatsapp.Client {
	t.Helper()
	c, err := whatsapp.New(whatsapp.Config{
		BaseURL: baseURL, APIVersion: "v23.0", PhoneNumberID: phoneID, AccessToken: token, AppSecret: testSecret,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var confirmed = whatsapp.Template{
	Name: "consulta_confirmada", Language: "pt_BR",
	BodyParams: []string{"Maria", "terça, 9 de dezembro, 14:00"}, URLButtonParam: "v1/appointments/0193/join",
}
