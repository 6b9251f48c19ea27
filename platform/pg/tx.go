package pg

import (
	"context"
	"errors"

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
const maxTxAttempts = 3

// InTx runs f in one transaction: committed when f returns nil, rolled back otherwise
// (f's error is returned as it is, so a domain error passes through untouched). It is
// the one way Healthcore opens a transaction.
//
// When PostgreSQL aborts the transaction with a serialization failure (40001) or a
// deadlock (40P01) — outcomes it tells the client to retry — InTx runs f again, up to
// three times in all. f must therefore do nothing outside tx that cannot be repeated:
// no provider calls, no sends on channels.
func InTx(ctx context.Context, db Beginner, f func(pgx.Tx) error) error {
	var err error
	for range maxTxAttempts {
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
