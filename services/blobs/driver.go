package blobs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// MaxObjectBytes is the largest object any driver stores: 5 GiB, S3's limit for one
// PUT or one copy, and the proto's limit on max_bytes.
const MaxObjectBytes int64 = 5 << 30

// ObjectInfo is an object's metadata.
type ObjectInfo struct {
	Key    string
	Size   int64
	SHA256 string // hex, lower case
	// CreateTime is when the object was stored (the last Put of its key), in UTC.
	CreateTime time.Time
}

// Driver stores objects. Implementations are safe for concurrent use; concurrent Puts
// of one key leave one of the objects whole, never a mix.
type Driver interface {
	// Put stores what r yields under key, replacing any object there, computing size
	// and SHA-256 as the bytes stream through. The object appears whole or not at all:
	// when r fails, ctx ends or the bytes pass maxBytes (ErrTooLarge), nothing is
	// stored and an object already under key is left as it was. maxBytes ≤ 0, or above
	// MaxObjectBytes, means MaxObjectBytes.
	Put(ctx context.Context, key string, r io.Reader, maxBytes int64) (ObjectInfo, error)
	// Get opens the object for reading; the caller must close the reader. The reader
	// yields exactly ObjectInfo.Size bytes of the object as it was when opened.
	Get(ctx context.Context, key string) (io.ReadCloser, ObjectInfo, error)
	// Head describes the object without reading it.
	Head(ctx context.Context, key string) (ObjectInfo, error)
	// Delete removes the object; deleting a missing object succeeds.
	Delete(ctx context.Context, key string) error
}

// Errors that drivers wrap so the service can tell the caller what happened.
var (
	// ErrNotFound means there is no object under the key.
	ErrNotFound = errors.New("blobs: object not found")
	// ErrTooLarge means the bytes passed the size limit of the Put; nothing was stored.
	ErrTooLarge = errors.New("blobs: object larger than the limit")
	// ErrUnavailable means the storage could not be reached or asked to retry later.
	ErrUnavailable = errors.New("blobs: storage unavailable")
	// ErrInvalidKey means the key is not one the proto allows. The service validates
	// keys first, so callers of the service never see it; drivers check again because
	// a key becomes a file name or an S3 key.
	ErrInvalidKey = errors.New("blobs: invalid object key")
)

// checkKey accepts the keys the proto's pattern allows: 1 to 512 characters, lower-case
// letters, digits, '/', '-' and '_', starting with a letter or digit. So a key has no
// '.', no "..", no leading '/' and no NUL: it can escape no folder and no key prefix.
func checkKey(key string) error {
	if key == "" || len(key) > 512 {
		return fmt.Errorf("%w: %d characters, want 1 to 512", ErrInvalidKey, len(key))
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case (c == '/' || c == '-' || c == '_') && i > 0:
		default:
			return fmt.Errorf("%w: %q at %d (want a-z, 0-9, '/', '-', '_', starting with a-z or 0-9)", ErrInvalidKey, c, i)
		}
	}
	return nil
}

// limit resolves a Put's maxBytes.
func limit(maxBytes int64) int64 {
	if maxBytes <= 0 || maxBytes > MaxObjectBytes {
		return MaxObjectBytes
	}
	return maxBytes
}
