package scheduling

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"healthcore/platform/pg"
)

// throttleStore keeps the booking rate limits' token buckets.
type throttleStore struct{}

// take takes a token from the bucket of key, which holds up to capacity tokens and
// refills perSecond, at now. When the bucket has no whole token it takes nothing and
// returns how long until it has one. Concurrent takers of one key queue on its row, so
// no more tokens are taken than the bucket holds.
func (throttleStore) take(ctx context.Context, q pg.Querier, key string, capacity, perSecond float64, now time.Time) (time.Duration, error) {
	// The refilled amount: what the bucket held, plus what flowed in since (never
	// negative, should a replica's clock be behind), up to the capacity.
	const refilled = `least($2::float8, b.tokens + greatest(0, extract(epoch FROM $4::timestamptz - b.updated_at)::float8) * $3::float8)`
	var left float64
	err := q.QueryRow(ctx, `INSERT INTO booking_throttle AS b (key, tokens, updated_at) VALUES ($1, $2::float8 - 1, $4)
		ON CONFLICT (key) DO UPDATE SET tokens = `+refilled+` - 1, updated_at = $4
		WHERE `+refilled+` >= 1
		RETURNING tokens`, key, capacity, perSecond, now).Scan(&left)
	if err == nil {
		return 0, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return 0, fmt.Errorf("take a booking token: %w", err)
	}
	var have float64
	if err := q.QueryRow(ctx, `SELECT `+refilled+` FROM booking_throttle b WHERE key = $1`,
		key, capacity, perSecond, now).Scan(&have); err != nil {
		return 0, fmt.Errorf("read a booking bucket: %w", err)
	}
	return time.Duration((1 - have) / perSecond * float64(time.Second)), nil
}

// forgetIdle deletes the buckets untouched since before: full again, they are the same
// as none.
func (throttleStore) forgetIdle(ctx context.Context, q pg.Querier, before time.Time) (int64, error) {
	tag, err := q.Exec(ctx, `DELETE FROM booking_throttle WHERE updated_at < $1`, before)
	if err != nil {
		return 0, fmt.Errorf("forget idle booking buckets: %w", err)
	}
	return tag.RowsAffected(), nil
}
