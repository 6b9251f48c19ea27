package auditchain

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"healthcore/platform/pg"
)

// Log is a chained log of a service's schema. Its table has an identity column id and
// the columns prev_hash and row_hash; its head table, named Table+"_head", has one row
// (first_id, last_id, last_hash), and refuses DELETE and TRUNCATE.
//
// A log may also have an unchained outbox (Pending): a table the entries appended in a
// caller's transaction go to ([StageRows]), without the head's lock, and that a
// [Batcher] drains into the chain, in each batch, with the head locked once for the
// whole batch ([Batcher.Flush]).
type Log struct {
	// Name goes into every row's hash: "<schema>.<table>".
	Name string
	// Table is the log's table (a constant of the service, never input).
	Table string
	// Pending is the log's outbox table ("" for none): its rows are entries committed
	// and not yet chained. It refuses UPDATE and TRUNCATE; DELETE is how a batch takes
	// its rows.
	Pending string
}

// Writer is how a log's rows of type R are hashed and written, for [AppendRows] and
// [Batcher].
type Writer[R any] struct {
	// Fields returns the row's hashed fields ([Key.Sum]) given its id and the appending
	// transaction's time.
	Fields func(r R, id int64, now time.Time) []pgtype.Text
	// Insert writes the rows, in chain order, with their ids, prev_hash and row_hash
	// (OVERRIDING SYSTEM VALUE), in tx.
	Insert func(ctx context.Context, tx pgx.Tx, rows []Appended[R]) error
	// Stage writes rows to the log's outbox (Log.Pending), in tx, with the
	// transaction's time; nil for a log without one.
	Stage func(ctx context.Context, tx pgx.Tx, rows []R) error
	// Take deletes at most limit rows from the outbox, in tx, and returns them in the
	// order they are to be chained, each with the time Stage's transaction gave it.
	Take func(ctx context.Context, tx pgx.Tx, limit int) ([]Staged[R], error)
}

// Staged is a row taken from a log's outbox, with the time of the transaction that
// staged it: the row's time in the chain (not the time it was chained).
type Staged[R any] struct {
	Row R
	At  time.Time
}

// Appended is a row as [Writer.Insert] writes it: the row given, the id drawn for it,
// the transaction's time (for a row taken from the outbox, the time of the transaction
// that staged it), and its hashes.
type Appended[R any] struct {
	Row        R
	ID         int64
	Now        time.Time
	Prev, Hash []byte
}

// Columns are a batch of rows as one array per column, for a Writer's Insert to write
// with one statement (INSERT … SELECT FROM unnest($1, $2, …)), whatever the number of
// rows.
type Columns struct {
	IDs        []int64
	At         []time.Time
	Text       [][]pgtype.Text
	Prev, Hash [][]byte
}

// ColumnsOf returns rows as columns: each row's time and its text columns, in the
// table's order, are what cols returns of it.
func ColumnsOf[R any](rows []Appended[R], cols func(Appended[R]) (time.Time, []pgtype.Text)) Columns {
	n := len(rows)
	c := Columns{IDs: make([]int64, n), At: make([]time.Time, n), Prev: make([][]byte, n), Hash: make([][]byte, n)}
	for i, r := range rows {
		at, text := cols(r)
		if c.Text == nil {
			c.Text = make([][]pgtype.Text, len(text))
			for j := range c.Text {
				c.Text[j] = make([]pgtype.Text, n)
			}
		}
		c.IDs[i], c.At[i], c.Prev[i], c.Hash[i] = r.ID, at, r.Prev, r.Hash
		for j, v := range text {
			c.Text[j][i] = v
		}
	}
	return c
}

// Args are the columns as statement arguments: the ids, the times, each text column,
// then prev_hash and row_hash.
func (c Columns) Args() []any {
	args := []any{c.IDs, c.At}
	for _, t := range c.Text {
		args = append(args, t)
	}
	return append(args, c.Prev, c.Hash)
}

// AppendRows appends rows, in their order, to the log in q's transaction (or in one of
// its own when q is the pool). With the head locked, it draws every row's id from the
// table's identity sequence in one statement, asks w.Fields for each row's hashed
// fields given its id and the transaction's time (now(), for a log whose time is the
// database's), chains each row's hash to the one before, writes them all with one call
// of w.Insert, and moves the head once, to the last.
//
// Locking the head row, and not "the last row of the log", is what keeps the chain
// from forking under READ COMMITTED. Two appenders that both ran SELECT … ORDER BY id
// DESC LIMIT 1 FOR UPDATE would both find the same last row; the second waits for the
// first's lock, and when the first commits PostgreSQL re-checks only the row it was
// waiting for — unchanged, since log rows are never updated — and hands it over,
// without seeing the row the first just inserted: both chain to the same predecessor.
// The head row, in contrast, is updated by every append, and a FOR UPDATE that waited
// on it returns its newest committed version: the second appender chains to the
// first's row. The ids are drawn after the lock, so ids grow in chain order.
func AppendRows[R any](ctx context.Context, l Log, q pg.Querier, key *Key, w Writer[R], rows ...R) error {
	if key == nil {
		return errors.New("auditchain: append to " + l.Name + " without a chain key")
	}
	if len(rows) == 0 {
		return nil
	}
	return inTx(ctx, q, func(tx pgx.Tx) error { return appendRows(ctx, l, tx, key, w, rows) })
}

func appendRows[R any](ctx context.Context, l Log, tx pgx.Tx, key *Key, w Writer[R], rows []R) error {
	_, err := chainRows(ctx, l, tx, key, w, rows, 0)
	return err
}

// chainRows appends, with the head locked, first up to drain rows taken from the
// log's outbox (none when drain is 0), each with the time it was staged at, then rows
// with the transaction's time. It returns how many rows it took from the outbox.
func chainRows[R any](ctx context.Context, l Log, tx pgx.Tx, key *Key, w Writer[R], rows []R, drain int) (int, error) {
	head, err := l.readHead(ctx, tx, true)
	if err != nil {
		return 0, err
	}
	var staged []Staged[R]
	if drain > 0 {
		// Taken once the head is locked: a batch (of any process) that took rows
		// before has committed, so this statement no longer sees them.
		if staged, err = w.Take(ctx, tx, drain); err != nil {
			return 0, fmt.Errorf("auditchain: take the pending rows of %s: %w", l.Name, err)
		}
	}
	n := len(staged) + len(rows)
	if n == 0 {
		return 0, nil
	}
	ids, now, err := l.drawIDs(ctx, tx, n)
	if err != nil {
		return 0, err
	}
	out := make([]Appended[R], 0, n)
	add := func(r R, at time.Time) {
		i := len(out)
		prev := head.Prev()
		hash := key.Sum(l.Name, prev, w.Fields(r, ids[i], at))
		out = append(out, Appended[R]{Row: r, ID: ids[i], Now: at, Prev: prev, Hash: hash})
		head = head.Next(ids[i], hash)
	}
	for _, s := range staged {
		add(s.Row, s.At)
	}
	for _, r := range rows {
		add(r, now)
	}
	if err := w.Insert(ctx, tx, out); err != nil {
		return 0, err
	}
	return len(staged), l.moveHead(ctx, tx, head)
}

// StageRows writes rows to the log's outbox in tx, the caller's transaction: they
// commit or roll back with it, and are chained by the next batch of a [Batcher] of the
// log (any process's) that runs after the commit; [Batcher.Flush] asks for that batch
// and waits for it. Unlike [AppendRows], it does not lock the head: transactions that
// stage rows do not wait for each other or for the batches.
func StageRows[R any](ctx context.Context, l Log, tx pgx.Tx, w Writer[R], rows ...R) error {
	if l.Pending == "" || w.Stage == nil || w.Take == nil {
		return errors.New("auditchain: " + l.Name + " has no outbox")
	}
	if len(rows) == 0 {
		return nil
	}
	if err := w.Stage(ctx, tx, rows); err != nil {
		return fmt.Errorf("auditchain: stage rows of %s: %w", l.Name, err)
	}
	return nil
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
