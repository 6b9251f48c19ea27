package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"healthcore/services/identity"
)

// The app pages e-mail links open; the token is the link's query parameter.
const (
	verifyPage = "/app/verify-email"
	resetPage  = "/app/reset-password"
)

// sunkMail is a message in the dev mail sink's inbox (GET <ops>/dev/mail/messages.json
// of the notifications process).
type sunkMail struct{ To, Subject, Text string }

// inbox reads the mail sinks at the ops addresses, newest first within each.
func inbox(ops []string) ([]sunkMail, error) {
	var all []sunkMail
	for _, addr := range ops {
		resp, err := http.Get("http://" + addr + "/dev/mail/messages.json")
		if err != nil {
			return nil, err
		}
		var got []sunkMail
		err = json.NewDecoder(resp.Body).Decode(&got)
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		all = append(all, got...)
	}
	return all, nil
}

// mailToken waits (up to 30 s) for a message to the address with a link to page, and
// returns the token of the newest such link.
func mailToken(ops []string, to, page string) (string, error) {
	link := regexp.MustCompile(regexp.QuoteMeta(page) + `\?token=([A-Za-z0-9_-]+)`)
	deadline := time.Now().Add(30 * time.Second)
	for {
		msgs, err := inbox(ops)
		token := ""
		for _, m := range msgs {
			if g := link.FindStringSubmatch(m.Text); m.To == to && g != nil && token == "" {
				token = g[1]
			}
		}
		if token != "" {
			return token, nil
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("no e-mail to %s with a %s link within 30s (last error: %v)", to, page, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// verifyEmail confirms the address as its owner does: the link from the e-mail in the
// dev mail sink, its token posted to identity.
func (s *stack) verifyEmail(email string) {
	s.t.Helper()
	token, err := mailToken(s.mailOps(), email, verifyPage)
	if err != nil {
		s.t.Fatal(err)
	}
	if code, _ := s.rest("POST", "/v1/accounts/email:verify", "", map[string]string{"token": token}, nil); code != http.StatusOK {
		s.t.Fatalf("verify %s: %d", email, code)
	}
}

// mailOps is where the mail sink's inbox is: the ops listener of the notifications
// process, or of the one process of `healthcore dev`.
func (s *stack) mailOps() []string {
	if _, dev := s.procs["dev"]; dev {
		return []string{s.ops["serve"]}
	}
	return []string{s.ops["notifications"]}
}

// postRaw posts body as JSON to the gateway and returns the status and the raw body.
func (s *stack) postRaw(path string, body any) (int, string) {
	s.t.Helper()
	b, _ := json.Marshal(body)
	resp, err := http.Post(s.gateway+path, "application/json", bytes.NewReader(b))
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw)
}

// TestMultiProcess_ContactsVerifiedAccountsRecoverable walks the e-mail flows over REST,
// reading the links from the dev mail sink: a registration answers 202 the same for a
// taken address and tells its owner; the link verifies the address; a forgotten
// password is reset by the link once, which ends the sessions.
func TestMultiProcess_ContactsVerifiedAccountsRecoverable(t *testing.T) {
	s := startStack(t, "-revoked-sessions-refresh=0")
	ops := s.mailOps()
	const email, password = "maria@example.com", "correct horse battery"
	body := map[string]string{"name": "Maria da Silva", "email": email, "cpf": "529.982.247-25",
		"password": password, "phone": "+5511987654321", "birthDate": "1985-04-12"}
	code, fresh := s.postRaw("/v1/accounts/patients", body)
	if code != http.StatusAccepted || !strings.Contains(fresh, `"CHECK_EMAIL"`) {
		t.Fatalf("register: %d %s", code, fresh)
	}
	body["name"] = "Outra Pessoa"
	if code, again := s.postRaw("/v1/accounts/patients", body); code != http.StatusAccepted || again != fresh {
		t.Errorf("registering a taken address: %d %s, want the new account's 202 %s", code, again, fresh)
	}
	s.eventually("the owner told of the attempt", 30*time.Second, func() bool {
		msgs, _ := inbox(ops)
		for _, m := range msgs {
			if m.To == email && strings.HasPrefix(m.Subject, "Tentativa de cadastro") {
				return true
			}
		}
		return false
	})
	s.verifyEmail(email)

	var login struct{ Tokens tokenPair }
	if code, _ := s.rest("POST", "/v1/auth/login", "", map[string]string{"email": email, "password": password}, &login); code != http.StatusOK {
		t.Fatalf("login: %d", code)
	}
	if code, _ := s.rest("POST", "/v1/auth/password:forgot", "", map[string]string{"cpf": "52998224725"}, nil); code != http.StatusAccepted {
		t.Fatalf("forgot: %d", code)
	}
	token, err := mailToken(ops, email, resetPage)
	if err != nil {
		t.Fatal(err)
	}
	const next = "lagarto azul come pitanga"
	reset := map[string]string{"token": token, "newPassword": next}
	if code, _ := s.rest("POST", "/v1/auth/password:reset", "", reset, nil); code != http.StatusOK {
		t.Fatalf("reset: %d", code)
	}
	var e errorJSON
	if code, _ := s.rest("POST", "/v1/auth/password:reset", "", reset, &e); code != http.StatusBadRequest || reason(e) != identity.ReasonResetTokenInvalid.Name() {
		t.Errorf("the link again: %d %+v", code, e)
	}
	e = errorJSON{}
	if code, _ := s.rest("POST", "/v1/auth/refresh", "", map[string]string{"refreshToken": login.Tokens.RefreshToken}, &e); code != http.StatusUnauthorized ||
		reason(e) != identity.ReasonSessionEnded.Name() {
		t.Errorf("the old session's refresh: %d %+v", code, e)
	}
	if code, _ := s.rest("GET", "/v1/me", login.Tokens.AccessToken, nil, nil); code != http.StatusUnauthorized {
		t.Errorf("the old session's access token: %d, want 401", code)
	}
	if code, _ := s.rest("POST", "/v1/auth/login", "", map[string]string{"email": email, "password": next}, nil); code != http.StatusOK {
		t.Errorf("login with the new password: %d", code)
	}
}
