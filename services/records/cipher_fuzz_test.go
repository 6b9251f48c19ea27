package records

import (
	"bytes"
	"crypto/sha256"
	"io"
	"testing"

	"github.com/google/uuid"

	"healthcore/platform/errs"
)

// pieceReader hands out its bytes in pieces of at most n, as a blobs stream does.
type pieceReader struct {
	b []byte
	n int
}

func (r *pieceReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	k := copy(p[:min(len(p), r.n)], r.b)
	r.b = r.b[k:]
	return k, nil
}

// sealDocument seals plaintext the way an upload does: chunks of chunkSize, the last
// one (never empty) sealed as the last.
func sealDocument(t *testing.T, key []byte, doc uuid.UUID, prefix, plaintext []byte) []byte {
	t.Helper()
	cc, err := newChunkCipher(key, doc, prefix)
	if err != nil {
		t.Fatal(err)
	}
	var obj []byte
	for rest := plaintext; ; {
		n := min(chunkSize, len(rest))
		obj = cc.seal(obj, rest[:n], n == len(rest))
		if rest = rest[n:]; len(rest) == 0 {
			return obj
		}
	}
}

// FuzzDecrypt seals a document of 1 byte to three chunks and a bit, damages the
// stored object (a flipped byte, a cut, bytes appended, the first two chunks swapped)
// or reads it as another document, and decrypts it in pieces of any size. The
// untouched object gives back exactly the document; any damage ends in
// DOCUMENT_CORRUPT, after at most the chunks before it, intact: never a panic, never
// a byte that was not uploaded, never a clean end short of the whole document.
func FuzzDecrypt(f *testing.F) {
	f.Add([]byte("%PDF-1.7 a document"), uint32(19), uint32(0), byte(0), uint32(0), []byte(nil), false, false, uint16(4096))
	f.Add([]byte("x"), uint32(1), uint32(0), byte(0), uint32(0), []byte(nil), false, false, uint16(1))
	f.Add([]byte("chunked"), uint32(3*chunkSize+7), uint32(2*sealedChunkSize+100), byte(1), uint32(0), []byte(nil), false, false, uint16(0))
	f.Add([]byte("cut at a boundary"), uint32(2*chunkSize+1), uint32(0), byte(0), uint32(tagSize+1), []byte(nil), false, false, uint16(65535))
	f.Add([]byte("last chunk dropped"), uint32(2*chunkSize+1), uint32(0), byte(0), uint32(tagSize+1), []byte(nil), false, false, uint16(0))
	f.Add([]byte("exactly two chunks"), uint32(2*chunkSize), uint32(0), byte(0), uint32(sealedChunkSize), []byte(nil), false, false, uint16(0))
	f.Add([]byte("tag flipped"), uint32(5), uint32(20), byte(0x80), uint32(0), []byte(nil), false, false, uint16(0))
	f.Add([]byte("appended"), uint32(chunkSize), uint32(0), byte(0), uint32(0), []byte("more"), false, false, uint16(0))
	f.Add([]byte("a whole chunk appended"), uint32(chunkSize), uint32(0), byte(0), uint32(0), make([]byte, sealedChunkSize), false, false, uint16(0))
	f.Add([]byte("swapped"), uint32(2*chunkSize+5), uint32(0), byte(0), uint32(0), []byte(nil), true, false, uint16(0))
	f.Add([]byte("another document"), uint32(10), uint32(0), byte(0), uint32(0), []byte(nil), false, true, uint16(0))
	f.Add([]byte("emptied"), uint32(10), uint32(0), byte(0), uint32(26), []byte(nil), false, false, uint16(0))
	key := bytes.Repeat([]byte{0x42}, 32)
	prefix := []byte{1, 2, 3, 4}
	doc := uuid.MustParse("0b8e5c3e-5f7a-4d3b-9a51-5e0f2d7c9a10")
	f.Fuzz(func(t *testing.T, seed []byte, size, flipAt uint32, mask byte, cut uint32, extra []byte, swap, otherDoc bool, piece uint16) {
		if len(seed) == 0 {
			seed = []byte{0}
		}
		plaintext := bytes.Repeat(seed, int(1+size%(3*chunkSize+100))/len(seed)+1)[:1+size%(3*chunkSize+100)]
		sealed := sealDocument(t, key, doc, prefix, plaintext)
		sum := sha256.Sum256(plaintext)

		obj := append([]byte(nil), sealed...)
		if mask != 0 {
			obj[int(flipAt)%len(obj)] ^= mask
		}
		obj = obj[:len(obj)-int(cut)%(len(obj)+1)]
		obj = append(obj, extra...)
		if swap && len(obj) >= 2*sealedChunkSize {
			first := append([]byte(nil), obj[:sealedChunkSize]...)
			copy(obj, obj[sealedChunkSize:2*sealedChunkSize])
			copy(obj[sealedChunkSize:], first)
		}
		readAs := doc
		if otherDoc {
			readAs[15] ^= 1
		}
		damaged := !bytes.Equal(obj, sealed) || otherDoc

		cc, err := newChunkCipher(key, readAs, prefix)
		if err != nil {
			t.Fatal(err)
		}
		d := &document{id: readAs, size: int64(len(plaintext)), sha256: sum[:], chunkSize: chunkSize}
		var got []byte
		err = (&Service{}).decrypt(d, cc, &pieceReader{b: obj, n: 1 + int(piece)}, func(p []byte) error {
			got = append(got, p...)
			return nil
		})
		if !bytes.HasPrefix(plaintext, got) {
			t.Fatalf("decrypt emitted %d bytes that are not the document's first bytes", len(got))
		}
		switch {
		case !damaged && (err != nil || len(got) != len(plaintext)):
			t.Fatalf("the untouched object: %d of %d bytes, %v", len(got), len(plaintext), err)
		case damaged && !errs.Has(err, ReasonDocumentCorrupt):
			t.Fatalf("a damaged object (flip %d^%#x, cut %d, %d appended, swap %v, other doc %v): %d of %d bytes, %v; want DOCUMENT_CORRUPT",
				flipAt, mask, cut, len(extra), swap, otherDoc, len(got), len(plaintext), err)
		case damaged && len(got) == len(plaintext):
			t.Fatalf("a damaged object gave back the whole document before failing")
		}
	})
}
