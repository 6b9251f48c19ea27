package identity

import (
	"context"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	accessv1 "healthcore/gen/healthcore/access/v1"
	"healthcore/platform/authn"
	"healthcore/platform/errs"
	"healthcore/platform/server"
)

// changePassword replaces the caller's password after checking the current one. A
// wrong current password counts as a failed login of the account from this client (the
// login throttle's keys), so a stolen access token cannot guess faster than a login
// could. The new hash, the end of every other session of the account, the audit entry
// and the owner's notice commit together.
func (s *Service) changePassword(ctx context.Context, current, next string) error {
	p, _ := authn.FromContext(ctx)
	a, err := s.account(ctx, p.UserID)
	if err != nil {
		return err
	}
	client, err := s.checkCurrentPassword(ctx, a, current, actPasswordChange)
	if err != nil {
		return err
	}
	hash, err := s.newPasswordHash(ctx, a, next)
	if err != nil {
		return err
	}
	changeID := uuid.NewString() // the notice's key, the same if the transaction reruns
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		now := s.now()
		if err := s.succeeded(ctx, tx, client.keys); err != nil {
			return err
		}
		if err := s.accounts.setPasswordHash(ctx, tx, a.ID, hash, now); err != nil {
			return err
		}
		if err := s.sessions.endOthers(ctx, tx, a.ID, p.SessionID, now, "password_changed"); err != nil {
			return err
		}
		if err := s.tellPasswordChanged(ctx, tx, a.ID, changeID); err != nil {
			return err
		}
		return s.audit(ctx, tx, actPasswordChange, "", a.ID, outcomeOK)
	})
	if err != nil {
		return errs.Internal("identity: change password", err)
	}
	return nil
}

// checkCurrentPassword verifies the caller's current password before a change (act is
// audited when it is wrong). A wrong one counts as a failed login of the account from
// this client (the login throttle's keys), so a stolen access token cannot guess faster
// than a login could; the keys returned are given back by succeeded once the change
// commits.
func (s *Service) checkCurrentPassword(ctx context.Context, a account, password, act string) (loginClient, error) {
	client, err := s.loginClient(ctx, "account", a.ID, a, true, server.ClientAddr(ctx), "")
	if err != nil {
		return loginClient{}, err
	}
	if err := s.reserveAttempt(ctx, client.keys); err != nil {
		return loginClient{}, err
	}
	s.passwordChecks.Add(1)
	ok, _, err := s.hasher.verify(ctx, password, a.PasswordHash)
	if err != nil {
		return loginClient{}, errs.Internal("identity: verify password", err)
	}
	if !ok {
		if err := s.failed(ctx, client.keys); err != nil {
			return loginClient{}, errs.Internal("identity: record password check failure", err)
		}
		_ = s.audit(ctx, s.db, act, "", a.ID, outcomeDenied)
		return loginClient{}, errBadCredentials
	}
	return client, nil
}

// newPasswordHash checks a new password of account a against the policy (it must not
// contain the account's name, e-mail, CPF or CRM number) and hashes it.
func (s *Service) newPasswordHash(ctx context.Context, a account, password string) (string, error) {
	owner := passwordOwner{name: a.Name, email: a.Email, crm: a.CRMNumber}
	if a.Role == accessv1.Role_ROLE_PATIENT && len(a.PII) > 0 {
		pii, err := s.openPII(ctx, a.ID, a.PII)
		if err != nil {
			return "", errs.Internal("identity: open personal fields", err)
		}
		owner.cpf = pii.CPF
	}
	if err := s.checkPassword(ctx, password, owner); err != nil {
		return "", err
	}
	hash, err := s.hasher.hash(ctx, password)
	if err != nil {
		return "", errs.Internal("identity: hash password", err)
	}
	return hash, nil
}
