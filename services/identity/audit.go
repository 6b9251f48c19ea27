package identity

import (
	"context"
	"fmt"
	"iter"
	"log/slog"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"healthcore/platform/auditchain"
	"healthcore/platform/authn"
	"healthcore/platform/envelope"
	"healthcore/platform/logging"
	"healthcore/platform/pg"
	"healthcore/platform/server"
)

// Audited actions.
const (
	actRegister       = "account.register"
	actLogin          = "account.login"
	actRead           = "account.read"
	actReadPayer      = "account.read_payer"
	actReadContact    = "account.read_contact"
	actReadFirstName  = "account.read_first_name"
	actPasswordChange = "account.password_change"
	actPasswordForgot = "account.password_forgot"
	actPasswordReset  = "account.password_reset"
	actEmailLink      = "account.email_verification_sent"
	actEmailVerify    = "account.email_verify"
	actEmailChange    = "account.email_change"
	actRefresh        = "session.refresh"
	actRefreshReused  = "session.refresh_reused"
	actLogout         = "session.logout"
	actRotateKey      = "signing_key.rotate"
	// A doctor's CRM verification.
	actDoctorSubmit   = "doctor.submit_evidence"
	actDoctorRead     = "doctor.read_verification"
	actDoctorReadCard = "doctor.read_card"
	actDoctorApprove  = "doctor.approve"
	actDoctorReject   = "doctor.reject"
	actDoctorSuspend  = "doctor.suspend"
	// The second factor: a wrong code is audited as its action, denied.
	actLoginMFA         = "account.login_mfa"
	actMFAEnroll        = "mfa.enroll"
	actMFAConfirm       = "mfa.confirm"
	actMFADisable       = "mfa.disable"
	actMFARecoveryCodes = "mfa.regenerate_recovery_codes"
	// Partner clinics' OAuth 2.0 clients (the subject is the client).
	actPartnerClientCreate       = "partner_client.create"
	actPartnerClientAddSecret    = "partner_client.add_secret"
	actPartnerClientRevokeSecret = "partner_client.revoke_secret"
	actPartnerClientRevoke       = "partner_client.revoke"
	// A token issued to a partner client: the actor is the client (role partner), the
	// subject the secret it authenticated with.
	actPartnerToken = "partner_client.issue_token"
)

// Outcomes.
const (
	outcomeOK     = "ok"
	outcomeDenied = "denied"
	// outcomeMFARequired: the password was right; the login waits for a second factor.
	outcomeMFARequired = "mfa_required"
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

// inTx runs f in one transaction of the pool (auditchain.InTx): the audit
// entries f appends in it go to the audit log's outbox, without locking the chain's
// head, and are chained once the transaction has committed, before inTx returns. When
// only the chaining fails the action has still happened: inTx logs it and returns nil,
// and the entries are chained later (Run's sweep, or any replica's next batch).
func (s *Service) inTx(ctx context.Context, f func(pgx.Tx) error) error {
	unchained, err := auditchain.InTx(ctx, s.db, s.auditLog.batch, f)
	if unchained != nil {
		s.log.WarnContext(ctx, "audit entries committed, not yet chained", slog.String("error", unchained.Error()))
	}
	return err
}

// auditChainSecret names the sealed secret the audit chain's key is derived from.
const auditChainSecret = "audit-chain"

// loadChainKey returns the audit chain's key, creating its secret on first start (it
// then names the log's last row as the last before the chain began).
func (s *Service) loadChainKey(ctx context.Context) (*auditchain.Key, error) {
	secret, err := s.loadSecret(ctx, auditChainSecret, func() ([]byte, error) { return auditChain.NewSecret(ctx, s.db) })
	if err != nil {
		return nil, err
	}
	return auditchain.NewKey(secret)
}

// VerifyAuditChain walks identity's audit log end to end and reports its first broken
// link: a row changed, a row missing before another, or a head that does not match the
// last row. db's search_path is the identity schema; env opens the chain's secret
// through the keys service (as the service's own Envelope does). The log is read in one
// snapshot, without blocking appends. An error means the log could not be read, or
// the secret not opened.
func VerifyAuditChain(ctx context.Context, db *pgxpool.Pool, env *envelope.Envelope) (auditchain.Report, error) {
	var key *auditchain.Key
	secret, ok, err := openSecret(ctx, db, env, auditChainSecret)
	if err != nil {
		return auditchain.Report{}, fmt.Errorf("identity: verify audit chain: %w", err)
	}
	if ok {
		if key, err = auditchain.NewKey(secret); err != nil {
			return auditchain.Report{}, fmt.Errorf("identity: verify audit chain: %w", err)
		}
	}
	rep, err := auditChain.Verify(ctx, db, key, func(q pg.Querier) iter.Seq2[auditchain.Row, error] {
		return auditStore{}.rows(ctx, q)
	})
	if err != nil {
		return rep, fmt.Errorf("identity: verify audit chain: %w", err)
	}
	return rep, nil
}
