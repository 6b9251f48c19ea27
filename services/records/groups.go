package records

import (
	"context"
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

// group is a groups row.
type group struct {
	id        string
	name      string
	createdAt time.Time
	updatedAt time.Time
}

const groupColumns = `id::text, name, created_at, updated_at`

func scanGroup(row pgx.Row) (*group, error) {
	g := &group{}
	return g, row.Scan(&g.id, &g.name, &g.createdAt, &g.updatedAt)
}

func (g *group) proto() *recordsv1.Group {
	return &recordsv1.Group{Id: g.id, Name: g.name, CreateTime: timestamppb.New(g.createdAt), UpdateTime: timestamppb.New(g.updatedAt)}
}

// createGroup is CreateGroup. Names are unique per patient, ignoring case; the
// database's unique index decides, so two concurrent creations get one winner.
func (s *Service) createGroup(ctx context.Context, name string) (_ *group, err error) {
	e := &entry{action: actGroupCreate}
	defer func() { err = s.audited(ctx, e, err) }()
	p, err := patient(ctx)
	if err != nil {
		return nil, err
	}
	if name = strings.TrimSpace(name); name == "" {
		return nil, errBlankName
	}
	e.groupID = uuid.NewString()
	now := s.now().UTC()
	g, err := scanGroup(s.db.QueryRow(ctx, `INSERT INTO groups (id, patient_id, name, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $4) RETURNING `+groupColumns, e.groupID, p.UserID, name, now))
	if pg.IsUniqueViolation(err) {
		e.groupID = ""
		return nil, errGroupExists
	}
	if err != nil {
		return nil, errs.Internal("records: createGroup", err)
	}
	return g, nil
}

// renameGroup is RenameGroup.
func (s *Service) renameGroup(ctx context.Context, id, name string) (_ *group, err error) {
	e := &entry{action: actGroupRename, groupID: id}
	defer func() { err = s.audited(ctx, e, err) }()
	p, err := patient(ctx)
	if err != nil {
		return nil, err
	}
	if name = strings.TrimSpace(name); name == "" {
		return nil, errBlankName
	}
	g, err := scanGroup(s.db.QueryRow(ctx, `UPDATE groups SET name = $3, updated_at = $4
		WHERE id = $1 AND patient_id = $2 RETURNING `+groupColumns, id, p.UserID, name, s.now().UTC()))
	switch {
	case pg.IsUniqueViolation(err):
		return nil, errGroupExists
	case errors.Is(err, pgx.ErrNoRows):
		return nil, errGroupNotFound
	case err != nil:
		return nil, errs.Internal("records: renameGroup", err)
	}
	return g, nil
}

// listGroups is ListGroups: every group of the caller (a patient has a handful), by
// name.
func (s *Service) listGroups(ctx context.Context) (_ []*group, err error) {
	e := &entry{action: actGroupList}
	defer func() { err = s.audited(ctx, e, err) }()
	p, err := patient(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.Query(ctx, `SELECT `+groupColumns+` FROM groups WHERE patient_id = $1 ORDER BY lower(name), id`, p.UserID)
	if err != nil {
		return nil, errs.Internal("records: listGroups", err)
	}
	gs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*group, error) { return scanGroup(row) })
	if err != nil {
		return nil, errs.Internal("records: listGroups", err)
	}
	return gs, nil
}

// checkGroup fails with GROUP_NOT_FOUND unless id is one of the patient's groups.
func (s *Service) checkGroup(ctx context.Context, patientID, id string) error {
	var ok bool
	if err := s.db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM groups WHERE id = $1 AND patient_id = $2)`, id, patientID).Scan(&ok); err != nil {
		return errs.Internal("records: checkGroup", err)
	}
	if !ok {
		return errGroupNotFound
	}
	return nil
}
