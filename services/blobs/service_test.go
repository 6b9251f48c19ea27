package blobs

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"

	blobsv1 "healthcore/gen/healthcore/blobs/v1"
	"healthcore/gen/healthcore/blobs/v1/blobsv1connect"
	"healthcore/platform/authn"
	"healthcore/platform/errs"
	"healthcore/platform/server"
	"healthcore/platform/testkit"
)

// serveBlobs serves the blobs service over d on the production server stack (every
// interceptor, authentication and validation included) on 127.0.0.1 and returns its
// URL.
func serveBlobs(t testing.TB, d Driver) string {
	t.Helper()
	return testkit.Serve(t, testkit.ServiceAuth("blobs"), func(s *server.Server) {
		s.Handle(New(d).Handler(s.HandlerOptions()...))
	})
}

// grpcClient calls the service over gRPC (h2c) as records, its one caller.
func grpcClient(t testing.TB, url string) blobsv1connect.BlobsServiceClient {
	return blobsv1connect.NewBlobsServiceClient(testkit.HTTPClient(t), url,
		connect.WithGRPC(), connect.WithInterceptors(testkit.Caller("records")))
}

// store is a driver under test with a way to see half-stored uploads.
type store struct {
	name string
	open func(t testing.TB) (Driver, func(t *testing.T) (pending int))
}

// stores are the drivers the service tests run over. pending counts what an
// unfinished Put has left in the store: temporary files, or open multipart uploads
// and stray objects.
var stores = []store{
	{"local", func(t testing.TB) (Driver, func(*testing.T) int) {
		l := newLocal(t)
		return l, func(t *testing.T) int { return len(tempFiles(t, l.root)) }
	}},
	{"s3", func(t testing.TB) (Driver, func(*testing.T) int) {
		d := newS3(t, testS3Config(startS3(t).URL))
		return d, func(t *testing.T) int {
			objects, uploads := bucketKeys(t, d)
			return len(objects) + len(uploads)
		}
	}},
}

func headerMsg(key string, maxBytes int64) *blobsv1.PutRequest {
	return &blobsv1.PutRequest{Part: &blobsv1.PutRequest_Header{Header: &blobsv1.PutHeader{Key: key, MaxBytes: maxBytes}}}
}

func chunkMsg(b []byte) *blobsv1.PutRequest {
	return &blobsv1.PutRequest{Part: &blobsv1.PutRequest_Chunk{Chunk: b}}
}

func trailerMsg(size int64, sum string) *blobsv1.PutRequest {
	return &blobsv1.PutRequest{Part: &blobsv1.PutRequest_Trailer{Trailer: &blobsv1.PutTrailer{Size: size, Sha256: sum}}}
}

// put streams data in chunks of chunkSize after a header, then the trailer.
func put(ctx context.Context, c blobsv1connect.BlobsServiceClient, key string, maxBytes int64, data io.Reader, chunkSize int) (*blobsv1.ObjectInfo, error) {
	stream := c.Put(ctx)
	if err := stream.Send(headerMsg(key, maxBytes)); err == nil {
		buf := make([]byte, chunkSize)
		sum := sha256.New()
		var size int64
		sent := true
		for {
			n, err := io.ReadFull(data, buf)
			sum.Write(buf[:n])
			size += int64(n)
			if n > 0 && stream.Send(chunkMsg(buf[:n])) != nil {
				sent = false
				break // the server has answered; CloseAndReceive tells how
			}
			if err != nil {
				break
			}
		}
		if sent {
			_ = stream.Send(trailerMsg(size, hex.EncodeToString(sum.Sum(nil))))
		}
	}
	resp, err := stream.CloseAndReceive()
	if err != nil {
		return nil, err
	}
	return resp.Msg.GetObject(), nil
}

// getAll reads a Get stream: the first message's object info, the chunks' sizes and
// their bytes.
func getAll(ctx context.Context, c blobsv1connect.BlobsServiceClient, key string) (*blobsv1.ObjectInfo, []int, []byte, error) {
	stream, err := c.Get(ctx, connect.NewRequest(&blobsv1.GetRequest{Key: key}))
	if err != nil {
		return nil, nil, nil, err
	}
	defer stream.Close()
	var (
		info   *blobsv1.ObjectInfo
		chunks []int
		data   bytes.Buffer
	)
	for stream.Receive() {
		m := stream.Msg()
		if info == nil {
			if info = m.GetObject(); info == nil || len(m.GetChunk()) != 0 {
				return nil, nil, nil, errors.New("first message does not carry the object info alone")
			}
			continue
		}
		if m.GetObject() != nil {
			return nil, nil, nil, errors.New("object info repeated after the first message")
		}
		chunks = append(chunks, len(m.GetChunk()))
		data.Write(m.GetChunk())
	}
	return info, chunks, data.Bytes(), stream.Err()
}

func wantStatus(t *testing.T, what string, err error, r errs.Reason) {
	t.Helper()
	if !errs.Has(err, r) {
		t.Fatalf("%s: error = %v, want %v", what, err, r)
	}
}

func errorDetails(err error) (info *errdetails.ErrorInfo, fields []string) {
	ce := new(connect.Error)
	if !errors.As(err, &ce) {
		return nil, nil
	}
	for _, d := range ce.Details() {
		v, derr := d.Value()
		if derr != nil {
			continue
		}
		switch v := v.(type) {
		case *errdetails.ErrorInfo:
			info = v
		case *errdetails.BadRequest:
			for _, fv := range v.GetFieldViolations() {
				fields = append(fields, fv.GetField())
			}
		}
	}
	return info, fields
}

func TestService_StreamedPutThenGetReturnsTheSameBytes(t *testing.T) {
	for _, s := range stores {
		t.Run(s.name, func(t *testing.T) {
			d, _ := s.open(t)
			client := grpcClient(t, serveBlobs(t, d))
			ctx := context.Background()
			data := testBytes(3<<20+12345, 42)
			put1, err := put(ctx, client, "records/2026/doc-1", 4<<20, bytes.NewReader(data), 300_000)
			if err != nil {
				t.Fatalf("Put: %v", err)
			}
			if put1.GetKey() != "records/2026/doc-1" || put1.GetSize() != int64(len(data)) || put1.GetSha256() != sha256Hex(data) ||
				time.Since(put1.GetCreateTime().AsTime()) > time.Minute {
				t.Fatalf("Put = %v, want key, size %d, digest %s and a create time", put1, len(data), sha256Hex(data))
			}
			info, chunks, got, err := getAll(ctx, client, "records/2026/doc-1")
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			if !bytes.Equal(got, data) {
				t.Fatalf("Get returned %d bytes (digest %s), want the %d stored", len(got), sha256Hex(got), len(data))
			}
			if info.GetSize() != put1.GetSize() || info.GetSha256() != put1.GetSha256() || !info.GetCreateTime().AsTime().Equal(put1.GetCreateTime().AsTime()) {
				t.Errorf("Get info = %v, want Put's %v", info, put1)
			}
			if want := (len(data) + GetChunkSize - 1) / GetChunkSize; len(chunks) != want {
				t.Errorf("%d chunks, want %d of at most %d bytes", len(chunks), want, GetChunkSize)
			}
			for i, n := range chunks[:len(chunks)-1] {
				if n != GetChunkSize {
					t.Errorf("chunk %d has %d bytes, want %d", i, n, GetChunkSize)
				}
			}
			head, err := client.Head(ctx, connect.NewRequest(&blobsv1.HeadRequest{Key: "records/2026/doc-1"}))
			if err != nil || head.Msg.GetObject().GetSha256() != put1.GetSha256() || head.Msg.GetObject().GetSize() != put1.GetSize() {
				t.Errorf("Head = %v, %v; want Put's info", head, err)
			}
		})
	}
}

func TestService_EmptyObjectRoundTrips(t *testing.T) {
	client := grpcClient(t, serveBlobs(t, newLocal(t)))
	ctx := context.Background()
	if _, err := put(ctx, client, "empty", 0, bytes.NewReader(nil), 1024); err != nil {
		t.Fatalf("Put of no bytes: %v", err)
	}
	info, chunks, got, err := getAll(ctx, client, "empty")
	if err != nil || info.GetSize() != 0 || len(chunks) != 0 || len(got) != 0 || info.GetSha256() != sha256Hex(nil) {
		t.Errorf("Get = %v, %d chunks, %d bytes, %v; want the empty object alone", info, len(chunks), len(got), err)
	}
}

func TestService_PutWithoutAHeaderFirstIsInvalidArgumentNamingHeader(t *testing.T) {
	client := grpcClient(t, serveBlobs(t, newLocal(t)))
	ctx := context.Background()

	stream := client.Put(ctx)
	_ = stream.Send(chunkMsg([]byte("bytes before any header")))
	_, err := stream.CloseAndReceive()
	wantStatus(t, "chunk first", err, ReasonHeaderRequired)
	if _, fields := errorDetails(err); len(fields) != 1 || fields[0] != "header" {
		t.Errorf("chunk first: field violations = %v, want [header]", fields)
	}

	_, err = client.Put(ctx).CloseAndReceive() // no message at all
	wantStatus(t, "empty stream", err, ReasonHeaderRequired)
}

func TestService_SecondHeaderIsInvalidArgumentAndStoresNothing(t *testing.T) {
	l := newLocal(t)
	client := grpcClient(t, serveBlobs(t, l))
	ctx := context.Background()
	stream := client.Put(ctx)
	_ = stream.Send(headerMsg("doc", 0))
	_ = stream.Send(chunkMsg([]byte("some bytes")))
	_ = stream.Send(headerMsg("other", 0))
	_, err := stream.CloseAndReceive()
	wantStatus(t, "second header", err, ReasonHeaderRepeated)
	if _, fields := errorDetails(err); len(fields) != 1 || fields[0] != "header" {
		t.Errorf("field violations = %v, want [header]", fields)
	}
	for _, key := range []string{"doc", "other"} {
		_, err := client.Head(ctx, connect.NewRequest(&blobsv1.HeadRequest{Key: key}))
		wantStatus(t, "Head "+key, err, ReasonObjectNotFound)
	}
	if temps := tempFiles(t, l.root); len(temps) != 0 {
		t.Errorf("temporary files left: %v", temps)
	}
}

func TestService_PutOverMaxBytesIsObjectTooLargeAndStoresNothing(t *testing.T) {
	for _, s := range stores {
		t.Run(s.name, func(t *testing.T) {
			d, pending := s.open(t)
			client := grpcClient(t, serveBlobs(t, d))
			ctx := context.Background()
			for _, tc := range []struct {
				size     int
				maxBytes int64
			}{{1001, 1000}, {7 << 20, 5<<20 + 1}} {
				_, err := put(ctx, client, "too-large", tc.maxBytes, bytes.NewReader(testBytes(tc.size, 1)), 1<<20)
				wantStatus(t, "Put over max_bytes", err, ReasonObjectTooLarge)
				info, fields := errorDetails(err)
				if info.GetMetadata()["max_bytes"] != strconv.FormatInt(tc.maxBytes, 10) || len(fields) != 1 || fields[0] != "header.max_bytes" {
					t.Errorf("details: metadata %v, fields %v; want max_bytes=%d and header.max_bytes", info.GetMetadata(), fields, tc.maxBytes)
				}
				_, err = client.Head(ctx, connect.NewRequest(&blobsv1.HeadRequest{Key: "too-large"}))
				wantStatus(t, "Head after a refused Put", err, ReasonObjectNotFound)
				if n := pending(t); n != 0 {
					t.Errorf("%d half-stored things left after a refused Put", n)
				}
			}
		})
	}
}

func TestService_MaxBytesZeroMeansTheServiceLimit(t *testing.T) {
	client := grpcClient(t, serveBlobs(t, newLocal(t)))
	info, err := put(context.Background(), client, "doc", 0, bytes.NewReader(testBytes(2<<20, 1)), 1<<20)
	if err != nil || info.GetSize() != 2<<20 {
		t.Errorf("Put with max_bytes 0 = %v, %v; want it stored", info, err)
	}
}

func TestService_ClientCancellingAPutMidwayStoresNothing(t *testing.T) {
	for _, s := range stores {
		t.Run(s.name, func(t *testing.T) {
			d, pending := s.open(t)
			client := grpcClient(t, serveBlobs(t, d))
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			stream := client.Put(ctx)
			if err := stream.Send(headerMsg("records/cancelled", 0)); err != nil {
				t.Fatal(err)
			}
			// Send until the driver has begun storing: a temporary file, or a multipart
			// upload (S3 sees nothing before the first full part).
			chunk := testBytes(1<<20, 1)
			for sent := 0; pending(t) == 0; sent++ {
				if sent == 64 {
					t.Fatal("64 MiB sent and the driver has not begun storing")
				}
				if err := stream.Send(chunkMsg(chunk)); err != nil {
					t.Fatalf("Send: %v", err)
				}
				time.Sleep(5 * time.Millisecond)
			}
			// Cancel, and only once the server has undone the upload close the stream:
			// closing first races the transport's reset with a clean end of stream,
			// which the server cannot tell from a finished upload (see put.go).
			cancel()
			deadline := time.Now().Add(10 * time.Second)
			for pending(t) != 0 {
				if time.Now().After(deadline) {
					t.Fatalf("%d half-stored things still there 10 s after the client went away", pending(t))
				}
				time.Sleep(10 * time.Millisecond)
			}
			if _, err := stream.CloseAndReceive(); connect.CodeOf(err) != connect.CodeCanceled {
				t.Errorf("cancelled Put: error = %v, want CANCELED", err)
			}
			_, err := client.Head(context.Background(), connect.NewRequest(&blobsv1.HeadRequest{Key: "records/cancelled"}))
			wantStatus(t, "Head after a cancelled Put", err, ReasonObjectNotFound)
		})
	}
}

func TestService_CallsNotByRecordsAreRefused(t *testing.T) {
	url := serveBlobs(t, newLocal(t))
	anonymous := blobsv1connect.NewBlobsServiceClient(testkit.HTTPClient(t), url, connect.WithGRPC())
	ctx := context.Background()

	_, err := put(ctx, anonymous, "doc", 0, strings.NewReader("x"), 10)
	wantStatus(t, "Put", err, authn.ReasonTokenMissing)
	_, _, _, err = getAll(ctx, anonymous, "doc")
	wantStatus(t, "Get", err, authn.ReasonTokenMissing)
	_, err = anonymous.Head(ctx, connect.NewRequest(&blobsv1.HeadRequest{Key: "doc"}))
	wantStatus(t, "Head", err, authn.ReasonTokenMissing)
	_, err = anonymous.Delete(ctx, connect.NewRequest(&blobsv1.DeleteRequest{Key: "doc"}))
	wantStatus(t, "Delete", err, authn.ReasonTokenMissing)

	wrong := blobsv1connect.NewBlobsServiceClient(testkit.HTTPClient(t), url, connect.WithGRPC(),
		connect.WithInterceptors(testkit.Bearer("not-the-token")))
	_, err = put(ctx, wrong, "doc", 0, strings.NewReader("x"), 10)
	wantStatus(t, "Put with a wrong token", err, authn.ReasonServiceTokenInvalid)
	misdirected, _, err := testkit.ServiceKeys().MintServiceToken("records", "keys", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	toKeys := blobsv1connect.NewBlobsServiceClient(testkit.HTTPClient(t), url, connect.WithGRPC(),
		connect.WithInterceptors(testkit.Bearer(misdirected)))
	_, err = put(ctx, toKeys, "doc", 0, strings.NewReader("x"), 10)
	wantStatus(t, "Put with records' token for keys", err, authn.ReasonServiceTokenInvalid)
	scheduling := blobsv1connect.NewBlobsServiceClient(testkit.HTTPClient(t), url, connect.WithGRPC(),
		connect.WithInterceptors(testkit.Caller("scheduling")))
	_, err = put(ctx, scheduling, "doc", 0, strings.NewReader("x"), 10)
	wantStatus(t, "Put by scheduling", err, authn.ReasonCallerNotAllowed)
	_, _, _, err = getAll(ctx, scheduling, "doc")
	wantStatus(t, "Get by scheduling", err, authn.ReasonCallerNotAllowed)
	_, err = grpcClient(t, url).Head(ctx, connect.NewRequest(&blobsv1.HeadRequest{Key: "doc"}))
	wantStatus(t, "Head after refused Puts", err, ReasonObjectNotFound)
}

func TestService_GetOfAMissingObjectIsNotFound(t *testing.T) {
	for _, s := range stores {
		t.Run(s.name, func(t *testing.T) {
			d, _ := s.open(t)
			client := grpcClient(t, serveBlobs(t, d))
			_, _, _, err := getAll(context.Background(), client, "never/stored")
			wantStatus(t, "Get", err, ReasonObjectNotFound)
			_, err = client.Head(context.Background(), connect.NewRequest(&blobsv1.HeadRequest{Key: "never/stored"}))
			wantStatus(t, "Head", err, ReasonObjectNotFound)
		})
	}
}

func TestService_DeleteRemovesAndDeletingAgainSucceeds(t *testing.T) {
	client := grpcClient(t, serveBlobs(t, newLocal(t)))
	ctx := context.Background()
	if _, err := put(ctx, client, "doc", 0, strings.NewReader("bytes"), 10); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if _, err := client.Delete(ctx, connect.NewRequest(&blobsv1.DeleteRequest{Key: "doc"})); err != nil {
			t.Fatalf("Delete %d: %v", i+1, err)
		}
	}
	_, _, _, err := getAll(ctx, client, "doc")
	wantStatus(t, "Get after Delete", err, ReasonObjectNotFound)
}

func TestService_BadKeysAndOversizedChunksAreRefusedByValidation(t *testing.T) {
	client := grpcClient(t, serveBlobs(t, newLocal(t)))
	ctx := context.Background()
	_, err := put(ctx, client, "../etc/passwd", 0, strings.NewReader("x"), 10)
	wantStatus(t, "Put of a bad key", err, server.ReasonValidationFailed)
	if _, fields := errorDetails(err); len(fields) != 1 || fields[0] != "header.key" {
		t.Errorf("field violations = %v, want [header.key]", fields)
	}
	_, _, _, err = getAll(ctx, client, "UPPER")
	wantStatus(t, "Get of a bad key", err, server.ReasonValidationFailed)

	_, err = put(ctx, client, "doc", 0, bytes.NewReader(make([]byte, 1<<20+1)), 1<<20+1)
	wantStatus(t, "chunk over 1 MiB", err, server.ReasonValidationFailed)
	if _, fields := errorDetails(err); len(fields) != 1 || fields[0] != "chunk" {
		t.Errorf("field violations = %v, want [chunk]", fields)
	}
	_, err = client.Head(ctx, connect.NewRequest(&blobsv1.HeadRequest{Key: "doc"}))
	wantStatus(t, "Head after a refused Put", err, ReasonObjectNotFound)
}

func TestService_UnreachableStorageIsUnavailable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	client := grpcClient(t, serveBlobs(t, newS3(t, testS3Config("http://"+addr))))
	_, err = client.Head(context.Background(), connect.NewRequest(&blobsv1.HeadRequest{Key: "doc"}))
	wantStatus(t, "Head", err, ReasonStorageUnavailable)
	_, err = put(context.Background(), client, "doc", 0, strings.NewReader("x"), 10)
	wantStatus(t, "Put", err, ReasonStorageUnavailable)
	if strings.Contains(err.Error(), addr) {
		t.Errorf("error %q reveals the storage's address", err)
	}
}

// countingTransport counts the response bytes that cross the wire.
type countingTransport struct {
	base http.RoundTripper
	n    atomic.Int64
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := c.base.RoundTrip(r)
	if err == nil {
		resp.Body = countingBody{resp.Body, &c.n}
	}
	return resp, err
}

type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (b countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}

func TestService_GetSendsObjectsUncompressedThoughTheClientAcceptsGzip(t *testing.T) {
	url := serveBlobs(t, newLocal(t))
	hc := testkit.HTTPClient(t)
	ct := &countingTransport{base: hc.Transport}
	hc.Transport = ct
	// connect-go clients ask for gzip responses unless told otherwise.
	client := blobsv1connect.NewBlobsServiceClient(hc, url, connect.WithGRPC(),
		connect.WithInterceptors(testkit.Caller("records")))
	ctx := context.Background()
	zeros := make([]byte, 1<<20) // as compressible as bytes get; ciphertext is not at all
	if _, err := put(ctx, client, "zeros", 0, bytes.NewReader(zeros), 1<<20); err != nil {
		t.Fatal(err)
	}
	ct.n.Store(0)
	if _, _, got, err := getAll(ctx, client, "zeros"); err != nil || !bytes.Equal(got, zeros) {
		t.Fatalf("Get = %d bytes, %v", len(got), err)
	}
	if n := ct.n.Load(); n < 1<<20 {
		t.Errorf("%d bytes crossed the wire for a 1 MiB object: the server compressed it", n)
	}
}

// observedDriver wraps a real driver to see when bytes flow through it.
type observedDriver struct {
	Driver
	putRead   chan struct{} // closed when a Put first reads bytes from the stream
	getHold   int64         // a Get reader waits past this offset…
	getResume chan struct{} // …until this is closed
}

func (o *observedDriver) Put(ctx context.Context, key string, r io.Reader, maxBytes int64) (ObjectInfo, error) {
	return o.Driver.Put(ctx, key, &notifyingReader{r: r, notify: o.putRead}, maxBytes)
}

func (o *observedDriver) Get(ctx context.Context, key string) (io.ReadCloser, ObjectInfo, error) {
	rc, info, err := o.Driver.Get(ctx, key)
	if err != nil {
		return nil, info, err
	}
	return &holdingReader{ReadCloser: rc, hold: o.getHold, resume: o.getResume}, info, nil
}

type notifyingReader struct {
	r      io.Reader
	notify chan struct{}
	once   sync.Once
}

func (n *notifyingReader) Read(p []byte) (int, error) {
	k, err := n.r.Read(p)
	if k > 0 {
		n.once.Do(func() { close(n.notify) })
	}
	return k, err
}

type holdingReader struct {
	io.ReadCloser
	off    int64
	hold   int64
	resume chan struct{}
}

func (h *holdingReader) Read(p []byte) (int, error) {
	if h.off >= h.hold {
		select {
		case <-h.resume:
		case <-time.After(10 * time.Second):
			return 0, errors.New("test: the client never got the first chunk while the object was still being read")
		}
	} else if room := h.hold - h.off; int64(len(p)) > room {
		p = p[:room]
	}
	n, err := h.ReadCloser.Read(p)
	h.off += int64(n)
	return n, err
}

// TestService_PutStreamsToTheDriverAsChunksArrive proves that a Put does not gather the
// object before storing it: the driver must read the first chunk while the client
// still holds back the rest.
func TestService_PutStreamsToTheDriverAsChunksArrive(t *testing.T) {
	d := &observedDriver{Driver: newLocal(t), putRead: make(chan struct{})}
	client := grpcClient(t, serveBlobs(t, d))
	data := testBytes(3<<20, 1)
	stream := client.Put(context.Background())
	if err := stream.Send(headerMsg("streamed", 0)); err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(chunkMsg(data[:64<<10])); err != nil {
		t.Fatal(err)
	}
	select {
	case <-d.putRead:
	case <-time.After(10 * time.Second):
		t.Fatal("the driver read nothing while the stream was open: the service gathers the object first")
	}
	for off := 64 << 10; off < len(data); off += 1 << 20 {
		if err := stream.Send(chunkMsg(data[off:min(off+1<<20, len(data))])); err != nil {
			t.Fatal(err)
		}
	}
	if err := stream.Send(trailerMsg(int64(len(data)), sha256Hex(data))); err != nil {
		t.Fatal(err)
	}
	resp, err := stream.CloseAndReceive()
	if err != nil || resp.Msg.GetObject().GetSha256() != sha256Hex(data) {
		t.Fatalf("Put = %v, %v; want the object stored", resp, err)
	}
}

// TestService_GetSendsChunksWhileReadingTheObject proves that a Get does not read the
// object whole before sending: the driver's reader stops after 512 KiB until the
// client has received a chunk.
func TestService_GetSendsChunksWhileReadingTheObject(t *testing.T) {
	local := newLocal(t)
	data := testBytes(2<<20, 1)
	if _, err := local.Put(context.Background(), "streamed", bytes.NewReader(data), 0); err != nil {
		t.Fatal(err)
	}
	d := &observedDriver{Driver: local, getHold: 512 << 10, getResume: make(chan struct{})}
	client := grpcClient(t, serveBlobs(t, d))
	stream, err := client.Get(context.Background(), connect.NewRequest(&blobsv1.GetRequest{Key: "streamed"}))
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Close()
	var got []byte
	for stream.Receive() {
		if chunk := stream.Msg().GetChunk(); len(chunk) > 0 && len(got) == 0 {
			close(d.getResume) // the first chunk came while the reader was held
		}
		got = append(got, stream.Msg().GetChunk()...)
	}
	if err := stream.Err(); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("Get = %d bytes, %v; want the object", len(got), err)
	}
}

func TestService_PutIsStoredOnlyWhenItsTrailerMatches(t *testing.T) {
	l := newLocal(t)
	client := grpcClient(t, serveBlobs(t, l))
	ctx := context.Background()
	data := []byte("ciphertext of an exam")
	cases := []struct {
		name   string
		send   []*blobsv1.PutRequest
		reason errs.Reason
	}{
		{"stream ends without a trailer (a cut upload)", []*blobsv1.PutRequest{headerMsg("doc", 0), chunkMsg(data)}, ReasonTrailerRequired},
		{"trailer with a shorter size", []*blobsv1.PutRequest{headerMsg("doc", 0), chunkMsg(data), trailerMsg(int64(len(data)-1), sha256Hex(data))}, ReasonTrailerMismatch},
		{"trailer with another digest", []*blobsv1.PutRequest{headerMsg("doc", 0), chunkMsg(data), trailerMsg(int64(len(data)), sha256Hex([]byte("other")))}, ReasonTrailerMismatch},
		{"bytes after the trailer", []*blobsv1.PutRequest{headerMsg("doc", 0), chunkMsg(data[:4]), trailerMsg(4, sha256Hex(data[:4])), chunkMsg(data[4:])}, ReasonTrailerNotLast},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stream := client.Put(ctx)
			for _, m := range tc.send {
				_ = stream.Send(m)
			}
			_, err := stream.CloseAndReceive()
			wantStatus(t, tc.name, err, tc.reason)
			if _, err := l.Head(ctx, "doc"); !errors.Is(err, ErrNotFound) {
				t.Errorf("after %s: Head = %v, want ErrNotFound (nothing stored)", tc.name, err)
			}
		})
	}
}
