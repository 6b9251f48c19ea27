package records

import (
	"bytes"
	"context"
	"os"
	"testing"

	"healthcore/platform/testkit"
)

// multiChunk uploads a document of five cipher chunks and a bit.
func (f *fixture) multiChunk(u user) ([]byte, string) {
	f.t.Helper()
	data := pdf(5*chunkSize + 1000)
	return data, f.mustUpload(u, meta("multi", "application/pdf"), data).GetId()
}

func TestDownload_FlippedByteInStoredObjectFailsWithoutSendingTheDamagedChunk(t *testing.T) {
	f := newFixture(t)
	alice := f.newPatient()
	data, id := f.multiChunk(alice)
	path, header := f.blobPath(f.blobKey(id))
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	raw[header+2*sealedChunkSize+100] ^= 0x01 // inside the third chunk
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}

	_, got, err := f.download(alice, id)
	testkit.WantReason(t, err, ReasonDocumentCorrupt)
	if !bytes.Equal(got, data[:2*chunkSize]) {
		t.Fatalf("received %d bytes; want exactly the two intact chunks (%d bytes) and nothing of the damaged one", len(got), 2*chunkSize)
	}
}

func TestDownload_TruncatedOrLengthenedObjectFails(t *testing.T) {
	cases := []struct {
		name string
		edit func(obj []byte) []byte
	}{
		{"cut at a chunk boundary", func(obj []byte) []byte { return obj[:3*sealedChunkSize] }},
		{"cut inside a chunk", func(obj []byte) []byte { return obj[:3*sealedChunkSize+500] }},
		{"last chunk dropped", func(obj []byte) []byte { return obj[:5*sealedChunkSize] }},
		{"a chunk dropped in the middle", func(obj []byte) []byte {
			return append(append([]byte{}, obj[:sealedChunkSize]...), obj[2*sealedChunkSize:]...)
		}},
		{"two chunks swapped", func(obj []byte) []byte {
			out := append([]byte{}, obj...)
			copy(out[:sealedChunkSize], obj[sealedChunkSize:2*sealedChunkSize])
			copy(out[sealedChunkSize:2*sealedChunkSize], obj[:sealedChunkSize])
			return out
		}},
		{"bytes appended", func(obj []byte) []byte { return append(append([]byte{}, obj...), obj[:100]...) }},
		{"emptied", func([]byte) []byte { return nil }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			alice := f.newPatient()
			data, id := f.multiChunk(alice)
			key := f.blobKey(id)
			f.putObject(key, c.edit(f.object(key)))
			_, got, err := f.download(alice, id)
			testkit.WantReason(t, err, ReasonDocumentCorrupt)
			if !bytes.HasPrefix(data, got) {
				t.Errorf("received %d bytes that are not a prefix of the document", len(got))
			}
		})
	}
}

func TestDownload_TruncatedFileInTheLocalStoreFails(t *testing.T) {
	f := newFixture(t)
	alice := f.newPatient()
	_, id := f.multiChunk(alice)
	path, _ := f.blobPath(f.blobKey(id))
	if err := os.Truncate(path, 70_000); err != nil {
		t.Fatal(err)
	}
	_, got, err := f.download(alice, id)
	testkit.WantReason(t, err, ReasonDocumentCorrupt)
	if len(got) != 0 {
		t.Errorf("received %d bytes", len(got))
	}
}

func TestDownload_DataKeysSwappedBetweenDocumentsFail(t *testing.T) {
	f := newFixture(t)
	alice := f.newPatient()
	a := f.mustUpload(alice, meta("a", "application/pdf"), pdf(5000))
	b := f.mustUpload(alice, meta("b", "application/pdf"), pdf(5000))
	if _, err := f.db.Exec(context.Background(), `UPDATE documents d SET data_key = o.data_key
		FROM documents o WHERE (d.id, o.id) IN (($1::uuid, $2::uuid), ($2::uuid, $1::uuid))`, a.GetId(), b.GetId()); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{a.GetId(), b.GetId()} {
		_, got, err := f.download(alice, id)
		testkit.WantReason(t, err, ReasonDocumentCorrupt)
		if len(got) != 0 {
			t.Errorf("received %d bytes", len(got))
		}
	}
}

func TestDownload_ObjectsSwappedBetweenDocumentsFail(t *testing.T) {
	f := newFixture(t)
	alice := f.newPatient()
	a := f.mustUpload(alice, meta("a", "application/pdf"), pdf(5000))
	b := f.mustUpload(alice, meta("b", "application/pdf"), pdf(5000))
	if _, err := f.db.Exec(context.Background(), `UPDATE documents d SET blob_key = 'x' || o.blob_key
		FROM documents o WHERE (d.id, o.id) IN (($1::uuid, $2::uuid), ($2::uuid, $1::uuid))`, a.GetId(), b.GetId()); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.Exec(context.Background(), `UPDATE documents SET blob_key = substr(blob_key, 2)`); err != nil {
		t.Fatal(err)
	}
	_, got, err := f.download(alice, a.GetId())
	testkit.WantReason(t, err, ReasonDocumentCorrupt)
	if len(got) != 0 {
		t.Errorf("received %d bytes", len(got))
	}
}
