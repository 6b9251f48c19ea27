package records

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"healthcore/platform/pg"
)

// groupStore reads and writes the groups table: the folders of one patient's
// documents, named uniquely per patient ignoring case.
type groupStore struct{}

const groupColumns = `id::text, name, created_at, updated_at`

func scanGroup(row pgx.Row) (*group, error) {
	g := &group{}
	return g, row.Scan(&g.id, &g.name, &g.createdAt, &g.updatedAt)
}

// groupNameKey is the unique index of a patient's group names, ignoring case.
const groupNameKey = "groups_patient_name_key"

// insert writes a new group; a name the patient already uses is GROUP_EXISTS.
func (groupStore) insert(ctx context.Context, q pg.Querier, patientID, id, name string, at time.Time) (*group, error) {
	g, err := scanGroup(q.QueryRow(ctx, `INSERT INTO groups (id, patient_id, name, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $4) RETURNING `+groupColumns, id, patientID, name, at))
	if isViolationOf(err, "23505", groupNameKey) {
		return nil, errGroupExists
	}
	if err != nil {
		return nil, fmt.Errorf("insert group: %w", err)
	}
	return g, nil
}

// rename names the patient's group id anew; a name the patient already uses is
// GROUP_EXISTS, a group that is not theirs pgx.ErrNoRows (wrapped).
func (groupStore) rename(ctx context.Context, q pg.Querier, patientID, id, name string, at time.Time) (*group, error) {
	g, err := scanGroup(q.QueryRow(ctx, `UPDATE groups SET name = $3, updated_at = $4
		WHERE id = $1 AND patient_id = $2 RETURNING `+groupColumns, id, patientID, name, at))
	if isViolationOf(err, "23505", groupNameKey) {
		return nil, errGroupExists
	}
	if err != nil {
		return nil, fmt.Errorf("rename group: %w", err)
	}
	return g, nil
}

// listByPatient returns every group of the patient (a handful), by name ignoring
// case, then id.
func (groupStore) listByPatient(ctx context.Context, q pg.Querier, patientID string) ([]*group, error) {
	return queryAll(ctx, q, "list groups", scanGroup,
		`SELECT `+groupColumns+` FROM groups WHERE patient_id = $1 ORDER BY lower(name), id`, patientID)
}

// exists reports whether id is one of the patient's groups.
func (groupStore) exists(ctx context.Context, q pg.Querier, patientID, id string) (bool, error) {
	var ok bool
	if err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM groups WHERE id = $1 AND patient_id = $2)`, id, patientID).Scan(&ok); err != nil {
		return false, fmt.Errorf("check group: %w", err)
	}
	return ok, nil
}

// lockForShare takes a share lock on the patient's group id until q's transaction
// ends; pgx.ErrNoRows (wrapped) when it is not theirs.
func (groupStore) lockForShare(ctx context.Context, q pg.Querier, patientID, id string) error {
	var one int
	if err := q.QueryRow(ctx, `SELECT 1 FROM groups WHERE id = $1 AND patient_id = $2 FOR SHARE`, id, patientID).Scan(&one); err != nil {
		return fmt.Errorf("lock group for share: %w", err)
	}
	return nil
}
