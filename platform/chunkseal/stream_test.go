package chunkseal

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"testing"

	"github.com/google/uuid"
)

// sealAll seals plaintext with a Writer over a fresh cipher and returns the object.
func sealAll(t *testing.T, key []byte, id uuid.UUID, plaintext []byte, writes int) []byte {
	t.Helper()
	c, err := New([]byte("test/v1"), key, id, []byte{1, 2, 3, 4})
	if err != nil {
		t.Fatal(err)
	}
	var obj bytes.Buffer
	w := NewWriter(c, func(p []byte) error { obj.Write(p); return nil })
	step := len(plaintext)/writes + 1
	for rest := plaintext; len(rest) > 0; {
		n := min(step, len(rest))
		if _, err := w.Write(rest[:n]); err != nil {
			t.Fatal(err)
		}
		rest = rest[n:]
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if w.Size() != int64(len(plaintext)) || int64(obj.Len()) != SealedSize(int64(len(plaintext))) {
		t.Fatalf("sealed %d of %d bytes into %d, want %d", w.Size(), len(plaintext), obj.Len(), SealedSize(int64(len(plaintext))))
	}
	return obj.Bytes()
}

func openAll(key []byte, id uuid.UUID, obj []byte) ([]byte, error) {
	c, err := New([]byte("test/v1"), key, id, []byte{1, 2, 3, 4})
	if err != nil {
		return nil, err
	}
	return io.ReadAll(NewReader(c, bytes.NewReader(obj)))
}

func TestWriterReader_RoundTripAndEveryDamageFails(t *testing.T) {
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	id := uuid.New()
	for _, size := range []int{1, ChunkSize - 1, ChunkSize, ChunkSize + 1, 3*ChunkSize + 17} {
		plain := make([]byte, size)
		_, _ = rand.Read(plain)
		obj := sealAll(t, key, id, plain, 7)
		got, err := openAll(key, id, obj)
		if err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("%d bytes: opened %d (%v)", size, len(got), err)
		}
		if size <= ChunkSize {
			continue
		}
		damaged := map[string][]byte{
			"a flipped byte":          append(append([]byte{}, obj[:10]...), append([]byte{obj[10] ^ 1}, obj[11:]...)...),
			"cut at a chunk boundary": obj[:SealedChunkSize],
			"cut inside a chunk":      obj[:len(obj)-3],
			"the first chunk dropped": obj[SealedChunkSize:],
			"another stream's id":     nil,
		}
		for name, o := range damaged {
			otherID := id
			if o == nil {
				o, otherID = obj, uuid.New()
			}
			if _, err := openAll(key, otherID, o); !errors.Is(err, ErrOpen) {
				t.Errorf("%d bytes, %s: %v, want ErrOpen", size, name, err)
			}
		}
	}
}

func TestWriter_RefusesAnEmptyStream(t *testing.T) {
	c, _ := New([]byte("test/v1"), make([]byte, 32), uuid.New(), []byte{1, 2, 3, 4})
	if err := NewWriter(c, func([]byte) error { return nil }).Close(); err == nil {
		t.Error("an empty stream was sealed")
	}
}
