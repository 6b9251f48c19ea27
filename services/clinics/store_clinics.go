package clinics

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"healthcore/platform/pg"
)

// clinicStore keeps clinics, their affiliations and the affiliations' history.
type clinicStore struct{}

// clinic is a clinic row.
type clinic struct {
	ID, CNPJ, Name, Email, Phone string
	CreatedAt                    time.Time
}

// affiliation is an affiliation row with its clinic's name.
type affiliation struct {
	ClinicID, ClinicName, DoctorID string
	State                          string // invited, active, declined, ended
	Delegated                      bool
	InvitedAt, UpdatedAt           time.Time
}

// errCNPJTaken is insert's answer for a CNPJ already registered.
var errCNPJTaken = errors.New("cnpj taken")

// insert stores a new clinic; errCNPJTaken when its CNPJ is registered.
func (clinicStore) insert(ctx context.Context, q pg.Querier, c clinic, createdBy string) error {
	_, err := q.Exec(ctx, `INSERT INTO clinics (id, cnpj, name, email, phone, created_by, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, c.ID, c.CNPJ, c.Name, c.Email, c.Phone, createdBy, c.CreatedAt)
	switch {
	case pg.IsUniqueViolation(err):
		return errCNPJTaken
	case err != nil:
		return fmt.Errorf("insert clinic: %w", err)
	}
	return nil
}

// get returns the clinic; false when none has the id.
func (clinicStore) get(ctx context.Context, q pg.Querier, id string) (clinic, bool, error) {
	var c clinic
	err := q.QueryRow(ctx, `SELECT id::text, cnpj, name, email, phone, created_at FROM clinics WHERE id = $1`, id).
		Scan(&c.ID, &c.CNPJ, &c.Name, &c.Email, &c.Phone, &c.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return clinic{}, false, nil
	}
	if err != nil {
		return clinic{}, false, fmt.Errorf("select clinic: %w", err)
	}
	return c, true, nil
}

const affiliationColumns = `a.clinic_id::text, c.name, a.doctor_id::text, a.state, a.answers_delegated, a.invited_at, a.updated_at`

func scanAffiliations(rows pgx.Rows) ([]affiliation, error) {
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (affiliation, error) {
		var a affiliation
		err := row.Scan(&a.ClinicID, &a.ClinicName, &a.DoctorID, &a.State, &a.Delegated, &a.InvitedAt, &a.UpdatedAt)
		return a, err
	})
}

// affiliation returns the affiliation of the doctor with the clinic, locked until the
// transaction ends when forUpdate; false when there is none.
func (clinicStore) affiliation(ctx context.Context, q pg.Querier, clinicID, doctorID string, forUpdate bool) (affiliation, bool, error) {
	lock := ""
	if forUpdate {
		lock = " FOR UPDATE OF a"
	}
	rows, err := q.Query(ctx, `SELECT `+affiliationColumns+` FROM affiliations a JOIN clinics c ON c.id = a.clinic_id
		WHERE a.clinic_id = $1 AND a.doctor_id = $2`+lock, clinicID, doctorID)
	if err != nil {
		return affiliation{}, false, fmt.Errorf("select affiliation: %w", err)
	}
	list, err := scanAffiliations(rows)
	if err != nil || len(list) == 0 {
		return affiliation{}, false, err
	}
	return list[0], true, nil
}

// ofClinic and ofDoctor list affiliations, newest change first.
func (st clinicStore) ofClinic(ctx context.Context, q pg.Querier, clinicID string) ([]affiliation, error) {
	return st.list(ctx, q, "a.clinic_id", clinicID, 5000)
}

func (st clinicStore) ofDoctor(ctx context.Context, q pg.Querier, doctorID string) ([]affiliation, error) {
	return st.list(ctx, q, "a.doctor_id", doctorID, 1000)
}

// list returns the affiliations whose column (a constant of this file) is id.
func (clinicStore) list(ctx context.Context, q pg.Querier, column, id string, limit int) ([]affiliation, error) {
	rows, err := q.Query(ctx, `SELECT `+affiliationColumns+` FROM affiliations a JOIN clinics c ON c.id = a.clinic_id
		WHERE `+column+` = $1 ORDER BY a.updated_at DESC, a.clinic_id, a.doctor_id LIMIT $2`, id, limit)
	if err != nil {
		return nil, fmt.Errorf("select affiliations: %w", err)
	}
	return scanAffiliations(rows)
}

// engaged says whether a clinic holds the doctor or has invited them: an affiliation
// ACTIVE or INVITED (affiliations_doctor_idx).
func (clinicStore) engaged(ctx context.Context, q pg.Querier, doctorID string) (bool, error) {
	var ok bool
	if err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM affiliations WHERE doctor_id = $1 AND state IN ('invited', 'active'))`,
		doctorID).Scan(&ok); err != nil {
		return false, fmt.Errorf("select engaged affiliation: %w", err)
	}
	return ok, nil
}

// invite makes the doctor's affiliation with the clinic INVITED at the given time,
// inserting it or inviting again one declined or ended; one invited or active is left
// as it is. It returns whether it changed anything.
func (clinicStore) invite(ctx context.Context, q pg.Querier, clinicID, doctorID string, at time.Time) (bool, error) {
	tag, err := q.Exec(ctx, `INSERT INTO affiliations (clinic_id, doctor_id, state, invited_at, updated_at)
		VALUES ($1, $2, 'invited', $3, $3)
		ON CONFLICT (clinic_id, doctor_id) DO UPDATE SET state = 'invited', answers_delegated = false, invited_at = $3, updated_at = $3
		WHERE affiliations.state IN ('declined', 'ended')`, clinicID, doctorID, at)
	if err != nil {
		return false, fmt.Errorf("invite: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

// set changes the affiliation's state and delegation.
func (clinicStore) set(ctx context.Context, q pg.Querier, clinicID, doctorID, state string, delegated bool, at time.Time) error {
	if _, err := q.Exec(ctx, `UPDATE affiliations SET state = $3, answers_delegated = $4, updated_at = $5
		WHERE clinic_id = $1 AND doctor_id = $2`, clinicID, doctorID, state, delegated, at); err != nil {
		return fmt.Errorf("update affiliation: %w", err)
	}
	return nil
}

// record appends a change to the affiliation's history.
func (clinicStore) record(ctx context.Context, q pg.Querier, clinicID, doctorID, action, actorID, actorRole string, at time.Time) error {
	if _, err := q.Exec(ctx, `INSERT INTO affiliation_history (clinic_id, doctor_id, action, actor_id, actor_role, at)
		VALUES ($1, $2, $3, $4, $5, $6)`, clinicID, doctorID, action, actorID, actorRole, at); err != nil {
		return fmt.Errorf("insert affiliation history: %w", err)
	}
	return nil
}
