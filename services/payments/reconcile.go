package payments

import (
	"context"
	"fmt"

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
	overdueBefore := now.Add(-s.cfg.ExpiryGrace)
	stale, err := payments.listUnchecked(ctx, s.db, now.Add(-s.cfg.RecheckAfter), overdueBefore, reconcileBatch)
	if err != nil {
		return err
	}
	for _, id := range stale {
		if err := s.enqueueSync(ctx, id, sourceReconciliation); err != nil {
			return err
		}
	}
	overdue, err := payments.listOverdue(ctx, s.db, overdueBefore, reconcileBatch)
	if err != nil {
		return err
	}
	for _, id := range overdue {
		if _, err := s.jobs.Insert(ctx, cancelChargeArgs{PaymentID: id}, nil); err != nil {
			return fmt.Errorf("queue cancel of charge of payment %s: %w", id, err)
		}
	}
	if len(stale)+len(overdue) > 0 {
		s.log.InfoContext(ctx, "payments reconciled", "rechecked", len(stale), "overdue", len(overdue))
	}
	return nil
}
