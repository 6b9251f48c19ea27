package identity

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"healthcore/platform/authn"
	"healthcore/platform/envelope"
)

// signingKeyContext is the encryption context of sealed signing keys.
var signingKeyContext = map[string]string{"service": "identity", "purpose": "signing-key"}

// keyring holds the active signing key in memory and publishes the public keys of the
// active key and of retired keys whose tokens may still be alive.
type keyring struct {
	db         *pgxpool.Pool
	env        *envelope.Envelope
	now        func() time.Time
	publishFor time.Duration // how long a retired key stays in the JWKS

	mu      sync.RWMutex
	active  authn.SigningKey
	created time.Time
}

// kidOf is the key's RFC 7638 JWK thumbprint: stable, and derived from the key itself.
func kidOf(pub ed25519.PublicKey) string {
	x := base64.RawURLEncoding.EncodeToString(pub)
	sum := sha256.Sum256([]byte(`{"crv":"Ed25519","kty":"OKP","x":"` + x + `"}`))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// lockSigningKeys serialises key creation and rotation across replicas.
const lockSigningKeys = "SELECT pg_advisory_xact_lock(hashtext('identity.signing_keys'))"

// ensure loads the active key, creating the first one if there is none.
func (k *keyring) ensure(ctx context.Context) error {
	var fresh *authn.SigningKey
	err := pgx.BeginFunc(ctx, k.db, func(tx pgx.Tx) (err error) {
		if _, err := tx.Exec(ctx, lockSigningKeys); err != nil {
			return err
		}
		err = k.loadActive(ctx, tx)
		if errors.Is(err, pgx.ErrNoRows) {
			fresh, err = k.create(ctx, tx)
		}
		return err
	})
	return k.commit(fresh, err)
}

// rotate retires the active key and makes a new one active.
func (k *keyring) rotate(ctx context.Context) (string, error) {
	var fresh *authn.SigningKey
	err := pgx.BeginFunc(ctx, k.db, func(tx pgx.Tx) (err error) {
		if _, err := tx.Exec(ctx, lockSigningKeys); err != nil {
			return err
		}
		fresh, err = k.replace(ctx, tx)
		return err
	})
	if err := k.commit(fresh, err); err != nil {
		return "", fmt.Errorf("rotate signing key: %w", err)
	}
	return fresh.KID, nil
}

// replace retires the active key and creates its successor.
func (k *keyring) replace(ctx context.Context, tx pgx.Tx) (*authn.SigningKey, error) {
	if _, err := tx.Exec(ctx, `UPDATE signing_keys SET retired_at = $1 WHERE retired_at IS NULL`, k.now()); err != nil {
		return nil, err
	}
	return k.create(ctx, tx)
}

// commit makes a key created in a transaction active in memory once the transaction
// has committed.
func (k *keyring) commit(fresh *authn.SigningKey, err error) error {
	if err == nil && fresh != nil {
		k.set(*fresh, k.now())
	}
	return err
}

// rotateIfOlder reloads the active key (another replica may have rotated it) and
// rotates it when it is older than maxAge.
func (k *keyring) rotateIfOlder(ctx context.Context, maxAge time.Duration) error {
	var fresh *authn.SigningKey
	err := pgx.BeginFunc(ctx, k.db, func(tx pgx.Tx) (err error) {
		if _, err := tx.Exec(ctx, lockSigningKeys); err != nil {
			return err
		}
		if err := k.loadActive(ctx, tx); err != nil {
			return err
		}
		k.mu.RLock()
		old := k.now().Sub(k.created) >= maxAge
		k.mu.RUnlock()
		if old {
			fresh, err = k.replace(ctx, tx)
		}
		return err
	})
	return k.commit(fresh, err)
}

func (k *keyring) create(ctx context.Context, tx pgx.Tx) (*authn.SigningKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	kid := kidOf(pub)
	sealed, err := k.env.Seal(ctx, priv.Seed(), signingKeyContext, []byte(kid))
	if err != nil {
		return nil, fmt.Errorf("seal signing key: %w", err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO signing_keys (kid, public_key, private_key_sealed, created_at) VALUES ($1, $2, $3, $4)`,
		kid, []byte(pub), sealed, k.now()); err != nil {
		return nil, err
	}
	return &authn.SigningKey{KID: kid, Private: priv}, nil
}

func (k *keyring) loadActive(ctx context.Context, q pgx.Tx) error {
	var kid string
	var sealed []byte
	var created time.Time
	err := q.QueryRow(ctx, `SELECT kid, private_key_sealed, created_at FROM signing_keys WHERE retired_at IS NULL`).
		Scan(&kid, &sealed, &created)
	if err != nil {
		return err
	}
	if cur := k.signingKey(); cur.KID == kid {
		return nil
	}
	seed, err := k.env.Open(ctx, sealed, signingKeyContext, []byte(kid))
	if err != nil {
		return fmt.Errorf("open signing key %s: %w", kid, err)
	}
	k.set(authn.SigningKey{KID: kid, Private: ed25519.NewKeyFromSeed(seed)}, created)
	return nil
}

func (k *keyring) set(key authn.SigningKey, created time.Time) {
	k.mu.Lock()
	k.active, k.created = key, created
	k.mu.Unlock()
}

func (k *keyring) signingKey() authn.SigningKey {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.active
}

// publicKeys returns the keys that verify live tokens, newest first.
func (k *keyring) publicKeys(ctx context.Context) ([]authn.PublicKey, error) {
	rows, err := k.db.Query(ctx, `SELECT kid, public_key FROM signing_keys
		WHERE retired_at IS NULL OR retired_at > $1 ORDER BY retired_at IS NULL DESC, created_at DESC`, k.now().Add(-k.publishFor))
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (authn.PublicKey, error) {
		var pk authn.PublicKey
		var raw []byte
		err := r.Scan(&pk.KID, &raw)
		pk.Key = ed25519.PublicKey(raw)
		return pk, err
	})
}
