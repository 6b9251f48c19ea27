package records

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/timestamppb"

	recordsv1 "healthcore/gen/healthcore/records/v1"
	"healthcore/platform/pagetoken"
	"healthcore/platform/pg"
)

// accessLogStore appends to and reads the access log. The table refuses updates,
// deletes and truncation (a trigger), so there is nothing here but append and list.
type accessLogStore struct{}

// accessRecord is one access log row; "" stores NULL.
type accessRecord struct {
	at                           time.Time
	patientID                    string // whose log it appears in
	actorID, actorRole, actorCRM string
	action                       string
	documentID, groupID, shareID string
	clientAddr, requestID        string
	outcome, reason              string
}

// append writes r.
func (accessLogStore) append(ctx context.Context, q pg.Querier, r accessRecord) error {
	_, err := q.Exec(ctx, `INSERT INTO access_log (at, patient_id, actor_id, actor_role, actor_crm, action, document_id, group_id,
			client_addr, request_id, outcome, reason, share_id)
		VALUES ($1, NULLIF($2, '')::uuid, NULLIF($3, '')::uuid, NULLIF($4, ''), NULLIF($5, ''), $6, NULLIF($7, '')::uuid,
			NULLIF($8, '')::uuid, NULLIF($9, ''), NULLIF($10, ''), $11, NULLIF($12, ''), NULLIF($13, '')::uuid)`,
		r.at, r.patientID, r.actorID, r.actorRole, r.actorCRM, r.action, r.documentID, r.groupID,
		r.clientAddr, r.requestID, r.outcome, r.reason, r.shareID)
	if err != nil {
		return fmt.Errorf("append access log: %w", err)
	}
	return nil
}

// accessFilter chooses the entries list returns.
type accessFilter struct {
	patientID string
	actorID   string // "" for anyone
	// from and until, when set, bound the time: from <= at < until.
	from, until *time.Time
	// after, when set, is the last entry of the previous page (its id an integer).
	after *pagetoken.Cursor
	limit int
}

// list returns the entries of one patient's log that f chooses, newest first (then by
// id, descending).
func (accessLogStore) list(ctx context.Context, q pg.Querier, f accessFilter) ([]*recordsv1.AccessLogEntry, error) {
	w := &where{}
	w.add("patient_id = $%d", f.patientID)
	if f.actorID != "" {
		w.add("actor_id = $%d", f.actorID)
	}
	if f.from != nil {
		w.add("at >= $%d", *f.from)
	}
	if f.until != nil {
		w.add("at < $%d", *f.until)
	}
	if f.after != nil {
		id, err := strconv.ParseInt(f.after.ID, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("list access log: cursor id %q: %w", f.after.ID, err)
		}
		w.add("(at, id) < ($%d, $%d)", f.after.Time(), id)
	}
	return queryAll(ctx, q, "list access log", scanAccessEntry, `SELECT id, at, coalesce(actor_id::text, ''), coalesce(actor_role, ''),
			coalesce(actor_crm, ''), action, coalesce(document_id::text, ''), coalesce(group_id::text, ''), coalesce(client_addr, ''),
			coalesce(request_id, ''), outcome, coalesce(reason, ''), coalesce(share_id::text, '')
		FROM access_log WHERE `+w.sql()+fmt.Sprintf(` ORDER BY at DESC, id DESC LIMIT %d`, f.limit), w.args...)
}

func scanAccessEntry(row pgx.Row) (*recordsv1.AccessLogEntry, error) {
	var a recordsv1.AccessLogEntry
	var at time.Time
	err := row.Scan(&a.Id, &at, &a.ActorId, &a.ActorRole, &a.ActorCrm, &a.Action, &a.DocumentId, &a.GroupId,
		&a.ClientAddress, &a.RequestId, &a.Outcome, &a.Reason, &a.ShareId)
	a.Time = timestamppb.New(at)
	return &a, err
}
