package identity

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	accessv1 "healthcore/gen/healthcore/access/v1"
	"healthcore/platform/envelope"
	"healthcore/platform/errs"
)

// CreateAdmin creates a platform operator account, who logs in by e-mail. There is no
// RPC for it on purpose: only someone with the database (the `healthcore create-admin`
// command) can make an admin. Admins have no sealed personal fields, but their creation
// is chained into the audit log like every entry, so env (an Envelope on the keys
// service, as the service's own) must open (or, on a database no identity service has
// started on yet, create) the audit chain's secret; without it CreateAdmin refuses.
func CreateAdmin(ctx context.Context, db *pgxpool.Pool, cfg Config, name, email, password string, env *envelope.Envelope) (string, error) {
	if len(name) < 2 || len(name) > 200 {
		return "", fmt.Errorf("admin name must have 2 to 200 characters")
	}
	if addr, err := mail.ParseAddress(email); err != nil || addr.Address != strings.TrimSpace(email) {
		return "", fmt.Errorf("admin e-mail %q is not an address", email)
	}
	if env == nil {
		return "", errors.New("identity: creating an admin needs the keys service (an Envelope): " +
			"its creation is chained into the audit log under a sealed key")
	}
	s := &Service{cfg: cfg, db: db, env: env, hasher: newHasher(cfg.Argon2), now: time.Now, log: slog.New(slog.DiscardHandler)}
	if err := s.checkPassword(ctx, password, passwordOwner{name: name, email: normalizeEmail(email)}); err != nil {
		return "", err
	}
	var err error
	if s.auditLog.chain, err = s.loadChainKey(ctx); err != nil {
		return "", err
	}
	a := account{ID: uuid.Must(uuid.NewV7()).String(), Role: accessv1.Role_ROLE_ADMIN, Name: name, Email: normalizeEmail(email)}
	if a.PasswordHash, err = s.hasher.hash(ctx, password); err != nil {
		return "", errs.Internal("identity: hash password", err)
	}
	a.CreatedAt = s.now().UTC().Truncate(time.Microsecond)
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		if err := s.accounts.insert(ctx, tx, a, nil); err != nil {
			return err
		}
		return s.audit(ctx, tx, actRegister, a.ID, a.ID, outcomeOK)
	})
	if errs.Has(err, ReasonAccountExists) {
		return "", err
	}
	if err != nil {
		return "", errs.Internal("identity: insert account", err)
	}
	return a.ID, nil
}
