package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"testing"

	"connectrpc.com/connect"

	recordsv1 "healthcore/gen/healthcore/records/v1"
	"healthcore/gen/healthcore/records/v1/recordsv1connect"
	"healthcore/platform/testkit"
)

// TestMultiProcess_PatientKeepsAnEncryptedExam uploads an exam over gRPC to the records
// process (which seals it through the keys process and stores ciphertext through the
// blobs process), reads it back byte for byte, and sees it and the access log over REST.
func TestMultiProcess_PatientKeepsAnEncryptedExam(t *testing.T) {
	s := startStack(t)
	s.rest("POST", "/v1/accounts/patients", "", map[string]string{
		"name": "Maria da Silva", "email": "maria@example.com", "cpf": "529.982.247-25",
		"password": "correct horse battery", "phone": "+5511987654321", "birthDate": "1985-04-12",
	}, nil)
	var login struct{ Tokens tokenPair }
	s.rest("POST", "/v1/auth/login", "", map[string]string{"email": "maria@example.com", "password": "correct horse battery"}, &login)
	token := "Bearer " + login.Tokens.AccessToken

	exam := append([]byte("%PDF-1.7\n"), bytes.Repeat([]byte("hemograma completo: leucócitos 6.500/mm³\n"), 5000)...)
	client := recordsv1connect.NewRecordsServiceClient(testkit.HTTPClient(t), "http://"+s.addr["records"], connect.WithGRPC())
	ctx := context.Background()
	up := client.UploadDocument(ctx)
	up.RequestHeader().Set("Authorization", token)
	send := func(m *recordsv1.UploadDocumentRequest) {
		if err := up.Send(m); err != nil {
			t.Fatalf("send: %v", err)
		}
	}
	send(&recordsv1.UploadDocumentRequest{Part: &recordsv1.UploadDocumentRequest_Metadata{Metadata: &recordsv1.UploadMetadata{
		Title: "Hemograma", Kind: recordsv1.DocumentKind_DOCUMENT_KIND_EXAM, ExamDate: "2026-11-20", ContentType: "application/pdf",
	}}})
	for off := 0; off < len(exam); off += 100_000 {
		send(&recordsv1.UploadDocumentRequest{Part: &recordsv1.UploadDocumentRequest_Chunk{Chunk: exam[off:min(off+100_000, len(exam))]}})
	}
	sum := sha256.Sum256(exam)
	send(&recordsv1.UploadDocumentRequest{Part: &recordsv1.UploadDocumentRequest_Trailer{Trailer: &recordsv1.UploadTrailer{
		Size: int64(len(exam)), Sha256: hex.EncodeToString(sum[:]),
	}}})
	res, err := up.CloseAndReceive()
	if err != nil {
		t.Fatalf("upload: %v", err)
	}
	doc := res.Msg.GetDocument()
	if doc.GetSizeBytes() != int64(len(exam)) || doc.GetTitle() != "Hemograma" {
		t.Fatalf("uploaded %v", doc)
	}

	req := connect.NewRequest(&recordsv1.DownloadDocumentRequest{DocumentId: doc.GetId()})
	req.Header().Set("Authorization", token)
	down, err := client.DownloadDocument(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	var got []byte
	for down.Receive() {
		got = append(got, down.Msg().GetChunk()...)
	}
	if err := down.Err(); err != nil || !bytes.Equal(got, exam) {
		t.Fatalf("download: %d bytes (want %d), %v", len(got), len(exam), err)
	}

	var list struct {
		Documents []struct{ ID, Title string }
	}
	code, _ := s.rest("GET", "/v1/records/documents", login.Tokens.AccessToken, nil, &list)
	if code != http.StatusOK || len(list.Documents) != 1 || list.Documents[0].ID != doc.GetId() {
		t.Errorf("REST list: %d %+v", code, list)
	}
	var log struct {
		Entries []struct{ Action, Outcome, RequestID string }
	}
	code, _ = s.rest("GET", "/v1/records/access-log", login.Tokens.AccessToken, nil, &log)
	actions := map[string]bool{}
	for _, e := range log.Entries {
		actions[e.Action+"/"+e.Outcome] = true
	}
	for _, want := range []string{"document.upload/ok", "document.download/ok", "document.list/ok"} {
		if code != http.StatusOK || !actions[want] {
			t.Errorf("REST access log %d lacks %s: %+v", code, want, log)
		}
	}
}
