package records

import (
	"context"
	"errors"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	recordsv1 "healthcore/gen/healthcore/records/v1"
	"healthcore/platform/errs"
)

// updateDocument is UpdateDocument: it changes the fields update_mask names.
func (s *Service) updateDocument(ctx context.Context, r *recordsv1.UpdateDocumentRequest) (_ *document, err error) {
	e := &entry{action: actUpdate, documentID: r.GetDocumentId()}
	defer func() { err = s.audited(ctx, e, err) }()
	p, err := patient(ctx)
	if err != nil {
		return nil, err
	}
	paths := r.GetUpdateMask().GetPaths()
	if len(paths) == 0 {
		return nil, errEmptyMask
	}
	var title, kind, group *string
	for _, path := range paths {
		switch path {
		case "title":
			t := strings.TrimSpace(r.GetTitle())
			if t == "" {
				return nil, errBlankTitle
			}
			title = &t
		case "kind":
			k := kindName(r.GetKind())
			if k == "" {
				return nil, errKindRequired
			}
			kind = &k
		case "group_id":
			g := r.GetGroupId()
			group, e.groupID = &g, g
		default:
			return nil, errBadMask(path)
		}
	}

	tx, err := s.db.Begin(ctx)
	if err != nil {
		return nil, errs.Internal("records: updateDocument", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if _, err := s.ownDocument(ctx, tx, p.UserID, r.GetDocumentId(), true); err != nil {
		return nil, err
	}
	// A group must be the caller's: the (group_id, patient_id) foreign key says so.
	d, err := scanDocument(tx.QueryRow(ctx, `UPDATE documents SET
			title = coalesce($2, title),
			kind = coalesce($3, kind),
			group_id = CASE WHEN $4::text IS NULL THEN group_id ELSE NULLIF($4, '')::uuid END,
			updated_at = $5
		WHERE id = $1 RETURNING `+documentColumns,
		r.GetDocumentId(), title, kind, group, s.now().UTC()))
	if isForeignKeyViolation(err) {
		return nil, errGroupNotFound
	}
	if err != nil {
		return nil, errs.Internal("records: updateDocument", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, errs.Internal("records: updateDocument", err)
	}
	return d, nil
}

func isForeignKeyViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23503"
}
