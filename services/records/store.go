package records

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"healthcore/platform/pg"
)

// What the stores (store_*.go) share.

// queryAll runs a query and scans each of its rows with scan; its errors say what
// was being listed.
func queryAll[T any](ctx context.Context, q pg.Querier, what string, scan func(pgx.Row) (T, error), sql string, args ...any) ([]T, error) {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (T, error) { return scan(row) })
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}

// where collects the conditions of a list query. Only store methods build one, from
// their own fixed conditions; values always travel as arguments.
type where struct {
	conds []string
	args  []any
}

// add appends a condition whose %d verbs number the placeholders of vs.
func (w *where) add(cond string, vs ...any) {
	n := make([]any, len(vs))
	for i, v := range vs {
		w.args = append(w.args, v)
		n[i] = len(w.args)
	}
	w.conds = append(w.conds, fmt.Sprintf(cond, n...))
}

func (w *where) sql() string { return strings.Join(w.conds, " AND ") }

// isViolationOf reports whether err is PostgreSQL's error code (e.g. 23503,
// foreign_key_violation) raised by the named constraint.
func isViolationOf(err error, code, constraint string) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == code && pe.ConstraintName == constraint
}
