package records

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/genproto/googleapis/rpc/errdetails"

	accessv1 "healthcore/gen/healthcore/access/v1"
	blobsv1 "healthcore/gen/healthcore/blobs/v1"
	"healthcore/gen/healthcore/blobs/v1/blobsv1connect"
	directoryv1 "healthcore/gen/healthcore/directory/v1"
	"healthcore/gen/healthcore/directory/v1/directoryv1connect"
	"healthcore/gen/healthcore/keys/v1/keysv1connect"
	recordsv1 "healthcore/gen/healthcore/records/v1"
	"healthcore/gen/healthcore/records/v1/recordsv1connect"
	"healthcore/platform/authn"
	"healthcore/platform/pg"
	"healthcore/platform/pgtest"
	"healthcore/platform/server"
	"healthcore/platform/testkit"
	"healthcore/services/blobs"
	"healthcore/services/directory"
	"healthcore/services/identity"
	"healthcore/services/identity/identitytest"
)

// fixture is the records service on the production server stack, calling a real keys
// service (local driver) and a real blobs service (local driver, files in blobDir),
// both called as records, over a fresh database. User tokens are
// signed with a key generated here, which the records verifier trusts.
type fixture struct {
	t       *testing.T
	svc     *Service
	db      *pgxpool.Pool // search_path = records
	client  recordsv1connect.RecordsServiceClient
	blobs   blobsv1connect.BlobsServiceClient
	blobDir string
	users   *testkit.Users
	crm     int
	crms    map[string]string // doctor id → CRM
	// identity is a real identity service: doctors are verified through it.
	identity *identitytest.Identity
	// keys is the keys service the records service seals through.
	keys keysv1connect.KeysServiceClient
	// directory is the real directory service, as a doctor's app calls it.
	directory directoryv1connect.DirectoryServiceClient
	// skew moves the records service's clock (wall time plus skew); tokens are
	// still checked against the wall clock.
	skew atomic.Int64
}

// advance moves the records service's clock forward by d.
func (f *fixture) advance(d time.Duration) { f.skew.Add(int64(d)) }

// now is the records service's clock.
func (f *fixture) now() time.Time { return time.Now().Add(time.Duration(f.skew.Load())) }

func newFixture(t *testing.T) *fixture {
	t.Helper()
	return newFixtureWith(t, DefaultConfig())
}

func newFixtureWith(t *testing.T, cfg Config) *fixture {
	t.Helper()
	return newFixtureOver(t, cfg, nil)
}

// newFixtureOver is newFixtureWith, with prepare (when not nil) run on the fresh
// database before the service starts on it.
func newFixtureOver(t *testing.T, cfg Config, prepare func(db *pgxpool.Pool)) *fixture {
	t.Helper()
	ctx := context.Background()
	dbURL := pgtest.URL(t, identity.Schema, directory.Schema, Schema)
	pool := func(schema string) *pgxpool.Pool {
		p, err := pg.Open(ctx, dbURL, schema, 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.Close)
		return p
	}
	db := pool(Schema.Name)
	if prepare != nil {
		prepare(db)
	}
	keys := testkit.Keys(t, "records")

	blobDir := t.TempDir()
	driver, err := blobs.OpenLocal(blobDir)
	if err != nil {
		t.Fatal(err)
	}
	blobURL := testkit.Serve(t, testkit.ServiceAuth("blobs"), func(s *server.Server) {
		s.Handle(blobs.New(driver).Handler(s.HandlerOptions()...))
	})
	blobClient := blobsv1connect.NewBlobsServiceClient(testkit.HTTPClient(t), blobURL,
		connect.WithGRPC(), connect.WithInterceptors(testkit.Caller("records")))

	users := testkit.NewUsers(t)
	dir, err := directory.New(ctx, directory.Deps{DB: pool(directory.Schema.Name), Logger: testkit.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	dirURL := testkit.Serve(t, users.Interceptor("directory"), func(s *server.Server) {
		s.Handle(dir.Handler(s.HandlerOptions()...))
	})
	id := identitytest.Start(t, pool(identity.Schema.Name), identitytest.Options{Users: users})
	f := &fixture{t: t, db: db, blobs: blobClient, blobDir: blobDir, users: users, crm: 123455, keys: keys, identity: id, crms: map[string]string{},
		directory: directoryv1connect.NewDirectoryServiceClient(testkit.HTTPClient(t), dirURL)}
	svc, err := New(Deps{
		DB: db, Keys: keys, Blobs: blobClient, Logger: testkit.Logger(t), Now: f.now,
		Directory: directoryv1connect.NewDirectoryServiceClient(testkit.HTTPClient(t), dirURL,
			connect.WithGRPC(), connect.WithInterceptors(testkit.Caller("records"))),
		Identity: id.As("records"),
	}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	url := testkit.Serve(t, users.Interceptor("records"), func(s *server.Server) {
		s.Handle(svc.Handler(s.HandlerOptions()...))
	})
	f.svc = svc
	f.client = recordsv1connect.NewRecordsServiceClient(testkit.HTTPClient(t), url, connect.WithGRPC())
	return f
}

// listedDoctor returns a doctor with a directory profile, written through the
// directory's public RPC.
func (f *fixture) listedDoctor() user {
	f.t.Helper()
	return f.withProfile(f.newDoctor())
}

// withProfile writes doctor d's directory profile and returns d.
func (f *fixture) withProfile(d user) user {
	f.t.Helper()
	_, err := f.directory.UpsertMyProfile(context.Background(), authed(&directoryv1.UpsertMyProfileRequest{Profile: &directoryv1.ProfileInput{
		DisplayName: "Dra. Ana Souza", PriceCents: 25000, TimeZone: "America/Sao_Paulo",
		Specialties: []*directoryv1.SpecialtyPractice{{Code: "cardiologia"}},
		Location: &directoryv1.Location{Address: "Av. Paulista, 1000", City: "São Paulo", Uf: "SP",
			Point: &directoryv1.LatLng{Latitude: new(-23.5505), Longitude: new(-46.6333)}},
	}}, d.token))
	if err != nil {
		f.t.Fatalf("upsert profile: %v", err)
	}
	return d
}

// user is an account as the service sees it: an id and an access token.
type user struct{ id, token string }

func (f *fixture) sign(role accessv1.Role, crm string) user {
	id, token := f.users.Sign(role, crm)
	return user{id, token}
}

func (f *fixture) newPatient() user { return f.sign(accessv1.Role_ROLE_PATIENT, "") }

// newDoctor returns a doctor an operator verified.
func (f *fixture) newDoctor() user {
	d := f.newPendingDoctor()
	f.identity.Approve(d.id)
	d.token = f.doctorToken(d.id, true)
	return d
}

// newPendingDoctor returns a doctor whose verification is pending.
func (f *fixture) newPendingDoctor() user {
	f.crm++
	id := f.identity.DoctorWithCRM(fmt.Sprint(f.crm), "SP")
	f.crms[id] = fmt.Sprintf("%d/SP", f.crm)
	return user{id, f.doctorToken(id, false)}
}

// doctorToken signs a token for doctor id with the verified claim.
func (f *fixture) doctorToken(id string, verified bool) string {
	return f.users.SignPrincipal(authn.Principal{UserID: id, Role: accessv1.Role_ROLE_DOCTOR, CRM: f.crms[id],
		DoctorVerified: verified, EmailVerified: true, AMR: []string{"pwd", "otp"}})
}

// Every call carries these, so the access log's request id and client address can be
// checked: the test servers trust loopback proxies, so the forwarded address is the
// client's.
const (
	testClientAddr = "203.0.113.9"
	testRequestID  = "records-test-request-0001"
)

func setHeaders(h interface{ Set(string, string) }, token string) {
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	h.Set("X-Forwarded-For", testClientAddr)
	h.Set(server.RequestIDHeader, testRequestID)
}

func authed[T any](msg *T, token string) *connect.Request[T] {
	req := connect.NewRequest(msg)
	setHeaders(req.Header(), token)
	return req
}

// meta is upload metadata for a document of the given content type.
func meta(title, contentType string) *recordsv1.UploadMetadata {
	return &recordsv1.UploadMetadata{Title: title, Kind: recordsv1.DocumentKind_DOCUMENT_KIND_EXAM, ContentType: contentType}
}

func trailerOf(data []byte) *recordsv1.UploadTrailer {
	sum := sha256.Sum256(data)
	return &recordsv1.UploadTrailer{Size: int64(len(data)), Sha256: hex.EncodeToString(sum[:])}
}

// uploadMsgs sends msgs on one upload stream and returns the answer.
func (f *fixture) uploadMsgs(ctx context.Context, u user, msgs ...*recordsv1.UploadDocumentRequest) (*recordsv1.Document, error) {
	stream := f.client.UploadDocument(ctx)
	setHeaders(stream.RequestHeader(), u.token)
	for _, m := range msgs {
		if err := stream.Send(m); err != nil {
			break // the server answered early; CloseAndReceive has its error
		}
	}
	resp, err := stream.CloseAndReceive()
	if err != nil {
		return nil, err
	}
	return resp.Msg.GetDocument(), nil
}

// messages are the messages of a well-formed upload of data, in chunks of at most
// piece bytes.
func messages(md *recordsv1.UploadMetadata, data []byte, piece int) []*recordsv1.UploadDocumentRequest {
	msgs := []*recordsv1.UploadDocumentRequest{{Part: &recordsv1.UploadDocumentRequest_Metadata{Metadata: md}}}
	for rest := data; len(rest) > 0; {
		n := min(piece, len(rest))
		msgs = append(msgs, chunkMsg(rest[:n]))
		rest = rest[n:]
	}
	return append(msgs, &recordsv1.UploadDocumentRequest{Part: &recordsv1.UploadDocumentRequest_Trailer{Trailer: trailerOf(data)}})
}

func chunkMsg(p []byte) *recordsv1.UploadDocumentRequest {
	return &recordsv1.UploadDocumentRequest{Part: &recordsv1.UploadDocumentRequest_Chunk{Chunk: p}}
}

func (f *fixture) upload(u user, md *recordsv1.UploadMetadata, data []byte) (*recordsv1.Document, error) {
	return f.uploadMsgs(context.Background(), u, messages(md, data, 1<<20)...)
}

func (f *fixture) mustUpload(u user, md *recordsv1.UploadMetadata, data []byte) *recordsv1.Document {
	f.t.Helper()
	d, err := f.upload(u, md, data)
	if err != nil {
		f.t.Fatalf("upload %q: %v", md.GetTitle(), err)
	}
	return d
}

// download returns the metadata and every byte received before the stream ended, and
// how it ended.
func (f *fixture) download(u user, id string) (*recordsv1.Document, []byte, error) {
	stream, err := f.client.DownloadDocument(context.Background(), authed(&recordsv1.DownloadDocumentRequest{DocumentId: id}, u.token))
	if err != nil {
		return nil, nil, err
	}
	defer stream.Close()
	var doc *recordsv1.Document
	var data []byte
	for stream.Receive() {
		if d := stream.Msg().GetDocument(); d != nil {
			doc = d
		}
		data = append(data, stream.Msg().GetChunk()...)
	}
	return doc, data, stream.Err()
}

// blobFiles lists every file in the blobs store, temporary ones included.
func (f *fixture) blobFiles() []string {
	f.t.Helper()
	var out []string
	err := filepath.WalkDir(f.blobDir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			out = append(out, path)
		}
		return err
	})
	if err != nil {
		f.t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// blobPath is the local driver's file of key (see blobs.Local): after a header of 64
// bytes plus the key come the object's bytes.
func (f *fixture) blobPath(key string) (path string, headerLen int) {
	sum := sha256.Sum256([]byte(key))
	h := hex.EncodeToString(sum[:])
	return filepath.Join(f.blobDir, h[:2], h), 64 + len(key)
}

// blobKey reads a document's object key from its row.
func (f *fixture) blobKey(id string) string {
	f.t.Helper()
	var key string
	if err := f.db.QueryRow(context.Background(), `SELECT blob_key FROM documents WHERE id = $1`, id).Scan(&key); err != nil {
		f.t.Fatal(err)
	}
	return key
}

// object reads a stored object through the blobs service.
func (f *fixture) object(key string) []byte {
	f.t.Helper()
	stream, err := f.blobs.Get(context.Background(), connect.NewRequest(&blobsv1.GetRequest{Key: key}))
	if err != nil {
		f.t.Fatal(err)
	}
	defer stream.Close()
	var out []byte
	for stream.Receive() {
		out = append(out, stream.Msg().GetChunk()...)
	}
	if err := stream.Err(); err != nil {
		f.t.Fatal(err)
	}
	return out
}

// putObject replaces a stored object through the blobs service.
func (f *fixture) putObject(key string, data []byte) {
	f.t.Helper()
	stream := f.blobs.Put(context.Background())
	sum := sha256.Sum256(data)
	msgs := []*blobsv1.PutRequest{{Part: &blobsv1.PutRequest_Header{Header: &blobsv1.PutHeader{Key: key}}}}
	for rest := data; len(rest) > 0; {
		n := min(1<<20, len(rest))
		msgs = append(msgs, &blobsv1.PutRequest{Part: &blobsv1.PutRequest_Chunk{Chunk: rest[:n]}})
		rest = rest[n:]
	}
	msgs = append(msgs, &blobsv1.PutRequest{Part: &blobsv1.PutRequest_Trailer{Trailer: &blobsv1.PutTrailer{
		Size: int64(len(data)), Sha256: hex.EncodeToString(sum[:])}}})
	for _, m := range msgs {
		if err := stream.Send(m); err != nil {
			break
		}
	}
	if _, err := stream.CloseAndReceive(); err != nil {
		f.t.Fatal(err)
	}
}

// count runs a counting query.
func (f *fixture) count(sql string, args ...any) int {
	f.t.Helper()
	var n int
	if err := f.db.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		f.t.Fatal(err)
	}
	return n
}

// waitFor polls cond until it holds, failing after a generous bound. It waits for
// work the server finishes after the client has its answer; it asserts no timing.
func (f *fixture) waitFor(what string, cond func() bool) {
	f.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			f.t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Document bodies, recognised by their first bytes as their type. Each carries a
// marker that must never appear in storage.
const marker = "PLAINTEXT-MARKER-hemograma-completo"

func body(head string, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	copy(b, head)
	for i := len(head) + 64; i+len(marker) < n; i += 4096 {
		copy(b[i:], marker)
	}
	return b[:n]
}

func pdf(n int) []byte  { return body("%PDF-1.7\n", n) }
func png(n int) []byte  { return body("\x89PNG\r\n\x1a\n", n) }
func jpeg(n int) []byte { return body("\xff\xd8\xff\xe0", n) }

func dicom(n int) []byte { return body(string(make([]byte, 128))+"DICM", n) }

// wantStored fails unless the store holds exactly the given number of
// documents and blob files.
func (f *fixture) wantStored(docs, files int) {
	f.t.Helper()
	if n := f.count(`SELECT count(*) FROM documents`); n != docs {
		f.t.Errorf("documents rows = %d, want %d", n, docs)
	}
	if got := f.blobFiles(); len(got) != files {
		f.t.Errorf("blob files = %v, want %d", got, files)
	}
}

// violationFields returns the fields of an error's BadRequest violations, joined.
func violationFields(t *testing.T, err error) string {
	t.Helper()
	var ce *connect.Error
	if !errors.As(err, &ce) {
		t.Fatalf("not a connect error: %v", err)
	}
	var out []string
	for _, d := range ce.Details() {
		v, derr := d.Value()
		if derr != nil {
			t.Fatal(derr)
		}
		if br, ok := v.(*errdetails.BadRequest); ok {
			for _, fv := range br.GetFieldViolations() {
				out = append(out, fv.GetField())
			}
		}
	}
	return strings.Join(out, ",")
}
