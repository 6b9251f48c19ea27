package identity

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"healthcore/platform/pg"
)

// factorStore keeps accounts' second factors (a sealed TOTP secret, pending until
// confirmed, with the last time step a code was accepted for), their recovery codes (as
// keyed hashes, single use) and the logins waiting for a second factor (by the SHA-256
// of their mfa_token).
type factorStore struct{}

// storedFactor is a row of second_factors.
type storedFactor struct {
	ID        string
	Method    string
	Sealed    []byte
	Confirmed *time.Time
	LastStep  int64
}

// insertPending replaces the account's pending factor of the method with a new one.
func (factorStore) insertPending(ctx context.Context, q pg.Querier, f storedFactor, accountID string, now time.Time) error {
	if _, err := q.Exec(ctx, `DELETE FROM second_factors WHERE account_id = $1 AND method = $2 AND confirmed_at IS NULL`,
		accountID, f.Method); err != nil {
		return fmt.Errorf("delete pending second factor: %w", err)
	}
	if _, err := q.Exec(ctx, `INSERT INTO second_factors (id, account_id, method, secret_sealed, created_at) VALUES ($1, $2, $3, $4, $5)`,
		f.ID, accountID, f.Method, f.Sealed, now); err != nil {
		return fmt.Errorf("insert second factor: %w", err)
	}
	return nil
}

// forUpdate returns the account's confirmed (or, with pending, its pending) factor of
// the method, locked until tx ends; ok is false when there is none.
func (factorStore) forUpdate(ctx context.Context, tx pgx.Tx, accountID, method string, pending bool) (f storedFactor, ok bool, err error) {
	err = tx.QueryRow(ctx, `SELECT id::text, method, secret_sealed, confirmed_at, last_step FROM second_factors
		WHERE account_id = $1 AND method = $2 AND (confirmed_at IS NULL) = $3 FOR UPDATE`, accountID, method, pending).
		Scan(&f.ID, &f.Method, &f.Sealed, &f.Confirmed, &f.LastStep)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return storedFactor{}, false, nil
	case err != nil:
		return storedFactor{}, false, fmt.Errorf("select second factor for update: %w", err)
	}
	return f, true, nil
}

// setLastStep records the time step a code of factor id was accepted for.
func (factorStore) setLastStep(ctx context.Context, q pg.Querier, id string, step int64) error {
	if _, err := q.Exec(ctx, `UPDATE second_factors SET last_step = $2 WHERE id = $1`, id, step); err != nil {
		return fmt.Errorf("update second factor step: %w", err)
	}
	return nil
}

// confirm makes the pending factor id the account's confirmed one of its method,
// replacing the one confirmed before (a re-enrolment).
func (factorStore) confirm(ctx context.Context, q pg.Querier, id, accountID, method string, now time.Time) error {
	if _, err := q.Exec(ctx, `DELETE FROM second_factors WHERE account_id = $1 AND method = $2 AND confirmed_at IS NOT NULL`,
		accountID, method); err != nil {
		return fmt.Errorf("delete replaced second factor: %w", err)
	}
	if _, err := q.Exec(ctx, `UPDATE second_factors SET confirmed_at = $2 WHERE id = $1`, id, now); err != nil {
		return fmt.Errorf("confirm second factor: %w", err)
	}
	return nil
}

// deleteAll removes the account's factors, pending or not, its recovery codes and its
// logins waiting for a factor.
func (factorStore) deleteAll(ctx context.Context, q pg.Querier, accountID string) error {
	for _, table := range []string{"second_factors", "recovery_codes", "mfa_challenges"} {
		if _, err := q.Exec(ctx, `DELETE FROM `+table+` WHERE account_id = $1`, accountID); err != nil {
			return fmt.Errorf("delete %s: %w", table, err)
		}
	}
	return nil
}

// mfaStatus is what an account has of second factors.
type mfaStatus struct {
	Methods   []string   // the confirmed factors' methods
	Since     *time.Time // when the earliest of them was confirmed
	CodesLeft int        // unused recovery codes
	Pending   bool       // an enrolment waits for its confirmation
}

// status returns the account's confirmed factors and unused recovery codes.
func (factorStore) status(ctx context.Context, q pg.Querier, accountID string) (mfaStatus, error) {
	var st mfaStatus
	err := q.QueryRow(ctx, `SELECT coalesce(array_agg(method ORDER BY method), '{}'), min(confirmed_at),
			(SELECT count(*) FROM recovery_codes WHERE account_id = $1 AND used_at IS NULL),
			EXISTS (SELECT 1 FROM second_factors WHERE account_id = $1 AND confirmed_at IS NULL)
		FROM second_factors WHERE account_id = $1 AND confirmed_at IS NOT NULL`, accountID).
		Scan(&st.Methods, &st.Since, &st.CodesLeft, &st.Pending)
	if err != nil {
		return mfaStatus{}, fmt.Errorf("select second factor status: %w", err)
	}
	return st, nil
}

// replaceRecoveryCodes drops the account's recovery codes and stores the new hashes.
func (factorStore) replaceRecoveryCodes(ctx context.Context, q pg.Querier, accountID string, hashes [][]byte, now time.Time) error {
	if _, err := q.Exec(ctx, `DELETE FROM recovery_codes WHERE account_id = $1`, accountID); err != nil {
		return fmt.Errorf("delete recovery codes: %w", err)
	}
	if _, err := q.Exec(ctx, `INSERT INTO recovery_codes (account_id, code_hash, created_at) SELECT $1, unnest($2::bytea[]), $3`,
		accountID, hashes, now); err != nil {
		return fmt.Errorf("insert recovery codes: %w", err)
	}
	return nil
}

// spendRecoveryCode marks the account's unused code with the hash used; ok is false
// when there is no such unused code.
func (factorStore) spendRecoveryCode(ctx context.Context, q pg.Querier, accountID string, hash []byte, now time.Time) (bool, error) {
	tag, err := q.Exec(ctx, `UPDATE recovery_codes SET used_at = $3 WHERE account_id = $1 AND code_hash = $2 AND used_at IS NULL`,
		accountID, hash, now)
	if err != nil {
		return false, fmt.Errorf("spend recovery code: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

// insertChallenge stores a login waiting for the account's second factor.
func (factorStore) insertChallenge(ctx context.Context, q pg.Querier, tokenHash []byte, accountID string, now, expires time.Time) error {
	if _, err := q.Exec(ctx, `INSERT INTO mfa_challenges (token_hash, account_id, created_at, expires_at) VALUES ($1, $2, $3, $4)`,
		tokenHash, accountID, now, expires); err != nil {
		return fmt.Errorf("insert mfa challenge: %w", err)
	}
	return nil
}

// liveChallenge returns the account of the unused challenge with the token hash that
// has not expired at now (locked until tx ends, when q is one); ok is false otherwise.
func (factorStore) liveChallenge(ctx context.Context, q pg.Querier, tokenHash []byte, now time.Time, lock bool) (accountID string, ok bool, err error) {
	query := `SELECT account_id::text FROM mfa_challenges WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2`
	if lock {
		query += ` FOR UPDATE`
	}
	err = q.QueryRow(ctx, query, tokenHash, now).Scan(&accountID)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return "", false, nil
	case err != nil:
		return "", false, fmt.Errorf("select mfa challenge: %w", err)
	}
	return accountID, true, nil
}

// spendChallenge marks the challenge used.
func (factorStore) spendChallenge(ctx context.Context, q pg.Querier, tokenHash []byte, now time.Time) error {
	if _, err := q.Exec(ctx, `UPDATE mfa_challenges SET used_at = $2 WHERE token_hash = $1`, tokenHash, now); err != nil {
		return fmt.Errorf("spend mfa challenge: %w", err)
	}
	return nil
}
