package gateway_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/google/uuid"

	"healthcore/gateway"
	accessv1 "healthcore/gen/healthcore/access/v1"
	"healthcore/gen/healthcore/blobs/v1/blobsv1connect"
	recordsv1 "healthcore/gen/healthcore/records/v1"
	"healthcore/platform/authn"
	"healthcore/platform/pgtest"
	"healthcore/platform/server"
	"healthcore/platform/testkit"
	"healthcore/services/blobs"
	"healthcore/services/records"
)

// recordsStack is the real records service (fresh database, real keys and blobs
// services) as a gateway upstream, trusting user tokens signed with key.
type recordsStack struct {
	t   *testing.T
	key authn.SigningKey
	up  gateway.Upstream
}

func newRecordsStack(t *testing.T) *recordsStack {
	t.Helper()
	return newRecordsStackWith(t, records.DefaultConfig())
}

func newRecordsStackWith(t *testing.T, cfg records.Config) *recordsStack {
	t.Helper()
	db := pgtest.Pool(t, records.Schema.Name, records.Schema)
	driver, err := blobs.OpenLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	blobURL := testkit.Serve(t, testkit.ServiceAuth("blobs"), func(s *server.Server) {
		s.Handle(blobs.New(driver).Handler(s.HandlerOptions()...))
	})
	blobClient := blobsv1connect.NewBlobsServiceClient(testkit.HTTPClient(t), blobURL,
		connect.WithGRPC(), connect.WithInterceptors(testkit.Caller("records")))
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	key := authn.SigningKey{KID: "gateway-records-test", Private: priv}
	userKeys := func(context.Context) ([]authn.PublicKey, error) {
		return []authn.PublicKey{{KID: key.KID, Key: pub}}, nil
	}
	svc, err := records.New(records.Deps{DB: db, Keys: testkit.Keys(t, "records"), Blobs: blobClient, Logger: testkit.Logger(t)}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	u := testkit.Serve(t, authn.NewInterceptor(authn.NewVerifier(userKeys), testkit.ServiceVerifier("records")), func(s *server.Server) {
		s.Handle(svc.Handler(s.HandlerOptions()...))
	})
	return &recordsStack{t: t, key: key, up: gateway.Upstream{
		Service:  recordsv1.RecordsService_ServiceDesc.ServiceName,
		Addr:     strings.TrimPrefix(u, "http://"),
		Register: recordsv1.RegisterRecordsServiceHandler,
	}}
}

// patientToken signs an access token for a new patient.
func (s *recordsStack) patientToken() string {
	s.t.Helper()
	token, _, err := authn.Sign(s.key, authn.Principal{
		UserID: uuid.NewString(), Role: accessv1.Role_ROLE_PATIENT, SessionID: uuid.NewString(),
	}, time.Now(), time.Hour)
	if err != nil {
		s.t.Fatal(err)
	}
	return token
}

// pdf is a PDF-like body of n bytes.
func pdf(n int) []byte {
	b := make([]byte, n)
	copy(b, "%PDF-1.7\n")
	for i := 9; i < n; i++ {
		b[i] = byte(i*7 + i/1024)
	}
	return b
}

func uploadURL(base, title string) string {
	q := url.Values{"title": {title}, "kind": {"EXAM"}, "examDate": {"2024-03-01"}}
	return base + "/v1/records/documents:upload?" + q.Encode()
}

func bearer(token, contentType string) http.Header {
	h := http.Header{}
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		h.Set("Content-Type", contentType)
	}
	return h
}

// listCount is how many documents the patient has, through the edge.
func listCount(t *testing.T, e *edge, token string) int {
	t.Helper()
	r := do(t, http.MethodGet, e.url+"/v1/records/documents", nil, bearer(token, ""))
	if r.status != http.StatusOK {
		t.Fatalf("list: %d %s", r.status, r.body)
	}
	docs, _ := r.json(t)["documents"].([]any)
	return len(docs)
}

// onlyReader hides a body's length, so the request is sent chunked.
type onlyReader struct{ io.Reader }

// cutReader yields n bytes of data, then fails: a client that goes away mid-upload.
type cutReader struct {
	data []byte
	n    int
}

func (c *cutReader) Read(p []byte) (int, error) {
	if c.n <= 0 {
		return 0, errors.New("client went away")
	}
	k := copy(p, c.data[:min(len(c.data), c.n, len(p))])
	c.data, c.n = c.data[k:], c.n-k
	return k, nil
}

const uploadLogLine = `"path":"/v1/records/documents:upload"`

// waitUploadLog waits until the gateway's access log has n upload lines and returns
// the last.
func waitUploadLog(t *testing.T, e *edge, n int) string {
	t.Helper()
	return waitLog(t, e, uploadLogLine, n)
}

// waitLog waits until the gateway's log has n lines containing substr and returns the
// last.
func waitLog(t *testing.T, e *edge, substr string, n int) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var lines []string
		for _, l := range strings.Split(e.logs.String(), "\n") {
			if strings.Contains(l, substr) {
				lines = append(lines, l)
			}
		}
		if len(lines) >= n {
			return lines[n-1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("the gateway logged %d lines with %s, want %d", len(lines), substr, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestRecordFiles(t *testing.T) {
	s := newRecordsStack(t)
	e := serve(t, gateway.Options{Upstreams: []gateway.Upstream{s.up}})
	maria, joao := s.patientToken(), s.patientToken()
	data := pdf(3 << 20)

	// No documents yet: the list is there, empty (the JSON conventions).
	if r := do(t, http.MethodGet, e.url+"/v1/records/documents", nil, bearer(maria, "")); r.status != http.StatusOK ||
		!strings.Contains(string(r.body), `"documents":[]`) {
		t.Fatalf("empty list: %d %s, want \"documents\":[]", r.status, r.body)
	}

	// Upload 3 MiB (chunked, so limitBody's 1 MiB buffering would refuse it).
	r := do(t, http.MethodPost, uploadURL(e.url, "Hemograma março/2024"), onlyReader{bytes.NewReader(data)}, bearer(maria, "application/pdf"))
	if r.status != http.StatusOK {
		t.Fatalf("upload: %d %s", r.status, r.body)
	}
	doc, _ := r.json(t)["document"].(map[string]any)
	id, _ := doc["id"].(string)
	if id == "" || doc["contentType"] != "application/pdf" || doc["sizeBytes"] != "3145728" || doc["kind"] != "DOCUMENT_KIND_EXAM" || doc["examDate"] != "2024-03-01" {
		t.Fatalf("document = %v", doc)
	}

	t.Run("download", func(t *testing.T) {
		r := do(t, http.MethodGet, e.url+"/v1/records/documents/"+id+":download", nil, bearer(maria, ""))
		if r.status != http.StatusOK {
			t.Fatalf("download: %d %s", r.status, r.body)
		}
		if !bytes.Equal(r.body, data) {
			t.Fatalf("downloaded %d bytes, not the %d uploaded", len(r.body), len(data))
		}
		for k, want := range map[string]string{
			"Content-Type": "application/pdf", "Content-Length": "3145728", "X-Content-Type-Options": "nosniff",
			"Cache-Control":       "no-store",
			"Content-Disposition": `attachment; filename="Hemograma mar_o_2024.pdf"; filename*=UTF-8''Hemograma%20mar%C3%A7o_2024.pdf`,
		} {
			if got := r.header.Get(k); got != want {
				t.Errorf("%s = %q, want %q", k, got, want)
			}
		}
	})

	t.Run("content type mismatch", func(t *testing.T) {
		r := do(t, http.MethodPost, uploadURL(e.url, "not a png"), bytes.NewReader(pdf(4096)), bearer(maria, "image/png"))
		if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), records.ReasonContentTypeMismatch.Name()) {
			t.Fatalf("upload: %d %s", r.status, r.body)
		}
		if r.json(t)["code"] != float64(3) {
			t.Errorf("code = %v, want 3", r.json(t)["code"])
		}
	})

	t.Run("no token", func(t *testing.T) {
		r := do(t, http.MethodPost, uploadURL(e.url, "x"), bytes.NewReader(pdf(4096)), bearer("", "application/pdf"))
		if r.status != http.StatusUnauthorized || r.json(t)["code"] != float64(16) {
			t.Fatalf("upload: %d %s", r.status, r.body)
		}
		r = do(t, http.MethodGet, e.url+"/v1/records/documents/"+id+":download", nil, nil)
		if r.status != http.StatusUnauthorized || r.json(t)["code"] != float64(16) {
			t.Fatalf("download: %d %s", r.status, r.body)
		}
	})

	t.Run("another patient's document", func(t *testing.T) {
		r := do(t, http.MethodGet, e.url+"/v1/records/documents/"+id+":download", nil, bearer(joao, ""))
		if r.status != http.StatusNotFound || r.json(t)["code"] != float64(5) {
			t.Fatalf("download: %d %s", r.status, r.body)
		}
		if strings.Contains(r.header.Get("Content-Type"), "pdf") || r.header.Get("Content-Disposition") != "" {
			t.Errorf("error answer has file headers: %v", r.header)
		}
	})

	t.Run("bad kind", func(t *testing.T) {
		u := strings.Replace(uploadURL(e.url, "x"), "kind=EXAM", "kind=SELFIE", 1)
		r := do(t, http.MethodPost, u, bytes.NewReader(pdf(4096)), bearer(maria, "application/pdf"))
		if r.status != http.StatusBadRequest {
			t.Fatalf("upload: %d %s", r.status, r.body)
		}
	})

	t.Run("wrong method", func(t *testing.T) {
		r := do(t, http.MethodGet, e.url+"/v1/records/documents:upload", nil, bearer(maria, ""))
		if r.status != http.StatusMethodNotAllowed {
			t.Fatalf("GET upload: %d %s", r.status, r.body)
		}
	})

	t.Run("multipart", func(t *testing.T) {
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		_ = mw.WriteField("title", "Receita")
		_ = mw.WriteField("kind", "DOCUMENT_KIND_PRESCRIPTION")
		part, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Disposition": {`form-data; name="file"; filename="receita.pdf"`},
			"Content-Type":        {"application/pdf"},
		})
		if err != nil {
			t.Fatal(err)
		}
		small := pdf(1<<20 + 77)
		_, _ = part.Write(small)
		_ = mw.Close()
		r := do(t, http.MethodPost, e.url+"/v1/records/documents:upload", onlyReader{&body}, bearer(joao, mw.FormDataContentType()))
		if r.status != http.StatusOK {
			t.Fatalf("upload: %d %s", r.status, r.body)
		}
		doc, _ := r.json(t)["document"].(map[string]any)
		if doc["title"] != "Receita" || doc["kind"] != "DOCUMENT_KIND_PRESCRIPTION" || doc["sizeBytes"] != "1048653" {
			t.Fatalf("document = %v", doc)
		}
		d := do(t, http.MethodGet, e.url+"/v1/records/documents/"+doc["id"].(string)+":download", nil, bearer(joao, ""))
		if d.status != http.StatusOK || !bytes.Equal(d.body, small) {
			t.Fatalf("download: %d, %d bytes", d.status, len(d.body))
		}
	})

	t.Run("body cut short", func(t *testing.T) {
		cut := s.patientToken()
		before := strings.Count(e.logs.String(), uploadLogLine)
		req, err := http.NewRequest(http.MethodPost, uploadURL(e.url, "cut"), &cutReader{data: pdf(3 << 20), n: 1<<20 + 100})
		if err != nil {
			t.Fatal(err)
		}
		req.Header = bearer(cut, "application/pdf")
		tr := &http.Transport{}
		defer tr.CloseIdleConnections()
		resp, err := (&http.Client{Transport: tr, Timeout: 30 * time.Second}).Do(req)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				t.Fatal("a cut upload was accepted")
			}
		}
		// The edge answers an error (400, or 499 when it sees the client leave first)
		// and cancels the call without a trailer.
		if line := waitUploadLog(t, e, before+1); strings.Contains(line, `"status":200`) {
			t.Fatalf("the cut upload was answered: %s", line)
		}
		if n := listCount(t, e, cut); n != 0 {
			t.Fatalf("the patient has %d documents after a cut upload", n)
		}
	})

	if n := listCount(t, e, maria); n != 1 {
		t.Errorf("maria has %d documents, want 1", n)
	}
}

func TestRecordUploadEdgeCap(t *testing.T) {
	s := newRecordsStack(t)
	e := serve(t, gateway.Options{Upstreams: []gateway.Upstream{s.up}, UploadMaxBytes: 2 << 20})
	token := s.patientToken()
	data := pdf(3 << 20)

	// Declared too long: refused before anything is read.
	r := do(t, http.MethodPost, uploadURL(e.url, "big"), bytes.NewReader(data), bearer(token, "application/pdf"))
	if r.status != http.StatusRequestEntityTooLarge || r.json(t)["code"] != float64(3) {
		t.Fatalf("upload: %d %s", r.status, r.body)
	}
	// Chunked and over: refused when the cap is crossed, with nothing stored.
	r = do(t, http.MethodPost, uploadURL(e.url, "big"), onlyReader{bytes.NewReader(data)}, bearer(token, "application/pdf"))
	if r.status != http.StatusRequestEntityTooLarge {
		t.Fatalf("chunked upload: %d %s", r.status, r.body)
	}
	if n := listCount(t, e, token); n != 0 {
		t.Fatalf("%d documents after refused uploads", n)
	}
	if got := parseError(t, r); got.reason != gateway.ReasonBodyTooLarge.Name() {
		t.Errorf("chunked upload: reason %q, want %s", got.reason, gateway.ReasonBodyTooLarge)
	}
	// Under the cap is fine, and the 1 MiB JSON limit does not apply.
	r = do(t, http.MethodPost, uploadURL(e.url, "ok"), onlyReader{bytes.NewReader(data[:3<<19])}, bearer(token, "application/pdf"))
	if r.status != http.StatusOK {
		t.Fatalf("upload under the cap: %d %s", r.status, r.body)
	}
}

// A document over the records service's own limit (below the edge's cap) is 413 too,
// with the service's reason, and nothing is stored.
func TestRecordUploadOverTheServiceLimitIs413(t *testing.T) {
	cfg := records.DefaultConfig()
	cfg.MaxUploadBytes = 1 << 20
	s := newRecordsStackWith(t, cfg)
	e := serve(t, gateway.Options{Upstreams: []gateway.Upstream{s.up}})
	token := s.patientToken()
	for name, body := range map[string]io.Reader{
		"declared length": bytes.NewReader(pdf(2 << 20)),
		"chunked":         onlyReader{bytes.NewReader(pdf(2 << 20))},
	} {
		r := do(t, http.MethodPost, uploadURL(e.url, "big"), body, bearer(token, "application/pdf"))
		if r.status != http.StatusRequestEntityTooLarge {
			t.Fatalf("%s: upload over the service's limit: %d %s, want 413", name, r.status, r.body)
		}
		if got := parseError(t, r); got.reason != gateway.ReasonDocumentTooLarge.Name() {
			t.Errorf("%s: reason %q, want %s", name, got.reason, gateway.ReasonDocumentTooLarge)
		}
	}
	if n := listCount(t, e, token); n != 0 {
		t.Fatalf("%d documents after refused uploads", n)
	}
}

// A complete download is one access line with status 200 and no warning, even when
// the client closes its connection as soon as it has the last byte (before the edge
// reads the end of the records stream).
func TestRecordDownloadCompleteIsLoggedOnce(t *testing.T) {
	s := newRecordsStack(t)
	e := serve(t, gateway.Options{Upstreams: []gateway.Upstream{s.up}})
	token := s.patientToken()
	data := pdf(5 << 20)
	r := do(t, http.MethodPost, uploadURL(e.url, "five"), bytes.NewReader(data), bearer(token, "application/pdf"))
	if r.status != http.StatusOK {
		t.Fatalf("upload: %d %s", r.status, r.body)
	}
	id := r.json(t)["document"].(map[string]any)["id"].(string)
	path := "/v1/records/documents/" + id + ":download"
	const downloads = 8
	for range downloads {
		// do closes the connection as soon as the body is read.
		if d := do(t, http.MethodGet, e.url+path, nil, bearer(token, "")); d.status != http.StatusOK || !bytes.Equal(d.body, data) {
			t.Fatalf("download: %d, %d bytes", d.status, len(d.body))
		}
	}
	line := `"path":"` + path + `"`
	waitLog(t, e, line, downloads)
	// The last download's line has been written; wait for no other.
	for l := range strings.Lines(e.logs.String()) {
		if strings.Contains(l, line) && !strings.Contains(l, `"status":200`) {
			t.Errorf("a complete download logged as %s", l)
		}
		if strings.Contains(l, "download aborted") {
			t.Errorf("a complete download warned: %s", l)
		}
	}
	if n := strings.Count(e.logs.String(), line); n != downloads {
		t.Errorf("%d access lines for %d downloads", n, downloads)
	}
}
