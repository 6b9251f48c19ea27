package identity

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	accessv1 "healthcore/gen/healthcore/access/v1"
	"healthcore/platform/authn"
	"healthcore/platform/pg"
)

// accountStore reads and writes accounts: patients, doctors and admins, with a
// patient's sealed personal fields (pii) and the blind index of the CPF.
type accountStore struct{}

const accountColumns = `id::text, role, name, email, password_hash, coalesce(crm_number, ''), coalesce(crm_uf, ''), pii, created_at,
	coalesce(doctor_status, ''), coalesce(doctor_status_at, 'epoch'), email_verified_at, erased_at`

func scanAccount(row pgx.Row) (account, error) {
	var a account
	var role string
	err := row.Scan(&a.ID, &role, &a.Name, &a.Email, &a.PasswordHash, &a.CRMNumber, &a.CRMUF, &a.PII, &a.CreatedAt,
		&a.DoctorStatus, &a.DoctorStatusAt, &a.EmailVerifiedAt, &a.ErasedAt)
	a.Role, _ = authn.ParseRole(role)
	return a, err
}

// insert stores a new account, with cpfIndex for a patient (nil otherwise). An e-mail,
// CPF or CRM already taken is ACCOUNT_EXISTS; which one is not said.
func (accountStore) insert(ctx context.Context, q pg.Querier, a account, cpfIndex []byte) error {
	if a.Role == accessv1.Role_ROLE_DOCTOR && a.DoctorStatus == "" {
		a.DoctorStatus = doctorPending
	}
	_, err := q.Exec(ctx, `INSERT INTO accounts (id, role, name, email, password_hash, crm_number, crm_uf, cpf_index, pii, created_at, updated_at,
			doctor_status, doctor_status_at, email_verified_at)
		VALUES ($1, $2, $3, $4, $5, NULLIF($6, ''), NULLIF($7, ''), $8, $9, $10, $10, NULLIF($11, ''), CASE WHEN $11 <> '' THEN $10::timestamptz END, $12)`,
		a.ID, authn.RoleName(a.Role), a.Name, a.Email, a.PasswordHash, a.CRMNumber, a.CRMUF, cpfIndex, a.PII, a.CreatedAt,
		a.DoctorStatus, a.EmailVerifiedAt)
	if pg.IsUniqueViolation(err) {
		return errAccountExists.WithCause(err)
	}
	if err != nil {
		return fmt.Errorf("insert account: %w", err)
	}
	return nil
}

// get returns the account with id; ok is false when there is none.
func (accountStore) get(ctx context.Context, q pg.Querier, id string) (account, bool, error) {
	return findAccount(q.QueryRow(ctx, `SELECT `+accountColumns+` FROM accounts WHERE id = $1`, id))
}

// findByLoginEmail returns the patient or admin who logs in with email (normalised);
// doctors log in by CRM, so their e-mail does not name them here.
func (accountStore) findByLoginEmail(ctx context.Context, q pg.Querier, email string) (account, bool, error) {
	return findAccount(q.QueryRow(ctx, `SELECT `+accountColumns+` FROM accounts
		WHERE role IN ('patient', 'admin') AND email = $1 AND erased_at IS NULL`, email))
}

// findByCPFIndex returns the patient whose CPF has the blind index idx.
func (accountStore) findByCPFIndex(ctx context.Context, q pg.Querier, idx []byte) (account, bool, error) {
	return findAccount(q.QueryRow(ctx, `SELECT `+accountColumns+` FROM accounts WHERE cpf_index = $1 AND erased_at IS NULL`, idx))
}

// findByRoleEmail returns the account of role (its stored name) with email
// (normalised): an address is unique per role.
func (accountStore) findByRoleEmail(ctx context.Context, q pg.Querier, role, email string) (account, bool, error) {
	return findAccount(q.QueryRow(ctx, `SELECT `+accountColumns+` FROM accounts WHERE role = $1 AND email = $2`, role, email))
}

// maxCRMClaimants bounds the claimants of one CRM that a login checks a password
// against (each check is a password hash).
const maxCRMClaimants = 5

// findDoctorsByCRM returns the doctors registered under the CRM number (normalised) and
// UF: the one an operator vouched for (verified or suspended) first, then the competing
// claims, oldest first; at most maxCRMClaimants.
func (accountStore) findDoctorsByCRM(ctx context.Context, q pg.Querier, number, uf string) ([]account, error) {
	rows, err := q.Query(ctx, `SELECT `+accountColumns+` FROM accounts
		WHERE role = 'doctor' AND crm_number = $1 AND crm_uf = $2
		ORDER BY doctor_status IN ('verified', 'suspended') DESC, doctor_status = 'rejected', created_at, id
		LIMIT $3`, number, uf, maxCRMClaimants)
	if err != nil {
		return nil, fmt.Errorf("select CRM claimants: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (account, error) { return scanAccount(r) })
	if err != nil {
		return nil, fmt.Errorf("select CRM claimants: %w", err)
	}
	return out, nil
}

func findAccount(row pgx.Row) (account, bool, error) {
	a, err := scanAccount(row)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return account{}, false, nil
	case err != nil:
		return account{}, false, fmt.Errorf("select account: %w", err)
	}
	return a, true, nil
}

// setPasswordHash replaces the account's password hash.
func (accountStore) setPasswordHash(ctx context.Context, q pg.Querier, id, hash string, at time.Time) error {
	tag, err := q.Exec(ctx, `UPDATE accounts SET password_hash = $2, updated_at = $3 WHERE id = $1`, id, hash, at)
	if err != nil {
		return fmt.Errorf("update password hash of %s: %w", id, err)
	}
	if tag.RowsAffected() != 1 {
		return fmt.Errorf("update password hash of %s: %w", id, pgx.ErrNoRows)
	}
	return nil
}

// setVerifiedEmail sets the account's address to email, verified at the given time.
// An address another account of the role holds is ACCOUNT_EXISTS.
func (accountStore) setVerifiedEmail(ctx context.Context, q pg.Querier, id, email string, at time.Time) error {
	tag, err := q.Exec(ctx, `UPDATE accounts SET email = $2, email_verified_at = $3, updated_at = $3 WHERE id = $1`, id, email, at)
	if pg.IsUniqueViolation(err) {
		return errAccountExists.WithCause(err)
	}
	if err != nil {
		return fmt.Errorf("update e-mail of %s: %w", id, err)
	}
	if tag.RowsAffected() != 1 {
		return fmt.Errorf("update e-mail of %s: %w", id, pgx.ErrNoRows)
	}
	return nil
}

// markEmailVerified records that the owner proved the account's current address, at
// the given time, unless it was proved before.
func (accountStore) markEmailVerified(ctx context.Context, q pg.Querier, id string, at time.Time) error {
	if _, err := q.Exec(ctx, `UPDATE accounts SET email_verified_at = $2, updated_at = $2 WHERE id = $1 AND email_verified_at IS NULL`,
		id, at); err != nil {
		return fmt.Errorf("mark e-mail of %s verified: %w", id, err)
	}
	return nil
}

// erase anonymises patient id at at: no name, the placeholder e-mail, no CPF blind
// index, no sealed personal fields, the unusable password hash. It reports false when
// the account is not a patient's, or was erased before (the first erasure stands).
func (accountStore) erase(ctx context.Context, q pg.Querier, id, placeholder, hash string, at time.Time) (bool, error) {
	tag, err := q.Exec(ctx, `UPDATE accounts SET name = '', email = $2, password_hash = $3, cpf_index = NULL, pii = NULL,
			email_verified_at = NULL, erased_at = $4, updated_at = $4
		WHERE id = $1 AND role = 'patient' AND erased_at IS NULL`, id, placeholder, hash, at)
	if err != nil {
		return false, fmt.Errorf("erase account %s: %w", id, err)
	}
	return tag.RowsAffected() == 1, nil
}

// dropCredentials deletes what else let the account's owner in: second factors,
// recovery codes, login challenges, the clients the account logged in from, and the
// e-mailed links (verification, reset, a pending address change).
func (accountStore) dropCredentials(ctx context.Context, q pg.Querier, id string) error {
	for _, table := range []string{"second_factors", "recovery_codes", "mfa_challenges", "login_clients", "account_tokens"} {
		if _, err := q.Exec(ctx, `DELETE FROM `+table+` WHERE account_id = $1`, id); err != nil {
			return fmt.Errorf("drop %s of %s: %w", table, id, err)
		}
	}
	return nil
}

// names returns the names of the accounts among ids that exist and are not erased.
func (accountStore) names(ctx context.Context, q pg.Querier, ids []string) (map[string]string, error) {
	rows, err := q.Query(ctx, `SELECT id::text, name FROM accounts WHERE id = ANY($1::uuid[]) AND erased_at IS NULL`, ids)
	if err != nil {
		return nil, fmt.Errorf("select names: %w", err)
	}
	out := map[string]string{}
	var id, name string
	_, err = pgx.ForEachRow(rows, []any{&id, &name}, func() error {
		out[id] = name
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("select names: %w", err)
	}
	return out, nil
}
