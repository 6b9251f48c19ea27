package records

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	recordsv1 "healthcore/gen/healthcore/records/v1"
	"healthcore/platform/errs"
	"healthcore/platform/pagetoken"
)

const (
	defaultDocumentPage = 20
	defaultLogPage      = 50
)

func isUUID(s string) bool { return len(s) == 36 && uuid.Validate(s) == nil }

// where collects the conditions of a list query.
type where struct {
	conds []string
	args  []any
}

// add appends a condition whose %d verbs number the placeholders of vs.
func (w *where) add(cond string, vs ...any) {
	n := make([]any, len(vs))
	for i, v := range vs {
		w.args = append(w.args, v)
		n[i] = len(w.args)
	}
	w.conds = append(w.conds, fmt.Sprintf(cond, n...))
}

func (w *where) sql() string { return strings.Join(w.conds, " AND ") }

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
	w := &where{conds: []string{"deleted_at IS NULL"}}
	w.add("patient_id = $%d", p.UserID)
	if kind != "" {
		w.add("kind = $%d", kind)
	}
	if r.GetGroupId() != "" {
		w.add("group_id = $%d", r.GetGroupId())
	}
	if c != nil {
		w.add("(created_at, id) < ($%d, $%d::uuid)", c.Time(), c.ID)
	}
	rows, err := s.db.Query(ctx, `SELECT `+documentColumns+` FROM documents WHERE `+w.sql()+
		fmt.Sprintf(` ORDER BY created_at DESC, id DESC LIMIT %d`, size+1), w.args...)
	if err != nil {
		return nil, "", errs.Internal("records: listDocuments", err)
	}
	docs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*document, error) { return scanDocument(row) })
	if err != nil {
		return nil, "", errs.Internal("records: listDocuments", err)
	}
	if len(docs) > size {
		docs = docs[:size]
		last := docs[size-1]
		next = pagetoken.Encode(filter, last.createdAt, last.id.String())
	}
	return docs, next, nil
}
