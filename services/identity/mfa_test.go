package identity

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/pquerna/otp/totp"

	identityv1 "healthcore/gen/healthcore/identity/v1"
	notificationsv1 "healthcore/gen/healthcore/notifications/v1"
	"healthcore/platform/authn"
	"healthcore/platform/testkit"
)

// authed wraps msg in a request carrying the access token.
func authed[T any](access string, msg *T) *connect.Request[T] {
	req := connect.NewRequest(msg)
	req.Header().Set("Authorization", "Bearer "+access)
	return req
}

// code is the TOTP code of secret at the fixture's clock.
func (f *fixture) code(secret string) string {
	f.t.Helper()
	c, err := totp.GenerateCode(secret, f.clock.Now())
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

// nextStep moves the clock to the next TOTP time step, so a new code is accepted.
func (f *fixture) nextStep() { f.clock.Advance(totpPeriod * time.Second) }

// amrOf returns the amr claim of an access token, as a service verifying it sees it.
func (f *fixture) amrOf(access string) []string {
	f.t.Helper()
	v := authn.NewVerifier(f.svc.KeySource())
	v.Now = f.clock.Now
	p, err := v.Verify(context.Background(), access)
	if err != nil {
		f.t.Fatal(err)
	}
	return p.AMR
}

// enableTOTP enrols and confirms TOTP for the session of access, and returns the
// secret, the recovery codes and the session's new pair.
func (f *fixture) enableTOTP(access string) (string, []string, *identityv1.TokenPair) {
	f.t.Helper()
	ctx := context.Background()
	enrol, err := f.client.EnrollTotp(ctx, authed(access, &identityv1.EnrollTotpRequest{}))
	if err != nil {
		f.t.Fatalf("enrol: %v", err)
	}
	secret := enrol.Msg.GetSecret()
	conf, err := f.client.ConfirmTotp(ctx, authed(access, &identityv1.ConfirmTotpRequest{Code: f.code(secret)}))
	if err != nil {
		f.t.Fatalf("confirm: %v", err)
	}
	return secret, conf.Msg.GetRecoveryCodes(), conf.Msg.GetTokens()
}

func (f *fixture) loginMFA(req *identityv1.LoginMfaRequest) (*identityv1.LoginMfaResponse, error) {
	resp, err := f.client.LoginMfa(context.Background(), connect.NewRequest(req))
	if err != nil {
		return nil, err
	}
	return resp.Msg, nil
}

// mfaToken logs in with the password and returns the mfa_token the answer carries.
func (f *fixture) mfaToken(req *identityv1.LoginRequest) string {
	f.t.Helper()
	resp, err := f.login(req)
	if err != nil {
		f.t.Fatal(err)
	}
	if !resp.GetMfaRequired() || resp.GetTokens() != nil || !strings.HasPrefix(resp.GetMfaToken(), mfaTokenPrefix) {
		f.t.Fatalf("login of an account with TOTP = %v, want mfa_required and no tokens", resp)
	}
	return resp.GetMfaToken()
}

func withCode(token, code string) *identityv1.LoginMfaRequest {
	return &identityv1.LoginMfaRequest{MfaToken: token, Factor: &identityv1.LoginMfaRequest_Code{Code: code}}
}

func TestMFA_EnrolConfirmThenLoginTakesTwoSteps(t *testing.T) {
	f := newFixture(t, nil)
	doctor := f.registerDoctor("123456", "SP")
	login := &identityv1.LoginRequest{Login: &identityv1.LoginRequest_Crm{Crm: &identityv1.Crm{Number: "123456", Uf: "SP"}}, Password: "doctor password 1"}
	first := f.mustLogin(login)
	ctx := context.Background()

	enrol, err := f.client.EnrollTotp(ctx, authed(first.GetAccessToken(), &identityv1.EnrollTotpRequest{}))
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(enrol.Msg.GetOtpauthUri())
	if err != nil || u.Scheme != "otpauth" || u.Host != "totp" || u.Query().Get("issuer") != "Healthcore" ||
		u.Query().Get("secret") != enrol.Msg.GetSecret() || u.Path != "/Healthcore:CRM-SP 123456" {
		t.Fatalf("otpauth uri %q (secret %q)", enrol.Msg.GetOtpauthUri(), enrol.Msg.GetSecret())
	}
	// Pending: nothing enforced yet, GetMe says not enabled.
	if again := f.mustLogin(login); again.GetAccessToken() == "" {
		t.Fatal("a pending enrolment already asks for a code")
	}
	if me, err := f.me(first.GetAccessToken()); err != nil || me.GetMfa().GetEnabled() {
		t.Fatalf("GetMe while pending = %v, %v", me.GetMfa(), err)
	}

	secret := enrol.Msg.GetSecret()
	_, err = f.client.ConfirmTotp(ctx, authed(first.GetAccessToken(), &identityv1.ConfirmTotpRequest{Code: wrongCode(f.code(secret))}))
	testkit.WantReason(t, err, ReasonMFACodeInvalid)
	conf, err := f.client.ConfirmTotp(ctx, authed(first.GetAccessToken(), &identityv1.ConfirmTotpRequest{Code: f.code(secret)}))
	if err != nil {
		t.Fatal(err)
	}
	codes := conf.Msg.GetRecoveryCodes()
	if len(codes) != 10 || len(slices.Compact(slices.Sorted(slices.Values(codes)))) != 10 {
		t.Fatalf("recovery codes %v, want 10 distinct", codes)
	}
	if amr := f.amrOf(conf.Msg.GetTokens().GetAccessToken()); !slices.Equal(amr, []string{"pwd", "otp"}) {
		t.Fatalf("confirmed session's amr = %v", amr)
	}
	if f.sessionOf(conf.Msg.GetTokens().GetAccessToken()) != f.sessionOf(first.GetAccessToken()) {
		t.Fatal("confirm opened another session instead of upgrading the caller's")
	}
	// The upgraded session refreshes with its amr; its earlier refresh token is spent.
	next, err := f.refresh(conf.Msg.GetTokens().GetRefreshToken())
	if err != nil {
		t.Fatal(err)
	}
	if amr := f.amrOf(next.GetAccessToken()); !slices.Equal(amr, []string{"pwd", "otp"}) {
		t.Fatalf("refreshed amr = %v", amr)
	}
	me, err := f.me(next.GetAccessToken())
	if err != nil || !me.GetMfa().GetEnabled() || me.GetMfa().GetRecoveryCodesLeft() != 10 || !slices.Equal(me.GetMfa().GetMethods(), []string{"totp"}) {
		t.Fatalf("GetMe after confirm = %v, %v", me.GetMfa(), err)
	}

	// The next login waits for a code; the code confirm used does not work twice.
	token := f.mfaToken(login)
	_, err = f.loginMFA(withCode(token, f.code(secret)))
	testkit.WantReason(t, err, ReasonMFACodeInvalid)
	f.nextStep()
	resp, err := f.loginMFA(withCode(token, f.code(secret)))
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetAccount().GetId() != doctor.GetId() || !slices.Equal(f.amrOf(resp.GetTokens().GetAccessToken()), []string{"pwd", "otp"}) {
		t.Fatalf("second step = %v", resp)
	}
	f.nextStep()
	_, err = f.loginMFA(withCode(token, f.code(secret)))
	testkit.WantReason(t, err, ReasonMFATokenInvalid)

	got := f.notices(notificationsv1.Event_EVENT_MFA_ENABLED, notificationsv1.Event_EVENT_MFA_DISABLED)
	if len(got) != 1 || got[0].GetEvent() != notificationsv1.Event_EVENT_MFA_ENABLED || got[0].GetRecipientId() != doctor.GetId() {
		t.Fatalf("notices %v, want one MFA_ENABLED to the doctor", got)
	}
	var confirmed, denied int
	err = f.db.QueryRow(ctx, `SELECT count(*) FILTER (WHERE action = 'mfa.confirm' AND outcome = 'ok'),
		count(*) FILTER (WHERE action IN ('mfa.confirm', 'account.login_mfa') AND outcome = 'denied') FROM audit_log`).Scan(&confirmed, &denied)
	if err != nil || confirmed != 1 || denied != 2 {
		t.Fatalf("audit: %d confirmations, %d wrong codes (%v); want 1 and 2", confirmed, denied, err)
	}
}

// wrongCode is a 6-digit code other than c.
func wrongCode(c string) string {
	if c == "000000" {
		return "000001"
	}
	return "000000"
}

func TestMFA_RecoveryCodeWorksOnce(t *testing.T) {
	f := newFixture(t, nil)
	_, codes, tokens := f.enableTOTP(f.patientSession().GetAccessToken())
	login := emailLogin("maria@example.com", "correct horse battery")

	recovery := func(code string) (*identityv1.LoginMfaResponse, error) {
		return f.loginMFA(&identityv1.LoginMfaRequest{MfaToken: f.mfaToken(login),
			Factor: &identityv1.LoginMfaRequest_RecoveryCode{RecoveryCode: code}})
	}
	if _, err := recovery(strings.ToUpper(strings.ReplaceAll(codes[3], "-", ""))); err != nil {
		t.Fatalf("recovery code, upper case and without its dash: %v", err)
	}
	_, err := recovery(codes[3])
	testkit.WantReason(t, err, ReasonMFACodeInvalid)
	me, err := f.me(tokens.GetAccessToken())
	if err != nil || me.GetMfa().GetRecoveryCodesLeft() != 9 {
		t.Fatalf("GetMe = %v, %v; want 9 codes left", me.GetMfa(), err)
	}
}

func TestMFA_WrongCodesAreThrottledPerAccount(t *testing.T) {
	f := newFixture(t, nil)
	secret, _, _ := f.enableTOTP(f.patientSession().GetAccessToken())
	login := emailLogin("maria@example.com", "correct horse battery")
	f.nextStep()
	token := f.mfaToken(login)
	for i := range mfaGuesses {
		_, err := f.loginMFA(withCode(token, wrongCode(f.code(secret))))
		testkit.WantReason(t, err, ReasonMFACodeInvalid)
		if i == 0 { // a new login is the same account's count
			token = f.mfaToken(login)
		}
	}
	_, err := f.loginMFA(withCode(token, f.code(secret)))
	testkit.WantReason(t, err, ReasonLoginThrottled)
	if d := testkit.RetryAfter(t, err); d < time.Minute {
		t.Fatalf("retry after %s, want the lockout", d)
	}
	f.clock.Advance(DefaultThrottle.Lockout + time.Second)
	token = f.mfaToken(login)
	if _, err := f.loginMFA(withCode(token, f.code(secret))); err != nil {
		t.Fatalf("after the lockout: %v", err)
	}
}

func TestMFA_TokenExpiresAfterFiveMinutes(t *testing.T) {
	f := newFixture(t, nil)
	secret, _, _ := f.enableTOTP(f.patientSession().GetAccessToken())
	token := f.mfaToken(emailLogin("maria@example.com", "correct horse battery"))
	f.clock.Advance(mfaChallengeTTL + time.Second)
	_, err := f.loginMFA(withCode(token, f.code(secret)))
	testkit.WantReason(t, err, ReasonMFATokenInvalid)

	// The prune deletes the expired challenge.
	if _, err := f.svc.pruneThrottle(context.Background()); err != nil {
		t.Fatal(err)
	}
	var left int
	if err := f.db.QueryRow(context.Background(), `SELECT count(*) FROM mfa_challenges`).Scan(&left); err != nil || left != 0 {
		t.Fatalf("%d challenges left after the prune (%v)", left, err)
	}
}

func TestMFA_DisableNeedsPasswordAndFactor_DoctorsMayNot(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	patient := f.registerPatient("maria@example.com", "529.982.247-25")
	login := emailLogin("maria@example.com", "correct horse battery")
	secret, _, tokens := f.enableTOTP(f.mustLogin(login).GetAccessToken())
	access := tokens.GetAccessToken()
	f.nextStep()

	disable := func(password, code string) error {
		_, err := f.client.DisableTotp(ctx, authed(access, &identityv1.DisableTotpRequest{Password: password,
			Factor: &identityv1.DisableTotpRequest_Code{Code: code}}))
		return err
	}
	testkit.WantReason(t, disable("wrong password", f.code(secret)), ReasonInvalidCredentials)
	testkit.WantReason(t, disable("correct horse battery", wrongCode(f.code(secret))), ReasonMFACodeInvalid)
	if err := disable("correct horse battery", f.code(secret)); err != nil {
		t.Fatal(err)
	}
	if tokens := f.mustLogin(login); tokens.GetAccessToken() == "" {
		t.Fatal("login still asks for a code after disable")
	}
	testkit.WantReason(t, disable("correct horse battery", f.code(secret)), ReasonMFANotEnabled)
	got := f.notices(notificationsv1.Event_EVENT_MFA_ENABLED, notificationsv1.Event_EVENT_MFA_DISABLED)
	if len(got) != 2 || got[1].GetEvent() != notificationsv1.Event_EVENT_MFA_DISABLED || got[1].GetRecipientId() != patient.GetId() {
		t.Fatalf("notices %v, want MFA_ENABLED then MFA_DISABLED", got)
	}

	f.registerDoctor("123456", "SP")
	doc := f.mustLogin(&identityv1.LoginRequest{Login: &identityv1.LoginRequest_Crm{Crm: &identityv1.Crm{Number: "123456", Uf: "SP"}}, Password: "doctor password 1"})
	docSecret, _, docTokens := f.enableTOTP(doc.GetAccessToken())
	f.nextStep()
	_, err := f.client.DisableTotp(ctx, authed(docTokens.GetAccessToken(), &identityv1.DisableTotpRequest{Password: "doctor password 1",
		Factor: &identityv1.DisableTotpRequest_Code{Code: f.code(docSecret)}}))
	testkit.WantReason(t, err, ReasonMFAMandatory)
}

func TestMFA_ReenrolAndRegenerateNeedAFreshFactor(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	secret, codes, tokens := f.enableTOTP(f.patientSession().GetAccessToken())
	access := tokens.GetAccessToken()
	f.nextStep()

	_, err := f.client.EnrollTotp(ctx, authed(access, &identityv1.EnrollTotpRequest{}))
	testkit.WantReason(t, err, ReasonMFACodeInvalid)
	enrol, err := f.client.EnrollTotp(ctx, authed(access, &identityv1.EnrollTotpRequest{Factor: &identityv1.EnrollTotpRequest_Code{Code: f.code(secret)}}))
	if err != nil {
		t.Fatal(err)
	}
	newSecret := enrol.Msg.GetSecret()
	f.nextStep()
	// Until the new secret is confirmed the old one still logs in.
	login := emailLogin("maria@example.com", "correct horse battery")
	if _, err := f.loginMFA(withCode(f.mfaToken(login), f.code(secret))); err != nil {
		t.Fatalf("old secret before the new one is confirmed: %v", err)
	}
	if _, err := f.client.ConfirmTotp(ctx, authed(access, &identityv1.ConfirmTotpRequest{Code: f.code(newSecret)})); err != nil {
		t.Fatal(err)
	}
	f.nextStep()
	_, err = f.loginMFA(withCode(f.mfaToken(login), f.code(secret)))
	testkit.WantReason(t, err, ReasonMFACodeInvalid)

	_, err = f.client.RegenerateRecoveryCodes(ctx, authed(access, &identityv1.RegenerateRecoveryCodesRequest{
		Factor: &identityv1.RegenerateRecoveryCodesRequest_RecoveryCode{RecoveryCode: codes[0]}}))
	testkit.WantReason(t, err, ReasonMFACodeInvalid) // the re-enrolment replaced them
	regen, err := f.client.RegenerateRecoveryCodes(ctx, authed(access, &identityv1.RegenerateRecoveryCodesRequest{
		Factor: &identityv1.RegenerateRecoveryCodesRequest_Code{Code: f.code(newSecret)}}))
	if err != nil || len(regen.Msg.GetRecoveryCodes()) != recoveryCodeCount {
		t.Fatalf("regenerate = %v, %v", regen, err)
	}
}
