package records

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/google/uuid"
)

// The ciphertext format (format 1). A document's plaintext is cut into chunks of
// chunkSize bytes (the last one shorter, never empty); each is sealed with AES-256-GCM
// under the document's own data key and the sealed chunks are concatenated: the
// object is exactly ceil(size/chunkSize) × tagSize bytes longer than the document.
//
// Chunk i's nonce is the document's 4-byte random prefix followed by i as 8 big-endian
// bytes: never repeated under a key (which encrypts one document only). Its associated
// data binds the format, the document id, i and whether it is the last chunk, so a
// chunk moved to another place or document, a dropped chunk, or an object cut at a
// chunk boundary (whose new last chunk was not sealed as last) fails to open.
const (
	formatV1  = 1
	chunkSize = 64 << 10
	tagSize   = 16
	// sealedChunkSize is the stored size of every chunk but the last.
	sealedChunkSize = chunkSize + tagSize
	prefixSize      = 4
)

var aadLabel = []byte("healthcore/records/document/v1")

// errChunkOpen means a chunk failed authentication: the object was altered, cut, or
// read with the wrong key.
var errChunkOpen = errors.New("records: chunk failed authentication")

// chunkCipher seals or opens one document's chunks, in order.
type chunkCipher struct {
	aead   cipher.AEAD
	doc    uuid.UUID
	prefix [prefixSize]byte
	index  uint64
	nonce  [12]byte
	aad    []byte
}

// newChunkCipher returns the cipher of document doc under key (32 bytes). The caller
// clears key afterwards: the AES key schedule is all that stays in memory, until the
// cipher is dropped.
func newChunkCipher(key []byte, doc uuid.UUID, prefix []byte) (*chunkCipher, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("records: data key has %d bytes, want 32", len(key))
	}
	if len(prefix) != prefixSize {
		return nil, fmt.Errorf("records: nonce prefix has %d bytes, want %d", len(prefix), prefixSize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	c := &chunkCipher{aead: aead, doc: doc}
	copy(c.prefix[:], prefix)
	return c, nil
}

// next prepares the nonce and associated data of the next chunk.
func (c *chunkCipher) next(final bool) {
	copy(c.nonce[:prefixSize], c.prefix[:])
	binary.BigEndian.PutUint64(c.nonce[prefixSize:], c.index)
	c.aad = append(c.aad[:0], aadLabel...)
	c.aad = append(c.aad, c.doc[:]...)
	c.aad = binary.BigEndian.AppendUint64(c.aad, c.index)
	if final {
		c.aad = append(c.aad, 1)
	} else {
		c.aad = append(c.aad, 0)
	}
	c.index++
}

// seal appends the next chunk, sealed, to dst.
func (c *chunkCipher) seal(dst, plaintext []byte, final bool) []byte {
	c.next(final)
	return c.aead.Seal(dst, c.nonce[:], plaintext, c.aad)
}

// open appends the next chunk's plaintext to dst, or fails with errChunkOpen.
func (c *chunkCipher) open(dst, sealed []byte, final bool) ([]byte, error) {
	c.next(final)
	out, err := c.aead.Open(dst, c.nonce[:], sealed, c.aad)
	if err != nil {
		return nil, fmt.Errorf("%w (chunk %d)", errChunkOpen, c.index-1)
	}
	return out, nil
}

// sealedSize is the object size of a document of n bytes.
func sealedSize(n int64) int64 {
	chunks := (n + chunkSize - 1) / chunkSize
	return n + chunks*tagSize
}
