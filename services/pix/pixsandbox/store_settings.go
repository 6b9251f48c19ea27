package pixsandbox

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"healthcore/platform/pg"
)

// settingStore keeps the sandbox's generated settings (its credentials) by name.
type settingStore struct{}

var settings settingStore

// getOrPut returns the stored value of name, storing value first when there is none,
// so every process on the database ends up with the first value stored.
func (settingStore) getOrPut(ctx context.Context, q pg.Querier, name, value string) (string, error) {
	var v string
	var err error
	// A second try covers a process that stored it concurrently, after this
	// statement's snapshot was taken.
	for range 2 {
		err = q.QueryRow(ctx, `
			WITH ins AS (INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING RETURNING value)
			SELECT value FROM ins UNION ALL SELECT value FROM settings WHERE name = $1`, name, value).Scan(&v)
		if !errors.Is(err, pgx.ErrNoRows) {
			break
		}
	}
	if err != nil {
		return "", fmt.Errorf("get or put setting %s: %w", name, err)
	}
	return v, nil
}
