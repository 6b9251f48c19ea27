package auditchain

import (
	"context"
	"errors"
	"iter"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"healthcore/platform/pg"
)

// Log is a chained log of a service's schema. Its table has an identity column id and
// the columns prev_hash and row_hash; its head table, named Table+"_head", has one row
// (first_id, last_id, last_hash), and refuses DELETE and TRUNCATE.
type Log struct {
	// Name goes into every row's hash: "<schema>.<table>".
	Name string
	// Table is the log's table (a constant of the service, never input).
	Table string
}

// Append appends one row to the log in q's transaction (or in one of its own when q is
// the pool). With the head locked, it draws the row's id from the table's identity
// sequence, asks fields for the row's hashed fields given that id and the
// transaction's time (now(), for a log whose time is the database's), and calls insert
// to write the row with its id, prev_hash and row_hash (OVERRIDING SYSTEM VALUE). It
// then moves the head to the new row.
//
// Locking the head row, and not "the last row of the log", is what keeps the chain
// from forking under READ COMMITTED. Two appenders that both ran SELECT … ORDER BY id
// DESC LIMIT 1 FOR UPDATE would both find the same last row; the second waits for the
// first's lock, and when the first commits PostgreSQL re-checks only the row it was
// waiting for — unchanged, since log rows are never updated — and hands it over,
// without seeing the row the first just inserted: both chain to the same predecessor.
// The head row, in contrast, is updated by every append, and a FOR UPDATE that waited
// on it returns its newest committed version: the second appender chains to the
// first's row. The id is drawn after the lock, so ids grow in chain order.
func (l Log) Append(ctx context.Context, q pg.Querier, key *Key, fields func(id int64, now time.Time) []pgtype.Text,
	insert func(tx pgx.Tx, id int64, prev, hash []byte) error) error {
	if key == nil {
		return errors.New("auditchain: append to " + l.Name + " without a chain key")
	}
	return inTx(ctx, q, func(tx pgx.Tx) error {
		head, err := l.readHead(ctx, tx, true)
		if err != nil {
			return err
		}
		id, now, err := l.drawID(ctx, tx)
		if err != nil {
			return err
		}
		prev := head.Prev()
		hash := key.Sum(l.Name, prev, fields(id, now))
		if err := insert(tx, id, prev, hash); err != nil {
			return err
		}
		next := head.Next(id, hash)
		return l.moveHead(ctx, tx, next)
	})
}

// Verify walks the log end to end under key (nil when the service never created its
// chain secret) and reports its first broken link, reading the head and rows (every
// row of the log in id order, read through the querier given) in one snapshot, without
// blocking appends. It returns an error only when the log cannot be read.
func (l Log) Verify(ctx context.Context, db pg.Beginner, key *Key, rows func(pg.Querier) iter.Seq2[Row, error]) (Report, error) {
	var rep Report
	err := pg.InTx(ctx, db, func(tx pgx.Tx) error {
		// One snapshot: appends commit a row and the head together.
		if err := snapshot(ctx, tx); err != nil {
			return err
		}
		head, err := l.readHead(ctx, tx, false)
		if err != nil {
			return err
		}
		rep, err = Verify(key, l.Name, head, rows(tx))
		return err
	})
	return rep, err
}

// Head reads the log's head as it is, without locking it.
func (l Log) Head(ctx context.Context, q pg.Querier) (Head, error) { return l.readHead(ctx, q, false) }

// NewSecret returns a fresh chain secret ([NewSecret]) naming the log's current last
// row as the last before the chain began. A service calls it once, when it first
// starts on the log, before any row is chained.
func (l Log) NewSecret(ctx context.Context, q pg.Querier) ([]byte, error) {
	after, err := l.lastID(ctx, q)
	if err != nil {
		return nil, err
	}
	return NewSecret(after)
}
