package pg

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Querier is what a store method reads and writes through: the pool, or a transaction
// of InTx. Store methods take one, so a use case decides what runs in one transaction.
type Querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Beginner starts transactions: a pool (or a transaction, for a savepoint).
type Beginner interface {
	Begin(ctx context.Context) (pgx.Tx, error)
}

// maxTxAttempts bounds the reruns of a transaction PostgreSQL asked us to retry.
const maxTxAttempts = 5

// retryPause is the longest wait before the first rerun; it doubles for each next one.
// The wait is drawn at random below it, so two transactions that aborted each other do
// not rerun in lockstep and collide again.
const retryPause = 4 * time.Millisecond

// InTx runs f in one transaction: committed when f returns nil, rolled back otherwise
// (f's error is returned as it is, so a domain error passes through untouched). It is
// the one way Healthcore opens a transaction.
//
// When PostgreSQL aborts the transaction with a serialization failure (40001) or a
// deadlock (40P01) — outcomes it tells the client to retry — InTx runs f again after a
// short random pause, up to five times in all. f must therefore do nothing outside tx
// that cannot be repeated: no provider calls, no sends on channels.
func InTx(ctx context.Context, db Beginner, f func(pgx.Tx) error) error {
	var err error
	for attempt := range maxTxAttempts {
		if attempt > 0 {
			select {
			case <-time.After(time.Duration(rand.Int64N(int64(retryPause << (attempt - 1))))):
			case <-ctx.Done():
				return err
			}
		}
		err = pgx.BeginFunc(ctx, db, f)
		if !IsRetryable(err) || ctx.Err() != nil {
			break
		}
	}
	return err
}

// IsRetryable reports whether err is a serialization failure or a deadlock: the
// transaction was aborted and may succeed if run again.
func IsRetryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}
