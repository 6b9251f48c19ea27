package identity

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
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
	alg        string // of the keys it makes and signs with (-identity.token-alg)
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
func kidOf(pub crypto.PublicKey) string {
	var members string // the required members in lexicographic order, no white space
	switch k := pub.(type) {
	case ed25519.PublicKey:
		members = `{"crv":"Ed25519","kty":"OKP","x":"` + base64.RawURLEncoding.EncodeToString(k) + `"}`
	case *rsa.PublicKey:
		members = `{"e":"` + base64.RawURLEncoding.EncodeToString(big.NewInt(int64(k.E)).Bytes()) +
			`","kty":"RSA","n":"` + base64.RawURLEncoding.EncodeToString(k.N.Bytes()) + `"}`
	default:
		panic(fmt.Sprintf("identity: kid of a %T", pub))
	}
	sum := sha256.Sum256([]byte(members))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// ensure loads the active key, creating the first one if there is none, or replacing
// it when it is of another algorithm than -identity.token-alg (the profile changed:
// tokens it signed stop verifying, and their clients refresh). Replicas starting
// together create one key: the first to take the lock inserts it, the others find it
// and load it.
func (k *keyring) ensure(ctx context.Context) error {
	if _, err := k.replaceWhen(ctx, func(cur storedKey) bool { return cur.Alg != k.alg }); err != nil {
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
// whether it did.
func (k *keyring) rotateIfOlder(ctx context.Context, maxAge time.Duration) (bool, error) {
	return k.replaceWhen(ctx, func(cur storedKey) bool { return k.now().Sub(cur.CreatedAt) >= maxAge })
}

// replaceWhen makes a new key active when there is none or when due says the active
// one must go, and reports whether it did. However many replicas or jobs call it at
// once, a key is replaced once: under the lock, a key that another caller has just
// replaced (or created) is left alone.
func (k *keyring) replaceWhen(ctx context.Context, due func(storedKey) bool) (bool, error) {
	cur, existed, err := k.stored.active(ctx, k.db)
	if err != nil || (existed && !due(cur)) {
		return false, err
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
		now, exists, err := k.stored.active(ctx, tx)
		if err != nil || exists != existed || (exists && now.KID != cur.KID) {
			return err // replaced or created meanwhile
		}
		if err := k.stored.retireActive(ctx, tx, fresh.CreatedAt); err != nil {
			return err
		}
		rotated = true
		return k.stored.insert(ctx, tx, fresh)
	})
	if err != nil {
		return false, fmt.Errorf("rotate signing key %s: %w", cur.KID, err)
	}
	if rotated {
		k.set(key)
	}
	return rotated, nil
}

// rsaBits is the size of RS256 signing keys.
const rsaBits = 2048

// generate makes a new key of the keyring's algorithm and seals its private half,
// ready to insert.
func (k *keyring) generate(ctx context.Context) (storedKey, authn.SigningKey, error) {
	var (
		priv         crypto.Signer
		pub, private []byte
	)
	switch k.alg {
	case authn.AlgEdDSA:
		p, s, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return storedKey{}, authn.SigningKey{}, err
		}
		priv, pub, private = s, p, s.Seed()
	case authn.AlgRS256:
		s, err := rsa.GenerateKey(rand.Reader, rsaBits)
		if err != nil {
			return storedKey{}, authn.SigningKey{}, err
		}
		if pub, err = x509.MarshalPKIXPublicKey(&s.PublicKey); err != nil {
			return storedKey{}, authn.SigningKey{}, err
		}
		if private, err = x509.MarshalPKCS8PrivateKey(s); err != nil {
			return storedKey{}, authn.SigningKey{}, err
		}
		priv = s
	default:
		return storedKey{}, authn.SigningKey{}, fmt.Errorf("no signing keys for algorithm %q", k.alg)
	}
	kid := kidOf(priv.Public())
	sealed, err := k.env.Seal(ctx, private, signingKeyContext, []byte(kid))
	if err != nil {
		return storedKey{}, authn.SigningKey{}, fmt.Errorf("seal signing key: %w", err)
	}
	return storedKey{KID: kid, Alg: k.alg, PublicKey: pub, Sealed: sealed, CreatedAt: k.now()},
		authn.SigningKey{KID: kid, Private: priv}, nil
}

// openPrivate reads the private key sealed in row, once opened.
func openPrivate(alg string, private []byte) (crypto.Signer, error) {
	switch alg {
	case authn.AlgEdDSA:
		if len(private) != ed25519.SeedSize {
			return nil, fmt.Errorf("Ed25519 seed of %d bytes", len(private))
		}
		return ed25519.NewKeyFromSeed(private), nil
	case authn.AlgRS256:
		key, err := x509.ParsePKCS8PrivateKey(private)
		if err != nil {
			return nil, err
		}
		if rk, ok := key.(*rsa.PrivateKey); ok {
			return rk, nil
		}
		return nil, fmt.Errorf("a %T under alg RS256", key)
	}
	return nil, fmt.Errorf("unknown algorithm %q", alg)
}

// publicOf reads a stored key's public half.
func publicOf(row storedKey) (authn.PublicKey, error) {
	switch row.Alg {
	case authn.AlgEdDSA: // published as stored; verifiers check its length (authn.ParseJWK)
		return authn.PublicKey{KID: row.KID, Key: ed25519.PublicKey(row.PublicKey)}, nil
	case authn.AlgRS256:
		key, err := x509.ParsePKIXPublicKey(row.PublicKey)
		if rk, ok := key.(*rsa.PublicKey); err == nil && ok {
			return authn.PublicKey{KID: row.KID, Key: rk}, nil
		}
		return authn.PublicKey{}, fmt.Errorf("signing key %s: not an RSA public key (%v)", row.KID, err)
	}
	return authn.PublicKey{}, fmt.Errorf("signing key %s: unknown algorithm %q", row.KID, row.Alg)
}

// reload reads the active key from the database, opening it when it is not the one
// in memory. An active key of another algorithm than the keyring's (a replica with
// another profile made it) is an error: the key in memory, if any, signs on.
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
	if row.Alg != k.alg {
		return fmt.Errorf("the active signing key %s is %s, and -identity.token-alg is %s: every identity replica must run one token profile", row.KID, row.Alg, k.alg)
	}
	private, err := k.env.Open(ctx, row.Sealed, signingKeyContext, []byte(row.KID))
	if err != nil {
		return fmt.Errorf("open signing key %s: %w", row.KID, err)
	}
	priv, err := openPrivate(row.Alg, private)
	if err != nil {
		return fmt.Errorf("open signing key %s: %w", row.KID, err)
	}
	k.set(authn.SigningKey{KID: row.KID, Private: priv})
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
	rows, err := k.stored.published(ctx, k.db, k.now().Add(-k.publishFor))
	if err != nil {
		return nil, err
	}
	out := make([]authn.PublicKey, 0, len(rows))
	for _, row := range rows {
		pk, err := publicOf(row)
		if err != nil {
			return nil, err
		}
		out = append(out, pk)
	}
	return out, nil
}
