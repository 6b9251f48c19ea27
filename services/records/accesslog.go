package records

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/timestamppb"

	recordsv1 "healthcore/gen/healthcore/records/v1"
	"healthcore/platform/errs"
	"healthcore/platform/pagetoken"
)

// listAccessLog is ListAccessLog: the log of the caller's own record, newest first,
// paged by (at, id). Reading the log is itself logged, after the read, so a page never
// shows its own reading.
func (s *Service) listAccessLog(ctx context.Context, r *recordsv1.ListAccessLogRequest) (_ []*recordsv1.AccessLogEntry, next string, err error) {
	e := &entry{action: actLogRead}
	defer func() { err = s.audited(ctx, e, err) }()
	p, err := patient(ctx)
	if err != nil {
		return nil, "", err
	}
	w := &where{}
	w.add("patient_id = $%d", p.UserID)
	if r.GetActorId() != "" {
		w.add("actor_id = $%d", r.GetActorId())
	}
	var start, end string
	if r.GetStartTime() != nil {
		w.add("at >= $%d", r.GetStartTime().AsTime())
		start = r.GetStartTime().AsTime().Format(time.RFC3339Nano)
	}
	if r.GetEndTime() != nil {
		if r.GetStartTime() != nil && !r.GetEndTime().AsTime().After(r.GetStartTime().AsTime()) {
			return nil, "", errBadTimeRange
		}
		w.add("at < $%d", r.GetEndTime().AsTime())
		end = r.GetEndTime().AsTime().Format(time.RFC3339Nano)
	}
	filter := pagetoken.Filter(p.UserID, r.GetActorId(), start, end)
	c, err := pagetoken.Decode(r.GetPageToken(), filter, func(id string) bool { _, err := strconv.ParseInt(id, 10, 64); return err == nil })
	if err != nil {
		return nil, "", err
	}
	if c != nil {
		id, _ := strconv.ParseInt(c.ID, 10, 64)
		w.add("(at, id) < ($%d, $%d)", c.Time(), id)
	}
	size := int(r.GetPageSize())
	if size == 0 {
		size = defaultLogPage
	}
	rows, err := s.db.Query(ctx, `SELECT id, at, coalesce(actor_id::text, ''), coalesce(actor_role, ''), coalesce(actor_crm, ''),
			action, coalesce(document_id::text, ''), coalesce(group_id::text, ''), coalesce(client_addr, ''),
			coalesce(request_id, ''), outcome, coalesce(reason, ''), coalesce(share_id::text, '')
		FROM access_log WHERE `+w.sql()+fmt.Sprintf(` ORDER BY at DESC, id DESC LIMIT %d`, size+1), w.args...)
	if err != nil {
		return nil, "", errs.Internal("records: listAccessLog", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*recordsv1.AccessLogEntry, error) {
		var a recordsv1.AccessLogEntry
		var at time.Time
		err := row.Scan(&a.Id, &at, &a.ActorId, &a.ActorRole, &a.ActorCrm, &a.Action, &a.DocumentId, &a.GroupId,
			&a.ClientAddress, &a.RequestId, &a.Outcome, &a.Reason, &a.ShareId)
		a.Time = timestamppb.New(at)
		return &a, err
	})
	if err != nil {
		return nil, "", errs.Internal("records: listAccessLog", err)
	}
	if len(out) > size {
		out = out[:size]
		last := out[size-1]
		next = pagetoken.Encode(filter, last.GetTime().AsTime(), strconv.FormatInt(last.GetId(), 10))
	}
	return out, next, nil
}
