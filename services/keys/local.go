package keys

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// LocalKeyID names the local driver's one master key. Answers add the version that
// encrypted, as in "local/default/v2".
const LocalKeyID = "local/default"

// Local is the development driver: versioned AES-256-GCM master keys in an owner-only
// keyring file in the data folder. Rotate adds a version; new data uses it and blobs of
// older versions still decrypt, since every blob records its version.
//
// One process owns a keyring: Rotate in another process is not seen until reopening.
type Local struct {
	path string

	mu      sync.RWMutex // guards the fields below; Rotate writes, the rest read
	ring    keyring
	aeads   map[uint32]cipher.AEAD
	current uint32
}

var _ Driver = (*Local)(nil)

// OpenLocal opens the keyring in dir, creating dir (mode 0700) and a keyring with a
// first random key (mode 0600) when there is none. It refuses a keyring that group or
// other users may access.
func OpenLocal(dir string) (*Local, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("keys: create keyring folder: %w", err)
	}
	path := filepath.Join(dir, KeyringFile)
	ring, err := readKeyring(path)
	if errors.Is(err, fs.ErrNotExist) {
		ring = keyring{Keys: []masterKey{newMasterKey(1)}}
		err = createKeyring(path, ring)
		if errors.Is(err, fs.ErrExist) { // another process created it first: use that one
			ring, err = readKeyring(path)
		} else if err != nil {
			err = fmt.Errorf("keys: create keyring %s: %w", path, err)
		}
	}
	if err != nil {
		return nil, err
	}
	l := &Local{path: path}
	if err := l.load(ring); err != nil {
		return nil, err
	}
	return l, nil
}

// load makes ring the keyring in use; the caller holds mu or owns l alone.
func (l *Local) load(ring keyring) error {
	aeads := make(map[uint32]cipher.AEAD, len(ring.Keys))
	for _, k := range ring.Keys {
		block, err := aes.NewCipher(k.Material)
		if err != nil {
			return fmt.Errorf("keys: key version %d: %w", k.Version, err)
		}
		if aeads[k.Version], err = cipher.NewGCM(block); err != nil {
			return fmt.Errorf("keys: key version %d: %w", k.Version, err)
		}
	}
	l.ring, l.aeads, l.current = ring, aeads, ring.Keys[len(ring.Keys)-1].Version
	return nil
}

// Rotate adds a new master key version, saves the keyring and returns the version,
// which encrypts from now on. Older versions are kept for decrypting.
func (l *Local) Rotate() (version int, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.current == maxKeyVersion {
		return 0, errors.New("keys: no key version left")
	}
	next := keyring{Keys: append(l.ring.Keys[:len(l.ring.Keys):len(l.ring.Keys)], newMasterKey(l.current+1))}
	// Save first: a version that encrypts must already be on disk, or a crash would
	// lose the key of data already written.
	if err := replaceKeyring(l.path, next); err != nil {
		return 0, err
	}
	if err := l.load(next); err != nil {
		return 0, err
	}
	return int(l.current), nil
}

// GenerateDataKey implements Driver.
func (l *Local) GenerateDataKey(ctx context.Context, keyID string, ec map[string]string) (plaintext, blob []byte, usedKeyID string, err error) {
	plaintext = make([]byte, DataKeySize)
	_, _ = rand.Read(plaintext) // crypto/rand.Read never returns an error; it crashes instead
	blob, usedKeyID, err = l.Encrypt(ctx, keyID, plaintext, ec)
	if err != nil {
		return nil, nil, "", err
	}
	return plaintext, blob, usedKeyID, nil
}

// Encrypt implements Driver.
func (l *Local) Encrypt(_ context.Context, keyID string, plaintext []byte, ec map[string]string) (blob []byte, usedKeyID string, err error) {
	if keyID != "" && keyID != LocalKeyID {
		return nil, "", fmt.Errorf("%w: %q (the local driver has only %q)", ErrKeyNotFound, keyID, LocalKeyID)
	}
	l.mu.RLock()
	v, aead := l.current, l.aeads[l.current]
	l.mu.RUnlock()
	return seal(aead, LocalKeyID, v, plaintext, ec), versionedID(v), nil
}

// Decrypt implements Driver.
func (l *Local) Decrypt(_ context.Context, blob []byte, ec map[string]string) (plaintext []byte, keyID string, err error) {
	v, err := blobVersion(blob)
	if err != nil {
		return nil, "", err
	}
	l.mu.RLock()
	aead := l.aeads[v]
	l.mu.RUnlock()
	if aead == nil {
		return nil, "", fmt.Errorf("%w: no master key version %d", ErrDecrypt, v)
	}
	plaintext, err = open(aead, LocalKeyID, blob, ec)
	if err != nil {
		return nil, "", err
	}
	return plaintext, versionedID(v), nil
}

func versionedID(v uint32) string { return fmt.Sprintf("%s/v%d", LocalKeyID, v) }
