package identity

import (
	"archive/zip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"time"
	"unicode"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	accessv1 "healthcore/gen/healthcore/access/v1"
	notificationsv1 "healthcore/gen/healthcore/notifications/v1"
	paymentsv1 "healthcore/gen/healthcore/payments/v1"
	recordsv1 "healthcore/gen/healthcore/records/v1"
	schedulingv1 "healthcore/gen/healthcore/scheduling/v1"
	"healthcore/platform/authn"
	"healthcore/platform/blobio"
	"healthcore/platform/br"
	"healthcore/platform/chunkseal"
)

// The archive of a data export is a zip:
//
//	identity.json       the account (contact fields opened), its sessions, and the audit
//	                    log's entries about it
//	scheduling.json     every appointment with its whole history and the texts written
//	payments.json       every payment with its refunds and history
//	records.json        every document's metadata (deleted ones too), groups, shares,
//	                    and the record's access log
//	notifications.json  every notification sent, with channels and times
//	documents/<id>-<name>  each document's file, as uploaded
//
// It is written as it is gathered: each document streams from records into the zip,
// through the chunk cipher, into blobs, so identity holds one chunk of it at a time
// (and each service's JSON part, which holds no files). The JSON parts use the API's
// field names (protojson), as the REST answers do.

// archiveJSON is how the parts are written: the API's names, every field present.
var archiveJSON = protojson.MarshalOptions{Multiline: true, Indent: "  ", EmitUnpopulated: true}

// identityPart is identity.json.
type identityPart struct {
	Account  accountPart      `json:"account"`
	Sessions []sessionSummary `json:"sessions"`
	Audit    []auditSummary   `json:"audit"`
}

// accountPart is the account as its owner sees it, personal fields opened.
type accountPart struct {
	ID              string     `json:"id"`
	Role            string     `json:"role"`
	Name            string     `json:"name"`
	Email           string     `json:"email"`
	EmailVerifiedAt *time.Time `json:"emailVerifiedTime,omitempty"`
	CPF             string     `json:"cpf,omitempty"`
	Phone           string     `json:"phone,omitempty"`
	BirthDate       string     `json:"birthDate,omitempty"`
	CreatedAt       time.Time  `json:"createTime"`
}

// writeArchive gathers account a's data into the archive, sealed with c, stored in
// blobs under key. It returns the archive's (plaintext) size.
func (s *Service) writeArchive(ctx context.Context, a account, key string, c *chunkseal.Cipher) (int64, error) {
	put := blobio.NewPut(ctx, s.peers.blobs, key, chunkseal.SealedSize(s.cfg.ExportMaxBytes))
	committed := false
	defer func() {
		if !committed {
			put.Abort()
		}
	}()
	sealed := chunkseal.NewWriter(c, func(p []byte) error { _, err := put.Write(p); return err })
	z := zip.NewWriter(sealed)
	if err := s.writeParts(ctx, z, a); err != nil {
		return 0, fmt.Errorf("identity: data export of %s: %w", a.ID, err)
	}
	if err := z.Close(); err != nil {
		return 0, fmt.Errorf("identity: data export: close zip: %w", err)
	}
	if err := sealed.Close(); err != nil {
		return 0, fmt.Errorf("identity: data export: seal: %w", err)
	}
	if err := put.Commit(); err != nil {
		return 0, fmt.Errorf("identity: data export: %w", err)
	}
	committed = true
	return sealed.Size(), nil
}

// writeParts writes every service's part, then the documents' files.
func (s *Service) writeParts(ctx context.Context, z *zip.Writer, a account) error {
	own, err := s.identityPart(ctx, a)
	if err != nil {
		return err
	}
	if err := writeJSON(z, "identity.json", own); err != nil {
		return err
	}
	appts, err := s.peers.scheduling.ExportPatientAppointments(ctx, connect.NewRequest(&schedulingv1.ExportPatientAppointmentsRequest{PatientId: a.ID}))
	if err != nil {
		return fmt.Errorf("scheduling: %w", err)
	}
	pays, err := s.peers.payments.ExportPatientPayments(ctx, connect.NewRequest(&paymentsv1.ExportPatientPaymentsRequest{PatientId: a.ID}))
	if err != nil {
		return fmt.Errorf("payments: %w", err)
	}
	recs, err := s.peers.records.ExportPatientRecords(ctx, connect.NewRequest(&recordsv1.ExportPatientRecordsRequest{PatientId: a.ID}))
	if err != nil {
		return fmt.Errorf("records: %w", err)
	}
	notes, err := s.notifications.ExportRecipientNotifications(ctx, connect.NewRequest(&notificationsv1.ExportRecipientNotificationsRequest{AccountId: a.ID}))
	if err != nil {
		return fmt.Errorf("notifications: %w", err)
	}
	for _, part := range []struct {
		name string
		msg  proto.Message
	}{{"scheduling.json", appts.Msg}, {"payments.json", pays.Msg}, {"records.json", recs.Msg}, {"notifications.json", notes.Msg}} {
		b, err := archiveJSON.Marshal(part.msg)
		if err != nil {
			return fmt.Errorf("encode %s: %w", part.name, err)
		}
		if err := writeFile(z, part.name, zip.Deflate, b); err != nil {
			return err
		}
	}
	for _, d := range recs.Msg.GetDocuments() {
		if err := s.writeDocument(ctx, z, a.ID, d); err != nil {
			return err
		}
	}
	return nil
}

// identityPart is what identity holds about a: the account, personal fields opened,
// its sessions and the audit log's entries about it.
func (s *Service) identityPart(ctx context.Context, a account) (identityPart, error) {
	out := identityPart{Account: accountPart{ID: a.ID, Role: authn.RoleName(a.Role), Name: a.Name, Email: a.Email,
		EmailVerifiedAt: a.EmailVerifiedAt, CreatedAt: a.CreatedAt}}
	if a.Role == accessv1.Role_ROLE_PATIENT && len(a.PII) > 0 {
		pii, err := s.openPII(ctx, a.ID, a.PII)
		if err != nil {
			return out, fmt.Errorf("open personal fields: %w", err)
		}
		out.Account.CPF, out.Account.Phone, out.Account.BirthDate = br.FormatCPF(pii.CPF), pii.Phone, pii.BirthDate
	}
	var err error
	if out.Sessions, err = s.sessions.listByAccount(ctx, s.db, a.ID); err != nil {
		return out, err
	}
	out.Audit, err = s.auditLog.aboutSubject(ctx, s.db, a.ID)
	return out, err
}

// writeDocument streams one document's file from records into the zip, stored as is
// (PDFs and images are compressed already).
func (s *Service) writeDocument(ctx context.Context, z *zip.Writer, patientID string, d *recordsv1.Document) error {
	stream, err := s.peers.records.ReadPatientDocument(ctx, connect.NewRequest(&recordsv1.ReadPatientDocumentRequest{
		PatientId: patientID, DocumentId: d.GetId()}))
	if err != nil {
		return fmt.Errorf("records: read document %s: %w", d.GetId(), err)
	}
	defer stream.Close()
	if !stream.Receive() { // the document's metadata
		return fmt.Errorf("records: read document %s: %w", d.GetId(), errors.Join(stream.Err(), io.ErrUnexpectedEOF))
	}
	w, err := z.CreateHeader(&zip.FileHeader{Name: documentPath(d), Method: zip.Store, Modified: d.GetCreateTime().AsTime()})
	if err != nil {
		return err
	}
	var n int64
	for stream.Receive() {
		m, err := w.Write(stream.Msg().GetChunk())
		if err != nil {
			return err
		}
		n += int64(m)
	}
	if err := stream.Err(); err != nil {
		return fmt.Errorf("records: read document %s: %w", d.GetId(), err)
	}
	if n != d.GetSizeBytes() {
		return fmt.Errorf("records: document %s: %d bytes, want %d", d.GetId(), n, d.GetSizeBytes())
	}
	return nil
}

// extensions are the file name extensions of the content types records accepts.
var extensions = map[string]string{
	"application/pdf": ".pdf", "image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp", "application/dicom": ".dcm",
}

// documentPath is documents/<id>-<name>: the title with only letters, digits, '-',
// '_' and '.' kept (at most 80 of them), and the content type's extension.
func documentPath(d *recordsv1.Document) string {
	var b strings.Builder
	for _, r := range d.GetTitle() {
		if b.Len() >= 80 {
			break
		}
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_' || r == '.':
			b.WriteRune(r)
		default:
			b.WriteRune('_')
		}
	}
	name := strings.Trim(b.String(), "._")
	if name == "" {
		name = "documento"
	}
	if ext := extensions[d.GetContentType()]; ext != "" && !strings.EqualFold(path.Ext(name), ext) {
		name += ext
	}
	return "documents/" + d.GetId() + "-" + name
}

// writeJSON writes v, indented, as file name.
func writeJSON(z *zip.Writer, name string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", name, err)
	}
	return writeFile(z, name, zip.Deflate, b)
}

func writeFile(z *zip.Writer, name string, method uint16, b []byte) error {
	w, err := z.CreateHeader(&zip.FileHeader{Name: name, Method: method})
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}
