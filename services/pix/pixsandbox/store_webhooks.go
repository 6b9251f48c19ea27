package pixsandbox

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"healthcore/platform/pg"
)

// deliveryStore keeps the webhooks to send: queued in the transaction of the change
// they announce, claimed by whichever sandbox process gets to them first.
type deliveryStore struct{}

var deliveries deliveryStore

// delivery is a claimed webhook.
type delivery struct {
	ID, PaymentID int64
	Action, URL   string
	CreatedAt     time.Time
	Attempts      int // counting the one it is claimed for
}

// enqueue queues a webhook to url about payment paymentID, due now.
func (deliveryStore) enqueue(ctx context.Context, q pg.Querier, paymentID int64, action, url string, at time.Time) error {
	_, err := q.Exec(ctx, `INSERT INTO webhook_deliveries (payment_id, action, url, created_at) VALUES ($1, $2, $3, $4)`,
		paymentID, action, url, at)
	if err != nil {
		return fmt.Errorf("enqueue webhook: %w", err)
	}
	return nil
}

// claimDue claims up to limit deliveries that are due, oldest due first: it counts
// the attempt and leases them for lease, so no process claims them again while they
// are in flight. Rows another transaction holds are skipped, not waited for.
func (deliveryStore) claimDue(ctx context.Context, q pg.Querier, lease time.Duration, limit int) ([]delivery, error) {
	rows, err := q.Query(ctx, `
		UPDATE webhook_deliveries d SET attempts = d.attempts + 1, next_attempt_at = now() + $1::interval
		FROM (SELECT id FROM webhook_deliveries
		      WHERE delivered_at IS NULL AND failed_at IS NULL AND next_attempt_at <= now()
		      ORDER BY next_attempt_at, id LIMIT $2 FOR UPDATE SKIP LOCKED) due
		WHERE d.id = due.id
		RETURNING d.id, d.payment_id, d.action, d.url, d.created_at, d.attempts`, lease, limit)
	if err != nil {
		return nil, fmt.Errorf("claim webhooks: %w", err)
	}
	due, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (delivery, error) {
		var d delivery
		return d, r.Scan(&d.ID, &d.PaymentID, &d.Action, &d.URL, &d.CreatedAt, &d.Attempts)
	})
	if err != nil {
		return nil, fmt.Errorf("claim webhooks: %w", err)
	}
	return due, nil
}

// markDelivered records that delivery id was accepted.
func (deliveryStore) markDelivered(ctx context.Context, q pg.Querier, id int64) error {
	if _, err := q.Exec(ctx, `UPDATE webhook_deliveries SET delivered_at = now(), last_error = NULL WHERE id = $1`, id); err != nil {
		return fmt.Errorf("mark webhook delivered: %w", err)
	}
	return nil
}

// markFailed gives delivery id up, keeping the last error.
func (deliveryStore) markFailed(ctx context.Context, q pg.Querier, id int64, lastError string) error {
	if _, err := q.Exec(ctx, `UPDATE webhook_deliveries SET failed_at = now(), last_error = $2 WHERE id = $1`, id, lastError); err != nil {
		return fmt.Errorf("mark webhook failed: %w", err)
	}
	return nil
}

// retryIn makes delivery id due again after wait, keeping the last error.
func (deliveryStore) retryIn(ctx context.Context, q pg.Querier, id int64, wait time.Duration, lastError string) error {
	_, err := q.Exec(ctx, `UPDATE webhook_deliveries SET next_attempt_at = now() + $2::interval, last_error = $3 WHERE id = $1`,
		id, wait, lastError)
	if err != nil {
		return fmt.Errorf("schedule webhook retry: %w", err)
	}
	return nil
}
