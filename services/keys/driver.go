package keys

import (
	"context"
	"errors"
)

// DataKeySize is the length in bytes of every data key: AES-256.
const DataKeySize = 32

// Driver performs the key operations of a key management provider. Implementations are
// safe for concurrent use. A nil or empty encryption context is the empty context; the
// context given to Decrypt must be identical (case-sensitive) to the one given when the
// blob was made.
type Driver interface {
	// GenerateDataKey returns a fresh DataKeySize-byte key, in plaintext and encrypted
	// under the master key keyID ("" = the driver's default), and the id (with version,
	// where the provider has one) of the master key that encrypted it.
	GenerateDataKey(ctx context.Context, keyID string, ec map[string]string) (plaintext, blob []byte, usedKeyID string, err error)
	// Encrypt encrypts a small value under the master key keyID ("" = the default).
	Encrypt(ctx context.Context, keyID string, plaintext []byte, ec map[string]string) (blob []byte, usedKeyID string, err error)
	// Decrypt opens what GenerateDataKey or Encrypt returned; the blob names its key.
	Decrypt(ctx context.Context, blob []byte, ec map[string]string) (plaintext []byte, keyID string, err error)
}

// Errors that drivers wrap so the service can tell the caller what happened.
var (
	// ErrDecrypt means the blob cannot be opened: it was altered or truncated, it is
	// not a blob of this provider, or the encryption context differs from the one
	// used to encrypt. A driver never returns wrong plaintext instead.
	ErrDecrypt = errors.New("keys: cannot decrypt: the ciphertext was altered or the encryption context differs")
	// ErrKeyNotFound means the named master key does not exist.
	ErrKeyNotFound = errors.New("keys: master key not found")
	// ErrUnavailable means the provider could not be reached or asked to retry later.
	ErrUnavailable = errors.New("keys: key management provider unavailable")
)
