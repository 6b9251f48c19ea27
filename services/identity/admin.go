package identity

import (
	"context"
	"fmt"
	"log/slog"
	"net/mail"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	accessv1 "healthcore/gen/healthcore/access/v1"
)

// CreateAdmin creates a platform operator account, who logs in by e-mail. There is no
// RPC for it on purpose: only someone with the database (the `healthcore create-admin`
// command) can make an admin. It needs no keys service, since admins have no sealed
// personal fields.
func CreateAdmin(ctx context.Context, db *pgxpool.Pool, cfg Config, name, email, password string) (string, error) {
	switch {
	case len(name) < 2 || len(name) > 200:
		return "", fmt.Errorf("admin name must have 2 to 200 characters")
	case len(password) < 12 || len(password) > 128:
		return "", fmt.Errorf("admin password must have 12 to 128 characters")
	}
	if addr, err := mail.ParseAddress(email); err != nil || addr.Address != strings.TrimSpace(email) {
		return "", fmt.Errorf("admin e-mail %q is not an address", email)
	}
	s := &Service{cfg: cfg, db: db, hasher: newHasher(cfg.Argon2), now: time.Now, log: slog.New(slog.DiscardHandler)}
	a := account{ID: uuid.Must(uuid.NewV7()).String(), Role: accessv1.Role_ROLE_ADMIN, Name: name, Email: normalizeEmail(email)}
	a, err := s.insertAccount(ctx, a, password, nil)
	if err != nil {
		return "", err
	}
	return a.ID, nil
}
