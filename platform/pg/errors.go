package pg

import (
	"errors"

	"github.com/jackc/pgx/v5/pgconn"
)

// IsUniqueViolation reports whether err is PostgreSQL's unique_violation (23505):
// the database refused a duplicate, which services answer with ALREADY_EXISTS or a
// domain conflict rather than an internal error.
func IsUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}
