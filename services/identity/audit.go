package identity

import (
	"context"
	"log/slog"

	"healthcore/platform/authn"
	"healthcore/platform/logging"
	"healthcore/platform/pg"
	"healthcore/platform/server"
)

// Audited actions.
const (
	actRegister      = "account.register"
	actLogin         = "account.login"
	actRead          = "account.read"
	actReadPayer     = "account.read_payer"
	actRefresh       = "session.refresh"
	actRefreshReused = "session.refresh_reused"
	actLogout        = "session.logout"
	actRotateKey     = "signing_key.rotate"
)

// Outcomes.
const (
	outcomeOK     = "ok"
	outcomeDenied = "denied"
)

// audit appends to the account audit log: who (from the token, or the account logging
// in), what, about whom, from where, and how it ended. Given the action's transaction,
// the entry commits or rolls back with it; given the pool (for refusals, which change
// nothing), it is written at once.
func (s *Service) audit(ctx context.Context, q pg.Querier, action, actorID, subjectID, outcome string) error {
	p, _ := authn.FromContext(ctx)
	if actorID == "" {
		actorID = p.UserID
	}
	err := s.auditLog.append(ctx, q, auditEntry{
		ActorID: actorID, ActorRole: authn.RoleName(p.Role), ActorCRM: p.CRM, Action: action, SubjectID: subjectID,
		ClientAddr: server.ClientAddr(ctx), RequestID: logging.RequestID(ctx), Outcome: outcome,
	})
	if err != nil {
		s.log.ErrorContext(ctx, "audit write failed", slog.String("action", action), slog.String("error", err.Error()))
	}
	return err
}
