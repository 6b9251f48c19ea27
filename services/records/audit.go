package records

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5/pgconn"

	"healthcore/platform/authn"
	"healthcore/platform/errs"
	"healthcore/platform/logging"
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
)

// Outcomes.
const (
	outcomeOK      = "ok"
	outcomeDenied  = "denied"  // not the caller's (or missing): nothing revealed
	outcomeInvalid = "invalid" // the request was refused
	outcomeFailed  = "failed"  // the service could not finish (storage, corruption, cancel)
)

// entry is one access to audit. In phase 1 the caller is always the patient and the
// entry goes to their own log, including refusals: filing a refused attempt under the
// owner of the document it named would let a prober tell, from their own log, whether
// an id exists. Phase 2 files doctors' accesses under the record's owner.
type entry struct {
	action     string
	documentID string
	groupID    string
	// written is set when the entry was already written with the action's transaction.
	written bool
}

// execer runs a statement: the pool, or the transaction of the action being audited.
type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// outcomeOf classifies how a call ended.
func outcomeOf(err error) string {
	if err == nil {
		return outcomeOK
	}
	switch errs.Code(err) {
	case connect.CodeNotFound, connect.CodePermissionDenied, connect.CodeUnauthenticated:
		return outcomeDenied
	case connect.CodeInvalidArgument, connect.CodeAlreadyExists, connect.CodeFailedPrecondition, connect.CodeOutOfRange:
		return outcomeInvalid
	}
	return outcomeFailed
}

// write appends e, ended by err, to the access log.
func (s *Service) write(ctx context.Context, q execer, e *entry, err error) error {
	p, _ := authn.FromContext(ctx)
	reason := errs.Reason(err)
	if err != nil && reason == "" {
		reason = strings.ToUpper(errs.Code(err).String()) // CANCELED, INTERNAL…
	}
	_, werr := q.Exec(ctx, `INSERT INTO access_log (at, patient_id, actor_id, actor_role, actor_crm, action, document_id, group_id,
			client_addr, request_id, outcome, reason)
		VALUES ($1, NULLIF($2, '')::uuid, NULLIF($2, '')::uuid, NULLIF($3, ''), NULLIF($4, ''), $5, NULLIF($6, '')::uuid,
			NULLIF($7, '')::uuid, NULLIF($8, ''), NULLIF($9, ''), $10, NULLIF($11, ''))`,
		s.now().UTC(), p.UserID, authn.RoleName(p.Role), p.CRM, e.action, e.documentID, e.groupID,
		server.ClientAddr(ctx), logging.RequestID(ctx), outcomeOf(err), reason)
	if werr != nil {
		s.log.ErrorContext(ctx, "access log write failed", slog.String("action", e.action), slog.String("error", werr.Error()))
		return fmt.Errorf("records: access log: %w", werr)
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
		return errs.Internal(werr)
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
