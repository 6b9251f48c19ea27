package records

import (
	"context"
	"strconv"
	"time"

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
	f := accessFilter{patientID: p.UserID, actorID: r.GetActorId()}
	var start, end string
	if r.GetStartTime() != nil {
		from := r.GetStartTime().AsTime()
		f.from, start = &from, from.Format(time.RFC3339Nano)
	}
	if r.GetEndTime() != nil {
		until := r.GetEndTime().AsTime()
		if f.from != nil && !until.After(*f.from) {
			return nil, "", errBadTimeRange
		}
		f.until, end = &until, until.Format(time.RFC3339Nano)
	}
	filter := pagetoken.Filter(p.UserID, r.GetActorId(), start, end)
	f.after, err = pagetoken.Decode(r.GetPageToken(), filter, func(id string) bool { _, err := strconv.ParseInt(id, 10, 64); return err == nil })
	if err != nil {
		return nil, "", err
	}
	size := int(r.GetPageSize())
	if size == 0 {
		size = defaultLogPage
	}
	f.limit = size + 1
	out, err := s.accessLog.list(ctx, s.db, f)
	if err != nil {
		return nil, "", errs.Internal("records: list access log", err)
	}
	if len(out) > size {
		out = out[:size]
		last := out[size-1]
		next = pagetoken.Encode(filter, last.GetTime().AsTime(), strconv.FormatInt(last.GetId(), 10))
	}
	return out, next, nil
}
