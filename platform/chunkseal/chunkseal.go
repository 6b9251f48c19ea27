package chunkseal

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/google/uuid"
)

const (
	// ChunkSize is the plaintext size of every chunk but the last.
	ChunkSize = 64 << 10
	// TagSize is what sealing adds to a chunk.
	TagSize = 16
	// SealedChunkSize is the stored size of every chunk but the last.
	SealedChunkSize = ChunkSize + TagSize
	// PrefixSize is the size of a stream's nonce prefix.
	PrefixSize = 4
)

// ErrOpen means a chunk failed authentication: the object was altered, cut, or read
// with the wrong key.
var ErrOpen = errors.New("chunkseal: chunk failed authentication")

// Cipher seals or opens one stream's chunks, in order.
type Cipher struct {
	aead   cipher.AEAD
	label  []byte
	id     uuid.UUID
	prefix [PrefixSize]byte
	index  uint64
	nonce  [12]byte
	aad    []byte
}

// New returns the cipher of stream id, in the format label names, under key (32
// bytes). The caller clears key afterwards: the AES key schedule is all that stays in
// memory, until the cipher is dropped.
func New(label []byte, key []byte, id uuid.UUID, prefix []byte) (*Cipher, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("chunkseal: data key has %d bytes, want 32", len(key))
	}
	if len(prefix) != PrefixSize {
		return nil, fmt.Errorf("chunkseal: nonce prefix has %d bytes, want %d", len(prefix), PrefixSize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	c := &Cipher{aead: aead, label: label, id: id}
	copy(c.prefix[:], prefix)
	return c, nil
}

// next prepares the nonce and associated data of the next chunk.
func (c *Cipher) next(final bool) {
	copy(c.nonce[:PrefixSize], c.prefix[:])
	binary.BigEndian.PutUint64(c.nonce[PrefixSize:], c.index)
	c.aad = append(c.aad[:0], c.label...)
	c.aad = append(c.aad, c.id[:]...)
	c.aad = binary.BigEndian.AppendUint64(c.aad, c.index)
	if final {
		c.aad = append(c.aad, 1)
	} else {
		c.aad = append(c.aad, 0)
	}
	c.index++
}

// Seal appends the next chunk, sealed, to dst.
func (c *Cipher) Seal(dst, plaintext []byte, final bool) []byte {
	c.next(final)
	return c.aead.Seal(dst, c.nonce[:], plaintext, c.aad)
}

// Open appends the next chunk's plaintext to dst, or fails with ErrOpen.
func (c *Cipher) Open(dst, sealed []byte, final bool) ([]byte, error) {
	c.next(final)
	out, err := c.aead.Open(dst, c.nonce[:], sealed, c.aad)
	if err != nil {
		return nil, fmt.Errorf("%w (chunk %d)", ErrOpen, c.index-1)
	}
	return out, nil
}

// SealedSize is the object size of a plaintext of n bytes.
func SealedSize(n int64) int64 {
	chunks := (n + ChunkSize - 1) / ChunkSize
	return n + chunks*TagSize
}
