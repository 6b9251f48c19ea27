package identity

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"healthcore/platform/pg"
)

// throttleStore counts login attempts per throttle key (an account's or unknown name's
// keyed hash, an (account, client) pair, or a client address block), remembers the
// clients each account logged in from, and counts requests per fixed window; all of it
// shared by every replica.
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

// reserve counts an attempt of key at now, unless the key is blocked at now, and
// returns the key's count of consecutive attempts, this one included; when the key is
// blocked it counts nothing and returns when the block ends. A key whose last attempt
// came before windowStart starts again from one. The statement locks the key's row
// until the transaction ends, so concurrent reservations are counted one by one.
func (throttleStore) reserve(ctx context.Context, q pg.Querier, key string, now, windowStart time.Time) (int, *time.Time, error) {
	var failures int
	err := q.QueryRow(ctx, `INSERT INTO login_throttle AS t (key, failures, last_failure_at) VALUES ($1, 1, $2)
		ON CONFLICT (key) DO UPDATE SET
			failures = CASE WHEN t.last_failure_at < $3 THEN 1 ELSE t.failures + 1 END,
			last_failure_at = $2
		WHERE t.blocked_until IS NULL OR t.blocked_until <= $2
		RETURNING failures`, key, now, windowStart).Scan(&failures)
	if err == nil {
		return failures, nil, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return 0, nil, fmt.Errorf("reserve login attempt: %w", err)
	}
	var until time.Time // the row is locked by the statement above: the block still holds
	if err := q.QueryRow(ctx, `SELECT blocked_until FROM login_throttle WHERE key = $1`, key).Scan(&until); err != nil {
		return 0, nil, fmt.Errorf("select login throttle block: %w", err)
	}
	return 0, &until, nil
}

// block refuses logins under key until the given time.
func (throttleStore) block(ctx context.Context, q pg.Querier, key string, until time.Time) error {
	if _, err := q.Exec(ctx, `UPDATE login_throttle SET blocked_until = $2 WHERE key = $1`, key, until); err != nil {
		return fmt.Errorf("block login throttle key: %w", err)
	}
	return nil
}

// release gives back one reserved attempt of key (a successful one); a block stays.
func (throttleStore) release(ctx context.Context, q pg.Querier, key string) error {
	if _, err := q.Exec(ctx, `UPDATE login_throttle SET failures = failures - 1 WHERE key = $1 AND failures > 0`, key); err != nil {
		return fmt.Errorf("release login attempt: %w", err)
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

// hasClients reports whether the account has logged in from any client it still
// remembers.
func (throttleStore) hasClients(ctx context.Context, q pg.Querier, accountID string, since time.Time) (bool, error) {
	var any bool
	err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM login_clients WHERE account_id = $1 AND seen_at > $2)`, accountID, since).Scan(&any)
	if err != nil {
		return false, fmt.Errorf("read login clients: %w", err)
	}
	return any, nil
}

// knownClients returns those of clients the account logged in from since the given time.
func (throttleStore) knownClients(ctx context.Context, q pg.Querier, accountID string, clients []string, since time.Time) ([]string, error) {
	if len(clients) == 0 {
		return nil, nil
	}
	rows, err := q.Query(ctx, `SELECT client FROM login_clients WHERE account_id = $1 AND client = ANY($2) AND seen_at > $3`,
		accountID, clients, since)
	if err != nil {
		return nil, fmt.Errorf("select known login clients: %w", err)
	}
	known, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("select known login clients: %w", err)
	}
	return known, nil
}

// rememberClients records that the account logged in from clients at now, and forgets
// its clients last seen at or before since, and all but its keep most recent ones (a
// client that never sends its device token back gets a new one at every login).
func (throttleStore) rememberClients(ctx context.Context, q pg.Querier, accountID string, clients []string, now, since time.Time, keep int) error {
	_, err := q.Exec(ctx, `INSERT INTO login_clients (account_id, client, seen_at) SELECT $1, unnest($2::text[]), $3
		ON CONFLICT (account_id, client) DO UPDATE SET seen_at = excluded.seen_at`, accountID, clients, now)
	if err != nil {
		return fmt.Errorf("insert login clients: %w", err)
	}
	_, err = q.Exec(ctx, `DELETE FROM login_clients WHERE account_id = $1 AND (seen_at <= $2 OR client NOT IN (
		SELECT client FROM login_clients WHERE account_id = $1 ORDER BY seen_at DESC, client LIMIT $3))`, accountID, since, keep)
	if err != nil {
		return fmt.Errorf("delete old login clients: %w", err)
	}
	return nil
}

// countInWindow counts a request under key in the fixed window that holds now (a
// window opens with the first request after the previous one, which began at or
// before windowStart, ended) and returns the window's count, this request included,
// and when the window began. One statement: concurrent requests are counted one by one.
func (throttleStore) countInWindow(ctx context.Context, q pg.Querier, key string, now, windowStart time.Time) (int, time.Time, error) {
	var (
		n     int
		began time.Time
	)
	err := q.QueryRow(ctx, `INSERT INTO rate_windows AS w (key, count, window_start) VALUES ($1, 1, $2)
		ON CONFLICT (key) DO UPDATE SET
			count = CASE WHEN w.window_start <= $3 THEN 1 ELSE w.count + 1 END,
			window_start = CASE WHEN w.window_start <= $3 THEN $2 ELSE w.window_start END
		RETURNING count, window_start`, key, now, windowStart).Scan(&n, &began)
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("count request in window: %w", err)
	}
	return n, began, nil
}

// pruneThrottle deletes the rows that no longer change any answer at now: login
// throttle keys not blocked at now whose last failure came before windowStart (reserve
// would count them from one, as a new row), fixed windows that began at or before
// rateWindowStart (countInWindow would open a new one, as for a new row), and clients
// last seen at or before knownSince (knownClients no longer counts them).
func (throttleStore) pruneThrottle(ctx context.Context, q pg.Querier, now, windowStart, rateWindowStart, knownSince time.Time) (int64, error) {
	keys, err := pg.DeleteInBatches(ctx, q, "login_throttle", "key",
		`(blocked_until IS NULL OR blocked_until <= $1) AND last_failure_at < $2`, now, windowStart)
	if err != nil {
		return keys, fmt.Errorf("prune login throttle: %w", err)
	}
	windows, err := pg.DeleteInBatches(ctx, q, "rate_windows", "key", `window_start <= $1`, rateWindowStart)
	if err != nil {
		return keys + windows, fmt.Errorf("prune rate windows: %w", err)
	}
	clients, err := pg.DeleteInBatches(ctx, q, "login_clients", "account_id, client", `seen_at <= $1`, knownSince)
	if err != nil {
		return keys + windows + clients, fmt.Errorf("prune login clients: %w", err)
	}
	return keys + windows + clients, nil
}
