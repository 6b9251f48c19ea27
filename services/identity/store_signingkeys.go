package identity

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"healthcore/platform/authn"
	"healthcore/platform/pg"
)

// signingKeyStore keeps the Ed25519 keys that sign access tokens: at most one active
// (a unique index holds that), the others retired, with their private halves sealed.
type signingKeyStore struct{}

// storedKey is a row of signing_keys.
type storedKey struct {
	KID       string
	PublicKey ed25519.PublicKey
	Sealed    []byte // the private key's seed, sealed by the keys service
	CreatedAt time.Time
}

// lock serialises the creation and rotation of keys across replicas until tx ends.
func (signingKeyStore) lock(ctx context.Context, tx pgx.Tx) error {
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('identity.signing_keys'))`); err != nil {
		return fmt.Errorf("lock signing keys: %w", err)
	}
	return nil
}

// active returns the key that signs new tokens; ok is false before the first key.
func (signingKeyStore) active(ctx context.Context, q pg.Querier) (k storedKey, ok bool, err error) {
	var pub []byte
	err = q.QueryRow(ctx, `SELECT kid, public_key, private_key_sealed, created_at FROM signing_keys WHERE retired_at IS NULL`).
		Scan(&k.KID, &pub, &k.Sealed, &k.CreatedAt)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return storedKey{}, false, nil
	case err != nil:
		return storedKey{}, false, fmt.Errorf("select active signing key: %w", err)
	}
	k.PublicKey = ed25519.PublicKey(pub)
	return k, true, nil
}

// insert stores k as the active key; the active key must have been retired first.
func (signingKeyStore) insert(ctx context.Context, q pg.Querier, k storedKey) error {
	if _, err := q.Exec(ctx, `INSERT INTO signing_keys (kid, public_key, private_key_sealed, created_at) VALUES ($1, $2, $3, $4)`,
		k.KID, []byte(k.PublicKey), k.Sealed, k.CreatedAt); err != nil {
		return fmt.Errorf("insert signing key: %w", err)
	}
	return nil
}

// retireActive retires the active key at the given time, if there is one: it stops
// signing and stays published while tokens it signed may live.
func (signingKeyStore) retireActive(ctx context.Context, q pg.Querier, at time.Time) error {
	if _, err := q.Exec(ctx, `UPDATE signing_keys SET retired_at = $1 WHERE retired_at IS NULL`, at); err != nil {
		return fmt.Errorf("retire signing key: %w", err)
	}
	return nil
}

// published returns the public keys of the active key and of the keys retired after
// retiredAfter, the active one first, then newest first.
func (signingKeyStore) published(ctx context.Context, q pg.Querier, retiredAfter time.Time) ([]authn.PublicKey, error) {
	rows, err := q.Query(ctx, `SELECT kid, public_key FROM signing_keys
		WHERE retired_at IS NULL OR retired_at > $1 ORDER BY retired_at IS NULL DESC, created_at DESC`, retiredAfter)
	if err != nil {
		return nil, fmt.Errorf("select published signing keys: %w", err)
	}
	keys, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (authn.PublicKey, error) {
		var pk authn.PublicKey
		var raw []byte
		err := r.Scan(&pk.KID, &raw)
		pk.Key = ed25519.PublicKey(raw)
		return pk, err
	})
	if err != nil {
		return nil, fmt.Errorf("select published signing keys: %w", err)
	}
	return keys, nil
}
