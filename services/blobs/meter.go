package blobs

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
)

// meter reads an object being stored: it counts and hashes the bytes as they pass and
// fails with ErrTooLarge as soon as one byte more than max arrives, so no driver ever
// writes more than max+1 bytes of an oversized object, nor holds more than it reads.
type meter struct {
	r   io.Reader
	max int64
	n   int64
	h   hash.Hash
}

func newMeter(r io.Reader, maxBytes int64) *meter {
	return &meter{r: r, max: limit(maxBytes), h: sha256.New()}
}

func (m *meter) Read(p []byte) (int, error) {
	// Ask for at most one byte past the limit: enough to tell an object of exactly max
	// bytes from a larger one.
	if room := m.max - m.n + 1; int64(len(p)) > room {
		p = p[:room]
	}
	n, err := m.r.Read(p)
	m.n += int64(n)
	if m.n > m.max {
		return 0, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, m.max)
	}
	m.h.Write(p[:n])
	return n, err
}

// sum returns the SHA-256 of what was read, in hex.
func (m *meter) sum() string { return hex.EncodeToString(m.h.Sum(nil)) }
