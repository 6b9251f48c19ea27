package pixsandbox

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"healthcore/platform/pg"
)

// refundStore keeps the refunds of payments. A refund not found is pgx.ErrNoRows,
// wrapped.
type refundStore struct{}

var refunds refundStore

// refund is a row of refunds.
type refund struct {
	ID, PaymentID, AmountCents int64
	Partial                    bool
	CreatedAt                  time.Time
}

const selectRefund = `SELECT id, payment_id, amount_cents, partial, created_at FROM refunds`

func scanRefund(row pgx.Row) (refund, error) {
	var f refund
	err := row.Scan(&f.ID, &f.PaymentID, &f.AmountCents, &f.Partial, &f.CreatedAt)
	return f, err
}

// insert stores a refund of cents of payment paymentID, made at, and returns its id.
func (refundStore) insert(ctx context.Context, q pg.Querier, paymentID, cents int64, partial bool, at time.Time) (int64, error) {
	var id int64
	err := q.QueryRow(ctx, `INSERT INTO refunds (payment_id, amount_cents, partial, created_at) VALUES ($1, $2, $3, $4) RETURNING id`,
		paymentID, cents, partial, at).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("insert refund: %w", err)
	}
	return id, nil
}

// get reads refund id of payment paymentID.
func (refundStore) get(ctx context.Context, q pg.Querier, paymentID, id int64) (refund, error) {
	f, err := scanRefund(q.QueryRow(ctx, selectRefund+` WHERE payment_id = $1 AND id = $2`, paymentID, id))
	if err != nil {
		return refund{}, fmt.Errorf("get refund %d: %w", id, err)
	}
	return f, nil
}

// listByPayment reads the refunds of payment paymentID, oldest first.
func (refundStore) listByPayment(ctx context.Context, q pg.Querier, paymentID int64) ([]refund, error) {
	rows, err := q.Query(ctx, selectRefund+` WHERE payment_id = $1 ORDER BY id`, paymentID)
	if err != nil {
		return nil, fmt.Errorf("list refunds: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (refund, error) { return scanRefund(r) })
	if err != nil {
		return nil, fmt.Errorf("list refunds: %w", err)
	}
	return list, nil
}
