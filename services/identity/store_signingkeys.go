package identity

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"healthcore/platform/pg"
)

// signingKeyStore keeps the keys that sign access tokens: at most one active (a
// unique index holds that), the others retired, with their private halves sealed.
type signingKeyStore struct{}

// storedKey is a row of signing_keys.
type storedKey struct {
	KID       string
	Alg       string // authn.AlgEdDSA or authn.AlgRS256
	PublicKey []byte // Ed25519: the raw key; RSA: PKIX DER
	Sealed    []byte // the private key (Ed25519: its seed; RSA: PKCS #8 DER), sealed by the keys service
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
	err = q.QueryRow(ctx, `SELECT kid, alg, public_key, private_key_sealed, created_at FROM signing_keys WHERE retired_at IS NULL`).
		Scan(&k.KID, &k.Alg, &k.PublicKey, &k.Sealed, &k.CreatedAt)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return storedKey{}, false, nil
	case err != nil:
		return storedKey{}, false, fmt.Errorf("select active signing key: %w", err)
	}
	return k, true, nil
}

// insert stores k as the active key; the active key must have been retired first.
func (signingKeyStore) insert(ctx context.Context, q pg.Querier, k storedKey) error {
	if _, err := q.Exec(ctx, `INSERT INTO signing_keys (kid, alg, public_key, private_key_sealed, created_at) VALUES ($1, $2, $3, $4, $5)`,
		k.KID, k.Alg, k.PublicKey, k.Sealed, k.CreatedAt); err != nil {
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

// published returns the public halves (no Sealed) of the active key and of the keys
// retired after retiredAfter, the active one first, then newest first.
func (signingKeyStore) published(ctx context.Context, q pg.Querier, retiredAfter time.Time) ([]storedKey, error) {
	rows, err := q.Query(ctx, `SELECT kid, alg, public_key, created_at FROM signing_keys
		WHERE retired_at IS NULL OR retired_at > $1 ORDER BY retired_at IS NULL DESC, created_at DESC`, retiredAfter)
	if err != nil {
		return nil, fmt.Errorf("select published signing keys: %w", err)
	}
	keys, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (storedKey, error) {
		var k storedKey
		err := r.Scan(&k.KID, &k.Alg, &k.PublicKey, &k.CreatedAt)
		return k, err
	})
	if err != nil {
		return nil, fmt.Errorf("select published signing keys: %w", err)
	}
	return keys, nil
}
