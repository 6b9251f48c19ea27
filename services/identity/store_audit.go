package identity

import (
	"context"
	"fmt"

	"healthcore/platform/pg"
)

// auditStore appends to the account audit log; the table refuses updates and deletes.
type auditStore struct{}

// auditEntry is one line of the audit log. Empty strings are stored as NULL.
type auditEntry struct {
	ActorID, ActorRole, ActorCRM string
	Action                       string
	SubjectID                    string
	ClientAddr, RequestID        string
	Outcome                      string
}

// append writes e; given a transaction, the entry commits or rolls back with it.
func (auditStore) append(ctx context.Context, q pg.Querier, e auditEntry) error {
	_, err := q.Exec(ctx, `INSERT INTO audit_log (actor_id, actor_role, actor_crm, action, subject_id, client_addr, request_id, outcome)
		VALUES (NULLIF($1, '')::uuid, NULLIF($2, ''), NULLIF($3, ''), $4, NULLIF($5, '')::uuid, NULLIF($6, ''), NULLIF($7, ''), $8)`,
		e.ActorID, e.ActorRole, e.ActorCRM, e.Action, e.SubjectID, e.ClientAddr, e.RequestID, e.Outcome)
	if err != nil {
		return fmt.Errorf("insert audit entry %s: %w", e.Action, err)
	}
	return nil
}
