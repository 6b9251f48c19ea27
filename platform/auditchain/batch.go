package auditchain

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"healthcore/platform/pg"
)

// Batcher appends rows of a log that go through the pool (not inside the caller's
// transaction) by group commit: rows submitted while a batch is being written wait, and
// the next batch takes all of them (up to BatchOptions.MaxRows) in one transaction that
// locks the head once, draws every id in one statement and moves the head once
// ([AppendRows]). Under load the head's lock is then taken once per batch instead of
// once per row: a row waits for the batch being written and its own, not for every
// row submitted before it one transaction at a time.
//
// One goroutine writes the batches, one after the other; it starts when a row is
// submitted and none is running, and ends when nothing is left to write, so a batcher
// needs no starting and holds nothing while idle. Each process (replica) has its own
// batcher per log; the head's lock still orders their batches, and every per-row
// append inside a caller's transaction ([AppendRows]), into one chain.
//
// For a log with an outbox (Log.Pending), every batch also takes the rows staged in
// callers' transactions ([StageRows]) and chains them first, with the times they were
// staged at: a caller that staged a row calls [Batcher.Flush] once its transaction has
// committed, and the callers flushing meanwhile share the next batch. Rows whose
// process died before they were chained are chained by the next batch of any process
// ([Batcher.ChainPending], [Batcher.During]).
type Batcher[R any] struct {
	log  Log
	db   pg.Beginner
	key  *Key
	w    Writer[R]
	opts BatchOptions

	mu      sync.Mutex
	queue   []*pending[R]
	running bool
	closed  bool
	writer  sync.WaitGroup

	stats struct{ txs, rows atomic.Int64 }
}

// BatchOptions tune a [Batcher].
type BatchOptions struct {
	// MaxRows bounds the rows of one batch (0 means 256).
	MaxRows int
	// Timeout bounds one batch's transaction (0 means 30 s). A batch does not end when
	// one of its callers gives up, only when this runs out.
	Timeout time.Duration
}

// pending is a submitted row, or a flush (no row), and the answer its caller waits
// for.
type pending[R any] struct {
	row R
	// flush is set for a caller of Flush: it is answered by the first batch that took
	// every row left in the outbox.
	flush bool
	// taken is set (under the batcher's lock) when a batch takes the row: from then on
	// its caller waits for the batch's answer.
	taken bool
	done  chan error
}

// BatchStats counts what a batcher wrote.
type BatchStats struct {
	// Transactions counts the transactions run: one per batch, and one per row of a
	// batch retried row by row.
	Transactions int64
	// Rows counts the rows written (committed).
	Rows int64
}

// NewBatcher returns a batcher appending rows through db, the pool.
func NewBatcher[R any](l Log, db pg.Beginner, key *Key, w Writer[R], opts BatchOptions) *Batcher[R] {
	if opts.MaxRows <= 0 {
		opts.MaxRows = 256
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	return &Batcher[R]{log: l, db: db, key: key, w: w, opts: opts}
}

// Append appends r and returns once it is committed, or with the reason it is not
// written:
//   - when ctx ends before a batch takes r, r is dropped and Append returns ctx's error;
//     once taken, Append waits for the batch's answer whatever ctx does;
//   - when a batch's transaction fails on a row's data (an SQLSTATE of class 22 or 23,
//     say a constraint the row breaks), its rows are retried one per transaction, so a
//     bad row fails only its own caller;
//   - when it fails otherwise (the connection lost, the batch's timeout), no row of it
//     is written and every caller gets the error.
//
// After Close, Append writes r in a transaction of its own.
func (b *Batcher[R]) Append(ctx context.Context, r R) error {
	if b.key == nil {
		return errors.New("auditchain: append to " + b.log.Name + " without a chain key")
	}
	return b.submit(ctx, &pending[R]{row: r, done: make(chan error, 1)})
}

// Flush chains the rows of the log's outbox and returns once a batch that began after
// the call has taken every row left there and committed, or with the reason it did not:
// a caller that staged rows ([StageRows]) calls it after its transaction committed, and
// its rows are then in the chain (chained by this batcher, or by another process's
// batch that took them first). Callers flushing while a batch is being written share
// the next batch. ctx works as for [Batcher.Append]; after Close, Flush drains the
// outbox in transactions of its own. A log without an outbox has nothing to flush.
func (b *Batcher[R]) Flush(ctx context.Context) error {
	if b.log.Pending == "" {
		return nil
	}
	if b.key == nil {
		return errors.New("auditchain: chain the outbox of " + b.log.Name + " without a chain key")
	}
	return b.submit(ctx, &pending[R]{flush: true, done: make(chan error, 1)})
}

// ChainPending chains the rows of the log's outbox when there are any ([Batcher.Flush]),
// and does nothing else (one cheap query) when it is empty. A service calls it at start
// and every so often ([Batcher.During]), to chain the rows a process staged and died
// before chaining.
func (b *Batcher[R]) ChainPending(ctx context.Context) error {
	if b.log.Pending == "" {
		return nil
	}
	var found bool
	var err error
	if q, ok := b.db.(pg.Querier); ok {
		found, err = b.log.hasPending(ctx, q)
	} else {
		err = pg.InTx(ctx, b.db, func(tx pgx.Tx) error {
			found, err = b.log.hasPending(ctx, tx)
			return err
		})
	}
	if err != nil || !found {
		return err
	}
	return b.Flush(ctx)
}

// SweepEvery is how often [Batcher.During] looks for rows left in the outbox.
const SweepEvery = 30 * time.Second

// During runs run (a service's Run) and meanwhile chains the rows left in the log's
// outbox by a process that stopped before chaining them: at once, then every
// SweepEvery, an empty outbox costing one query (logging on log what fails). Once run
// returns it stops sweeping and closes the batcher ([Batcher.Close]), waiting for the
// rows still being written, and returns both errors.
func (b *Batcher[R]) During(ctx context.Context, log *slog.Logger, run func(context.Context) error) error {
	sweep, stop := context.WithCancel(ctx)
	var swept sync.WaitGroup
	swept.Go(func() { b.sweep(sweep, log) })
	err := run(ctx)
	stop()
	swept.Wait()
	return errors.Join(err, b.Close(context.WithoutCancel(ctx)))
}

// sweep runs ChainPending at once and then every SweepEvery until ctx ends, logging
// (on log) what fails.
func (b *Batcher[R]) sweep(ctx context.Context, log *slog.Logger) {
	t := time.NewTicker(SweepEvery)
	defer t.Stop()
	for {
		if err := b.ChainPending(ctx); err != nil && ctx.Err() == nil {
			log.WarnContext(ctx, "audit outbox: chaining pending rows failed", slog.String("log", b.log.Name),
				slog.String("error", err.Error()))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// submit queues p and waits for its answer.
func (b *Batcher[R]) submit(ctx context.Context, p *pending[R]) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		if p.flush {
			return b.drain(ctx)
		}
		return b.one(ctx, p.row)
	}
	b.queue = append(b.queue, p)
	if !b.running {
		b.running = true
		b.writer.Add(1)
		go b.work()
	}
	b.mu.Unlock()
	select {
	case err := <-p.done:
		return err
	case <-ctx.Done():
	}
	b.mu.Lock()
	if !p.taken {
		b.queue = slices.DeleteFunc(b.queue, func(q *pending[R]) bool { return q == p })
		b.mu.Unlock()
		return ctx.Err()
	}
	b.mu.Unlock()
	return <-p.done
}

// Close makes later appends write their rows one per transaction and waits until the
// rows already submitted are written (or ctx ends). A service calls it when it stops.
// Closing a nil batcher does nothing.
func (b *Batcher[R]) Close(ctx context.Context) error {
	if b == nil {
		return nil
	}
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	drained := make(chan struct{})
	go func() {
		b.writer.Wait()
		close(drained)
	}()
	select {
	case <-drained:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("auditchain: %s: rows still being written: %w", b.log.Name, ctx.Err())
	}
}

// Stats returns what the batcher has written so far.
func (b *Batcher[R]) Stats() BatchStats {
	return BatchStats{Transactions: b.stats.txs.Load(), Rows: b.stats.rows.Load()}
}

// work writes batches until no row is waiting.
func (b *Batcher[R]) work() {
	defer b.writer.Done()
	for {
		b.mu.Lock()
		n := min(len(b.queue), b.opts.MaxRows)
		if n == 0 {
			b.running = false
			b.mu.Unlock()
			return
		}
		batch := slices.Clone(b.queue[:n])
		b.queue = slices.Delete(b.queue, 0, n)
		for _, p := range batch {
			p.taken = true
		}
		b.mu.Unlock()
		b.write(batch)
	}
}

// write writes a batch in one transaction, with the rows it takes from the outbox
// (up to MaxRows), and answers its callers. A flush whose batch found the outbox full
// waits for the next batch.
func (b *Batcher[R]) write(batch []*pending[R]) {
	var rows []R
	var flushes, appends []*pending[R]
	for _, p := range batch {
		if p.flush {
			flushes = append(flushes, p)
			continue
		}
		appends = append(appends, p)
		rows = append(rows, p.row)
	}
	drain := 0
	if b.log.Pending != "" {
		drain = b.opts.MaxRows
	}
	ctx, cancel := context.WithTimeout(context.Background(), b.opts.Timeout)
	defer cancel()
	b.stats.txs.Add(1)
	var taken int
	err := pg.InTx(ctx, b.db, func(tx pgx.Tx) (err error) {
		taken, err = chainRows(ctx, b.log, tx, b.key, b.w, rows, drain)
		return err
	})
	if err == nil {
		b.stats.rows.Add(int64(taken + len(rows)))
		if drain > 0 && taken == drain {
			// The outbox may hold more: the flushes wait for a batch that empties it.
			b.mu.Lock()
			b.queue = append(flushes, b.queue...)
			for _, p := range flushes {
				p.taken = false
			}
			b.mu.Unlock()
			flushes = nil
		}
	}
	if err != nil && len(appends) > 0 && rowError(err) && (len(appends) > 1 || drain > 0) {
		// One row's data broke the batch: each appended row on its own (without the
		// outbox), so only that row fails; the flushes get the error.
		for _, p := range appends {
			p.done <- b.one(context.Background(), p.row)
		}
		for _, p := range flushes {
			p.done <- fmt.Errorf("auditchain: chain the outbox of %s: %w", b.log.Name, err)
		}
		return
	}
	if err != nil {
		err = fmt.Errorf("auditchain: append a batch of %d rows to %s: %w", len(batch), b.log.Name, err)
	}
	for _, p := range append(appends, flushes...) {
		p.done <- err
	}
}

// one writes r in a transaction of its own.
func (b *Batcher[R]) one(ctx context.Context, r R) error {
	ctx, cancel := context.WithTimeout(ctx, b.opts.Timeout)
	defer cancel()
	b.stats.txs.Add(1)
	if err := pg.InTx(ctx, b.db, func(tx pgx.Tx) error { return appendRows(ctx, b.log, tx, b.key, b.w, []R{r}) }); err != nil {
		return fmt.Errorf("auditchain: append to %s: %w", b.log.Name, err)
	}
	b.stats.rows.Add(1)
	return nil
}

// drain chains the whole outbox in transactions of their own (after Close).
func (b *Batcher[R]) drain(ctx context.Context) error {
	for {
		ctx, cancel := context.WithTimeout(ctx, b.opts.Timeout)
		var taken int
		b.stats.txs.Add(1)
		err := pg.InTx(ctx, b.db, func(tx pgx.Tx) (err error) {
			taken, err = chainRows(ctx, b.log, tx, b.key, b.w, nil, b.opts.MaxRows)
			return err
		})
		cancel()
		if err != nil {
			return fmt.Errorf("auditchain: chain the outbox of %s: %w", b.log.Name, err)
		}
		b.stats.rows.Add(int64(taken))
		if taken < b.opts.MaxRows {
			return nil
		}
	}
}

// rowError reports whether err is PostgreSQL refusing a row's data: a data exception
// (SQLSTATE class 22) or an integrity constraint violation (class 23).
func rowError(err error) bool {
	e, ok := errors.AsType[*pgconn.PgError](err)
	return ok && len(e.Code) == 5 && (e.Code[:2] == "22" || e.Code[:2] == "23")
}
