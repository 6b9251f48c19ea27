package identity

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"healthcore/platform/authn"
	"healthcore/platform/envelope"
	"healthcore/platform/pg"
)

// signingKeyContext is the encryption context of sealed signing keys.
var signingKeyContext = map[string]string{"service": "identity", "purpose": "signing-key"}

// reloadEvery is how long a replica signs with the active key it holds in memory
// before it reads the database again, to see a rotation made by another replica. A
// retired key stays published for the access-token lifetime plus two minutes, so
// tokens signed in that minute still verify.
const reloadEvery = time.Minute

// errNoActiveKey means the signing keys table has no active key, which ensure makes
// impossible once the service has started.
var errNoActiveKey = errors.New("no active signing key")

// keyring holds the active signing key in memory and publishes the public keys of the
// active key and of retired keys whose tokens may still be alive. Rotation is the
// identity.rotate_keys job's (or an admin's); each replica picks the new key up on its
// own within reloadEvery.
type keyring struct {
	db         *pgxpool.Pool
	env        *envelope.Envelope
	log        *slog.Logger
	now        func() time.Time
	publishFor time.Duration // how long a retired key stays in the JWKS
	stored     signingKeyStore

	reloading sync.Mutex // one reload at a time; other callers keep signing meanwhile

	mu      sync.RWMutex
	active  authn.SigningKey
	checked time.Time // when active was last read from the database
}

// kidOf is the key's RFC 7638 JWK thumbprint: stable, and derived from the key itself.
func kidOf(pub ed25519.PublicKey) string {
	x := base64.RawURLEncoding.EncodeToString(pub)
	sum := sha256.Sum256([]byte(`{"crv":"Ed25519","kty":"OKP","x":"` + x + `"}`))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// ensure loads the active key, creating the first one if there is none. Replicas
// starting together create one key: the first to take the lock inserts it, the others
// find it and load it.
func (k *keyring) ensure(ctx context.Context) error {
	err := k.reload(ctx)
	if !errors.Is(err, errNoActiveKey) {
		return err
	}
	fresh, _, err := k.generate(ctx)
	if err != nil {
		return err
	}
	err = pg.InTx(ctx, k.db, func(tx pgx.Tx) error {
		if err := k.stored.lock(ctx, tx); err != nil {
			return err
		}
		if _, exists, err := k.stored.active(ctx, tx); err != nil || exists {
			return err
		}
		return k.stored.insert(ctx, tx, fresh)
	})
	if err != nil {
		return fmt.Errorf("create the first signing key: %w", err)
	}
	return k.reload(ctx)
}

// rotate retires the active key and makes a new one active, whatever its age.
func (k *keyring) rotate(ctx context.Context) (string, error) {
	fresh, key, err := k.generate(ctx)
	if err != nil {
		return "", fmt.Errorf("rotate signing key: %w", err)
	}
	err = pg.InTx(ctx, k.db, func(tx pgx.Tx) error {
		if err := k.stored.lock(ctx, tx); err != nil {
			return err
		}
		if err := k.stored.retireActive(ctx, tx, fresh.CreatedAt); err != nil {
			return err
		}
		return k.stored.insert(ctx, tx, fresh)
	})
	if err != nil {
		return "", fmt.Errorf("rotate signing key: %w", err)
	}
	k.set(key)
	return key.KID, nil
}

// rotateIfOlder replaces the active key when it is older than maxAge, and reports
// whether it did. However many replicas or jobs call it at once, a key is replaced
// once: under the lock, a key that another caller has just replaced is left alone.
func (k *keyring) rotateIfOlder(ctx context.Context, maxAge time.Duration) (bool, error) {
	due, ok, err := k.stored.active(ctx, k.db)
	switch {
	case err != nil:
		return false, err
	case !ok:
		return false, errNoActiveKey
	case k.now().Sub(due.CreatedAt) < maxAge:
		return false, nil
	}
	// Sealing calls the keys service, so it happens before the transaction, which may
	// be run again.
	fresh, key, err := k.generate(ctx)
	if err != nil {
		return false, fmt.Errorf("rotate signing key: %w", err)
	}
	var rotated bool
	err = pg.InTx(ctx, k.db, func(tx pgx.Tx) error {
		rotated = false
		if err := k.stored.lock(ctx, tx); err != nil {
			return err
		}
		cur, ok, err := k.stored.active(ctx, tx)
		if err != nil || (ok && cur.KID != due.KID) {
			return err // replaced meanwhile
		}
		if err := k.stored.retireActive(ctx, tx, fresh.CreatedAt); err != nil {
			return err
		}
		rotated = true
		return k.stored.insert(ctx, tx, fresh)
	})
	if err != nil {
		return false, fmt.Errorf("rotate signing key %s: %w", due.KID, err)
	}
	if rotated {
		k.set(key)
	}
	return rotated, nil
}

// generate makes a new key and seals its private half, ready to insert.
func (k *keyring) generate(ctx context.Context) (storedKey, authn.SigningKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return storedKey{}, authn.SigningKey{}, err
	}
	kid := kidOf(pub)
	sealed, err := k.env.Seal(ctx, priv.Seed(), signingKeyContext, []byte(kid))
	if err != nil {
		return storedKey{}, authn.SigningKey{}, fmt.Errorf("seal signing key: %w", err)
	}
	return storedKey{KID: kid, PublicKey: pub, Sealed: sealed, CreatedAt: k.now()},
		authn.SigningKey{KID: kid, Private: priv}, nil
}

// reload reads the active key from the database, opening it when it is not the one
// in memory.
func (k *keyring) reload(ctx context.Context) error {
	row, ok, err := k.stored.active(ctx, k.db)
	if err != nil {
		return err
	}
	if !ok {
		return errNoActiveKey
	}
	if k.signingKey().KID == row.KID {
		k.mu.Lock()
		k.checked = k.now()
		k.mu.Unlock()
		return nil
	}
	seed, err := k.env.Open(ctx, row.Sealed, signingKeyContext, []byte(row.KID))
	if err != nil {
		return fmt.Errorf("open signing key %s: %w", row.KID, err)
	}
	k.set(authn.SigningKey{KID: row.KID, Private: ed25519.NewKeyFromSeed(seed)})
	return nil
}

// set makes key the active key in memory, as just read from the database.
func (k *keyring) set(key authn.SigningKey) {
	k.mu.Lock()
	k.active, k.checked = key, k.now()
	k.mu.Unlock()
}

// signingKey is the active key in memory.
func (k *keyring) signingKey() authn.SigningKey {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.active
}

// current is the key to sign with: the one in memory, read again from the database
// when it was read more than reloadEvery ago. A failed reload is logged and the key in
// memory signs on; the next call tries again.
func (k *keyring) current(ctx context.Context) authn.SigningKey {
	k.mu.RLock()
	key, fresh := k.active, k.now().Sub(k.checked) < reloadEvery
	k.mu.RUnlock()
	if fresh || !k.reloading.TryLock() {
		return key
	}
	defer k.reloading.Unlock()
	if err := k.reload(ctx); err != nil {
		k.log.WarnContext(ctx, "signing key reload failed", "error", err.Error())
		return key
	}
	return k.signingKey()
}

// publicKeys returns the keys that verify live tokens, newest first.
func (k *keyring) publicKeys(ctx context.Context) ([]authn.PublicKey, error) {
	return k.stored.published(ctx, k.db, k.now().Add(-k.publishFor))
}
