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
	reason := errs.ReasonOf(err)
	if err != nil && reason == "" {
		reason = strings.ToUpper(errs.Code(err).String()) // CANCELED, INTERNAL…
	}
	patientID := e.owner
	if patientID == "" && authn.RoleName(p.Role) == "patient" {
		patientID = p.UserID
	}
	_, werr := q.Exec(ctx, `INSERT INTO access_log (at, patient_id, actor_id, actor_role, actor_crm, action, document_id, group_id,
			client_addr, request_id, outcome, reason, share_id)
		VALUES ($1, NULLIF($2, '')::uuid, NULLIF($3, '')::uuid, NULLIF($4, ''), NULLIF($5, ''), $6, NULLIF($7, '')::uuid,
			NULLIF($8, '')::uuid, NULLIF($9, ''), NULLIF($10, ''), $11, NULLIF($12, ''), NULLIF($13, '')::uuid)`,
		s.now().UTC(), patientID, p.UserID, authn.RoleName(p.Role), p.CRM, e.action, e.documentID, e.groupID,
		server.ClientAddr(ctx), logging.RequestID(ctx), outcomeOf(err), reason, e.shareID)
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
		return errs.Internal("records: audited", werr)
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
// doctor (reading through a grant).
func reader(ctx context.Context) (authn.Principal, bool, error) {
	p, ok := authn.FromContext(ctx)
	if !ok || p.UserID == "" {
		return p, false, errNotPatient
	}
	switch authn.RoleName(p.Role) {
	case "patient":
		return p, false, nil
	case "doctor":
		return p, true, nil
	}
	return p, false, errNotPatient
}
