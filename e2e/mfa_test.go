package e2e

import (
	"net/http"
	"testing"
	"time"

	"healthcore/platform/authn"
	"healthcore/services/identity"
)

// totpCode is the code an authenticator app shows for secret at t.
func (s *stack) totpCode(secret string, t time.Time) string {
	s.t.Helper()
	code, err := identity.TOTPCode(secret, t)
	if err != nil {
		s.t.Fatal(err)
	}
	return code
}

// enrolTOTP enrols and confirms TOTP over REST for the session of access, and returns
// the secret and the session's new access token (amr pwd and otp).
func (s *stack) enrolTOTP(access string) (secret, upgraded string) {
	s.t.Helper()
	var enrol struct {
		Secret     string `json:"secret"`
		OtpauthURI string `json:"otpauthUri"`
	}
	if code, _ := s.rest("POST", "/v1/me/mfa/totp:enroll", access, map[string]string{}, &enrol); code != http.StatusOK || enrol.Secret == "" {
		s.t.Fatalf("enrol TOTP: %d %+v", code, enrol)
	}
	var confirm struct {
		RecoveryCodes []string `json:"recoveryCodes"`
		Tokens        tokenPair
	}
	code, _ := s.rest("POST", "/v1/me/mfa/totp:confirm", access, map[string]string{"code": s.totpCode(enrol.Secret, time.Now())}, &confirm)
	if code != http.StatusOK || len(confirm.RecoveryCodes) != 10 || confirm.Tokens.AccessToken == "" {
		s.t.Fatalf("confirm TOTP: %d %+v", code, confirm)
	}
	return enrol.Secret, confirm.Tokens.AccessToken
}

// loginWithCode logs in with credentials (a Login body), then completes the second step
// with a code of secret. The code is the next time step's, as an authenticator turning
// over shows it (accepted within the skew): the current step's may have been spent by
// the confirmation a moment ago, and no code is accepted twice.
func (s *stack) loginWithCode(credentials map[string]any, secret string) tokenPair {
	s.t.Helper()
	var login struct {
		MfaRequired bool   `json:"mfaRequired"`
		MfaToken    string `json:"mfaToken"`
		Tokens      *tokenPair
	}
	code, _ := s.rest("POST", "/v1/auth/login", "", credentials, &login)
	if code != http.StatusOK || !login.MfaRequired || login.MfaToken == "" || login.Tokens != nil {
		s.t.Fatalf("login of an account with TOTP: %d %+v, want mfaRequired and no tokens", code, login)
	}
	var second struct{ Tokens tokenPair }
	code, _ = s.rest("POST", "/v1/auth/login:mfa", "", map[string]string{
		"mfaToken": login.MfaToken, "code": s.totpCode(secret, time.Now().Add(30*time.Second))}, &second)
	if code != http.StatusOK || second.Tokens.AccessToken == "" {
		s.t.Fatalf("login:mfa: %d %+v", code, second)
	}
	return second.Tokens
}

func TestMultiProcess_DoctorNeedsASecondFactorForSharedRecordsAndBookings(t *testing.T) {
	s := startStack(t)
	crm := map[string]string{"number": "909090", "uf": "SP"}
	credentials := map[string]any{"crm": crm, "password": "doctor password 1"}
	id, unverified := s.registerDoctor("Dra. Ana Souza", "909090", "SP", "ana.mfa@clinica.com.br")
	s.approveDoctor(id, "909090", "SP", unverified)
	pwd := s.doctorPasswordLogin("909090", "SP") // verified, a password alone

	// A password alone: the doctor's rules refuse before looking at the appointment or grant.
	for _, call := range []struct {
		method, path string
		body         any
	}{
		{"GET", "/v1/records/shared-with-me", nil},
		{"POST", "/v1/appointments/0190f5a4-7f1e-7cc4-9d35-2b5d2a1c9e11:accept", map[string]string{}},
		{"POST", "/v1/appointments/0190f5a4-7f1e-7cc4-9d35-2b5d2a1c9e11:refuse", map[string]string{"reason": "agenda cheia nesta data"}},
	} {
		var e errorJSON
		if code, _ := s.rest(call.method, call.path, pwd, call.body, &e); code != http.StatusForbidden || reason(e) != authn.ReasonMFARequired.Name() {
			t.Errorf("%s %s with a password alone: %d %+v, want 403 MFA_REQUIRED", call.method, call.path, code, e)
		}
	}

	secret, upgraded := s.enrolTOTP(pwd)
	if code, _ := s.rest("GET", "/v1/records/shared-with-me", upgraded, nil, nil); code != http.StatusOK {
		t.Fatalf("shared-with-me in the session that confirmed TOTP: %d", code)
	}
	// A wrong code says no more than that.
	var challenge struct {
		MfaToken string `json:"mfaToken"`
	}
	s.rest("POST", "/v1/auth/login", "", credentials, &challenge)
	var e errorJSON
	code, _ := s.rest("POST", "/v1/auth/login:mfa", "", map[string]string{"mfaToken": challenge.MfaToken, "code": "000000"}, &e)
	if s.totpCode(secret, time.Now()) != "000000" && (code != http.StatusUnauthorized || reason(e) != identity.ReasonMFACodeInvalid.Name()) {
		t.Errorf("wrong code: %d %+v", code, e)
	}
	tokens := s.loginWithCode(credentials, secret)
	if code, _ := s.rest("GET", "/v1/records/shared-with-me", tokens.AccessToken, nil, nil); code != http.StatusOK {
		t.Fatalf("shared-with-me after the two-step login: %d", code)
	}
	var me struct {
		Mfa struct {
			Enabled           bool `json:"enabled"`
			RecoveryCodesLeft int  `json:"recoveryCodesLeft"`
		} `json:"mfa"`
	}
	if code, _ := s.rest("GET", "/v1/me", tokens.AccessToken, nil, &me); code != http.StatusOK || !me.Mfa.Enabled || me.Mfa.RecoveryCodesLeft != 10 {
		t.Errorf("GetMe: %d %+v", code, me)
	}
}
