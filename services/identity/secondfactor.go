package identity

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base32"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"healthcore/platform/errs"
)

// Second factors. A request proves one with a factorProof, whose method names how it is
// checked and which RFC 8176 method the session then carries (its amr). TOTP and the
// recovery codes both count as "otp"; a passkey (WebAuthn) would be another method, a
// row of second_factors with its credential, checked by its own case in proveFactor and
// carried as "hwk" or "swk": the tokens and the services' checks (any second factor in
// amr satisfies an access rule's mfa_roles) stay as they are.
const (
	methodTOTP     = "totp"
	methodRecovery = "recovery"
)

// factorAMR is the RFC 8176 method each factor adds to a session's amr.
var factorAMR = map[string]string{methodTOTP: "otp", methodRecovery: "otp"}

// factorProof is the second factor a request offers.
type factorProof struct {
	method string
	value  string
}

// factorRequest is what the requests carrying a second factor have in common: their
// oneof factor (a TOTP code or a recovery code).
type factorRequest interface {
	GetCode() string
	GetRecoveryCode() string
}

// proofOf returns the factor r offers; ok is false when it offers none.
func proofOf(r factorRequest) (f factorProof, ok bool) {
	switch {
	case r.GetCode() != "":
		return factorProof{methodTOTP, r.GetCode()}, true
	case r.GetRecoveryCode() != "":
		return factorProof{methodRecovery, r.GetRecoveryCode()}, true
	}
	return factorProof{}, false
}

// sessionAMR is the amr of a session opened by password and then proved by f.
func (f factorProof) sessionAMR() []string { return []string{"pwd", factorAMR[f.method]} }

// errCodeInvalid is the one answer to every wrong second factor, whatever was wrong.
var errCodeInvalid = ReasonMFACodeInvalid.New("the code is incorrect")

// mfaGuesses is how many wrong codes an account gets before code checks stop for the
// login throttle's lockout (-identity.throttle-lockout): 5 in a row.
const mfaGuesses = 5

// mfaThrottleKey is the count of an account's wrong codes, wherever they are tried
// (LoginMfa, ConfirmTotp, EnrollTotp, DisableTotp, RegenerateRecoveryCodes): a right
// code forgets it.
func (s *Service) mfaThrottleKey(accountID string) []throttleKey {
	return []throttleKey{{key: "mfa:" + s.keyedHex("mfa:account", accountID), free: mfaGuesses - 1, lockAt: mfaGuesses,
		maxDelay: s.cfg.Throttle.Lockout, pair: true}}
}

// checkFactor proves f for the account (against its pending TOTP secret, with
// pending) in its own transaction, throttled by mfaThrottleKey, and then runs then in
// the same transaction: a spent code and what it allowed commit together. A wrong
// factor is audited as action and answered with MFA_CODE_INVALID; then may refuse with
// an *errs.Error, which rolls everything back and is answered as it is.
func (s *Service) checkFactor(ctx context.Context, accountID string, f factorProof, pending bool, action string, then func(tx pgx.Tx) error) error {
	keys := s.mfaThrottleKey(accountID)
	if err := s.reserveAttempt(ctx, keys); err != nil {
		return err
	}
	var ok bool
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		if ok, err = s.proveFactor(ctx, tx, accountID, f, pending); err != nil || !ok {
			return err
		}
		if err := s.succeeded(ctx, tx, keys); err != nil {
			return err
		}
		return then(tx)
	})
	if refusal, ok := errors.AsType[*errs.Error](err); ok {
		return refusal
	}
	if err != nil {
		return errs.Internal("identity: "+action, err)
	}
	if !ok {
		_ = s.audit(ctx, s.db, action, "", accountID, outcomeDenied)
		return errCodeInvalid
	}
	return nil
}

// proveFactor checks f against the account's confirmed factors (or, with pending, its
// pending TOTP secret) in tx and spends it: the TOTP step is remembered, the recovery
// code marked used.
func (s *Service) proveFactor(ctx context.Context, tx pgx.Tx, accountID string, f factorProof, pending bool) (bool, error) {
	switch f.method {
	case methodTOTP:
		return s.proveTOTP(ctx, tx, accountID, f.value, pending)
	case methodRecovery:
		return s.factors.spendRecoveryCode(ctx, tx, accountID, s.recoveryCodeHash(accountID, f.value), s.now())
	}
	return false, fmt.Errorf("unknown second factor method %q", f.method)
}

// TOTP parameters: RFC 6238's defaults, which every authenticator app reads.
const (
	totpIssuer = "Healthcore"
	totpPeriod = 30
	// totpSkew accepts the code of the step before and after the current one, for
	// clocks a little apart and codes typed as they change.
	totpSkew = 1
)

var totpOpts = totp.ValidateOpts{Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// totpContext is the sealed TOTP secrets' encryption context; the factor's id is bound
// as associated data.
var totpContext = map[string]string{"service": "identity", "purpose": "totp-secret"}

// newTOTP makes a fresh secret for the account named label.
func newTOTP(label string) (*otp.Key, error) {
	return totp.Generate(totp.GenerateOpts{Issuer: totpIssuer, AccountName: label, Period: totpPeriod,
		Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
}

// proveTOTP checks code against the account's TOTP secret: a code of a step within the
// skew, and later than the last step accepted, so that no code is accepted twice.
func (s *Service) proveTOTP(ctx context.Context, tx pgx.Tx, accountID, code string, pending bool) (bool, error) {
	f, ok, err := s.factors.forUpdate(ctx, tx, accountID, methodTOTP, pending)
	if err != nil || !ok {
		return false, err
	}
	raw, err := s.env.Open(ctx, f.Sealed, totpContext, []byte(f.ID))
	if err != nil {
		return false, fmt.Errorf("open totp secret of factor %s: %w", f.ID, err)
	}
	step, ok := matchTOTP(string(raw), code, s.now(), f.LastStep)
	if !ok {
		return false, nil
	}
	return true, s.factors.setLastStep(ctx, tx, f.ID, step)
}

// matchTOTP returns the time step within the skew of now, later than after, whose
// code is code.
func matchTOTP(secret, code string, now time.Time, after int64) (int64, bool) {
	current := now.Unix() / totpPeriod
	for step := current - totpSkew; step <= current+totpSkew; step++ {
		if step <= after {
			continue
		}
		want, err := totp.GenerateCodeCustom(secret, time.Unix(step*totpPeriod, 0), totpOpts)
		if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return step, true
		}
	}
	return 0, false
}

// recoveryCodeCount is how many recovery codes an account gets at a time.
const recoveryCodeCount = 10

// newRecoveryCodes returns fresh codes (xxxxx-xxxxx, 50 random bits each) and their
// keyed hashes.
func (s *Service) newRecoveryCodes(accountID string) (codes []string, hashes [][]byte, err error) {
	for range recoveryCodeCount {
		var b [7]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, nil, err
		}
		c := strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))[:10]
		code := c[:5] + "-" + c[5:]
		codes = append(codes, code)
		hashes = append(hashes, s.recoveryCodeHash(accountID, code))
	}
	return codes, hashes, nil
}

// recoveryCodeHash is the keyed hash a recovery code is stored as, bound to its
// account; case and the dash do not matter.
func (s *Service) recoveryCodeHash(accountID, code string) []byte {
	norm := strings.ToLower(strings.ReplaceAll(code, "-", ""))
	return s.blindIndex("recovery-code", accountID+"|"+norm)
}

// TOTPCode is the code an authenticator app shows at t for a base32 secret that
// EnrollTotp answered: the `healthcore totp-code` development command, and tests that
// log in as a doctor, use it in place of a phone.
func TOTPCode(secret string, t time.Time) (string, error) {
	secret = strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(secret), " ", ""))
	return totp.GenerateCodeCustom(secret, t, totpOpts)
}
