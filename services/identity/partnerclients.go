package identity

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/timestamppb"

	accessv1 "healthcore/gen/healthcore/access/v1"
	clinicsv1 "healthcore/gen/healthcore/clinics/v1"
	identityv1 "healthcore/gen/healthcore/identity/v1"
	"healthcore/platform/authn"
	"healthcore/platform/errs"
	"healthcore/platform/logging"
	"healthcore/platform/server"
)

// maxPartnerSecrets is how many secrets of a client may be active at once: two, so
// that a clinic rotates without a gap (add the new one, deploy it, revoke the old).
const maxPartnerSecrets = 2

// maxPartnerTokenTTL bounds a partner client's access token: short, since nothing
// refreshes it (the client asks again with its secret) and a revoked secret's tokens
// are refused only through the ended-sessions list while they live.
const maxPartnerTokenTTL = 10 * time.Minute

// partnerTokenTTL is the lifetime of partner tokens: maxPartnerTokenTTL, or the user
// tokens' lifetime when shorter (a retired signing key stays published for that long).
func (s *Service) partnerTokenTTL() time.Duration {
	return min(maxPartnerTokenTTL, s.cfg.AccessTTL)
}

// newClientSecret returns a client secret (32 random bytes, base64url) and its hash.
//
// The secret is stored as its SHA-256, not with a password hash (argon2id): a password
// needs a slow hash because people choose guessable ones, but this secret is 256 bits
// from the system's CSPRNG, so no guess of it succeeds however fast each guess is, and
// a plain hash of it is as safe to keep as the secret is unguessable. The fast hash
// keeps the token endpoint cheap (no argon2 per token), and lets the secret be found
// by its hash alone, through a unique index.
func newClientSecret() (secret string, hash []byte) {
	var raw [32]byte
	_, _ = rand.Read(raw[:]) // crypto/rand.Read never fails (Go 1.24)
	secret = base64.RawURLEncoding.EncodeToString(raw[:])
	return secret, hashClientSecret(secret)
}

func hashClientSecret(secret string) []byte {
	sum := sha256.Sum256([]byte(secret))
	return sum[:]
}

var (
	errClientNotFound    = ReasonClientNotFound.New("no partner client has this id")
	errClientRevoked     = ReasonClientRevoked.New("this partner client is revoked: create a new one")
	errClientSecretLimit = ReasonClientSecretLimit.New(fmt.Sprintf(
		"this partner client already has %d active secrets: revoke the one no longer in use first", maxPartnerSecrets))
	errSecretNotFound = ReasonSecretNotFound.New("this partner client has no secret with this id")
	errClientInvalid  = ReasonClientInvalid.New("client authentication failed")
)

// checkClinic refuses a clinic id the clinics service does not know.
func (s *Service) checkClinic(ctx context.Context, clinicID string) error {
	if s.clinics == nil {
		return nil
	}
	resp, err := s.clinics.CheckClinic(ctx, connect.NewRequest(&clinicsv1.CheckClinicRequest{ClinicId: clinicID}))
	if err != nil {
		return ReasonClinicsUnavailable.New("cannot check the clinic right now; retry").WithCause(err)
	}
	if !resp.Msg.GetExists() {
		return ReasonClinicNotFound.New("no clinic has this id: create the clinic first")
	}
	return nil
}

// createPartnerClient creates a client for a clinic, which must exist, with its first
// secret.
func (s *Service) createPartnerClient(ctx context.Context, req *identityv1.CreatePartnerClientRequest) (partnerClient, string, string, error) {
	if err := s.checkClinic(ctx, req.GetClinicId()); err != nil {
		return partnerClient{}, "", "", err
	}
	operator, _ := authn.FromContext(ctx)
	now := s.now().UTC().Truncate(time.Microsecond)
	c := partnerClient{
		ID: uuid.Must(uuid.NewV7()).String(), ClinicID: req.GetClinicId(), Name: strings.TrimSpace(req.GetName()),
		Scopes: canonicalScopes(req.GetScopes()), CreatedAt: now,
	}
	secretID := uuid.Must(uuid.NewV7()).String()
	secret, hash := newClientSecret()
	c.Secrets = []partnerSecret{{ID: secretID, CreatedAt: now}}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if err := s.partnerClients.insert(ctx, tx, c, operator.UserID); err != nil {
			return err
		}
		if err := s.partnerClients.insertSecret(ctx, tx, c.ID, secretID, hash, now); err != nil {
			return err
		}
		return s.audit(ctx, tx, actPartnerClientCreate, "", c.ID, outcomeOK)
	})
	if err != nil {
		return partnerClient{}, "", "", errs.Internal("identity: create partner client", err)
	}
	s.log.InfoContext(ctx, "partner client created", slog.String("client_id", c.ID), slog.String("clinic_id", c.ClinicID),
		slog.String("scope", strings.Join(c.Scopes, " ")), slog.String("secret_id", secretID))
	return c, secret, secretID, nil
}

// canonicalScopes orders scopes as authn.PartnerScopes does.
func canonicalScopes(scopes []string) []string {
	out := make([]string, 0, len(scopes))
	for _, s := range authn.PartnerScopes {
		if slices.Contains(scopes, s) {
			out = append(out, s)
		}
	}
	return out
}

// addPartnerSecret adds a secret to an active client with fewer than two active. The
// client row is locked, so two concurrent additions cannot both pass the count.
func (s *Service) addPartnerSecret(ctx context.Context, clientID string) (secret, secretID string, err error) {
	secretID = uuid.Must(uuid.NewV7()).String()
	secret, hash := newClientSecret()
	_, err = s.changePartnerClient(ctx, clientID, actPartnerClientAddSecret, func(tx pgx.Tx, c partnerClient, now time.Time) error {
		switch {
		case c.RevokedAt != nil:
			return errClientRevoked
		case c.activeSecrets() >= maxPartnerSecrets:
			return errClientSecretLimit
		}
		return s.partnerClients.insertSecret(ctx, tx, clientID, secretID, hash, now)
	}, slog.String("secret_id", secretID))
	if err != nil {
		return "", "", err
	}
	return secret, secretID, nil
}

// revokePartnerSecret revokes one secret of a client (again: no change).
func (s *Service) revokePartnerSecret(ctx context.Context, clientID, secretID string) (partnerClient, error) {
	return s.changePartnerClient(ctx, clientID, actPartnerClientRevokeSecret, func(tx pgx.Tx, _ partnerClient, now time.Time) error {
		found, err := s.partnerClients.revokeSecret(ctx, tx, clientID, secretID, now)
		if err == nil && !found {
			return errSecretNotFound
		}
		return err
	}, slog.String("secret_id", secretID))
}

// revokePartnerClient revokes a client and its secrets (again: no change).
func (s *Service) revokePartnerClient(ctx context.Context, clientID string) (partnerClient, error) {
	return s.changePartnerClient(ctx, clientID, actPartnerClientRevoke, func(tx pgx.Tx, _ partnerClient, now time.Time) error {
		return s.partnerClients.revoke(ctx, tx, clientID, now)
	})
}

// changePartnerClient runs change on the client, locked until the transaction ends (so
// changes of one client serialise), audits it as action, logs it with attrs, and
// returns the client as it is after. An error of a declared reason from change (the
// request does not apply) is answered as is, and nothing is written.
func (s *Service) changePartnerClient(ctx context.Context, clientID, action string, change func(pgx.Tx, partnerClient, time.Time) error, attrs ...any) (partnerClient, error) {
	var out partnerClient
	var denial error
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		denial = nil
		c, ok, err := s.partnerClients.get(ctx, tx, clientID, true)
		switch {
		case err != nil:
			return err
		case !ok:
			denial = errClientNotFound
			return nil
		}
		if err := change(tx, c, s.now().UTC()); errs.ReasonOf(err) != "" {
			denial = err
			return nil
		} else if err != nil {
			return err
		}
		if err := s.audit(ctx, tx, action, "", clientID, outcomeOK); err != nil {
			return err
		}
		out, _, err = s.partnerClients.get(ctx, tx, clientID, false)
		return err
	})
	if err != nil {
		return partnerClient{}, errs.Internal("identity: "+action, err)
	}
	if denial != nil {
		return partnerClient{}, denial
	}
	s.log.InfoContext(ctx, action, append([]any{slog.String("client_id", clientID)}, attrs...)...)
	return out, nil
}

// issuePartnerToken is the client-credentials grant: the client authenticated by an
// active secret gets a token for the scopes asked (all of its own when none). One
// indexed read, no password hash: the token endpoint stays cheap under load.
//
// The secret is found by its SHA-256 through a unique index; the id given must be its
// client's. Looking up by the hash leaks nothing by timing: the hash of a guess says
// nothing about how close the guess is.
func (s *Service) issuePartnerToken(ctx context.Context, req *identityv1.IssuePartnerTokenRequest) (*identityv1.IssuePartnerTokenResponse, error) {
	refuse := func(why string) error {
		s.log.WarnContext(ctx, "partner token refused", slog.String("client_id", req.GetClientId()), slog.String("why", why))
		return errClientInvalid
	}
	if req.GetClientSecret() == "" {
		return nil, refuse("no secret")
	}
	g, ok, err := s.partnerClients.grantBySecret(ctx, s.db, hashClientSecret(req.GetClientSecret()))
	switch {
	case err != nil:
		return nil, errs.Internal("identity: partner token", err)
	case !ok:
		return nil, refuse("unknown or revoked secret, or revoked client")
	case g.ClientID != req.GetClientId():
		return nil, refuse("the secret is another client's")
	}
	scopes := g.Scopes
	if asked := strings.Fields(req.GetScope()); len(asked) > 0 {
		for _, sc := range asked {
			if !slices.Contains(g.Scopes, sc) {
				return nil, ReasonScopeInvalid.New(fmt.Sprintf("the client does not hold the scope %q; it holds: %s",
					sc, strings.Join(g.Scopes, " ")))
			}
		}
		scopes = canonicalScopes(asked)
	}
	ttl := s.partnerTokenTTL()
	p := authn.Principal{Role: accessv1.Role_ROLE_PARTNER, ClientID: g.ClientID, ClinicID: g.ClinicID, Scopes: scopes, SessionID: g.SecretID}
	token, _, err := s.cfg.Tokens.SignPartner(s.keys.current(ctx), p, s.now(), ttl)
	if err != nil {
		return nil, errs.Internal("identity: sign partner token", err)
	}
	scope := strings.Join(scopes, " ")
	if err := s.auditLog.append(ctx, s.db, auditEntry{ActorID: g.ClientID, ActorRole: authn.RoleName(accessv1.Role_ROLE_PARTNER),
		Action: actPartnerToken, SubjectID: g.SecretID, ClientAddr: server.ClientAddr(ctx), RequestID: logging.RequestID(ctx),
		Outcome: outcomeOK}); err != nil {
		return nil, errs.Internal("identity: audit partner token", err)
	}
	s.log.InfoContext(ctx, "partner token issued", slog.String("client_id", g.ClientID), slog.String("clinic_id", g.ClinicID),
		slog.String("secret_id", g.SecretID), slog.String("scope", scope))
	return &identityv1.IssuePartnerTokenResponse{AccessToken: token, ExpiresIn: int64(ttl / time.Second), Scope: scope}, nil
}

func (c partnerClient) proto() *identityv1.PartnerClient {
	out := &identityv1.PartnerClient{
		ClientId: c.ID, ClinicId: c.ClinicID, Name: c.Name, Scopes: c.Scopes, CreateTime: timestamppb.New(c.CreatedAt),
	}
	if c.RevokedAt != nil {
		out.RevokeTime = timestamppb.New(*c.RevokedAt)
	}
	for _, sec := range c.Secrets {
		ps := &identityv1.PartnerClientSecret{SecretId: sec.ID, CreateTime: timestamppb.New(sec.CreatedAt)}
		if sec.RevokedAt != nil {
			ps.RevokeTime = timestamppb.New(*sec.RevokedAt)
		}
		out.Secrets = append(out.Secrets, ps)
	}
	return out
}
