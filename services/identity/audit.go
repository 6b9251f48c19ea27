package identity

import (
	"context"
	"log/slog"

	"github.com/jackc/pgx/v5/pgconn"

	"healthcore/platform/authn"
	"healthcore/platform/logging"
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

// execer runs a statement: the pool, or the transaction of the action being audited.
type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// audit appends to the account audit log: who (from the token, or the account logging
// in), what, about whom, from where, and how it ended. Given the action's transaction,
// the entry commits or rolls back with it; given the pool (for refusals, which change
// nothing), it is written at once.
func (s *Service) audit(ctx context.Context, q execer, action, actorID, subjectID, outcome string) error {
	p, _ := authn.FromContext(ctx)
	if actorID == "" {
		actorID = p.UserID
	}
	role := authn.RoleName(p.Role)
	_, err := q.Exec(ctx, `INSERT INTO audit_log (actor_id, actor_role, actor_crm, action, subject_id, client_addr, request_id, outcome)
		VALUES (NULLIF($1, '')::uuid, NULLIF($2, ''), NULLIF($3, ''), $4, NULLIF($5, '')::uuid, NULLIF($6, ''), NULLIF($7, ''), $8)`,
		actorID, role, p.CRM, action, subjectID, server.ClientAddr(ctx), logging.RequestID(ctx), outcome)
	if err != nil {
		s.log.ErrorContext(ctx, "audit write failed", slog.String("action", action), slog.String("error", err.Error()))
	}
	return err
}
