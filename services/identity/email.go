package identity

import (
	"context"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	notificationsv1 "healthcore/gen/healthcore/notifications/v1"
	"healthcore/platform/authn"
	"healthcore/platform/errs"
)

const msgChangeEmail = "Check the new address's mailbox: the link there makes the change. Your current address was told."

var errVerificationInvalid = ReasonVerificationTokenInvalid.New("this confirmation link is not valid: it was used, it expired " +
	"(after 48 hours), or a newer one was sent. Log in and ask for a new link")

// verifyEmail confirms the address of a verification token: the account's own, which
// is then verified, or the new one of an e-mail change, which then replaces it,
// verified. A new address another account has taken meanwhile fails without saying so.
func (s *Service) verifyEmail(ctx context.Context, token string) error {
	var denial error
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		now := s.now()
		denial = nil
		t, ok, err := s.tokens.spend(ctx, tx, hashToken(token), purposeVerifyEmail, now)
		if err != nil {
			return err
		}
		if !ok {
			denial = errVerificationInvalid
			return nil
		}
		a, _, err := s.accounts.get(ctx, tx, t.AccountID)
		if err != nil {
			return err
		}
		if t.Email == a.Email {
			if err := s.accounts.markEmailVerified(ctx, tx, a.ID, now); err != nil {
				return err
			}
			return s.audit(ctx, tx, actEmailVerify, a.ID, a.ID, outcomeOK)
		}
		if err := s.accounts.setVerifiedEmail(ctx, tx, a.ID, t.Email, now); err != nil {
			return err
		}
		return s.audit(ctx, tx, actEmailChange, a.ID, a.ID, outcomeOK)
	})
	if errs.Has(err, ReasonAccountExists) {
		return ReasonEmailChangeFailed.New("this address cannot be used for the account: choose another one")
	}
	if err != nil {
		return errs.Internal("identity: verify e-mail", err)
	}
	return denial
}

// resendVerification sends the caller a new link that verifies the account's address.
func (s *Service) resendVerification(ctx context.Context) error {
	p, _ := authn.FromContext(ctx)
	a, err := s.account(ctx, p.UserID)
	if err != nil {
		return err
	}
	if a.EmailVerifiedAt != nil {
		return ReasonEmailAlreadyVerified.New("the e-mail address is verified already: refresh the session to carry it")
	}
	if err := s.reserveAccountMail(ctx, a.ID); err != nil {
		return err
	}
	return s.sendEmailLinkTx(ctx, a.ID, a.Email, nil)
}

// changeEmail sends a link that confirms the new address to it, and tells the current
// address, once the caller's password checks out (throttled like a login).
func (s *Service) changeEmail(ctx context.Context, newEmail, password string) error {
	p, _ := authn.FromContext(ctx)
	a, err := s.account(ctx, p.UserID)
	if err != nil {
		return err
	}
	client, err := s.checkCurrentPassword(ctx, a, password, actEmailChange)
	if err != nil {
		return err
	}
	if err := s.reserveAccountMail(ctx, a.ID); err != nil {
		return err
	}
	changeID := uuid.NewString() // the notice's key, the same if the transaction reruns
	return s.sendEmailLinkTx(ctx, a.ID, normalizeEmail(newEmail), func(tx pgx.Tx) error {
		if err := s.succeeded(ctx, tx, client.keys); err != nil {
			return err
		}
		return s.tellSecurity(ctx, tx, notificationsv1.Event_EVENT_EMAIL_CHANGE_REQUESTED, a.ID, "email-"+changeID+"-change-user")
	})
}

// sendEmailLinkTx commits a verification link for email to the account, its audit
// entry and what also (when not nil) does in the same transaction.
func (s *Service) sendEmailLinkTx(ctx context.Context, accountID, email string, also func(pgx.Tx) error) error {
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if err := s.sendEmailLink(ctx, tx, accountID, purposeVerifyEmail, email); err != nil {
			return err
		}
		if also != nil {
			if err := also(tx); err != nil {
				return err
			}
		}
		return s.audit(ctx, tx, actEmailLink, accountID, accountID, outcomeOK)
	})
	if err != nil {
		return errs.Internal("identity: send e-mail verification link", err)
	}
	return nil
}
