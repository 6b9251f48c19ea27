package identity

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"slices"
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
	errRefreshInvalid = ReasonRefreshTokenInvalid.New("the refresh token is not valid: log in again")
	errRefreshExpired = ReasonRefreshTokenExpired.New("the session has expired: log in again")
	errRefreshReused  = ReasonRefreshTokenReused.New(
		"this refresh token was already used, so the session was ended to protect the account: log in again")
	errSessionEnded = ReasonSessionEnded.New("the session has ended: log in again")
)

// refreshPrefix marks Healthcore refresh tokens so leaked ones are easy to scan for.
const refreshPrefix = "hcr_"

func hashToken(t string) []byte {
	sum := sha256.Sum256([]byte(t))
	return sum[:]
}

// amrPassword is the RFC 8176 method list of a session opened by a password alone.
var amrPassword = []string{"pwd"}

// openSession starts a session (a refresh-token family) for a, authenticated by amr,
// and issues its first pair, signed with key.
func (s *Service) openSession(ctx context.Context, tx pgx.Tx, key authn.SigningKey, a account, amr []string) (tokens, error) {
	sid := uuid.Must(uuid.NewV7()).String()
	now := s.now()
	if err := s.sessions.insert(ctx, tx, sid, a.ID, amr, now, now.Add(s.cfg.SessionMaxAge)); err != nil {
		return tokens{}, err
	}
	return s.issue(ctx, tx, key, a, session{ID: sid, End: now.Add(s.cfg.SessionMaxAge), AMR: amr})
}

// session is what a token pair needs of its session.
type session struct {
	ID  string
	End time.Time // the absolute expiry, whatever the refreshes
	AMR []string  // how it authenticated
}

// issue stores a new refresh token of the session and signs an access token with key.
func (s *Service) issue(ctx context.Context, tx pgx.Tx, key authn.SigningKey, a account, sess session) (tokens, error) {
	sid, sessionEnd := sess.ID, sess.End
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
	if err := s.sessions.insertToken(ctx, tx, hashToken(t.refresh), sid, now, t.refreshExpiry); err != nil {
		return tokens{}, err
	}
	var err error
	t.access, t.accessExpiry, err = s.cfg.Tokens.Sign(key, a.principal(sid, sess.AMR), now, s.cfg.AccessTTL)
	return t, err
}

// refresh spends a refresh token and issues the next pair. The token row and its
// session are locked, so two concurrent uses of one token cannot both succeed: the
// second sees it spent and, as for any reuse, ends the session.
func (s *Service) refresh(ctx context.Context, token string) (tokens, error) {
	key := s.keys.current(ctx)
	var t tokens
	var denial error
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		t, denial = tokens{}, nil
		rt, ok, err := s.sessions.tokenForUpdate(ctx, tx, hashToken(token))
		now := s.now()
		switch {
		case err != nil:
			return err
		case !ok:
			denial = errRefreshInvalid
			return nil
		case rt.Revoked != nil:
			denial = errSessionEnded
			return nil
		case rt.Used != nil:
			denial = errRefreshReused
			if err := s.sessions.end(ctx, tx, rt.SessionID, now, "refresh token reused"); err != nil {
				return err
			}
			return s.audit(ctx, tx, actRefreshReused, rt.AccountID, rt.AccountID, outcomeDenied)
		case !now.Before(rt.Expires) || !now.Before(rt.SessionEnd):
			denial = errRefreshExpired
			return nil
		}
		if err := s.sessions.spendToken(ctx, tx, hashToken(token), now); err != nil {
			return err
		}
		a, ok, err := s.accounts.get(ctx, tx, rt.AccountID)
		if err != nil {
			return err
		}
		if !ok { // the foreign key keeps a session's account
			return fmt.Errorf("account %s of session %s: %w", rt.AccountID, rt.SessionID, pgx.ErrNoRows)
		}
		if t, err = s.issue(ctx, tx, key, a, session{ID: rt.SessionID, End: rt.SessionEnd, AMR: rt.AMR}); err != nil {
			return err
		}
		return s.audit(ctx, tx, actRefresh, a.ID, a.ID, outcomeOK)
	})
	if err != nil {
		return tokens{}, errs.Internal("identity: refresh session", err)
	}
	return t, denial
}

// logout ends the session of a refresh token. Unknown or already ended sessions are
// not an error: the caller's intent — no live session for this token — holds.
func (s *Service) logout(ctx context.Context, token string) error {
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		sid, accountID, ok, err := s.sessions.liveSessionForUpdate(ctx, tx, hashToken(token))
		if err != nil || !ok {
			return err
		}
		if err := s.sessions.end(ctx, tx, sid, s.now(), "logout"); err != nil {
			return err
		}
		return s.audit(ctx, tx, actLogout, accountID, accountID, outcomeOK)
	})
	if err != nil {
		return errs.Internal("identity: end session", err)
	}
	return nil
}

// revokedMargin keeps an ended session listed beyond the access-token lifetime, for
// the verifiers' leeway on expiry (30 s) and clock skew between replicas, as a retired
// signing key stays published.
const revokedMargin = 2 * time.Minute

// revokedSessions lists the sessions ended while access tokens of theirs may still be
// alive: those ended in the last access-token lifetime (plus revokedMargin). No token
// is issued for a session once it has ended, so each leaves the list when the last it
// issued has expired, and the list stays as small as the logouts of a quarter hour.
func (s *Service) revokedSessions(ctx context.Context) ([]authn.RevokedSession, error) {
	keep := s.cfg.AccessTTL + revokedMargin
	ended, err := s.sessions.endedSince(ctx, s.db, s.now().Add(-keep))
	if err != nil {
		return nil, err
	}
	// A partner client's revoked secret ends its tokens as a session's end does (their
	// sid is the secret's id); they live no longer than user tokens.
	secrets, err := s.partnerClients.revokedSince(ctx, s.db, s.now().Add(-keep))
	if err != nil {
		return nil, err
	}
	out := make([]authn.RevokedSession, 0, len(ended)+len(secrets))
	for _, e := range slices.Concat(ended, secrets) {
		out = append(out, authn.RevokedSession{ID: e.ID, Expires: e.Revoked.Add(keep)})
	}
	return out, nil
}
