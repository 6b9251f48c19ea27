package records

import (
	"github.com/google/uuid"

	"healthcore/platform/chunkseal"
)

// The ciphertext format (format 1) of a document is platform/chunkseal's, under the
// document's own data key, with the document's id and the label below in every
// chunk's associated data.
const (
	formatV1        = 1
	chunkSize       = chunkseal.ChunkSize
	tagSize         = chunkseal.TagSize
	sealedChunkSize = chunkseal.SealedChunkSize
	prefixSize      = chunkseal.PrefixSize
)

var aadLabel = []byte("healthcore/records/document/v1")

// chunkCipher seals or opens one document's chunks, in order.
type chunkCipher struct{ c *chunkseal.Cipher }

// newChunkCipher returns the cipher of document doc under key (32 bytes). The caller
// clears key afterwards.
func newChunkCipher(key []byte, doc uuid.UUID, prefix []byte) (*chunkCipher, error) {
	c, err := chunkseal.New(aadLabel, key, doc, prefix)
	if err != nil {
		return nil, err
	}
	return &chunkCipher{c: c}, nil
}

// seal appends the next chunk, sealed, to dst.
func (c *chunkCipher) seal(dst, plaintext []byte, final bool) []byte {
	return c.c.Seal(dst, plaintext, final)
}

// open appends the next chunk's plaintext to dst, or fails with chunkseal.ErrOpen.
func (c *chunkCipher) open(dst, sealed []byte, final bool) ([]byte, error) {
	return c.c.Open(dst, sealed, final)
}

// sealedSize is the object size of a document of n bytes.
func sealedSize(n int64) int64 { return chunkseal.SealedSize(n) }
