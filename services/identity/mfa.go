package identity

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/timestamppb"

	accessv1 "healthcore/gen/healthcore/access/v1"
	identityv1 "healthcore/gen/healthcore/identity/v1"
	"healthcore/platform/authn"
	"healthcore/platform/errs"
)

// The second factor's life: EnrollTotp makes a pending secret, ConfirmTotp enables it
// (and answers recovery codes), Login then asks for a code (LoginMfa), and DisableTotp
// turns it off — except for doctors and admins, for whom it is mandatory: the access
// rules of what they do with patients' data and the platform name them in mfa_roles.

// mfaRequiredRoles may not turn their second factor off.
var mfaRequiredRoles = []accessv1.Role{accessv1.Role_ROLE_DOCTOR, accessv1.Role_ROLE_ADMIN}

// loginLabel is how the account logs in, the account name an authenticator app shows:
// the e-mail, or the CRM as doctors write it ("CRM-SP 123456": no slash, which the
// otpauth URI's path would not escape).
func (a account) loginLabel() string {
	if a.Role == accessv1.Role_ROLE_DOCTOR {
		return "CRM-" + a.CRMUF + " " + a.CRMNumber
	}
	return a.Email
}

// enrollTOTP stores a new pending TOTP secret for the caller. A re-enrolment (TOTP
// already enabled) needs a fresh factor first.
func (s *Service) enrollTOTP(ctx context.Context, r *identityv1.EnrollTotpRequest) (*identityv1.EnrollTotpResponse, error) {
	a, st, err := s.callerFactors(ctx)
	if err != nil {
		return nil, err
	}
	key, err := newTOTP(a.loginLabel())
	if err != nil {
		return nil, errs.Internal("identity: new totp secret", err)
	}
	f := storedFactor{ID: uuid.Must(uuid.NewV7()).String(), Method: methodTOTP}
	if f.Sealed, err = s.env.Seal(ctx, []byte(key.Secret()), totpContext, []byte(f.ID)); err != nil {
		return nil, errs.Internal("identity: seal totp secret", err)
	}
	store := func(tx pgx.Tx) error {
		if err := s.factors.insertPending(ctx, tx, f, a.ID, s.now()); err != nil {
			return err
		}
		return s.audit(ctx, tx, actMFAEnroll, "", a.ID, outcomeOK)
	}
	if len(st.Methods) == 0 {
		err = s.inTx(ctx, store)
		if err != nil {
			err = errs.Internal("identity: store totp enrolment", err)
		}
	} else {
		proof, ok := proofOf(r)
		if !ok {
			_ = s.audit(ctx, s.db, actMFAEnroll, "", a.ID, outcomeDenied)
			return nil, ReasonMFACodeInvalid.New("a second factor is enabled: give a current code or a recovery code to replace it")
		}
		err = s.checkFactor(ctx, a.ID, proof, false, actMFAEnroll, store)
	}
	if err != nil {
		return nil, err
	}
	return &identityv1.EnrollTotpResponse{Secret: key.Secret(), OtpauthUri: key.URL()}, nil
}

// confirmTOTP enables the caller's pending TOTP secret when code is one of its current
// codes: the factor, fresh recovery codes, the calling session's upgrade to password and
// code (and its new token pair), the audit entry and the owner's notice commit together.
func (s *Service) confirmTOTP(ctx context.Context, code string) (*identityv1.ConfirmTotpResponse, error) {
	p, _ := authn.FromContext(ctx)
	a, st, err := s.callerFactors(ctx)
	if err != nil {
		return nil, err
	}
	if !st.Pending {
		return nil, ReasonMFANotEnrolled.New("there is no enrolment to confirm: start one (EnrollTotp) first")
	}
	codes, hashes, err := s.newRecoveryCodes(a.ID)
	if err != nil {
		return nil, errs.Internal("identity: new recovery codes", err)
	}
	key := s.keys.current(ctx)
	proof := factorProof{methodTOTP, code}
	var t tokens
	changeID := uuid.NewString() // the notice's key, the same if the transaction reruns
	err = s.checkFactor(ctx, a.ID, proof, true, actMFAConfirm, func(tx pgx.Tx) error {
		pending, ok, err := s.factors.forUpdate(ctx, tx, a.ID, methodTOTP, true)
		if err != nil {
			return err
		}
		if !ok { // proveFactor has just found it, locked
			return fmt.Errorf("pending totp factor of %s: %w", a.ID, pgx.ErrNoRows)
		}
		now := s.now()
		if err := s.factors.confirm(ctx, tx, pending.ID, a.ID, methodTOTP, now); err != nil {
			return err
		}
		if err := s.factors.replaceRecoveryCodes(ctx, tx, a.ID, hashes, now); err != nil {
			return err
		}
		amr := proof.sessionAMR()
		end, ok, err := s.sessions.upgradeForUpdate(ctx, tx, p.SessionID, a.ID, amr, now)
		if err != nil {
			return err
		}
		if !ok {
			return errSessionEnded
		}
		if t, err = s.issue(ctx, tx, key, a, session{ID: p.SessionID, End: end, AMR: amr}); err != nil {
			return err
		}
		if err := s.tellMFAChanged(ctx, tx, a.ID, changeID, true); err != nil {
			return err
		}
		return s.audit(ctx, tx, actMFAConfirm, "", a.ID, outcomeOK)
	})
	if err != nil {
		return nil, err
	}
	return &identityv1.ConfirmTotpResponse{RecoveryCodes: codes, Tokens: t.proto()}, nil
}

// disableTOTP turns the caller's second factor off, given the password and a fresh
// factor; doctors and admins may not.
func (s *Service) disableTOTP(ctx context.Context, r *identityv1.DisableTotpRequest) error {
	p, _ := authn.FromContext(ctx)
	a, err := s.account(ctx, p.UserID)
	if err != nil {
		return err
	}
	if slices.Contains(mfaRequiredRoles, a.Role) {
		_ = s.audit(ctx, s.db, actMFADisable, "", a.ID, outcomeDenied)
		return ReasonMFAMandatory.New("doctors and operators must keep a second factor: re-enrol (a new authenticator) or regenerate the recovery codes instead")
	}
	if err := s.requireMFA(ctx, a.ID); err != nil {
		return err
	}
	client, err := s.checkCurrentPassword(ctx, a, r.GetPassword(), actMFADisable)
	if err != nil {
		return err
	}
	keys := client.keys
	proof, _ := proofOf(r) // the proto requires one
	changeID := uuid.NewString()
	return s.checkFactor(ctx, a.ID, proof, false, actMFADisable, func(tx pgx.Tx) error {
		if err := s.succeeded(ctx, tx, keys); err != nil {
			return err
		}
		if err := s.factors.deleteAll(ctx, tx, a.ID); err != nil {
			return err
		}
		if err := s.tellMFAChanged(ctx, tx, a.ID, changeID, false); err != nil {
			return err
		}
		return s.audit(ctx, tx, actMFADisable, "", a.ID, outcomeOK)
	})
}

// regenerateRecoveryCodes replaces the caller's recovery codes, given a fresh factor.
func (s *Service) regenerateRecoveryCodes(ctx context.Context, r *identityv1.RegenerateRecoveryCodesRequest) ([]string, error) {
	p, _ := authn.FromContext(ctx)
	if err := s.requireMFA(ctx, p.UserID); err != nil {
		return nil, err
	}
	codes, hashes, err := s.newRecoveryCodes(p.UserID)
	if err != nil {
		return nil, errs.Internal("identity: new recovery codes", err)
	}
	proof, _ := proofOf(r) // the proto requires one
	err = s.checkFactor(ctx, p.UserID, proof, false, actMFARecoveryCodes, func(tx pgx.Tx) error {
		if err := s.factors.replaceRecoveryCodes(ctx, tx, p.UserID, hashes, s.now()); err != nil {
			return err
		}
		return s.audit(ctx, tx, actMFARecoveryCodes, "", p.UserID, outcomeOK)
	})
	if err != nil {
		return nil, err
	}
	return codes, nil
}

// callerFactors returns the caller's account and its second factors.
func (s *Service) callerFactors(ctx context.Context) (account, mfaStatus, error) {
	p, _ := authn.FromContext(ctx)
	a, err := s.account(ctx, p.UserID)
	if err != nil {
		return account{}, mfaStatus{}, err
	}
	st, err := s.factors.status(ctx, s.db, a.ID)
	if err != nil {
		return account{}, mfaStatus{}, errs.Internal("identity: read second factors", err)
	}
	return a, st, nil
}

// requireMFA refuses with MFA_NOT_ENABLED when the account has no second factor.
func (s *Service) requireMFA(ctx context.Context, accountID string) error {
	st, err := s.factors.status(ctx, s.db, accountID)
	if err != nil {
		return errs.Internal("identity: read second factors", err)
	}
	if len(st.Methods) == 0 {
		return ReasonMFANotEnabled.New("the account has no second factor")
	}
	return nil
}

// mfaProto is the account's second factor as GetMe shows it.
func (st mfaStatus) proto() *identityv1.MfaStatus {
	out := &identityv1.MfaStatus{Enabled: len(st.Methods) > 0, Methods: st.Methods, RecoveryCodesLeft: int32(st.CodesLeft)}
	if st.Since != nil {
		out.EnableTime = timestamppb.New(*st.Since)
	}
	return out
}

// mfaChallengeTTL is how long a login waits for its second factor.
const mfaChallengeTTL = 5 * time.Minute

// mfaTokenPrefix marks Healthcore mfa tokens, as refreshPrefix does refresh tokens.
const mfaTokenPrefix = "hcm_"

// openChallenge stores, in tx, a login of the account waiting for its second factor
// and returns its mfa_token and expiry.
func (s *Service) openChallenge(ctx context.Context, tx pgx.Tx, accountID string) (string, time.Time, error) {
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", time.Time{}, err
	}
	token := mfaTokenPrefix + base64.RawURLEncoding.EncodeToString(raw[:])
	now := s.now()
	expires := now.Add(mfaChallengeTTL).Truncate(time.Second)
	return token, expires, s.factors.insertChallenge(ctx, tx, hashToken(token), accountID, now, expires)
}

// errMFATokenInvalid sends the client back to the password.
var errMFATokenInvalid = ReasonMFATokenInvalid.New("the login has expired or was already completed: log in again")

// loginMFA completes a login waiting for its second factor: the challenge is spent and
// the session opened (amr pwd and otp) in the transaction that spends the factor.
func (s *Service) loginMFA(ctx context.Context, r *identityv1.LoginMfaRequest) (account, tokens, error) {
	tokenHash := hashToken(r.GetMfaToken())
	accountID, ok, err := s.factors.liveChallenge(ctx, s.db, tokenHash, s.now(), false)
	if err != nil {
		return account{}, tokens{}, errs.Internal("identity: read mfa challenge", err)
	}
	if !ok {
		return account{}, tokens{}, errMFATokenInvalid
	}
	a, err := s.account(ctx, accountID)
	if err != nil {
		return account{}, tokens{}, err
	}
	key := s.keys.current(ctx)
	proof, _ := proofOf(r) // the proto requires one
	var t tokens
	err = s.checkFactor(ctx, a.ID, proof, false, actLoginMFA, func(tx pgx.Tx) error {
		_, live, err := s.factors.liveChallenge(ctx, tx, tokenHash, s.now(), true)
		if err != nil {
			return err
		}
		if !live { // a concurrent LoginMfa completed it first
			return errMFATokenInvalid
		}
		if err := s.factors.spendChallenge(ctx, tx, tokenHash, s.now()); err != nil {
			return err
		}
		if t, err = s.openSession(ctx, tx, key, a, proof.sessionAMR()); err != nil {
			return err
		}
		return s.audit(ctx, tx, actLoginMFA, a.ID, a.ID, outcomeOK)
	})
	if err != nil {
		return account{}, tokens{}, err
	}
	return a, t, nil
}
