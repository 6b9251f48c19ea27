package identity

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"healthcore/platform/pg"
)

// What an account token (account_tokens.purpose) is for.
const (
	purposeVerifyEmail   = "verify_email"
	purposeResetPassword = "reset_password"
)

// tokenStore keeps the hashes of the single-use tokens sent by e-mail: address
// verification and password reset.
type tokenStore struct{}

// accountToken is a live token's row.
type accountToken struct {
	AccountID string
	Email     string
	Expires   time.Time
}

// insert stores a token's hash, voiding the account's earlier unused tokens of the
// same purpose: only the newest link works.
func (st tokenStore) insert(ctx context.Context, q pg.Querier, hash []byte, accountID, purpose, email string, now, expires time.Time) error {
	if err := st.voidAll(ctx, q, accountID, purpose, now); err != nil {
		return err
	}
	if _, err := q.Exec(ctx, `INSERT INTO account_tokens (token_hash, account_id, purpose, email, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, hash, accountID, purpose, email, now, expires); err != nil {
		return fmt.Errorf("insert account token: %w", err)
	}
	return nil
}

// spend marks the unused, unexpired token of purpose with hash used at now and returns
// it; ok is false when there is none (unknown, used or expired alike).
func (tokenStore) spend(ctx context.Context, q pg.Querier, hash []byte, purpose string, now time.Time) (accountToken, bool, error) {
	return findToken(q.QueryRow(ctx, `UPDATE account_tokens SET used_at = $3
		WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3
		RETURNING account_id::text, email, expires_at`, hash, purpose, now))
}

// voidAll marks every unused token of the account with purpose used at now.
func (tokenStore) voidAll(ctx context.Context, q pg.Querier, accountID, purpose string, now time.Time) error {
	if _, err := q.Exec(ctx, `UPDATE account_tokens SET used_at = $3 WHERE account_id = $1 AND purpose = $2 AND used_at IS NULL`,
		accountID, purpose, now); err != nil {
		return fmt.Errorf("void account tokens: %w", err)
	}
	return nil
}

// live returns the unused, unexpired token of purpose with hash, without spending it;
// ok is false when there is none.
func (tokenStore) live(ctx context.Context, q pg.Querier, hash []byte, purpose string, now time.Time) (accountToken, bool, error) {
	return findToken(q.QueryRow(ctx, `SELECT account_id::text, email, expires_at FROM account_tokens
		WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3`, hash, purpose, now))
}

func findToken(row pgx.Row) (accountToken, bool, error) {
	var t accountToken
	err := row.Scan(&t.AccountID, &t.Email, &t.Expires)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return accountToken{}, false, nil
	case err != nil:
		return accountToken{}, false, fmt.Errorf("select account token: %w", err)
	}
	return t, true, nil
}
