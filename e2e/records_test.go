package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"connectrpc.com/connect"

	recordsv1 "healthcore/gen/healthcore/records/v1"
	"healthcore/gen/healthcore/records/v1/recordsv1connect"
	"healthcore/services/records"
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
	client := recordsv1connect.NewRecordsServiceClient(s.httpsClient(s.public()), "https://"+s.addr["records"], connect.WithGRPC())
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

// TestMultiProcess_PatientSharesAGroupForAnHourThenRevokes is the README's records
// walk-through over REST: a patient uploads an exam into a group, shares the group
// with a doctor for one hour, the doctor downloads it, the patient revokes, the
// doctor is refused, and the patient sees all of it in the access log.
func TestMultiProcess_PatientSharesAGroupForAnHourThenRevokes(t *testing.T) {
	s := startStack(t)
	s.rest("POST", "/v1/accounts/patients", "", map[string]string{
		"name": "Maria da Silva", "email": "maria@example.com", "cpf": "529.982.247-25",
		"password": "correct horse battery", "phone": "+5511987654321", "birthDate": "1985-04-12",
	}, nil)
	s.verifyEmail("maria@example.com") // sharing needs a confirmed address
	var pl struct{ Tokens tokenPair }
	s.rest("POST", "/v1/auth/login", "", map[string]string{"email": "maria@example.com", "password": "correct horse battery"}, &pl)
	doctorID, doctor := s.loginDoctorIn("Dra. Ana Souza", "654321", "RJ", "ana@clinica.com.br")
	s.rest("PUT", "/v1/doctors/me/profile", doctor, map[string]any{"displayName": "Dra. Ana Souza", "timeZone": "America/Sao_Paulo"}, nil)
	patient := pl.Tokens.AccessToken

	var group struct{ Group struct{ ID string } }
	s.rest("POST", "/v1/records/groups", patient, map[string]string{"name": "Cardiologia 2026"}, &group)
	exam := append([]byte("%PDF-1.7\n"), bytes.Repeat([]byte("ecocardiograma: fração de ejeção 62%\n"), 2000)...)
	req, _ := http.NewRequest("POST", s.gateway+"/v1/records/documents:upload?title=Eco&kind=EXAM&groupId="+group.Group.ID, bytes.NewReader(exam))
	req.Header.Set("Authorization", "Bearer "+patient)
	req.Header.Set("Content-Type", "application/pdf")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var up struct{ Document struct{ ID string } }
	_ = json.NewDecoder(resp.Body).Decode(&up)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || up.Document.ID == "" {
		t.Fatalf("upload: %d %+v", resp.StatusCode, up)
	}

	var share struct{ Share struct{ ID string } }
	code, _ := s.rest("POST", "/v1/records/shares", patient, map[string]any{
		"doctorId": doctorID, "groupIds": []string{group.Group.ID}, "expireTime": time.Now().Add(time.Hour).UTC().Format(time.RFC3339),
	}, &share)
	if code != http.StatusOK || share.Share.ID == "" {
		t.Fatalf("share: %d %+v", code, share)
	}

	download := func() (int, []byte) {
		req, _ := http.NewRequest("GET", s.gateway+"/v1/records/documents/"+up.Document.ID+":download", nil)
		req.Header.Set("Authorization", "Bearer "+doctor)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, body
	}
	if code, body := download(); code != http.StatusOK || !bytes.Equal(body, exam) {
		t.Fatalf("doctor download under a live grant: %d, %d bytes", code, len(body))
	}

	code, _ = s.rest("POST", "/v1/records/shares/"+share.Share.ID+":revoke", patient, map[string]string{}, nil)
	if code != http.StatusOK {
		t.Fatalf("revoke: %d", code)
	}
	code, body := download()
	var e errorJSON
	_ = json.Unmarshal(body, &e)
	if code != http.StatusForbidden || reason(e) != records.ReasonShareRevoked.Name() {
		t.Errorf("doctor download after revoke: %d %s", code, body)
	}

	var log struct {
		Entries []struct {
			Action, Outcome, ActorRole, ActorCrm string
		}
	}
	s.rest("GET", "/v1/records/access-log?actorId="+doctorID, patient, nil, &log)
	seen := map[string]bool{}
	for _, en := range log.Entries {
		if en.ActorRole != "doctor" || en.ActorCrm != "654321/RJ" {
			t.Errorf("entry %+v is not the doctor's", en)
		}
		seen[en.Action+"/"+en.Outcome] = true
	}
	if !seen["document.download/ok"] || !seen["document.download/denied"] {
		t.Errorf("the patient's log of the doctor = %+v, want a download and a refused one", log.Entries)
	}
}
