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
)

// group is a groups row.
type group struct {
	id        string
	name      string
	createdAt time.Time
	updatedAt time.Time
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
	if err := checkNoBidi("name", "the group name", name); err != nil {
		return nil, err
	}
	e.groupID = uuid.NewString()
	g, err := s.groups.insert(ctx, s.db, p.UserID, e.groupID, name, s.now().UTC())
	if errors.Is(err, errGroupExists) {
		e.groupID = ""
		return nil, err
	}
	if err != nil {
		return nil, errs.Internal("records: create group", err)
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
	if err := checkNoBidi("name", "the group name", name); err != nil {
		return nil, err
	}
	g, err := s.groups.rename(ctx, s.db, p.UserID, id, name, s.now().UTC())
	switch {
	case errors.Is(err, errGroupExists):
		return nil, err
	case errors.Is(err, pgx.ErrNoRows):
		return nil, errGroupNotFound
	case err != nil:
		return nil, errs.Internal("records: rename group", err)
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
	gs, err := s.groups.listByPatient(ctx, s.db, p.UserID)
	if err != nil {
		return nil, errs.Internal("records: list groups", err)
	}
	return gs, nil
}

// checkGroup fails with GROUP_NOT_FOUND unless id is one of the patient's groups.
func (s *Service) checkGroup(ctx context.Context, patientID, id string) error {
	ok, err := s.groups.exists(ctx, s.db, patientID, id)
	if err != nil {
		return errs.Internal("records: check group", err)
	}
	if !ok {
		return errGroupNotFound
	}
	return nil
}
