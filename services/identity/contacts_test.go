package identity

import (
	"context"
	"testing"
	"time"

	"connectrpc.com/connect"

	identityv1 "healthcore/gen/healthcore/identity/v1"
	notificationsv1 "healthcore/gen/healthcore/notifications/v1"
	"healthcore/platform/testkit"
)

// link returns the newest e-mail link of event sent to the account, checking the
// notice is valid and expires ttl after the clock's now.
func (f *fixture) link(event notificationsv1.Event, accountID string, ttl time.Duration) *notificationsv1.AccountLinkDetail {
	f.t.Helper()
	var last *notificationsv1.NotifyRequest
	for _, n := range f.notices(event) {
		if n.GetRecipientId() == accountID {
			last = n
		}
	}
	if last == nil {
		f.t.Fatalf("no %s sent to %s", event, accountID)
	}
	if err := last.ValidateAll(); err != nil {
		f.t.Fatalf("not a valid NotifyRequest: %v", err)
	}
	l := last.GetLink()
	if got, want := l.GetExpireTime().AsTime(), f.clock.Now().Add(ttl); !got.Equal(want) {
		f.t.Errorf("%s expires at %v, want %v", event, got, want)
	}
	return l
}

func (f *fixture) verifyEmail(token string) error {
	_, err := f.client.VerifyEmail(context.Background(), connect.NewRequest(&identityv1.VerifyEmailRequest{Token: token}))
	return err
}

func (f *fixture) resendVerification(access string) error {
	req := connect.NewRequest(&identityv1.ResendEmailVerificationRequest{})
	req.Header().Set("Authorization", "Bearer "+access)
	_, err := f.client.ResendEmailVerification(context.Background(), req)
	return err
}

func (f *fixture) forgot(addr string, r *identityv1.ForgotPasswordRequest) (*identityv1.ForgotPasswordResponse, error) {
	req := connect.NewRequest(r)
	req.Header().Set("X-Forwarded-For", addr)
	resp, err := f.client.ForgotPassword(context.Background(), req)
	if err != nil {
		return nil, err
	}
	return resp.Msg, nil
}

func forgotEmail(email string) *identityv1.ForgotPasswordRequest {
	return &identityv1.ForgotPasswordRequest{Login: &identityv1.ForgotPasswordRequest_Email{Email: email}}
}

func (f *fixture) resetPassword(token, next string) error {
	_, err := f.client.ResetPassword(context.Background(), connect.NewRequest(&identityv1.ResetPasswordRequest{Token: token, NewPassword: next}))
	return err
}

func (f *fixture) changeEmail(access, newEmail, password string) error {
	req := connect.NewRequest(&identityv1.ChangeEmailRequest{NewEmail: newEmail, Password: password})
	req.Header().Set("Authorization", "Bearer "+access)
	_, err := f.client.ChangeEmail(context.Background(), req)
	return err
}

// emailVerified is the ev claim of an access token.
func (f *fixture) emailVerified(access string) bool { return f.principalOf(access).EmailVerified }

func TestVerifyEmail_TheLinkWorksOnce_AndTheClaimFollowsOnRefresh(t *testing.T) {
	f := newFixture(t, nil)
	pair := f.patientSession()
	acct := f.stored("patient", "maria@example.com")
	l := f.link(notificationsv1.Event_EVENT_EMAIL_VERIFICATION, acct.GetId(), 48*time.Hour)
	if l.GetEmail() != "" {
		t.Errorf("the registration's link is sent to %q, want the account's own address", l.GetEmail())
	}
	if f.emailVerified(pair.GetAccessToken()) {
		t.Fatal("a new account's token says its e-mail is verified")
	}
	var clear, hashed int
	if err := f.db.QueryRow(context.Background(), `SELECT count(*) FILTER (WHERE token_hash = $1), count(*) FILTER (WHERE token_hash = $2)
		FROM account_tokens`, []byte(l.GetToken()), hashToken(l.GetToken())).Scan(&clear, &hashed); err != nil || clear != 0 || hashed != 1 {
		t.Errorf("token rows: %d in the clear, %d hashed (%v), want 0 and 1", clear, hashed, err)
	}

	if err := f.verifyEmail(l.GetToken()); err != nil {
		t.Fatal(err)
	}
	testkit.WantReason(t, f.verifyEmail(l.GetToken()), ReasonVerificationTokenInvalid)
	next, err := f.refresh(pair.GetRefreshToken())
	if err != nil {
		t.Fatal(err)
	}
	if !f.emailVerified(next.GetAccessToken()) {
		t.Error("after the confirmation, the refreshed token says the e-mail is not verified")
	}
	testkit.WantReason(t, f.resendVerification(next.GetAccessToken()), ReasonEmailAlreadyVerified)
}

func TestVerifyEmail_AResentLinkReplacesTheOld_AndExpiresAfter48Hours(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.Mail.PerAccount = 2 })
	pair := f.patientSession()
	acct := f.stored("patient", "maria@example.com")
	first := f.link(notificationsv1.Event_EVENT_EMAIL_VERIFICATION, acct.GetId(), 48*time.Hour)
	if err := f.resendVerification(pair.GetAccessToken()); err != nil {
		t.Fatal(err)
	}
	second := f.link(notificationsv1.Event_EVENT_EMAIL_VERIFICATION, acct.GetId(), 48*time.Hour)
	testkit.WantReason(t, f.verifyEmail(first.GetToken()), ReasonVerificationTokenInvalid)

	f.clock.Advance(48 * time.Hour)
	testkit.WantReason(t, f.verifyEmail(second.GetToken()), ReasonVerificationTokenInvalid)

	// Resends are limited per account: the window's third link is refused.
	pair = f.mustLogin(emailLogin("maria@example.com", "correct horse battery"))
	if err := f.resendVerification(pair.GetAccessToken()); err != nil {
		t.Fatal(err)
	}
	if err := f.resendVerification(pair.GetAccessToken()); err != nil {
		t.Fatal(err)
	}
	err := f.resendVerification(pair.GetAccessToken())
	testkit.WantReason(t, err, ReasonEmailThrottled)
	if got := testkit.RetryAfter(t, err); got != time.Hour {
		t.Errorf("retry after %v, want the window's hour", got)
	}
	if err := f.verifyEmail(f.link(notificationsv1.Event_EVENT_EMAIL_VERIFICATION, acct.GetId(), 48*time.Hour).GetToken()); err != nil {
		t.Errorf("the newest link: %v", err)
	}
}

func TestResetPassword_EndsEverySession_WorksOnceAndExpires(t *testing.T) {
	f := newFixture(t, nil)
	const old, next = "correct horse battery", "lagarto azul come pitanga"
	here := f.patientSession()
	there := f.mustLogin(emailLogin("maria@example.com", old))
	acct := f.stored("patient", "maria@example.com")

	known, err := f.forgot("198.51.100.1", &identityv1.ForgotPasswordRequest{Login: &identityv1.ForgotPasswordRequest_Cpf{Cpf: "52998224725"}})
	if err != nil {
		t.Fatal(err)
	}
	unknown, err := f.forgot("198.51.100.1", forgotEmail("ninguem@example.com"))
	if err != nil {
		t.Fatal(err)
	}
	if known.GetStatus() != "CHECK_EMAIL" || known.GetMessage() != unknown.GetMessage() {
		t.Errorf("answers differ: %v and %v", known, unknown)
	}
	if got := f.notices(notificationsv1.Event_EVENT_PASSWORD_RESET); len(got) != 1 {
		t.Fatalf("%d reset links, want 1 (none for an unknown address)", len(got))
	}
	l := f.link(notificationsv1.Event_EVENT_PASSWORD_RESET, acct.GetId(), 30*time.Minute)

	// A weak password is refused and leaves the link usable.
	testkit.WantReason(t, f.resetPassword(l.GetToken(), "maria@example.com1"), ReasonPasswordTooWeak)
	if err := f.resetPassword(l.GetToken(), next); err != nil {
		t.Fatal(err)
	}
	testkit.WantReason(t, f.resetPassword(l.GetToken(), "outra senha bem comprida"), ReasonResetTokenInvalid)

	// Every session ended: the refresh tokens are refused, the access tokens listed.
	for _, p := range []*identityv1.TokenPair{here, there} {
		_, err := f.refresh(p.GetRefreshToken())
		testkit.WantReason(t, err, ReasonSessionEnded)
		if _, ok := f.revoked()[f.sessionOf(p.GetAccessToken())]; !ok {
			t.Error("an access token's session is not listed as revoked")
		}
	}
	_, err = f.login(emailLogin("maria@example.com", old))
	testkit.WantReason(t, err, ReasonInvalidCredentials)
	pair := f.mustLogin(emailLogin("maria@example.com", next))
	if !f.emailVerified(pair.GetAccessToken()) {
		t.Error("the reset link proved the address, yet the token says it is not verified")
	}
	if got := f.notices(notificationsv1.Event_EVENT_PASSWORD_CHANGED); len(got) != 1 || got[0].GetRecipientId() != acct.GetId() {
		t.Errorf("password-changed notices = %v", got)
	}

	// A link is good for 30 minutes.
	if _, err := f.forgot("198.51.100.1", forgotEmail("maria@example.com")); err != nil {
		t.Fatal(err)
	}
	late := f.link(notificationsv1.Event_EVENT_PASSWORD_RESET, acct.GetId(), 30*time.Minute)
	f.clock.Advance(30 * time.Minute)
	testkit.WantReason(t, f.resetPassword(late.GetToken(), "mais uma senha comprida"), ReasonResetTokenInvalid)
}

func TestForgotPassword_AnAccountsLimitIsSilent_AnAddresssIsNot(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.Mail = MailLimit{PerAccount: 2, PerAddress: 4, Window: time.Hour} })
	acct := f.registerPatient("maria@example.com", "529.982.247-25")
	for i, addr := range []string{"198.51.100.1", "198.51.100.2", "198.51.100.3"} {
		if _, err := f.forgot(addr, forgotEmail("maria@example.com")); err != nil {
			t.Fatalf("request %d: %v", i+1, err)
		}
	}
	if got := f.notices(notificationsv1.Event_EVENT_PASSWORD_RESET); len(got) != 2 || got[1].GetRecipientId() != acct.GetId() {
		t.Errorf("%d reset links, want the account's limit of 2", len(got))
	}
	const from = "203.0.113.7"
	for i := range 4 {
		if _, err := f.forgot(from, forgotEmail("ninguem@example.com")); err != nil {
			t.Fatalf("request %d: %v", i+1, err)
		}
	}
	_, err := f.forgot(from, forgotEmail("maria@example.com"))
	testkit.WantReason(t, err, ReasonEmailThrottled)
	_, err = f.forgot(from, forgotEmail("ninguem@example.com"))
	testkit.WantReason(t, err, ReasonEmailThrottled)
}

func TestChangeEmail_ConfirmedFromTheNewAddress_TheOldOneTold_ATakenOneFailsQuietly(t *testing.T) {
	f := newFixture(t, nil)
	const password = "correct horse battery"
	pair := f.patientSession()
	acct := f.stored("patient", "maria@example.com")

	testkit.WantReason(t, f.changeEmail(pair.GetAccessToken(), "nova@example.com", "not my password"), ReasonInvalidCredentials)
	if err := f.changeEmail(pair.GetAccessToken(), "Nova@Example.com", password); err != nil {
		t.Fatal(err)
	}
	told := f.notices(notificationsv1.Event_EVENT_EMAIL_CHANGE_REQUESTED)
	if len(told) != 1 || told[0].GetRecipientId() != acct.GetId() {
		t.Errorf("change notices to the current address = %v", told)
	}
	l := f.link(notificationsv1.Event_EVENT_EMAIL_CHANGE_VERIFICATION, acct.GetId(), 48*time.Hour)
	if l.GetEmail() != "nova@example.com" {
		t.Errorf("the confirmation goes to %q, want the new address", l.GetEmail())
	}
	// Until confirmed, nothing changes.
	f.mustLogin(emailLogin("maria@example.com", password))
	if err := f.verifyEmail(l.GetToken()); err != nil {
		t.Fatal(err)
	}
	_, err := f.login(emailLogin("maria@example.com", password))
	testkit.WantReason(t, err, ReasonInvalidCredentials)
	moved := f.mustLogin(emailLogin("nova@example.com", password))
	if !f.emailVerified(moved.GetAccessToken()) {
		t.Error("the new address is not verified after its confirmation")
	}

	// An address another account holds by the confirmation fails without saying why.
	f.registerPatient("outra@example.com", "111.444.777-35")
	if err := f.changeEmail(moved.GetAccessToken(), "outra@example.com", password); err != nil {
		t.Fatal(err)
	}
	taken := f.link(notificationsv1.Event_EVENT_EMAIL_CHANGE_VERIFICATION, acct.GetId(), 48*time.Hour)
	testkit.WantReason(t, f.verifyEmail(taken.GetToken()), ReasonEmailChangeFailed)
	if got := f.stored("patient", "nova@example.com").GetId(); got != acct.GetId() {
		t.Errorf("the address moved to %s", got)
	}
}
