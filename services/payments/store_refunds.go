package payments

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"healthcore/platform/pg"
)

// refundStore reads and writes refunds. Its methods take the pool or a transaction of
// pg.InTx. A refund not found is pgx.ErrNoRows, wrapped.
type refundStore struct{}

// refunds is the store of the refund aggregate.
var refunds refundStore

// refund is a row of refunds.
type refund struct {
	ID, PaymentID    string
	AmountCents      int64
	Reason, Key      string
	Status           string
	ProviderRefundID *string
	CreatedAt        time.Time
	CompletedAt      *time.Time
}

const selectRefund = `SELECT id::text, payment_id::text, amount_cents, reason, idempotency_key, status,
	provider_refund_id, created_at, completed_at FROM refunds`

func scanRefund(r pgx.CollectableRow) (refund, error) {
	var f refund
	err := r.Scan(&f.ID, &f.PaymentID, &f.AmountCents, &f.Reason, &f.Key, &f.Status, &f.ProviderRefundID, &f.CreatedAt, &f.CompletedAt)
	return f, err
}

// get reads the refund with the id.
func (refundStore) get(ctx context.Context, q pg.Querier, id string) (refund, error) {
	rows, err := q.Query(ctx, selectRefund+` WHERE id = $1::uuid`, id)
	if err == nil {
		var f refund
		if f, err = pgx.CollectExactlyOneRow(rows, scanRefund); err == nil {
			return f, nil
		}
	}
	return refund{}, fmt.Errorf("get refund %s: %w", id, err)
}

// getByKey reads the refund recorded with the idempotency key.
func (refundStore) getByKey(ctx context.Context, q pg.Querier, key string) (refund, error) {
	rows, err := q.Query(ctx, selectRefund+` WHERE idempotency_key = $1`, key)
	if err == nil {
		var f refund
		if f, err = pgx.CollectExactlyOneRow(rows, scanRefund); err == nil {
			return f, nil
		}
	}
	return refund{}, fmt.Errorf("get refund by key: %w", err)
}

// listByPayment returns the payment's refunds, oldest first.
func (refundStore) listByPayment(ctx context.Context, q pg.Querier, paymentID string) ([]refund, error) {
	rows, err := q.Query(ctx, selectRefund+` WHERE payment_id = $1 ORDER BY created_at, id`, paymentID)
	if err != nil {
		return nil, fmt.Errorf("list refunds of payment %s: %w", paymentID, err)
	}
	out, err := pgx.CollectRows(rows, scanRefund)
	if err != nil {
		return nil, fmt.Errorf("list refunds of payment %s: %w", paymentID, err)
	}
	return out, nil
}

// insert records f REQUESTED. A key another refund holds is
// ReasonIdempotencyKeyReused: the same key, used at the same moment for another
// refund, lost the race to the unique index.
func (refundStore) insert(ctx context.Context, q pg.Querier, f refund) error {
	_, err := q.Exec(ctx, `INSERT INTO refunds (id, payment_id, amount_cents, reason, idempotency_key, status, created_at)
		VALUES ($1, $2, $3, $4, $5, 'REQUESTED', $6)`, f.ID, f.PaymentID, f.AmountCents, f.Reason, f.Key, f.CreatedAt)
	if pe, ok := errors.AsType[*pgconn.PgError](err); ok && pg.IsUniqueViolation(err) && pe.ConstraintName == "refunds_idempotency_key_key" {
		return errKeyReused.WithCause(err)
	}
	if err != nil {
		return fmt.Errorf("insert refund of payment %s: %w", f.PaymentID, err)
	}
	return nil
}

// complete marks a REQUESTED refund COMPLETED at now with the provider's refund id; it
// reports false when the refund was not REQUESTED.
func (refundStore) complete(ctx context.Context, q pg.Querier, id, providerRefundID string, now time.Time) (bool, error) {
	tag, err := q.Exec(ctx, `UPDATE refunds SET status = 'COMPLETED', provider_refund_id = $2, completed_at = $3
		WHERE id = $1 AND status = 'REQUESTED'`, id, providerRefundID, now)
	if err != nil {
		return false, fmt.Errorf("complete refund %s: %w", id, err)
	}
	return tag.RowsAffected() == 1, nil
}

// completedCents sums the payment's completed refunds.
func (refundStore) completedCents(ctx context.Context, q pg.Querier, paymentID string) (int64, error) {
	var cents int64
	if err := q.QueryRow(ctx, `SELECT coalesce(sum(amount_cents), 0) FROM refunds WHERE payment_id = $1 AND status = 'COMPLETED'`,
		paymentID).Scan(&cents); err != nil {
		return 0, fmt.Errorf("sum completed refunds of payment %s: %w", paymentID, err)
	}
	return cents, nil
}
