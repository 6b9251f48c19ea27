package payments

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
)

// reconcileBatch bounds the payments one reconciliation run looks at per kind of
// work; the rest wait for the next run.
const reconcileBatch = 500

// workReconcile is the periodic safety net: it queues a re-read of every pending charge
// not read for RecheckAfter (so a lost notification never strands a booking), and the
// cancellation of every pending charge past its expiry plus ExpiryGrace.
func (s *Service) workReconcile(ctx context.Context, _ *river.Job[reconcileArgs]) error {
	now := s.now()
	rows, err := s.db.Query(ctx, `
		SELECT provider_payment_id FROM payments
		WHERE status = 'PENDING' AND last_checked_at < $1 AND expire_at >= $2
		ORDER BY last_checked_at LIMIT $3`, now.Add(-s.cfg.RecheckAfter), now.Add(-s.cfg.ExpiryGrace), reconcileBatch)
	if err != nil {
		return err
	}
	stale, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	for _, id := range stale {
		if err := s.enqueueSync(ctx, id, sourceReconciliation); err != nil {
			return err
		}
	}
	rows, err = s.db.Query(ctx, `
		SELECT id::text FROM payments WHERE status = 'PENDING' AND expire_at < $1 ORDER BY expire_at LIMIT $2`,
		now.Add(-s.cfg.ExpiryGrace), reconcileBatch)
	if err != nil {
		return err
	}
	overdue, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	for _, id := range overdue {
		if _, err := s.jobs.Insert(ctx, cancelChargeArgs{PaymentID: id}, nil); err != nil {
			return err
		}
	}
	if len(stale)+len(overdue) > 0 {
		s.log.InfoContext(ctx, "payments reconciled", "rechecked", len(stale), "overdue", len(overdue))
	}
	return nil
}
