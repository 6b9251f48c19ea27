package whatsapp_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"healthcore/services/notifications/whatsapp"
)

func TestSendTemplate_SandboxAcceptsAndKeepsTheMessage(t *testing.T) {
	e := newEnv(t, nil)
	id, err := e.client.SendTemplate(t.Context(), "5511987654321", confirmed)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(id, "wamid.") {
		t.Fatalf("message id %q does not look like a wamid", id)
	}
	msgs := e.sandbox.Messages()
	if len(msgs) != 1 {
		t.Fatalf("sandbox kept %d messages, want 1", len(msgs))
	}
	m := msgs[0]
	if m.ID != id || m.To != "5511987654321" || m.Template != "consulta_confirmada" || m.Language != "pt_BR" ||
		m.URLButtonParam != "v1/appointments/0193/join" {
		t.Fatalf("sandbox kept %+v", m)
	}
	if want := "Olá, Maria! Sua consulta de terça, 9 de dezembro, 14:00 está confirmada."; m.Text != want {
		t.Fatalf("text %q, want %q", m.Text, want)
	}
	if m.ButtonURL != "https://app.example/v1/appointments/0193/join" {
		t.Fatalf("button URL %q", m.ButtonURL)
	}
}

// The request as Meta's reference shows it, byte for byte in meaning: the path, the
// Bearer token and the template payload with its body and URL button components.
func TestSendTemplate_RequestShape(t *testing.T) {
	var gotPath, gotAuth, gotType string
	var got map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotPath, gotAuth, gotType = r.Method+" "+r.URL.Path, r.Header.Get("Authorization"), r.Header.Get("Content-Type")
		_ = json.NewDecoder(r.Body).Decode(&got)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"messaging_product":"whatsapp","contacts":[{"input":"5511987654321","wa_id":"5511987654321"}],"messages":[{"id":"wamid.ABC","message_status":"accepted"}]}`)
	}))
	defer srv.Close()
	c := newClient(t, srv.URL+"/", testToken, testPhoneID)
	id, err := c.SendTemplate(t.Context(), "+5511987654321", confirmed)
	if err != nil || id != "wamid.ABC" {
		t.Fatalf("SendTemplate = %q, %v", id, err)
	}
	if gotPath != "POST /v23.0/"+testPhoneID+"/messages" || gotAuth != "Bearer "+testToken || gotType != "application/json" {
		t.Fatalf("request %q auth %q type %q", gotPath, gotAuth, gotType)
	}
	var want map[string]any
	_ = json.Unmarshal([]byte(`{
		"messaging_product": "whatsapp", "recipient_type": "individual", "to": "5511987654321", "type": "template",
		"template": {"name": "consulta_confirmada", "language": {"code": "pt_BR"}, "components": [
			{"type": "body", "parameters": [{"type": "text", "text": "Maria"}, {"type": "text", "text": "terça, 9 de dezembro, 14:00"}]},
			{"type": "button", "sub_type": "url", "index": "0", "parameters": [{"type": "text", "text": "v1/appointments/0193/join"}]}
		]}}`), &want)
	gj, _ := json.Marshal(got)
	wj, _ := json.Marshal(want)
	if string(gj) != string(wj) {
		t.Fatalf("body\n got %s\nwant %s", gj, wj)
	}
}

func TestSendTemplate_ErrorClasses(t *testing.T) {
	e := newEnv(t, nil)
	cases := []struct {
		name      string
		client    *whatsapp.Client
		to        string
		tpl       whatsapp.Template
		status    int
		code      int
		permanent bool
	}{
		{"number not on WhatsApp", e.client, "5511912340000", confirmed, 400, 131026, true},
		{"template does not exist", e.client, "5511987654321", whatsapp.Template{Name: "nao_existe", BodyParams: []string{"x"}}, 404, 132001, true},
		{"template in another language", e.client, "5511987654321", whatsapp.Template{Name: "pagamento_recebido", Language: "en_US", BodyParams: []string{"x"}}, 404, 132001, true},
		{"too few parameters", e.client, "5511987654321", whatsapp.Template{Name: "consulta_confirmada", BodyParams: []string{"Maria"}, URLButtonParam: "x"}, 400, 132000, true},
		{"button missing", e.client, "5511987654321", whatsapp.Template{Name: "consulta_confirmada", BodyParams: []string{"Maria", "amanhã"}}, 400, 132000, true},
		{"empty parameter", e.client, "5511987654321", whatsapp.Template{Name: "pagamento_recebido", BodyParams: []string{""}}, 400, 131008, true},
		{"bad token", newClient(t, e.url, "EAAwrong-token", testPhoneID), "5511987654321", confirmed, 401, 190, true},
		{"unknown phone number id", newClient(t, e.url, testToken, "999"), "5511987654321", confirmed, 400, 100, true},
		{"throughput reached", e.client, "5511912340429", confirmed, 429, 130429, false},
		{"server error", e.client, "5511912340500", confirmed, 500, 131000, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.client.SendTemplate(t.Context(), tc.to, tc.tpl)
			var we *whatsapp.Error
			if !errors.As(err, &we) {
				t.Fatalf("error %v is not a *whatsapp.Error", err)
			}
			if we.HTTPStatus != tc.status || we.Code != tc.code || we.Permanent != tc.permanent || whatsapp.IsPermanent(err) != tc.permanent {
				t.Fatalf("got HTTP %d code %d permanent %v (%v); want %d %d %v", we.HTTPStatus, we.Code, we.Permanent, err, tc.status, tc.code, tc.permanent)
			}
			if strings.Contains(err.Error(), "EAA") {
				t.Fatalf("the error names a token: %v", err)
			}
		})
	}
	if n := len(e.sandbox.Messages()); n != 0 {
		t.Fatalf("the sandbox kept %d messages from refused sends", n)
	}
}

func TestSendTemplate_BadTokenSaysToFixIt(t *testing.T) {
	e := newEnv(t, nil)
	_, err := newClient(t, e.url, "EAAwrong-token", testPhoneID).SendTemplate(t.Context(), "5511987654321", confirmed)
	if err == nil || !strings.Contains(err.Error(), "fix the configured token") || strings.Contains(err.Error(), "wrong-token") {
		t.Fatalf("error %v", err)
	}
}

// A rate-limited message carries the Retry-After the sandbox gives, and the same
// message tried again goes through.
func TestSendTemplate_RetryAfterThenSuccess(t *testing.T) {
	e := newEnv(t, nil)
	_, err := e.client.SendTemplate(t.Context(), "5511912340429", confirmed)
	var we *whatsapp.Error
	if !errors.As(err, &we) || we.RetryAfter != time.Second || we.Permanent {
		t.Fatalf("first attempt: %v", err)
	}
	id, err := e.client.SendTemplate(t.Context(), "5511912340429", confirmed)
	if err != nil || id == "" {
		t.Fatalf("second attempt: %q, %v", id, err)
	}
	if msgs := e.sandbox.Messages(); len(msgs) != 1 || msgs[0].ID != id {
		t.Fatalf("sandbox kept %+v", msgs)
	}
}

// Codes the sandbox does not produce, answered by a loopback server in the Graph
// API's envelope: each class as Meta's error code reference describes it.
func TestSendTemplate_ClassifiesGraphCodes(t *testing.T) {
	cases := []struct {
		status, code int
		retryAfter   string
		permanent    bool
		wantAfter    time.Duration
	}{
		{400, 100, "", true, 0},
		{400, 131047, "", true, 0}, // outside the 24-hour window: this message never goes
		{400, 131051, "", true, 0},
		{400, 132015, "", true, 0}, // template paused
		{403, 200, "", true, 0},    // permission
		{401, 0, "", true, 0},      // AuthException
		{400, 4, "30", false, 30 * time.Second},
		{400, 80007, "", false, 0},
		{400, 131048, "", false, 0},
		{400, 131056, "", false, 0},
		{503, 131016, "", false, 0},
		{500, 2, "", false, 0},
		{502, 0, "", false, 0},      // no envelope at all
		{400, 999999, "", true, 0},  // unknown code on a 4xx: the request's fault
		{500, 999999, "", false, 0}, // unknown code on a 5xx: the server's
	}
	for _, tc := range cases {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if tc.retryAfter != "" {
				w.Header().Set("Retry-After", tc.retryAfter)
			}
			w.WriteHeader(tc.status)
			if tc.code != 0 || tc.status == 401 {
				_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{
					"message": "(#x) test", "type": "OAuthException", "code": tc.code, "error_subcode": 2494010,
					"error_data": map[string]any{"messaging_product": "whatsapp", "details": "detail text"}, "fbtrace_id": "AbC",
				}})
			} else {
				_, _ = io.WriteString(w, "<html>bad gateway</html>")
			}
		}))
		_, err := newClient(t, srv.URL, testToken, testPhoneID).SendTemplate(t.Context(), "5511987654321", confirmed)
		srv.Close()
		var we *whatsapp.Error
		if !errors.As(err, &we) || we.HTTPStatus != tc.status || we.Code != tc.code || we.Permanent != tc.permanent || we.RetryAfter != tc.wantAfter {
			t.Errorf("HTTP %d code %d: got %+v (%v)", tc.status, tc.code, we, err)
			continue
		}
		if tc.code != 0 && (we.Subcode != 2494010 || !strings.Contains(we.Message, "detail text")) {
			t.Errorf("code %d: subcode %d message %q", tc.code, we.Subcode, we.Message)
		}
	}
}

func TestSendTemplate_NetworkFailureIsRetryable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	_, err := newClient(t, url, testToken, testPhoneID).SendTemplate(t.Context(), "5511987654321", confirmed)
	if err == nil || whatsapp.IsPermanent(err) || strings.Contains(err.Error(), testToken) {
		t.Fatalf("error %v", err)
	}
}

func TestSendTemplate_ContextEndsTheCall(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err := newClient(t, srv.URL, testToken, testPhoneID).SendTemplate(ctx, "5511987654321", confirmed)
	if !errors.Is(err, context.DeadlineExceeded) || whatsapp.IsPermanent(err) {
		t.Fatalf("error %v", err)
	}
}

// An endless answer is read only up to the bound, and a 2xx without a message id is an
// error, not permanent (the message may have gone).
func TestSendTemplate_BoundedAndUnreadableAnswers(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		for range 1 << 12 { // 4 MiB of spaces before the JSON
			_, _ = w.Write([]byte(strings.Repeat(" ", 1024)))
		}
		_, _ = io.WriteString(w, `{"messages":[{"id":"wamid.late"}]}`)
	}))
	defer srv.Close()
	id, err := newClient(t, srv.URL, testToken, testPhoneID).SendTemplate(t.Context(), "5511987654321", confirmed)
	if err == nil || id != "" || whatsapp.IsPermanent(err) {
		t.Fatalf("SendTemplate = %q, %v", id, err)
	}
}

func TestSendTemplate_RefusesBadInputWithoutSending(t *testing.T) {
	sent := false
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { sent = true }))
	defer srv.Close()
	c := newClient(t, srv.URL, testToken, testPhoneID)
	for _, to := range []string{"", "123", "55 11 98765-4321", "05511987654321", "5511987654321000000"} {
		if _, err := c.SendTemplate(t.Context(), to, confirmed); !whatsapp.IsPermanent(err) {
			t.Errorf("to %q: %v", to, err)
		}
	}
	if _, err := c.SendTemplate(t.Context(), "5511987654321", whatsapp.Template{}); !whatsapp.IsPermanent(err) {
		t.Errorf("no template name: %v", err)
	}
	if sent {
		t.Fatal("a refused message reached the server")
	}
}

func TestNew_RequiresCredentials(t *testing.T) {
	for _, cfg := range []whatsapp.Config{
		{AccessToken: "t"},
		{PhoneNumberID: "1"},
		{PhoneNumberID: "1/2", AccessToken: "t"},
		{BaseURL: "ftp://x", PhoneNumberID: "1", AccessToken: "t"},
		{APIVersion: "v1/..", PhoneNumberID: "1", AccessToken: "t"},
	} {
		if _, err := whatsapp.New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
	if _, err := whatsapp.New(whatsapp.Config{PhoneNumberID: "1", AccessToken: "t"}); err != nil {
		t.Fatalf("defaults: %v", err)
	}
}
