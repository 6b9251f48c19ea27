package records

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"healthcore/platform/pg"
)

// secretStore keeps the service's sealed secrets (the access log chain's), by name.
type secretStore struct{}

// insertIfMissing stores sealed under name unless name already has a value: of several
// replicas starting together, the first insert wins (the primary key's lock makes the
// others wait for it, then do nothing).
func (secretStore) insertIfMissing(ctx context.Context, q pg.Querier, name string, sealed []byte) error {
	if _, err := q.Exec(ctx, `INSERT INTO secrets (name, sealed) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`, name, sealed); err != nil {
		return fmt.Errorf("insert secret %s: %w", name, err)
	}
	return nil
}

// get returns the sealed value of name; ok is false when there is none.
func (secretStore) get(ctx context.Context, q pg.Querier, name string) (sealed []byte, ok bool, err error) {
	err = q.QueryRow(ctx, `SELECT sealed FROM secrets WHERE name = $1`, name).Scan(&sealed)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil, false, nil
	case err != nil:
		return nil, false, fmt.Errorf("select secret %s: %w", name, err)
	}
	return sealed, true, nil
}
