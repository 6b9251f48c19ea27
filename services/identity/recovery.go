package identity

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	identityv1 "healthcore/gen/healthcore/identity/v1"
	"healthcore/platform/errs"
	"healthcore/platform/server"
)

// MailLimit bounds the e-mails that carry a link (verification, password reset), in a
// fixed Window: PerAccount sent to one account (beyond it a forgotten-password request
// still answers the same and sends nothing, so the limit tells nothing about the
// account), and PerAddress forgotten-password requests from one client address (an
// IPv6 client by its /64), refused beyond it.
type MailLimit struct {
	PerAccount int
	PerAddress int
	Window     time.Duration
}

// DefaultMailLimit sends an account at most 5 links an hour, and takes 20
// forgotten-password requests an hour from one address.
var DefaultMailLimit = MailLimit{PerAccount: 5, PerAddress: 20, Window: time.Hour}

const msgForgot = "If these details belong to an account, its e-mail address gets a link to set a new password, valid for 30 minutes."

// countMail counts one more e-mail (or request) under key in the e-mail window, and
// says whether it is beyond limit and, if so, when the window ends.
func (s *Service) countMail(ctx context.Context, key string, limit int) (time.Duration, bool, error) {
	now, w := s.now(), s.cfg.Mail.Window
	n, began, err := s.throttle.countInWindow(ctx, s.db, key, now, now.Add(-w))
	if err != nil {
		return 0, false, errs.Internal("identity: count e-mail", err)
	}
	return wholeSeconds(began.Add(w).Sub(now)), n > limit, nil
}

// errMailThrottled refuses a request beyond its e-mail limit.
func errMailThrottled(wait time.Duration) error {
	return ReasonEmailThrottled.New("too many e-mails asked for: wait before trying again").WithRetryAfter(wait)
}

// reserveAccountMail counts an e-mail with a link to the account, refusing it beyond
// the account's limit.
func (s *Service) reserveAccountMail(ctx context.Context, accountID string) error {
	wait, over, err := s.countMail(ctx, "mail:"+s.keyedHex("mail:account", accountID), s.cfg.Mail.PerAccount)
	if err != nil {
		return err
	}
	if over {
		return errMailThrottled(wait)
	}
	return nil
}

// forgotPassword sends each account the request names a single-use reset link. The
// answer is the same whether it names one or not, and whether the account's own limit
// held the e-mail back; only the client address's limit is refused out loud.
func (s *Service) forgotPassword(ctx context.Context, r *identityv1.ForgotPasswordRequest) error {
	if addr := server.ClientAddr(ctx); addr != "" {
		wait, over, err := s.countMail(ctx, "forgot:"+server.AddrBlock(addr), s.cfg.Mail.PerAddress)
		if err != nil {
			return err
		}
		if over {
			return errMailThrottled(wait)
		}
	}
	kind, name, find, err := s.loginLookup(forgotLogin(r))
	if err != nil {
		return err
	}
	accounts, err := find(ctx)
	if err != nil {
		return errs.Internal("identity: find account to reset", err)
	}
	if len(accounts) == 0 { // the same count an account's request makes, under the name
		_, _, err := s.countMail(ctx, "mail:"+s.keyedHex("mail:"+kind, name), s.cfg.Mail.PerAccount)
		return err
	}
	for _, a := range accounts {
		if err := s.reserveAccountMail(ctx, a.ID); errs.Has(err, ReasonEmailThrottled) {
			continue
		} else if err != nil {
			return err
		}
		err := s.inTx(ctx, func(tx pgx.Tx) error {
			if err := s.sendEmailLink(ctx, tx, a.ID, purposeResetPassword, ""); err != nil {
				return err
			}
			return s.audit(ctx, tx, actPasswordForgot, "", a.ID, outcomeOK)
		})
		if err != nil {
			return errs.Internal("identity: send password reset link", err)
		}
	}
	return nil
}

// forgotLogin is the login that names the same accounts as the request.
func forgotLogin(r *identityv1.ForgotPasswordRequest) *identityv1.LoginRequest {
	out := &identityv1.LoginRequest{}
	switch l := r.GetLogin().(type) {
	case *identityv1.ForgotPasswordRequest_Email:
		out.Login = &identityv1.LoginRequest_Email{Email: l.Email}
	case *identityv1.ForgotPasswordRequest_Cpf:
		out.Login = &identityv1.LoginRequest_Cpf{Cpf: l.Cpf}
	case *identityv1.ForgotPasswordRequest_Crm:
		out.Login = &identityv1.LoginRequest_Crm{Crm: l.Crm}
	}
	return out
}

var errResetInvalid = ReasonResetTokenInvalid.New("this password reset link is not valid: it was used, it expired (after 30 minutes), " +
	"or a newer one was sent. Ask for a new link")

// resetPassword sets the password of the reset token's account. The new hash, the
// token spent, the end of every session of the account (their access tokens are listed
// as revoked), the address marked verified (the link proved it), the audit entry and
// the owner's notice commit together. A weak password leaves the token usable.
func (s *Service) resetPassword(ctx context.Context, token, next string) error {
	t, ok, err := s.tokens.live(ctx, s.db, hashToken(token), purposeResetPassword, s.now())
	if err != nil {
		return errs.Internal("identity: read reset token", err)
	}
	if !ok {
		_ = s.audit(ctx, s.db, actPasswordReset, "", "", outcomeDenied)
		return errResetInvalid
	}
	a, err := s.account(ctx, t.AccountID)
	if err != nil {
		return err
	}
	hash, err := s.newPasswordHash(ctx, a, next)
	if err != nil {
		return err
	}
	resetID := uuid.NewString() // the notice's key, the same if the transaction reruns
	var denial error
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		now := s.now()
		denial = nil
		if _, ok, err := s.tokens.spend(ctx, tx, hashToken(token), purposeResetPassword, now); err != nil || !ok {
			denial = errResetInvalid // spent meanwhile by a concurrent reset
			return err
		}
		if err := s.accounts.setPasswordHash(ctx, tx, a.ID, hash, now); err != nil {
			return err
		}
		if err := s.accounts.markEmailVerified(ctx, tx, a.ID, now); err != nil {
			return err
		}
		if err := s.sessions.endOthers(ctx, tx, a.ID, "", now, "password_reset"); err != nil {
			return err
		}
		if err := s.tokens.voidAll(ctx, tx, a.ID, purposeResetPassword, now); err != nil {
			return err
		}
		if err := s.tellPasswordChanged(ctx, tx, a.ID, resetID); err != nil {
			return err
		}
		return s.audit(ctx, tx, actPasswordReset, a.ID, a.ID, outcomeOK)
	})
	if err != nil {
		return errs.Internal("identity: reset password", err)
	}
	return denial
}
