package auditchain

import (
	"context"

	"github.com/jackc/pgx/v5"

	"healthcore/platform/pg"
)

// Tx is a transaction of [InTx]: the rows [Append] writes in it are staged in the
// log's outbox, and chained once it has committed.
type Tx struct {
	pgx.Tx
	staged bool
}

// InTx runs f in one transaction of db (pg.InTx), the pool b appends through. The rows
// f appends in it through [Append] go to the log's outbox, without locking the chain's
// head (which would make every such transaction wait for the others and for the
// batches): once the transaction has committed, InTx flushes the outbox
// ([Batcher.Flush]) and waits for it, so the rows are in the chain when it returns; the
// callers committing meanwhile share one batch. err is f's transaction's; when only
// the chaining fails, the action has still happened: err is nil and unchained says why
// the rows wait in the outbox (for the sweep, or any replica's next batch). With no
// batcher (b nil), the rows are chained in the transaction itself.
func InTx[R any](ctx context.Context, db pg.Beginner, b *Batcher[R], f func(pgx.Tx) error) (unchained, err error) {
	var staged bool
	err = pg.InTx(ctx, db, func(tx pgx.Tx) error {
		t := &Tx{Tx: tx}
		err := f(t)
		staged = t.staged
		return err
	})
	if err != nil || !staged || b == nil {
		return nil, err
	}
	return b.Flush(ctx), nil
}

// Append writes r to the log, given q:
//   - a transaction of [InTx]: staged in the outbox, committing or rolling back
//     with it, and chained once it committed;
//   - another transaction: chained in it ([AppendRows]), the chain's head locked until
//     it ends;
//   - the pool: through b, with the rows appended meanwhile, in a transaction of their
//     own, returning once committed ([Batcher.Append]).
//
// With no batcher (b nil) every row is chained in q ([AppendRows]).
func Append[R any](ctx context.Context, l Log, key *Key, w Writer[R], b *Batcher[R], q pg.Querier, r R) error {
	switch tx := q.(type) {
	case *Tx:
		if b == nil {
			return AppendRows(ctx, l, tx.Tx, key, w, r)
		}
		if err := StageRows(ctx, l, tx.Tx, w, r); err != nil {
			return err
		}
		tx.staged = true
		return nil
	case pgx.Tx:
		return AppendRows(ctx, l, tx, key, w, r)
	}
	if b == nil {
		return AppendRows(ctx, l, q, key, w, r)
	}
	return b.Append(ctx, r)
}
