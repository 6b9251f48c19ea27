package records

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"strings"
	"time"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5/pgxpool"

	"healthcore/platform/auditchain"
	"healthcore/platform/authn"
	"healthcore/platform/envelope"
	"healthcore/platform/errs"
	"healthcore/platform/logging"
	"healthcore/platform/pg"
	"healthcore/platform/server"
)

// Audited actions.
const (
	actUpload      = "document.upload"
	actDownload    = "document.download"
	actRead        = "document.read"
	actList        = "document.list"
	actUpdate      = "document.update"
	actDelete      = "document.delete"
	actGroupCreate = "group.create"
	actGroupList   = "group.list"
	actGroupRename = "group.rename"
	actLogRead     = "access_log.read"
	actShare       = "share.create"
	actRevoke      = "share.revoke"
	actShareList   = "share.list"
)

// Outcomes.
const (
	outcomeOK      = "ok"
	outcomeDenied  = "denied"  // not the caller's (or missing): nothing revealed
	outcomeInvalid = "invalid" // the request was refused
	outcomeFailed  = "failed"  // the service could not finish (storage, corruption, cancel)
)

// entry is one access to audit. A patient's entry goes to their own log, including
// refusals: filing a patient's refused attempt under the owner of the document it
// named would let a prober tell, from their own log, whether an id exists. A
// doctor's read, or refused attempt, of an existing document goes to its owner's log
// (owner), so the patient sees who tried to read what; a doctor's attempt on a
// missing document is kept with no patient.
type entry struct {
	action     string
	documentID string
	groupID    string
	shareID    string
	// owner is the patient whose record was accessed, when it is not the caller.
	owner string
	// written is set when the entry was already written with the action's transaction.
	written bool
}

// outcomeOf classifies how a call ended.
func outcomeOf(err error) string {
	if err == nil {
		return outcomeOK
	}
	// A refusal that names bad request fields is invalid whatever its code: ShareRecords
	// answers a document, group or doctor it cannot find as NOT_FOUND with the field.
	if e, ok := errors.AsType[*errs.Error](err); ok && len(e.Violations) > 0 {
		return outcomeInvalid
	}
	switch errs.Code(err) {
	case connect.CodeNotFound, connect.CodePermissionDenied, connect.CodeUnauthenticated:
		return outcomeDenied
	case connect.CodeInvalidArgument, connect.CodeAlreadyExists, connect.CodeFailedPrecondition, connect.CodeOutOfRange:
		return outcomeInvalid
	}
	return outcomeFailed
}

// write appends e, ended by err, to the access log through q: the pool, or the
// transaction of the action being audited.
func (s *Service) write(ctx context.Context, q pg.Querier, e *entry, err error) error {
	p, _ := authn.FromContext(ctx)
	reason := errs.ReasonOf(err)
	if err != nil && reason == "" {
		reason = strings.ToUpper(errs.Code(err).String()) // CANCELED, INTERNAL…
	}
	patientID := e.owner
	if patientID == "" && authn.RoleName(p.Role) == "patient" {
		patientID = p.UserID
	}
	werr := s.accessLog.append(ctx, q, accessRecord{
		at: s.now().UTC(), patientID: patientID, actorID: p.UserID, actorRole: authn.RoleName(p.Role), actorCRM: p.CRM,
		action: e.action, documentID: e.documentID, groupID: e.groupID, shareID: e.shareID,
		clientAddr: server.ClientAddr(ctx), requestID: logging.RequestID(ctx), outcome: outcomeOf(err), reason: reason,
	})
	if werr != nil {
		s.log.ErrorContext(ctx, "access log write failed", slog.String("action", e.action), slog.String("error", werr.Error()))
		return werr
	}
	e.written = true
	return nil
}

// audited writes e (unless the action's transaction did) and returns the call's
// error. The log is written even when the client went away, and a read whose entry
// cannot be written fails: no access to a record goes unlogged.
func (s *Service) audited(ctx context.Context, e *entry, err error) error {
	if e.written {
		return err
	}
	werr := s.write(context.WithoutCancel(ctx), s.db, e, err)
	if werr != nil && err == nil {
		return errs.Internal("records: write access log", werr)
	}
	return err
}

// patient returns the caller, who must be a patient (the access rule already says so;
// this keeps a misconfigured rule from opening records to anyone).
func patient(ctx context.Context) (authn.Principal, error) {
	p, ok := authn.FromContext(ctx)
	if !ok || p.UserID == "" || authn.RoleName(p.Role) != "patient" {
		return p, errNotPatient
	}
	return p, nil
}

// reader returns the caller of a document read: a patient (reading their own) or a
// doctor (reading through a grant) whose token says verified — a pending, rejected or
// suspended doctor reads nothing, whatever grants name them.
func reader(ctx context.Context) (authn.Principal, bool, error) {
	p, ok := authn.FromContext(ctx)
	if !ok || p.UserID == "" {
		return p, false, errNotPatient
	}
	switch authn.RoleName(p.Role) {
	case "patient":
		return p, false, nil
	case "doctor":
		if !p.DoctorVerified {
			return p, true, errNotVerified
		}
		return p, true, nil
	}
	return p, false, errNotPatient
}

// accessChainSecret names the sealed secret the access log chain's key is derived from.
const accessChainSecret = "access-chain"

// secretContext is the encryption context of the service's sealed secrets: it names
// the purpose; the secret's name is bound as associated data.
var secretContext = map[string]string{"service": "records", "purpose": "service-secret"}

// startTimeout bounds what New asks of the keys service.
const startTimeout = time.Minute

// loadChainKey returns the access log chain's key, creating its secret on first start
// (it then names the log's last row as the last before the chain began): of several
// replicas starting together, the first insert wins and all read it back.
func loadChainKey(ctx context.Context, db *pgxpool.Pool, env *envelope.Envelope) (*auditchain.Key, error) {
	if key, err := openChainKey(ctx, db, env); err != nil || key != nil {
		return key, err
	}
	fresh, err := accessChain.NewSecret(ctx, db)
	if err != nil {
		return nil, fmt.Errorf("records: %w", err)
	}
	sealed, err := env.Seal(ctx, fresh, secretContext, []byte(accessChainSecret))
	if err != nil {
		return nil, fmt.Errorf("records: seal secret %s: %w", accessChainSecret, err)
	}
	if err := (secretStore{}).insertIfMissing(ctx, db, accessChainSecret, sealed); err != nil {
		return nil, fmt.Errorf("records: %w", err)
	}
	key, err := openChainKey(ctx, db, env)
	if err == nil && key == nil {
		err = fmt.Errorf("records: secret %s vanished", accessChainSecret)
	}
	return key, err
}

// openChainKey returns the access log chain's key, or nil when its secret was never
// created (no records service has started since the chain's migration).
func openChainKey(ctx context.Context, q pg.Querier, env *envelope.Envelope) (*auditchain.Key, error) {
	sealed, ok, err := secretStore{}.get(ctx, q, accessChainSecret)
	if err != nil || !ok {
		return nil, err
	}
	secret, err := env.Open(ctx, sealed, secretContext, []byte(accessChainSecret))
	if err != nil {
		return nil, fmt.Errorf("records: open secret %s: %w", accessChainSecret, err)
	}
	return auditchain.NewKey(secret)
}

// VerifyAccessChain walks records' access log end to end and reports its first broken
// link: a row changed, a row missing before another, or a head that does not match the
// last row. db's search_path is the records schema; env opens the chain's secret
// through the keys service. The log is read in one snapshot, without blocking appends.
// An error means the log could not be read, or the secret not opened.
func VerifyAccessChain(ctx context.Context, db *pgxpool.Pool, env *envelope.Envelope) (auditchain.Report, error) {
	key, err := openChainKey(ctx, db, env)
	if err != nil {
		return auditchain.Report{}, fmt.Errorf("records: verify access log chain: %w", err)
	}
	rep, err := accessChain.Verify(ctx, db, key, func(q pg.Querier) iter.Seq2[auditchain.Row, error] {
		return accessLogStore{}.chainRows(ctx, q)
	})
	if err != nil {
		return rep, fmt.Errorf("records: verify access log chain: %w", err)
	}
	return rep, nil
}
