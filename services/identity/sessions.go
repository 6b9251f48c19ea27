package identity

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/timestamppb"

	identityv1 "healthcore/gen/healthcore/identity/v1"
	"healthcore/platform/authn"
	"healthcore/platform/errs"
)

// tokens is a freshly issued pair.
type tokens struct {
	access        string
	accessExpiry  time.Time
	refresh       string
	refreshExpiry time.Time
}

func (t tokens) proto() *identityv1.TokenPair {
	return &identityv1.TokenPair{
		AccessToken: t.access, TokenType: "Bearer", AccessTokenExpireTime: timestamppb.New(t.accessExpiry),
		RefreshToken: t.refresh, RefreshTokenExpireTime: timestamppb.New(t.refreshExpiry),
	}
}

// Refresh token failures. Each tells the client to log in again.
var (
	errRefreshInvalid = errs.Unauthenticated("REFRESH_TOKEN_INVALID", "the refresh token is not valid: log in again")
	errRefreshExpired = errs.Unauthenticated("REFRESH_TOKEN_EXPIRED", "the session has expired: log in again")
	errRefreshReused  = errs.Unauthenticated("REFRESH_TOKEN_REUSED",
		"this refresh token was already used, so the session was ended to protect the account: log in again")
	errSessionEnded = errs.Unauthenticated("SESSION_ENDED", "the session has ended: log in again")
)

// refreshPrefix marks Healthcore refresh tokens so leaked ones are easy to scan for.
const refreshPrefix = "hcr_"

func hashToken(t string) []byte {
	sum := sha256.Sum256([]byte(t))
	return sum[:]
}

// openSession starts a session (a refresh-token family) for a and issues its first pair.
func (s *Service) openSession(ctx context.Context, tx pgx.Tx, a account) (tokens, error) {
	sid := uuid.Must(uuid.NewV7()).String()
	now := s.now()
	if _, err := tx.Exec(ctx, `INSERT INTO sessions (id, account_id, created_at, expires_at) VALUES ($1, $2, $3, $4)`,
		sid, a.ID, now, now.Add(s.cfg.SessionMaxAge)); err != nil {
		return tokens{}, err
	}
	return s.issue(ctx, tx, a, sid, now.Add(s.cfg.SessionMaxAge))
}

// issue stores a new refresh token of the session and signs an access token.
func (s *Service) issue(ctx context.Context, tx pgx.Tx, a account, sid string, sessionEnd time.Time) (tokens, error) {
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return tokens{}, err
	}
	now := s.now()
	t := tokens{refresh: refreshPrefix + base64.RawURLEncoding.EncodeToString(raw[:])}
	t.refreshExpiry = now.Add(s.cfg.RefreshTTL)
	if sessionEnd.Before(t.refreshExpiry) {
		t.refreshExpiry = sessionEnd
	}
	t.refreshExpiry = t.refreshExpiry.Truncate(time.Second)
	if _, err := tx.Exec(ctx, `INSERT INTO refresh_tokens (token_hash, session_id, issued_at, expires_at) VALUES ($1, $2, $3, $4)`,
		hashToken(t.refresh), sid, now, t.refreshExpiry); err != nil {
		return tokens{}, err
	}
	var err error
	t.access, t.accessExpiry, err = authn.Sign(s.keys.signingKey(), a.principal(sid), now, s.cfg.AccessTTL)
	return t, err
}

// refresh spends a refresh token and issues the next pair. The token row and its
// session are locked, so two concurrent uses of one token cannot both succeed: the
// second sees it spent and, as for any reuse, ends the session.
func (s *Service) refresh(ctx context.Context, token string) (tokens, error) {
	var t tokens
	var denial error
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		var sid, accountID string
		var expires, sessionEnd time.Time
		var used, revoked *time.Time
		err := tx.QueryRow(ctx, `SELECT rt.session_id::text, rt.expires_at, rt.used_at, s.account_id::text, s.expires_at, s.revoked_at
			FROM refresh_tokens rt JOIN sessions s ON s.id = rt.session_id
			WHERE rt.token_hash = $1 FOR UPDATE OF rt, s`, hashToken(token)).
			Scan(&sid, &expires, &used, &accountID, &sessionEnd, &revoked)
		now := s.now()
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			denial = errRefreshInvalid
			return nil
		case err != nil:
			return err
		case revoked != nil:
			denial = errSessionEnded
			return nil
		case used != nil:
			denial = errRefreshReused
			if err := s.endSession(ctx, tx, sid, "refresh token reused"); err != nil {
				return err
			}
			return s.audit(ctx, tx, actRefreshReused, accountID, accountID, outcomeDenied)
		case !now.Before(expires) || !now.Before(sessionEnd):
			denial = errRefreshExpired
			return nil
		}
		if _, err := tx.Exec(ctx, `UPDATE refresh_tokens SET used_at = $2 WHERE token_hash = $1`, hashToken(token), now); err != nil {
			return err
		}
		a, err := scanAccount(tx.QueryRow(ctx, `SELECT `+accountColumns+` FROM accounts WHERE id = $1`, accountID))
		if err != nil {
			return err
		}
		if t, err = s.issue(ctx, tx, a, sid, sessionEnd); err != nil {
			return err
		}
		return s.audit(ctx, tx, actRefresh, a.ID, a.ID, outcomeOK)
	})
	if err != nil {
		return tokens{}, errs.Internal("identity: refresh", err)
	}
	return t, denial
}

// logout ends the session of a refresh token. Unknown or already ended sessions are
// not an error: the caller's intent — no live session for this token — holds.
func (s *Service) logout(ctx context.Context, token string) error {
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		var sid, accountID string
		err := tx.QueryRow(ctx, `SELECT s.id::text, s.account_id::text FROM refresh_tokens rt JOIN sessions s ON s.id = rt.session_id
			WHERE rt.token_hash = $1 AND s.revoked_at IS NULL FOR UPDATE OF s`, hashToken(token)).Scan(&sid, &accountID)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := s.endSession(ctx, tx, sid, "logout"); err != nil {
			return err
		}
		return s.audit(ctx, tx, actLogout, accountID, accountID, outcomeOK)
	})
	if err != nil {
		return errs.Internal("identity: logout", err)
	}
	return nil
}

func (s *Service) endSession(ctx context.Context, tx pgx.Tx, sid, reason string) error {
	_, err := tx.Exec(ctx, `UPDATE sessions SET revoked_at = $2, revoke_reason = $3 WHERE id = $1 AND revoked_at IS NULL`, sid, s.now(), reason)
	return err
}
