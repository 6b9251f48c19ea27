package identity

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"healthcore/platform/pg"
)

// exportStore reads and writes data_exports: each export of a patient's data, and
// what is needed to read its sealed archive (the sealed data key, the nonce prefix).
type exportStore struct{}

// Export states, as stored.
const (
	exportPending = "pending"
	exportReady   = "ready"
	exportExpired = "expired"
	exportFailed  = "failed"
)

// dataExport is a row of data_exports.
type dataExport struct {
	ID, AccountID, State string
	CreatedAt            time.Time
	ReadyAt, ExpiresAt   *time.Time
	Size                 int64
	BlobKey              string
	DataKey, NoncePrefix []byte
}

const exportColumns = `id::text, account_id::text, state, created_at, ready_at, expires_at, coalesce(size_bytes, 0),
	coalesce(blob_key, ''), data_key, nonce_prefix`

func scanExport(row pgx.Row) (dataExport, error) {
	var e dataExport
	err := row.Scan(&e.ID, &e.AccountID, &e.State, &e.CreatedAt, &e.ReadyAt, &e.ExpiresAt, &e.Size, &e.BlobKey, &e.DataKey,
		&e.NoncePrefix)
	return e, err
}

// insert records a new pending export; ok is false when the account has one pending
// already (data_exports_one_pending), which is then returned instead.
func (exportStore) insert(ctx context.Context, q pg.Querier, id, accountID string, at time.Time) (dataExport, bool, error) {
	e, err := scanExport(q.QueryRow(ctx, `INSERT INTO data_exports (id, account_id, state, created_at)
		VALUES ($1, $2, 'pending', $3) ON CONFLICT (account_id) WHERE state = 'pending' DO NOTHING
		RETURNING `+exportColumns, id, accountID, at))
	if err == nil {
		return e, true, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return dataExport{}, false, fmt.Errorf("insert data export: %w", err)
	}
	e, err = scanExport(q.QueryRow(ctx, `SELECT `+exportColumns+` FROM data_exports
		WHERE account_id = $1 AND state = 'pending'`, accountID))
	if err != nil {
		return dataExport{}, false, fmt.Errorf("select pending data export: %w", err)
	}
	return e, false, nil
}

// get returns export id; pgx.ErrNoRows (wrapped) when there is none.
func (exportStore) get(ctx context.Context, q pg.Querier, id string) (dataExport, error) {
	e, err := scanExport(q.QueryRow(ctx, `SELECT `+exportColumns+` FROM data_exports WHERE id = $1`, id))
	if err != nil {
		return dataExport{}, fmt.Errorf("select data export %s: %w", id, err)
	}
	return e, nil
}

// markReady stores a pending export's archive. It reports false when the export is
// no longer pending (a rerun of the job after it finished).
func (exportStore) markReady(ctx context.Context, q pg.Querier, e dataExport) (bool, error) {
	tag, err := q.Exec(ctx, `UPDATE data_exports SET state = 'ready', ready_at = $2, expires_at = $3, size_bytes = $4,
			blob_key = $5, data_key = $6, nonce_prefix = $7
		WHERE id = $1 AND state = 'pending'`, e.ID, e.ReadyAt, e.ExpiresAt, e.Size, e.BlobKey, e.DataKey, e.NoncePrefix)
	if err != nil {
		return false, fmt.Errorf("mark data export %s ready: %w", e.ID, err)
	}
	return tag.RowsAffected() == 1, nil
}

// end moves export id from one of states from to state to (expired or failed).
func (exportStore) end(ctx context.Context, q pg.Querier, id, to string, from ...string) error {
	if _, err := q.Exec(ctx, `UPDATE data_exports SET state = $2 WHERE id = $1 AND state = ANY($3)`, id, to, from); err != nil {
		return fmt.Errorf("end data export %s: %w", id, err)
	}
	return nil
}

// liveIDs returns the ids of the account's exports still pending or ready.
func (exportStore) liveIDs(ctx context.Context, q pg.Querier, accountID string) ([]string, error) {
	rows, err := q.Query(ctx, `SELECT id::text FROM data_exports WHERE account_id = $1 AND state IN ('pending', 'ready')`, accountID)
	if err != nil {
		return nil, fmt.Errorf("list live data exports: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("list live data exports: %w", err)
	}
	return ids, nil
}
