package records

import (
	"context"
	"strings"

	"github.com/jackc/pgx/v5"

	recordsv1 "healthcore/gen/healthcore/records/v1"
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
			if err := checkNoBidi("title", "the title", t); err != nil {
				return nil, err
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

	var d *document
	err = s.atomically(ctx, "records: update document", func(tx pgx.Tx) error {
		// Locked, so a concurrent delete or update of the row waits for this one.
		if _, err := s.ownDocument(ctx, tx, p.UserID, r.GetDocumentId(), true); err != nil {
			return err
		}
		var err error
		d, err = s.documents.update(ctx, tx, r.GetDocumentId(), documentChange{title: title, kind: kind, groupID: group}, s.now().UTC())
		return err
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}
