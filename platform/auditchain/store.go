package auditchain

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"healthcore/platform/pg"
)

// The SQL of a chained log's head and ids. The table names are the service's constants
// (Log.Table), never input, and are quoted as identifiers.

func (l Log) headTable() string { return pgx.Identifier{l.Table + "_head"}.Sanitize() }

// readHead reads the head, locking it until q's transaction ends when forUpdate.
func (l Log) readHead(ctx context.Context, q pg.Querier, forUpdate bool) (Head, error) {
	sql := `SELECT first_id, last_id, last_hash FROM ` + l.headTable()
	if forUpdate {
		sql += ` FOR UPDATE`
	}
	var first, last pgtype.Int8
	var h Head
	err := q.QueryRow(ctx, sql).Scan(&first, &last, &h.Hash)
	if errors.Is(err, pgx.ErrNoRows) {
		return h, fmt.Errorf("auditchain: the head of %s has no row", l.Name)
	}
	if err != nil {
		return h, fmt.Errorf("auditchain: read the head of %s: %w", l.Name, err)
	}
	h.FirstID, h.LastID = first.Int64, last.Int64
	return h, nil
}

// moveHead points the head at a new last row.
func (l Log) moveHead(ctx context.Context, tx pgx.Tx, next Head) error {
	if _, err := tx.Exec(ctx, `UPDATE `+l.headTable()+` SET first_id = $1, last_id = $2, last_hash = $3`,
		next.FirstID, next.LastID, next.Hash); err != nil {
		return fmt.Errorf("auditchain: move the head of %s: %w", l.Name, err)
	}
	return nil
}

// drawIDs draws the next n rows' ids from the log's identity sequence, in increasing
// order, with the transaction's time.
func (l Log) drawIDs(ctx context.Context, tx pgx.Tx, n int) ([]int64, time.Time, error) {
	var ids []int64
	var now time.Time
	if err := tx.QueryRow(ctx, `SELECT array_agg(nextval(pg_get_serial_sequence($1, 'id'))), now() FROM generate_series(1, $2)`,
		l.Table, n).Scan(&ids, &now); err != nil {
		return nil, now, fmt.Errorf("auditchain: draw %d ids of %s: %w", n, l.Name, err)
	}
	if len(ids) != n {
		return nil, now, fmt.Errorf("auditchain: drew %d ids of %s, want %d", len(ids), l.Name, n)
	}
	// array_agg keeps the order nextval ran in; sorting makes chain order not depend
	// on the plan.
	slices.Sort(ids)
	return ids, now, nil
}

// hasPending reports whether the log's outbox holds a row (committed, not yet
// chained).
func (l Log) hasPending(ctx context.Context, q pg.Querier) (bool, error) {
	var found bool
	if err := q.QueryRow(ctx, `SELECT EXISTS (SELECT FROM `+pgx.Identifier{l.Pending}.Sanitize()+`)`).Scan(&found); err != nil {
		return false, fmt.Errorf("auditchain: pending rows of %s: %w", l.Name, err)
	}
	return found, nil
}

// lastID is the id of the log's last row (0 when empty).
func (l Log) lastID(ctx context.Context, q pg.Querier) (int64, error) {
	var after int64
	if err := q.QueryRow(ctx, `SELECT coalesce(max(id), 0) FROM `+pgx.Identifier{l.Table}.Sanitize()).Scan(&after); err != nil {
		return 0, fmt.Errorf("auditchain: last row of %s: %w", l.Name, err)
	}
	return after, nil
}

// snapshot makes tx read one consistent, read-only snapshot.
func snapshot(ctx context.Context, tx pgx.Tx) error {
	if _, err := tx.Exec(ctx, `SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY`); err != nil {
		return fmt.Errorf("auditchain: snapshot: %w", err)
	}
	return nil
}

func (l Log) cursorTable() string { return pgx.Identifier{l.Table + "_export"}.Sanitize() }

// lockCursor reads the id of the last row exported, locking the cursor row until tx
// ends.
func (l Log) lockCursor(ctx context.Context, tx pgx.Tx) (int64, error) {
	var after int64
	err := tx.QueryRow(ctx, `SELECT last_id FROM `+l.cursorTable()+` FOR UPDATE`).Scan(&after)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, fmt.Errorf("auditchain: the export cursor of %s has no row", l.Name)
	}
	if err != nil {
		return 0, fmt.Errorf("auditchain: lock the export cursor of %s: %w", l.Name, err)
	}
	return after, nil
}

// moveCursor records last as the last row exported.
func (l Log) moveCursor(ctx context.Context, tx pgx.Tx, last int64) error {
	if _, err := tx.Exec(ctx, `UPDATE `+l.cursorTable()+` SET last_id = $1`, last); err != nil {
		return fmt.Errorf("auditchain: move the export cursor of %s: %w", l.Name, err)
	}
	return nil
}
