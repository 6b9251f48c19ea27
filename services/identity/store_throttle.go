package identity

import (
	"context"
	"fmt"
	"time"

	"healthcore/platform/pg"
)

// throttleStore counts failed logins per throttle key (an account name's blind index,
// or a client address block), shared by every replica.
type throttleStore struct{}

// blockedUntil returns the latest block among keys still in force at now, or nil.
func (throttleStore) blockedUntil(ctx context.Context, q pg.Querier, keys []string, now time.Time) (*time.Time, error) {
	var until *time.Time
	err := q.QueryRow(ctx, `SELECT max(blocked_until) FROM login_throttle WHERE key = ANY($1) AND blocked_until > $2`,
		keys, now).Scan(&until)
	if err != nil {
		return nil, fmt.Errorf("select login throttle blocks: %w", err)
	}
	return until, nil
}

// countFailure records a failure of key at now and returns the key's count of
// consecutive failures, this one included. A key whose last failure came before
// windowStart, and which is not blocked, starts again from one.
func (throttleStore) countFailure(ctx context.Context, q pg.Querier, key string, now, windowStart time.Time) (int, error) {
	var failures int
	err := q.QueryRow(ctx, `INSERT INTO login_throttle AS t (key, failures, last_failure_at) VALUES ($1, 1, $2)
		ON CONFLICT (key) DO UPDATE SET
			failures = CASE WHEN t.last_failure_at < $3 AND coalesce(t.blocked_until, '-infinity') < $2
				THEN 1 ELSE t.failures + 1 END,
			last_failure_at = $2
		RETURNING failures`, key, now, windowStart).Scan(&failures)
	if err != nil {
		return 0, fmt.Errorf("count login failure: %w", err)
	}
	return failures, nil
}

// block refuses logins under key until the given time.
func (throttleStore) block(ctx context.Context, q pg.Querier, key string, until time.Time) error {
	if _, err := q.Exec(ctx, `UPDATE login_throttle SET blocked_until = $2 WHERE key = $1`, key, until); err != nil {
		return fmt.Errorf("block login throttle key: %w", err)
	}
	return nil
}

// forget deletes key's failures and block.
func (throttleStore) forget(ctx context.Context, q pg.Querier, key string) error {
	if _, err := q.Exec(ctx, `DELETE FROM login_throttle WHERE key = $1`, key); err != nil {
		return fmt.Errorf("delete login throttle key: %w", err)
	}
	return nil
}
