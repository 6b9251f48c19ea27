package records

import (
	"context"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/timestamppb"

	recordsv1 "healthcore/gen/healthcore/records/v1"
	"healthcore/platform/errs"
	"healthcore/platform/pg"
)

// document is a documents row.
type document struct {
	id          uuid.UUID
	patientID   string
	title       string
	kind        string // exam, report, image, prescription, other
	examDate    string // YYYY-MM-DD or ""
	declared    string
	contentType string
	size        int64
	sha256      []byte
	blobKey     string
	dataKey     []byte // sealed by the keys service
	chunkSize   int
	noncePrefix []byte
	groupID     string
	createdAt   time.Time
	updatedAt   time.Time
}

// keyContext is the encryption context of the document's data key: ids only, never
// personal data. The keys service (KMS in production) refuses to decrypt the key
// under any other context, so a data key copied to another row is useless there.
func (d *document) keyContext() map[string]string {
	return map[string]string{"service": "records", "document": d.id.String(), "patient": d.patientID}
}

func (d *document) proto() *recordsv1.Document {
	return &recordsv1.Document{
		Id: d.id.String(), PatientId: d.patientID, Title: d.title, Kind: kindProto(d.kind), ExamDate: d.examDate,
		ContentType: d.contentType, SizeBytes: d.size, Sha256: hex.EncodeToString(d.sha256), GroupId: d.groupID,
		CreateTime: timestamppb.New(d.createdAt), UpdateTime: timestamppb.New(d.updatedAt),
	}
}

const kindPrefix = "DOCUMENT_KIND_"

// kindName is the stored name of a kind ("exam"); "" for unspecified.
func kindName(k recordsv1.DocumentKind) string {
	if k == recordsv1.DocumentKind_DOCUMENT_KIND_UNSPECIFIED {
		return ""
	}
	return strings.ToLower(strings.TrimPrefix(k.String(), kindPrefix))
}

func kindProto(name string) recordsv1.DocumentKind {
	return recordsv1.DocumentKind(recordsv1.DocumentKind_value[kindPrefix+strings.ToUpper(name)])
}

// ownDocument returns the caller's live document id, locked until q's transaction
// ends when lock is set. Someone else's document, a deleted one and a missing one are
// alike DOCUMENT_NOT_FOUND: the answer reveals nothing about documents that are not
// the caller's.
func (s *Service) ownDocument(ctx context.Context, q pg.Querier, patientID, id string, lock bool) (*document, error) {
	get := s.documents.getOwn
	if lock {
		get = s.documents.getOwnForUpdate
	}
	d, err := get(ctx, q, patientID, id)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errDocumentNotFound
	}
	if err != nil {
		return nil, errs.Internal("records: read document", err)
	}
	return d, nil
}

// getDocument is GetDocument.
func (s *Service) getDocument(ctx context.Context, id string) (_ *document, err error) {
	e := &entry{action: actRead, documentID: id}
	defer func() { err = s.audited(ctx, e, err) }()
	return s.readable(ctx, e, id)
}

// readable returns a document the caller may read: a patient's own, or one a live
// grant shares with the calling doctor (see sharedDocument).
func (s *Service) readable(ctx context.Context, e *entry, id string) (*document, error) {
	p, doctor, err := reader(ctx)
	if err != nil {
		return nil, err
	}
	if doctor {
		return s.sharedDocument(ctx, e, p.UserID, id)
	}
	return s.ownDocument(ctx, s.db, p.UserID, id, false)
}

// deleteDocument is DeleteDocument: it hides the document. The row and the object
// stay, forever (CFM rules keep medical records permanently).
func (s *Service) deleteDocument(ctx context.Context, id string) (err error) {
	e := &entry{action: actDelete, documentID: id}
	defer func() { err = s.audited(ctx, e, err) }()
	p, err := patient(ctx)
	if err != nil {
		return err
	}
	hidden, err := s.documents.hide(ctx, s.db, p.UserID, id, s.now().UTC())
	if err != nil {
		return errs.Internal("records: delete document", err)
	}
	if !hidden {
		return errDocumentNotFound
	}
	return nil
}
