package auditchain

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"healthcore/platform/pg"
)

// pendingCount is the number of rows in the test log's outbox.
func pendingCount(t testing.TB, db pg.Querier) int {
	t.Helper()
	var n int
	if err := db.QueryRow(context.Background(), `SELECT count(*) FROM log_pending`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// stage stages r in a transaction of its own through db, with the action it records
// (a row of the test log's outbox is all the action there is), and returns the
// transaction's time.
func stage(t testing.TB, db *pgxpool.Pool, r testRow) time.Time {
	t.Helper()
	ctx := context.Background()
	var at time.Time
	err := pg.InTx(ctx, db, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT now()`).Scan(&at); err != nil {
			return err
		}
		return StageRows(ctx, outboxLog, tx, unnestWriter, r)
	})
	if err != nil {
		t.Fatal(err)
	}
	return at
}

func TestOutbox_ARolledBackTransactionLeavesNoEntry(t *testing.T) {
	b, db, _, key := newOutboxBatcher(t)
	ctx := context.Background()
	refused := errors.New("the action failed")
	err := pg.InTx(ctx, db, func(tx pgx.Tx) error {
		if err := StageRows(ctx, outboxLog, tx, unnestWriter, testRow{what: "rolled back"}); err != nil {
			return err
		}
		return refused
	})
	if !errors.Is(err, refused) {
		t.Fatalf("InTx = %v", err)
	}
	if err := b.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := b.Append(ctx, testRow{what: "after"}); err != nil {
		t.Fatal(err)
	}
	wantRows(t, db, []string{"after"})
	if n := pendingCount(t, db); n != 0 {
		t.Errorf("%d rows left in the outbox", n)
	}
	wantChain(t, db, key, 1)
}

// newOutboxBatcher returns a batcher on a new test log with its outbox, its pool, a
// pool for the callers' transactions, and the chain key.
func newOutboxBatcher(t testing.TB) (*Batcher[testRow], *pgxpool.Pool, *pgxpool.Pool, *Key) {
	t.Helper()
	url := testURL(t)
	db, callers, key := testPool(t, url, 3), testPool(t, url, 8), logKey(t)
	return NewBatcher(outboxLog, db, key, unnestWriter, BatchOptions{}), db, callers, key
}

func TestOutbox_ConcurrentStagersAreEachChainedOnceBeforeFlushReturns(t *testing.T) {
	url := testURL(t)
	key := logKey(t)
	// Two replicas, each with its batcher, their callers staging in their own
	// transactions while other rows come through the pool.
	db1, db2, callers := testPool(t, url, 3), testPool(t, url, 3), testPool(t, url, 10)
	b1 := NewBatcher(outboxLog, db1, key, unnestWriter, BatchOptions{MaxRows: 8})
	b2 := NewBatcher(outboxLog, db2, key, unnestWriter, BatchOptions{})
	const n = 60
	errs := make([]error, 2*n)
	var wg sync.WaitGroup
	for i := range n {
		b := b1
		if i%2 == 1 {
			b = b2
		}
		wg.Go(func() {
			ctx := context.Background()
			what := fmt.Sprintf("staged-%03d", i)
			err := pg.InTx(ctx, callers, func(tx pgx.Tx) error {
				return StageRows(ctx, outboxLog, tx, unnestWriter, testRow{what: what, ref: what})
			})
			if err == nil {
				err = b.Flush(ctx)
			}
			if err == nil {
				// Chained once Flush returns: the caller's reader sees it in the log.
				var k int
				err = callers.QueryRow(ctx, `SELECT count(*) FROM log WHERE ref = $1 AND row_hash IS NOT NULL`, what).Scan(&k)
				if err == nil && k != 1 {
					err = fmt.Errorf("%s is in the log %d times after Flush", what, k)
				}
			}
			errs[i] = err
		})
		wg.Go(func() { errs[n+i] = b.Append(context.Background(), testRow{what: fmt.Sprintf("pool-%03d", i)}) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("caller %d: %v", i, err)
		}
	}
	want := append(rowsNamedWhats("staged", n), rowsNamedWhats("pool", n)...)
	wantRows(t, db1, want)
	if k := pendingCount(t, db1); k != 0 {
		t.Errorf("%d rows left in the outbox", k)
	}
	wantChain(t, db1, key, 2*n)
	if s1, s2 := b1.Stats(), b2.Stats(); s1.Rows+s2.Rows != 2*n {
		t.Errorf("batchers chained %d + %d rows, want %d in all", s1.Rows, s2.Rows, 2*n)
	}
}

// rowsNamedWhats are the whats of rowsNamed(prefix, 0, n).
func rowsNamedWhats(prefix string, n int) []string {
	var out []string
	for _, r := range rowsNamed(prefix, 0, n) {
		out = append(out, r.what)
	}
	return out
}

func TestOutbox_RowsStagedByAProcessThatDiedAreChainedByAnother(t *testing.T) {
	b, db, callers, key := newOutboxBatcher(t)
	ctx := context.Background()
	if err := b.Append(ctx, testRow{what: "before"}); err != nil {
		t.Fatal(err)
	}
	// Committed, then the process died before it flushed: the rows wait in the outbox.
	at1 := stage(t, callers, testRow{what: "orphan-1", who: "0b4f1c2e-8a3d-4c5b-9e6f-7a8b9c0d1e2f"})
	at2 := stage(t, callers, testRow{what: "orphan-2"})
	if n := pendingCount(t, db); n != 2 {
		t.Fatalf("%d rows in the outbox, want 2", n)
	}
	wantChain(t, db, key, 1)

	// Another process (a new batcher) chains them at start.
	other := NewBatcher(outboxLog, testPool(t, urlOf(t, db), 2), key, unnestWriter, BatchOptions{})
	if err := other.ChainPending(ctx); err != nil {
		t.Fatal(err)
	}
	if n := pendingCount(t, db); n != 0 {
		t.Errorf("%d rows left in the outbox", n)
	}
	if got := other.Stats(); got != (BatchStats{Transactions: 1, Rows: 2}) {
		t.Errorf("stats = %+v, want the 2 rows in 1 transaction", got)
	}
	wantRows(t, db, []string{"before", "orphan-1", "orphan-2"})
	wantChain(t, db, key, 3)
	// Their time is their transaction's, not the chaining's; ids follow "before".
	rows, err := db.Query(ctx, `SELECT what, at FROM log WHERE what LIKE 'orphan-%' ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	type whatAt struct {
		What string
		At   time.Time
	}
	got, err := pgx.CollectRows(rows, pgx.RowToStructByPos[whatAt])
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || !got[0].At.Equal(at1) || !got[1].At.Equal(at2) || got[0].What != "orphan-1" {
		t.Errorf("chained %+v, want orphan-1 at %v then orphan-2 at %v", got, at1, at2)
	}

	// An empty outbox costs one query: no transaction of the batcher's.
	if err := other.ChainPending(ctx); err != nil {
		t.Fatal(err)
	}
	if got := other.Stats().Transactions; got != 1 {
		t.Errorf("ChainPending on an empty outbox ran a batch (%d transactions)", got)
	}
}

// urlOf is the URL of db's database, for a second process's pool.
func urlOf(t testing.TB, db *pgxpool.Pool) string {
	t.Helper()
	return db.Config().ConnString()
}

func TestOutbox_AFullBatchDrainsInSeveralAndFlushWaitsForAll(t *testing.T) {
	url := testURL(t)
	db, callers, key := testPool(t, url, 2), testPool(t, url, 2), logKey(t)
	b := NewBatcher(outboxLog, db, key, unnestWriter, BatchOptions{MaxRows: 4})
	for i := range 10 {
		stage(t, callers, testRow{what: fmt.Sprintf("staged-%03d", i)})
	}
	if err := b.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	wantRows(t, db, rowsNamedWhats("staged", 10))
	if n := pendingCount(t, db); n != 0 {
		t.Errorf("%d rows left in the outbox", n)
	}
	wantChain(t, db, key, 10)
	if got := b.Stats(); got != (BatchStats{Transactions: 3, Rows: 10}) {
		t.Errorf("stats = %+v, want 10 rows in 3 batches of at most 4", got)
	}
}

func TestOutbox_FlushAfterCloseDrainsInTransactionsOfItsOwn(t *testing.T) {
	b, db, callers, key := newOutboxBatcher(t)
	stage(t, callers, testRow{what: "staged"})
	if err := b.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := b.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	wantRows(t, db, []string{"staged"})
	wantChain(t, db, key, 1)
}

func TestStageRows_RefusesALogWithoutOutbox(t *testing.T) {
	db := testPool(t, testURL(t), 1)
	ctx := context.Background()
	err := pg.InTx(ctx, db, func(tx pgx.Tx) error { return StageRows(ctx, testLog, tx, unnestWriter, testRow{what: "x"}) })
	if err == nil {
		t.Error("staged a row of a log without an outbox")
	}
}

// InTx with Append: in its transaction a row is staged (so a rollback leaves nothing)
// and chained by the time InTx returns; in another transaction it is chained in it;
// through the pool it goes by the batcher; with no batcher, InTx's rows are chained in
// the transaction itself.
func TestInTx_AppendStagesInItsTransactionAndChainsOnReturn(t *testing.T) {
	b, db, _, key := newOutboxBatcher(t)
	ctx := context.Background()
	appendIn := func(b *Batcher[testRow], what string, fail error) (unchained, err error) {
		return InTx(ctx, db, b, func(tx pgx.Tx) error {
			if err := Append(ctx, outboxLog, key, unnestWriter, b, tx, testRow{what: what}); err != nil {
				return err
			}
			if n := pendingCount(t, tx); b != nil && n != 1 {
				t.Errorf("%s: %d rows in the outbox inside the transaction, want it staged there", what, n)
			}
			return fail
		})
	}
	refused := errors.New("the action failed")
	if _, err := appendIn(b, "rolled back", refused); !errors.Is(err, refused) {
		t.Fatalf("InTx = %v, want the action's error", err)
	}
	if unchained, err := appendIn(b, "staged", nil); unchained != nil || err != nil {
		t.Fatalf("InTx = %v, %v", unchained, err)
	}
	wantRows(t, db, []string{"staged"}) // chained when InTx returned
	if n := pendingCount(t, db); n != 0 {
		t.Errorf("%d rows left in the outbox", n)
	}
	err := pg.InTx(ctx, db, func(tx pgx.Tx) error {
		return Append(ctx, outboxLog, key, unnestWriter, b, tx, testRow{what: "in a plain transaction"})
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := Append(ctx, outboxLog, key, unnestWriter, b, db, testRow{what: "through the pool"}); err != nil {
		t.Fatal(err)
	}
	if unchained, err := appendIn(nil, "no batcher", nil); unchained != nil || err != nil {
		t.Fatalf("InTx without a batcher = %v, %v", unchained, err)
	}
	wantRows(t, db, []string{"staged", "in a plain transaction", "through the pool", "no batcher"})
	if got := b.Stats().Rows; got != 2 {
		t.Errorf("the batcher wrote %d rows, want the staged one and the pool's", got)
	}
	wantChain(t, db, key, 4)
}
