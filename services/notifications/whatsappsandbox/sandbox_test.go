package whatsappsandbox_test

import (
	"encoding/json"
	stdhtml "html"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"healthcore/services/notifications/whatsappsandbox"
)

const token = "sandbox-token"

func newServer(t *testing.T, opts whatsappsandbox.Options) (*whatsappsandbox.Sandbox, *httptest.Server) {
	t.Helper()
	if opts.AccessToken == "" {
		opts.AccessToken = token
	}
	if opts.PhoneNumberID == "" {
		opts.PhoneNumberID = "123456"
	}
	if opts.Templates == nil {
		opts.Templates = []whatsappsandbox.Template{
			{Name: "lembrete", Language: "pt_BR", BodyParams: 2, Body: "{{1}}, sua consulta é às {{2}}."},
		}
	}
	sb, err := whatsappsandbox.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sb.Handler())
	t.Cleanup(func() { srv.Close(); _ = sb.Close() })
	return sb, srv
}

// post sends a raw API request and returns the status and the decoded answer.
func post(t *testing.T, srv *httptest.Server, path, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, out
}

func template(to string, params ...string) string {
	ps := make([]map[string]string, len(params))
	for i, p := range params {
		ps[i] = map[string]string{"type": "text", "text": p}
	}
	b, _ := json.Marshal(map[string]any{
		"messaging_product": "whatsapp", "recipient_type": "individual", "to": to, "type": "template",
		"template": map[string]any{"name": "lembrete", "language": map[string]string{"code": "pt_BR"},
			"components": []any{map[string]any{"type": "body", "parameters": ps}}},
	})
	return string(b)
}

func errorCode(out map[string]any) float64 {
	e, _ := out["error"].(map[string]any)
	c, _ := e["code"].(float64)
	return c
}

func TestSend_AnswerShape(t *testing.T) {
	_, srv := newServer(t, whatsappsandbox.Options{})
	status, out := post(t, srv, "/v23.0/123456/messages", template("+5511987654321", "Ana", "14:00"))
	if status != 200 || out["messaging_product"] != "whatsapp" {
		t.Fatalf("%d %v", status, out)
	}
	contacts := out["contacts"].([]any)[0].(map[string]any)
	msg := out["messages"].([]any)[0].(map[string]any)
	if contacts["input"] != "+5511987654321" || contacts["wa_id"] != "5511987654321" ||
		!strings.HasPrefix(msg["id"].(string), "wamid.") || msg["message_status"] != "accepted" {
		t.Fatalf("answer %v", out)
	}
}

// Only templates may start a conversation: free-form text is refused as outside the
// 24-hour window, and unknown types as unsupported.
func TestSend_TemplatesOnly(t *testing.T) {
	_, srv := newServer(t, whatsappsandbox.Options{})
	status, out := post(t, srv, "/v23.0/123456/messages",
		`{"messaging_product":"whatsapp","to":"5511987654321","type":"text","text":{"body":"oi"}}`)
	if status != 400 || errorCode(out) != 131047 {
		t.Fatalf("text: %d %v", status, out)
	}
	status, out = post(t, srv, "/v23.0/123456/messages", `{"messaging_product":"whatsapp","to":"5511987654321","type":"hologram"}`)
	if status != 400 || errorCode(out) != 131051 {
		t.Fatalf("unknown type: %d %v", status, out)
	}
	status, out = post(t, srv, "/v23.0/123456/messages", `{"messaging_product":"sms","to":"5511987654321","type":"template"}`)
	if status != 400 || errorCode(out) != 100 {
		t.Fatalf("wrong product: %d %v", status, out)
	}
	status, out = post(t, srv, "/v23/123456/messages", template("5511987654321", "Ana", "14:00"))
	if status != 400 || errorCode(out) != 2500 {
		t.Fatalf("bad version: %d %v", status, out)
	}
}

// The error envelope carries every field of the real one.
func TestSend_ErrorEnvelope(t *testing.T) {
	_, srv := newServer(t, whatsappsandbox.Options{})
	status, out := post(t, srv, "/v23.0/123456/messages", template("5511912340000", "Ana", "14:00"))
	e, _ := out["error"].(map[string]any)
	data, _ := e["error_data"].(map[string]any)
	if status != 400 || e["code"] != 131026.0 || e["type"] != "OAuthException" || e["message"] != "(#131026) Message undeliverable" ||
		e["fbtrace_id"] == nil || data["messaging_product"] != "whatsapp" || data["details"] == "" {
		t.Fatalf("%d %v", status, out)
	}
}

func TestPage_ListsMessagesEscaped(t *testing.T) {
	sb, srv := newServer(t, whatsappsandbox.Options{})
	if status, out := post(t, srv, "/v23.0/123456/messages", template("5511987654321", "<script>x</script>", "14:00")); status != 200 {
		t.Fatalf("%d %v", status, out)
	}
	resp, err := srv.Client().Get(srv.URL + "/sandbox/messages")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	html := string(page)
	id := sb.Messages()[0].ID // ids are base64 like Meta's, so "+" may be escaped in the page
	if resp.StatusCode != 200 || !strings.Contains(html, "&lt;script&gt;x&lt;/script&gt;, sua consulta é às 14:00.") ||
		strings.Contains(html, "<script>x") || !strings.Contains(stdhtml.UnescapeString(html), id) || !strings.Contains(html, "+5511987654321") {
		t.Fatalf("page:\n%s", html)
	}
	resp, err = srv.Client().Get(srv.URL + "/sandbox/messages.json")
	if err != nil {
		t.Fatal(err)
	}
	var list struct{ Messages []whatsappsandbox.Message }
	err = json.NewDecoder(resp.Body).Decode(&list)
	resp.Body.Close()
	if err != nil || len(list.Messages) != 1 || list.Messages[0].ID != id || list.Messages[0].BodyParams[0] != "<script>x</script>" ||
		list.Messages[0].Status != "delivered" {
		t.Fatalf("json: %+v, %v", list, err)
	}
}

// A parameter holding "{{2}}" is shown as written, not filled in again.
func TestPage_FillsPlaceholdersOnce(t *testing.T) {
	sb, srv := newServer(t, whatsappsandbox.Options{})
	post(t, srv, "/v23.0/123456/messages", template("5511987654321", "{{2}}", "14:00"))
	if got := sb.Messages()[0].Text; got != "{{2}}, sua consulta é às 14:00." {
		t.Fatalf("text %q", got)
	}
}

func TestMessages_Bounded(t *testing.T) {
	sb, srv := newServer(t, whatsappsandbox.Options{MaxMessages: 3})
	for _, to := range []string{"5511900000001", "5511900000002", "5511900000003", "5511900000004", "5511900000005"} {
		if status, out := post(t, srv, "/v23.0/123456/messages", template(to, "Ana", "14:00")); status != 200 {
			t.Fatalf("%d %v", status, out)
		}
	}
	msgs := sb.Messages()
	if len(msgs) != 3 || msgs[0].To != "5511900000003" || msgs[2].To != "5511900000005" {
		t.Fatalf("kept %+v", msgs)
	}
	msgs[0].BodyParams[0] = "changed"
	if sb.Messages()[0].BodyParams[0] != "Ana" {
		t.Fatal("Messages shares its slices with the sandbox")
	}
}

func TestNew_Refuses(t *testing.T) {
	tpl := []whatsappsandbox.Template{{Name: "a", Language: "pt_BR"}}
	for name, opts := range map[string]whatsappsandbox.Options{
		"no token":                 {PhoneNumberID: "1", Templates: tpl},
		"phone id not digits":      {AccessToken: "t", PhoneNumberID: "abc", Templates: tpl},
		"webhook without a secret": {AccessToken: "t", PhoneNumberID: "1", Templates: tpl, WebhookURL: "http://127.0.0.1:1/"},
		"no templates":             {AccessToken: "t", PhoneNumberID: "1"},
		"template without language": {AccessToken: "t", PhoneNumberID: "1",
			Templates: []whatsappsandbox.Template{{Name: "a"}}},
	} {
		if _, err := whatsappsandbox.New(opts); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// Close stops a delivery that would otherwise retry for minutes.
func TestClose_StopsRetries(t *testing.T) {
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer down.Close()
	sb, srv := newServer(t, whatsappsandbox.Options{
		WebhookURL: down.URL, AppSecret: "s", RetryBase: time.Hour, MaxAttempts: 100,
	})
	if status, _ := post(t, srv, "/v23.0/123456/messages", template("5511987654321", "Ana", "14:00")); status != 200 {
		t.Fatal(status)
	}
	done := make(chan struct{})
	go func() { _ = sb.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not stop the retrying delivery")
	}
}
