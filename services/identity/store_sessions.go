package identity

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"healthcore/platform/pg"
)

// sessionStore keeps sessions (one per login) and their refresh tokens, a family in
// which only the newest token is unspent. Tokens are stored as their SHA-256 hash.
type sessionStore struct{}

// insert starts session sid of the account, authenticated by amr (RFC 8176 method
// names), ending at expires whatever its refreshes.
func (sessionStore) insert(ctx context.Context, q pg.Querier, sid, accountID string, amr []string, created, expires time.Time) error {
	if _, err := q.Exec(ctx, `INSERT INTO sessions (id, account_id, amr, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)`,
		sid, accountID, amr, created, expires); err != nil {
		return fmt.Errorf("insert session: %w", err)
	}
	return nil
}

// insertToken adds a refresh token (by its hash) to session sid.
func (sessionStore) insertToken(ctx context.Context, q pg.Querier, tokenHash []byte, sid string, issued, expires time.Time) error {
	if _, err := q.Exec(ctx, `INSERT INTO refresh_tokens (token_hash, session_id, issued_at, expires_at) VALUES ($1, $2, $3, $4)`,
		tokenHash, sid, issued, expires); err != nil {
		return fmt.Errorf("insert refresh token: %w", err)
	}
	return nil
}

// refreshToken is a refresh token with the session it belongs to.
type refreshToken struct {
	SessionID  string
	AccountID  string
	Expires    time.Time  // the token's own expiry
	Used       *time.Time // when it was spent, if it was
	SessionEnd time.Time  // the session's absolute expiry
	Revoked    *time.Time // when the session ended, if it did
	AMR        []string   // how the session authenticated
}

// tokenForUpdate returns the refresh token with the hash and its session, both locked
// until tx ends; ok is false for an unknown token.
func (sessionStore) tokenForUpdate(ctx context.Context, tx pgx.Tx, tokenHash []byte) (t refreshToken, ok bool, err error) {
	err = tx.QueryRow(ctx, `SELECT rt.session_id::text, s.account_id::text, rt.expires_at, rt.used_at, s.expires_at, s.revoked_at, s.amr
		FROM refresh_tokens rt JOIN sessions s ON s.id = rt.session_id
		WHERE rt.token_hash = $1 FOR UPDATE OF rt, s`, tokenHash).
		Scan(&t.SessionID, &t.AccountID, &t.Expires, &t.Used, &t.SessionEnd, &t.Revoked, &t.AMR)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return refreshToken{}, false, nil
	case err != nil:
		return refreshToken{}, false, fmt.Errorf("select refresh token for update: %w", err)
	}
	return t, true, nil
}

// spendToken marks the refresh token with the hash used at the given time.
func (sessionStore) spendToken(ctx context.Context, q pg.Querier, tokenHash []byte, at time.Time) error {
	tag, err := q.Exec(ctx, `UPDATE refresh_tokens SET used_at = $2 WHERE token_hash = $1`, tokenHash, at)
	if err != nil {
		return fmt.Errorf("spend refresh token: %w", err)
	}
	if tag.RowsAffected() != 1 {
		return fmt.Errorf("spend refresh token: %w", pgx.ErrNoRows)
	}
	return nil
}

// liveSessionForUpdate returns the session of a refresh token, locked until tx ends,
// if the session has not ended; ok is false otherwise (or for an unknown token).
func (sessionStore) liveSessionForUpdate(ctx context.Context, tx pgx.Tx, tokenHash []byte) (sid, accountID string, ok bool, err error) {
	err = tx.QueryRow(ctx, `SELECT s.id::text, s.account_id::text FROM refresh_tokens rt JOIN sessions s ON s.id = rt.session_id
		WHERE rt.token_hash = $1 AND s.revoked_at IS NULL FOR UPDATE OF s`, tokenHash).Scan(&sid, &accountID)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return "", "", false, nil
	case err != nil:
		return "", "", false, fmt.Errorf("select live session for update: %w", err)
	}
	return sid, accountID, true, nil
}

// end revokes session sid at the given time for reason; a session already ended keeps
// its first end.
func (sessionStore) end(ctx context.Context, q pg.Querier, sid string, at time.Time, reason string) error {
	if _, err := q.Exec(ctx, `UPDATE sessions SET revoked_at = $2, revoke_reason = $3 WHERE id = $1 AND revoked_at IS NULL`,
		sid, at, reason); err != nil {
		return fmt.Errorf("end session: %w", err)
	}
	return nil
}

// endOthers ends every live session of the account but keep (the caller's own; empty
// ends them all) at the given time for reason.
func (sessionStore) endOthers(ctx context.Context, q pg.Querier, accountID, keep string, at time.Time, reason string) error {
	if _, err := q.Exec(ctx, `UPDATE sessions SET revoked_at = $3, revoke_reason = $4
		WHERE account_id = $1 AND id::text <> $2 AND revoked_at IS NULL`, accountID, keep, at, reason); err != nil {
		return fmt.Errorf("end other sessions: %w", err)
	}
	return nil
}

// endedSession is a session that has ended, and when.
type endedSession struct {
	ID      string
	Revoked time.Time
}

// endedSince returns the sessions that ended after since.
func (sessionStore) endedSince(ctx context.Context, q pg.Querier, since time.Time) ([]endedSession, error) {
	rows, err := q.Query(ctx, `SELECT id::text, revoked_at FROM sessions WHERE revoked_at > $1 ORDER BY revoked_at`, since)
	if err != nil {
		return nil, fmt.Errorf("select ended sessions: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[endedSession])
	if err != nil {
		return nil, fmt.Errorf("select ended sessions: %w", err)
	}
	return out, nil
}

// upgradeForUpdate locks live session sid of the account, sets its methods to amr and
// spends its unspent refresh tokens (the caller issues the next one), and returns the
// session's absolute end; ok is false when the session has ended or is not the
// account's.
func (sessionStore) upgradeForUpdate(ctx context.Context, tx pgx.Tx, sid, accountID string, amr []string, at time.Time) (end time.Time, ok bool, err error) {
	err = tx.QueryRow(ctx, `UPDATE sessions SET amr = $3 WHERE id::text = $1 AND account_id::text = $2 AND revoked_at IS NULL
		RETURNING expires_at`, sid, accountID, amr).Scan(&end)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return time.Time{}, false, nil
	case err != nil:
		return time.Time{}, false, fmt.Errorf("upgrade session: %w", err)
	}
	if _, err := tx.Exec(ctx, `UPDATE refresh_tokens SET used_at = $2 WHERE session_id::text = $1 AND used_at IS NULL`, sid, at); err != nil {
		return time.Time{}, false, fmt.Errorf("spend session's refresh tokens: %w", err)
	}
	return end, true, nil
}
