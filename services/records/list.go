package records

import (
	"context"

	"github.com/google/uuid"

	recordsv1 "healthcore/gen/healthcore/records/v1"
	"healthcore/platform/errs"
	"healthcore/platform/pagetoken"
)

const (
	defaultDocumentPage = 20
	defaultLogPage      = 50
)

func isUUID(s string) bool { return len(s) == 36 && uuid.Validate(s) == nil }

// listDocuments is ListDocuments: the caller's live documents, newest first, paged by
// (created_at, id).
func (s *Service) listDocuments(ctx context.Context, r *recordsv1.ListDocumentsRequest) (_ []*document, next string, err error) {
	e := &entry{action: actList, groupID: r.GetGroupId()}
	defer func() { err = s.audited(ctx, e, err) }()
	p, err := patient(ctx)
	if err != nil {
		return nil, "", err
	}
	kind := kindName(r.GetKind())
	filter := pagetoken.Filter(p.UserID, kind, r.GetGroupId())
	c, err := pagetoken.Decode(r.GetPageToken(), filter, isUUID)
	if err != nil {
		return nil, "", err
	}
	size := int(r.GetPageSize())
	if size == 0 {
		size = defaultDocumentPage
	}
	docs, err := s.documents.list(ctx, s.db, documentFilter{
		patientID: p.UserID, kind: kind, groupID: r.GetGroupId(), after: c, limit: size + 1,
	})
	if err != nil {
		return nil, "", errs.Internal("records: list documents", err)
	}
	if len(docs) > size {
		docs = docs[:size]
		last := docs[size-1]
		next = pagetoken.Encode(filter, last.createdAt, last.id.String())
	}
	return docs, next, nil
}
