package gateway_test

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strings"
	"testing"

	"healthcore/gateway"
	"healthcore/services/records"
)

// A title typed with U+202E is refused with its reason; a file name that carries one
// (it came from the sender's device) is stored without it, and the download's
// Content-Disposition names the file without it.
func TestRecordFiles_BidiControlsInTitlesAndFileNames(t *testing.T) {
	s := newRecordsStack(t)
	e := serve(t, gateway.Options{Upstreams: []gateway.Upstream{s.up}})
	maria := s.patientToken()

	r := do(t, http.MethodPost, uploadURL(e.url, "exame\u202Efdp.exe"), bytes.NewReader(pdf(4096)), bearer(maria, "application/pdf"))
	if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), records.ReasonBidiControl.Name()) {
		t.Fatalf("title with U+202E: %d %s", r.status, r.body)
	}

	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("kind", "DOCUMENT_KIND_EXAM")
	part, err := mw.CreatePart(textproto.MIMEHeader{
		"Content-Disposition": {"form-data; name=\"file\"; filename=\"receita\u202Efdp.exe\""},
		"Content-Type":        {"application/pdf"},
	})
	if err != nil {
		t.Fatal(err)
	}
	_, _ = part.Write(pdf(4096))
	_ = mw.Close()
	r = do(t, http.MethodPost, e.url+"/v1/records/documents:upload", &body, bearer(maria, mw.FormDataContentType()))
	if r.status != http.StatusOK {
		t.Fatalf("multipart upload: %d %s", r.status, r.body)
	}
	doc, _ := r.json(t)["document"].(map[string]any)
	if doc["title"] != "receitafdp.exe" {
		t.Fatalf("stored title %q, want the file name without U+202E", doc["title"])
	}
	d := do(t, http.MethodGet, e.url+"/v1/records/documents/"+doc["id"].(string)+":download", nil, bearer(maria, ""))
	want := `attachment; filename="receitafdp.exe.pdf"; filename*=UTF-8''receitafdp.exe.pdf`
	if d.status != http.StatusOK || d.header.Get("Content-Disposition") != want {
		t.Fatalf("download: %d, Content-Disposition %q, want %q", d.status, d.header.Get("Content-Disposition"), want)
	}
}
