package pixsandbox

import (
	"context"
	"fmt"

	"healthcore/platform/pg"
)

// keyStore keeps the X-Idempotency-Key of every write that succeeded, with the
// request's fingerprint and the resource it made.
type keyStore struct{}

var idempotencyKeys keyStore

// keyUse is what a key was first used for.
type keyUse struct {
	fingerprint []byte
	resourceID  int64
	status      int // the HTTP status the first answer had
}

// claim records key as taken by the request with fingerprint, whose answer is status
// about a resource of kind ("payment" or "refund"), to be named by setResource. It
// reports false, changing nothing, when the key is taken already; a claim made by a
// transaction still running makes this one wait for it.
func (keyStore) claim(ctx context.Context, q pg.Querier, key string, fingerprint []byte, kind string, status int) (bool, error) {
	tag, err := q.Exec(ctx, `
		INSERT INTO idempotency_keys (key, fingerprint, kind, resource_id, status) VALUES ($1, $2, $3, 0, $4)
		ON CONFLICT (key) DO NOTHING`, key, fingerprint, kind, status)
	if err != nil {
		return false, fmt.Errorf("claim idempotency key: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

// get reads what key was used for. An unknown key is pgx.ErrNoRows, wrapped.
func (keyStore) get(ctx context.Context, q pg.Querier, key string) (keyUse, error) {
	var u keyUse
	err := q.QueryRow(ctx, `SELECT fingerprint, resource_id, status FROM idempotency_keys WHERE key = $1`, key).
		Scan(&u.fingerprint, &u.resourceID, &u.status)
	if err != nil {
		return keyUse{}, fmt.Errorf("get idempotency key: %w", err)
	}
	return u, nil
}

// setResource names the resource a claimed key's request made.
func (keyStore) setResource(ctx context.Context, q pg.Querier, key string, id int64) error {
	if _, err := q.Exec(ctx, `UPDATE idempotency_keys SET resource_id = $2 WHERE key = $1`, key, id); err != nil {
		return fmt.Errorf("set idempotency key resource: %w", err)
	}
	return nil
}
