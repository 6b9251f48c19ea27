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

// bucketKind is the buckets whose keys start with prefix, and their capacity, which
// refills over period.
type bucketKind struct {
	prefix   string
	capacity float64
}

// pruneFull deletes the buckets that have refilled to their capacity at now (take
// treats a full bucket exactly as a missing one: both hold capacity tokens), and any
// bucket untouched since before now-period, which is full whatever its capacity, as a
// kind whose limit is turned off has none. The buckets refill capacity per period.
func (throttleStore) pruneFull(ctx context.Context, q pg.Querier, kinds []bucketKind, period time.Duration, now time.Time) (int64, error) {
	var total int64
	for _, k := range kinds {
		perSecond := k.capacity / period.Seconds()
		// The same refilled amount take computes, in the same arithmetic.
		n, err := pg.DeleteInBatches(ctx, q, "booking_throttle", "key", `starts_with(key, $1) AND
			least($2::float8, tokens + greatest(0, extract(epoch FROM $4::timestamptz - updated_at)::float8) * $3::float8) >= $2::float8`,
			k.prefix, k.capacity, perSecond, now)
		total += n
		if err != nil {
			return total, fmt.Errorf("prune full booking buckets: %w", err)
		}
	}
	n, err := pg.DeleteInBatches(ctx, q, "booking_throttle", "key", `updated_at < $1`, now.Add(-period))
	total += n
	if err != nil {
		return total, fmt.Errorf("prune idle booking buckets: %w", err)
	}
	return total, nil
}
