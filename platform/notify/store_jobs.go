package notify

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	notificationsv1 "healthcore/gen/healthcore/notifications/v1"
	"healthcore/platform/pg"
)

// Queued returns the requests of the jobs of kind ("scheduling.notify") in the job
// table q reaches (a service's schema), oldest first, whatever their state: what a
// service committed to tell, as its tests check it.
func Queued(ctx context.Context, q pg.Querier, kind string) ([]*notificationsv1.NotifyRequest, error) {
	rows, err := q.Query(ctx, `SELECT args FROM river_job WHERE kind = $1 ORDER BY id`, kind)
	if err != nil {
		return nil, fmt.Errorf("notify: read %s jobs: %w", kind, err)
	}
	raws, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	if err != nil {
		return nil, fmt.Errorf("notify: read %s jobs: %w", kind, err)
	}
	out := make([]*notificationsv1.NotifyRequest, 0, len(raws))
	for _, raw := range raws {
		var r Request
		if err := r.UnmarshalJSON(raw); err != nil {
			return nil, fmt.Errorf("notify: %s job args %s: %w", kind, raw, err)
		}
		out = append(out, r.Msg)
	}
	return out, nil
}

// QueuedAbout is Queued, keeping the requests about one appointment.
func QueuedAbout(ctx context.Context, q pg.Querier, kind, appointmentID string) ([]*notificationsv1.NotifyRequest, error) {
	all, err := Queued(ctx, q, kind)
	var out []*notificationsv1.NotifyRequest
	for _, m := range all {
		if m.GetAppointment().GetAppointmentId() == appointmentID {
			out = append(out, m)
		}
	}
	return out, err
}
