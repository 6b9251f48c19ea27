package catalog

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	identityv1 "healthcore/gen/healthcore/identity/v1"
	"healthcore/gen/healthcore/identity/v1/identityv1connect"
	recordsv1 "healthcore/gen/healthcore/records/v1"
	"healthcore/gen/healthcore/records/v1/recordsv1connect"
	"healthcore/platform/authn"
	"healthcore/platform/pgtest"
)

// transferTime is how long the document takes to go up and to come down: longer than
// the 30 s that an overall client timeout used to allow a whole call.
const transferTime = 40 * time.Second

// TestRecordsAndBlobs_StreamALongTransferBothWays uploads a document through records,
// which streams it sealed into blobs as it arrives, at a pace that makes the upload
// last 40 s; then downloads it at the same pace, records streaming it out of blobs as
// the patient reads. Both calls between records and blobs outlast 30 s and go through
// the clients the catalog builds; the bytes that come back must be the bytes that went
// in.
func TestRecordsAndBlobs_StreamALongTransferBothWays(t *testing.T) {
	if testing.Short() {
		t.Skip("takes 80 s")
	}
	// The patient's client lets records have at most 1 MiB in flight towards it, so
	// during the download records holds at most that and what blobs may send ahead of
	// records' reading (the transport's 4 MiB stream window): blobs' stream stays open
	// until the patient has read all but the last 5 MiB, that is for 35 s at least.
	const size = 40 << 20
	const rate = size / int64(transferTime/time.Second) // bytes per second

	names := []string{"keys", "identity", "blobs", "records"}
	urls := startServices(t, names, "-records.max-upload-bytes=50000000")
	patient := patientClient(t)
	token := loginPatient(t, identityv1connect.NewIdentityServiceClient(patient, urls["identity"], connect.WithGRPC()))
	records := recordsv1connect.NewRecordsServiceClient(patient, urls["records"], connect.WithGRPC())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	start := time.Now()
	up := records.UploadDocument(ctx)
	up.RequestHeader().Set("Authorization", "Bearer "+token)
	send := func(m *recordsv1.UploadDocumentRequest) {
		t.Helper()
		if err := up.Send(m); err != nil {
			_, err = up.CloseAndReceive()
			t.Fatalf("upload after %s: %v", time.Since(start).Round(time.Second), err)
		}
	}
	send(&recordsv1.UploadDocumentRequest{Part: &recordsv1.UploadDocumentRequest_Metadata{Metadata: &recordsv1.UploadMetadata{
		Title: "Ressonância magnética", Kind: recordsv1.DocumentKind_DOCUMENT_KIND_EXAM, ContentType: "application/pdf",
	}}})
	sum := sha256.New()
	in := throttle(document(size), rate)
	buf := make([]byte, 32<<10)
	for {
		n, err := in.Read(buf)
		if n > 0 {
			sum.Write(buf[:n])
			send(&recordsv1.UploadDocumentRequest{Part: &recordsv1.UploadDocumentRequest_Chunk{Chunk: buf[:n]}})
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	digest := hex.EncodeToString(sum.Sum(nil))
	send(&recordsv1.UploadDocumentRequest{Part: &recordsv1.UploadDocumentRequest_Trailer{Trailer: &recordsv1.UploadTrailer{
		Size: size, Sha256: digest}}})
	res, err := up.CloseAndReceive()
	took := time.Since(start)
	if err != nil {
		t.Fatalf("upload after %s: %v", took.Round(time.Second), err)
	}
	doc := res.Msg.GetDocument()
	if doc.GetSizeBytes() != size || doc.GetSha256() != digest {
		t.Fatalf("uploaded %d bytes with SHA-256 %s, want %d and %s", doc.GetSizeBytes(), doc.GetSha256(), size, digest)
	}
	if took < transferTime-time.Second {
		t.Fatalf("the upload took %s: not the long transfer this test is for", took)
	}
	t.Logf("uploaded %d MiB in %s", size>>20, took.Round(time.Second))

	start = time.Now()
	req := connect.NewRequest(&recordsv1.DownloadDocumentRequest{DocumentId: doc.GetId()})
	req.Header().Set("Authorization", "Bearer "+token)
	down, err := records.DownloadDocument(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	defer down.Close()
	got := throttle(&downloadReader{stream: down}, rate)
	want := document(size)
	n, err := compare(got, want)
	took = time.Since(start)
	if err != nil {
		t.Fatalf("download after %s: %d bytes matched, then %v", took.Round(time.Second), n, err)
	}
	if n != size {
		t.Fatalf("downloaded %d bytes, want %d", n, size)
	}
	if took < transferTime-time.Second {
		t.Fatalf("the download took %s: not the long transfer this test is for", took)
	}
	t.Logf("downloaded %d MiB in %s, every byte as uploaded", size>>20, took.Round(time.Second))
}

// startServices runs the named services of the catalog in this process on loopback
// ports, with a fresh database, until the test ends; it returns their URLs by name.
func startServices(t *testing.T, names []string, flags ...string) map[string]string {
	t.Helper()
	l, err := NewLoopback()
	if err != nil {
		t.Fatal(err)
	}
	keysDir := t.TempDir()
	if err := authn.WriteServiceKeys(keysDir, Names()); err != nil {
		t.Fatal(err)
	}
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	cfg := NewConfig(fs, true)
	args := append([]string{"-data-dir=" + t.TempDir(), "-log-level=warn", "-db-max-conns=4", "-service-keys=" + keysDir}, l.Flags...)
	if err := cfg.Parse(fs, append(args, flags...)); err != nil {
		t.Fatal(err)
	}
	if err := cfg.OpenServiceKeys(names, false); err != nil {
		t.Fatal(err)
	}
	p := NewProcess(cfg, pgtest.URL(t, Schemas(names)...))
	ctx, cancel := context.WithCancel(context.Background())
	ready, done := make(chan struct{}), make(chan error, 1)
	go func() { done <- p.Run(ctx, names, func() { close(ready) }) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("services stopped with %v", err)
		}
		p.Close()
	})
	select {
	case <-ready:
	case err := <-done:
		done <- err
		t.Fatalf("services did not start: %v", err)
	}
	urls := map[string]string{}
	for _, name := range names {
		urls[name] = *cfg.URL[name]
	}
	return urls
}

// patientClient is the patient's HTTP/2 client. It receives at most 1 MiB ahead of its
// reading, so a slow reader soon slows the sender down.
func patientClient(t *testing.T) *http.Client {
	var protocols http.Protocols
	protocols.SetUnencryptedHTTP2(true)
	tr := &http.Transport{Protocols: &protocols,
		HTTP2: &http.HTTP2Config{MaxReceiveBufferPerConnection: 1 << 20, MaxReceiveBufferPerStream: 1 << 20}}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

func loginPatient(t *testing.T, identity identityv1connect.IdentityServiceClient) string {
	t.Helper()
	ctx := context.Background()
	if _, err := identity.RegisterPatient(ctx, connect.NewRequest(&identityv1.RegisterPatientRequest{
		Name: "Maria da Silva", Email: "maria@example.com", Cpf: "529.982.247-25", Password: "correct horse battery",
		Phone: "+5511987654321", BirthDate: "1985-04-12",
	})); err != nil {
		t.Fatal(err)
	}
	res, err := identity.Login(ctx, connect.NewRequest(&identityv1.LoginRequest{Login: &identityv1.LoginRequest_Email{Email: "maria@example.com"}, Password: "correct horse battery"}))
	if err != nil {
		t.Fatal(err)
	}
	return res.Msg.GetTokens().GetAccessToken()
}

// document is size bytes of a PDF: its signature, then bytes from a seeded generator,
// the same on every call.
func document(size int64) io.Reader {
	head := "%PDF-1.7\n"
	return io.MultiReader(strings.NewReader(head), io.LimitReader(rand.NewChaCha8([32]byte{'h', 'c'}), size-int64(len(head))))
}

// throttledReader yields r's bytes no faster than rate bytes a second, in pieces of at
// most 32 KiB.
type throttledReader struct {
	r     io.Reader
	rate  int64
	start time.Time
	n     int64
}

func throttle(r io.Reader, rate int64) *throttledReader {
	return &throttledReader{r: r, rate: rate, start: time.Now()}
}

func (t *throttledReader) Read(p []byte) (int, error) {
	time.Sleep(time.Until(t.start.Add(time.Duration(t.n * int64(time.Second) / t.rate))))
	n, err := t.r.Read(p[:min(len(p), 32<<10)])
	t.n += int64(n)
	return n, err
}

// downloadReader reads the document's bytes out of a DownloadDocument stream.
type downloadReader struct {
	stream *connect.ServerStreamForClient[recordsv1.DownloadDocumentResponse]
	rest   []byte
}

func (d *downloadReader) Read(p []byte) (int, error) {
	for len(d.rest) == 0 {
		if !d.stream.Receive() {
			if err := d.stream.Err(); err != nil {
				return 0, err
			}
			return 0, io.EOF
		}
		d.rest = d.stream.Msg().GetChunk()
	}
	n := copy(p, d.rest)
	d.rest = d.rest[n:]
	return n, nil
}

// compare reads got and want to their ends and returns how many bytes matched before
// the first difference or error.
func compare(got, want io.Reader) (int64, error) {
	var n int64
	g, w := make([]byte, 32<<10), make([]byte, 32<<10)
	for {
		k, err := io.ReadFull(got, g)
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
			return n, err
		}
		if _, werr := io.ReadFull(want, w[:k]); werr != nil {
			return n, fmt.Errorf("more bytes than were uploaded: %w", werr)
		}
		if i := mismatch(g[:k], w[:k]); i >= 0 {
			return n + int64(i), fmt.Errorf("byte %d differs", n+int64(i))
		}
		n += int64(k)
		if err != nil { // the download ended: so must the document
			if m, _ := want.Read(w[:1]); m > 0 {
				return n, errors.New("fewer bytes than were uploaded")
			}
			return n, nil
		}
	}
}

func mismatch(a, b []byte) int {
	if bytes.Equal(a, b) {
		return -1
	}
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	return len(a)
}
