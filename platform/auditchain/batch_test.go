package auditchain

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"healthcore/platform/pg"
)

// queued waits until want rows wait for a batch to take them.
func queued[R any](t testing.TB, b *Batcher[R], want int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		b.mu.Lock()
		n := len(b.queue)
		b.mu.Unlock()
		if n == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d rows queued, want %d", n, want)
		}
		time.Sleep(time.Millisecond)
	}
}

// newTestBatcher returns a batcher on a new test log, its pool, a pool of adminConns
// for the test's own statements, and the chain key.
func newTestBatcher(t testing.TB, adminConns int32) (*Batcher[testRow], *pgxpool.Pool, *pgxpool.Pool, *Key) {
	t.Helper()
	url := testURL(t)
	db, admin, key := testPool(t, url, 4), testPool(t, url, adminConns), logKey(t)
	return NewBatcher(testLog, db, key, unnestWriter, BatchOptions{}), db, admin, key
}

// appendAll appends rows through b from one goroutine each and returns their errors,
// in rows' order, once all returned.
func appendAll(b *Batcher[testRow], rows []testRow) (wait func() []error) {
	errs := make([]error, len(rows))
	var wg sync.WaitGroup
	for i, r := range rows {
		wg.Go(func() { errs[i] = b.Append(context.Background(), r) })
	}
	return func() []error {
		wg.Wait()
		return errs
	}
}

// rowsNamed returns n rows whose what is prefix-0, prefix-1…
func rowsNamed(prefix string, from, n int) []testRow {
	out := make([]testRow, n)
	for i := range out {
		out[i] = testRow{what: fmt.Sprintf("%s-%03d", prefix, from+i)}
	}
	return out
}

// wantChain fails the test unless the log verifies intact with checked rows.
func wantChain(t testing.TB, db *pgxpool.Pool, key *Key, checked int64) {
	t.Helper()
	rep, err := testLog.Verify(context.Background(), db, key, testRows(context.Background()))
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || rep.Checked != checked {
		t.Errorf("report = %s; want intact with %d rows checked", rep, checked)
	}
}

// wantRows fails the test unless the log holds exactly the rows named want (in any
// order), each once.
func wantRows(t testing.TB, db *pgxpool.Pool, want []string) {
	t.Helper()
	got := whats(t, db)
	slices.Sort(got)
	want = slices.Sorted(slices.Values(want))
	if !slices.Equal(got, want) {
		t.Errorf("log holds %d rows %v…, want %d rows %v…", len(got), got[:min(len(got), 5)], len(want), want[:min(len(want), 5)])
	}
}

func TestBatcher_ConcurrentCallersShareOneTransactionPerBatch(t *testing.T) {
	for _, c := range []struct {
		name    string
		w       Writer[testRow]
		maxRows int
		wantTxs int64
	}{
		// The first row's batch waits on the head alone; the other 199 queue meanwhile
		// and go in one batch, or in batches of at most 64: 64, 64, 64, 7.
		{"unnest", unnestWriter, 0, 2},
		{"pgx batch", batchWriter, 0, 2},
		{"copy", copyWriter, 0, 2},
		{"at most 64 a batch", unnestWriter, 64, 5},
	} {
		t.Run(c.name, func(t *testing.T) {
			url := testURL(t)
			db, admin, key := testPool(t, url, 4), testPool(t, url, 2), logKey(t)
			b := NewBatcher(testLog, db, key, c.w, BatchOptions{MaxRows: c.maxRows})
			release := holdHead(t, admin)
			rows := rowsNamed("row", 0, 200)
			first := appendAll(b, rows[:1])
			waitingOnLock(t, admin, 1)
			rest := appendAll(b, rows[1:])
			queued(t, b, 199)
			wantMetrics(t, b, 1, 0, 199) // the first row's batch waits on the head
			release()
			for i, err := range append(first(), rest()...) {
				if err != nil {
					t.Errorf("row %d: %v", i, err)
				}
			}
			var want []string
			for _, r := range rows {
				want = append(want, r.what)
			}
			wantRows(t, db, want)
			wantChain(t, db, key, 200)
			if got := b.Stats(); got != (BatchStats{Transactions: c.wantTxs, Rows: 200}) {
				t.Errorf("stats = %+v, want %d transactions for 200 rows", got, c.wantTxs)
			}
			wantMetrics(t, b, c.wantTxs, 200, 0)
			// The head moved once per batch, to the last row.
			head, err := testLog.Head(context.Background(), db)
			if err != nil {
				t.Fatal(err)
			}
			var last int64
			if err := db.QueryRow(context.Background(), `SELECT max(id) FROM log`).Scan(&last); err != nil {
				t.Fatal(err)
			}
			if head.LastID != last {
				t.Errorf("head at row %d, the last row is %d", head.LastID, last)
			}
		})
	}
}

func TestBatcher_TwoProcessesAndPerRowAppendsKeepOneChain(t *testing.T) {
	url := testURL(t)
	key := logKey(t)
	// Two replicas, each with its pool and batcher, and appends inside transactions.
	db1, db2, txDB, admin := testPool(t, url, 3), testPool(t, url, 3), testPool(t, url, 10), testPool(t, url, 2)
	b1 := NewBatcher(testLog, db1, key, unnestWriter, BatchOptions{})
	b2 := NewBatcher(testLog, db2, key, batchWriter, BatchOptions{})
	release := holdHead(t, admin)
	r1, r2, inTx := rowsNamed("one", 0, 100), rowsNamed("two", 0, 100), rowsNamed("tx", 0, 10)
	first1, first2 := appendAll(b1, r1[:1]), appendAll(b2, r2[:1])
	waitingOnLock(t, admin, 2)
	rest1, rest2 := appendAll(b1, r1[1:]), appendAll(b2, r2[1:])
	txErrs := make([]error, len(inTx))
	var wg sync.WaitGroup
	for i, r := range inTx {
		wg.Go(func() {
			ctx := context.Background()
			txErrs[i] = pg.InTx(ctx, txDB, func(tx pgx.Tx) error { return AppendRows(ctx, testLog, tx, key, unnestWriter, r) })
		})
	}
	queued(t, b1, 99)
	queued(t, b2, 99)
	waitingOnLock(t, admin, 12)
	release()
	wg.Wait()
	for i, err := range slices.Concat(first1(), rest1(), first2(), rest2(), txErrs) {
		if err != nil {
			t.Errorf("append %d: %v", i, err)
		}
	}
	var want []string
	for _, r := range slices.Concat(r1, r2, inTx) {
		want = append(want, r.what)
	}
	wantRows(t, db1, want)
	wantChain(t, db1, key, 210)
	for i, b := range []*Batcher[testRow]{b1, b2} {
		if got := b.Stats(); got.Rows != 100 || got.Transactions > 2 {
			t.Errorf("batcher %d: stats = %+v, want 100 rows in at most 2 transactions", i+1, got)
		}
	}
}

func TestBatcher_ABadRowFailsOnlyItsCaller(t *testing.T) {
	b, db, admin, key := newTestBatcher(t, 2)
	release := holdHead(t, admin)
	first := appendAll(b, rowsNamed("row", 0, 1))
	waitingOnLock(t, admin, 1)
	// The table refuses what = 'bad' (a CHECK constraint): the batch of nine fails.
	rows := rowsNamed("row", 1, 8)
	rows = slices.Insert(rows, 4, testRow{what: "bad"})
	rest := appendAll(b, rows)
	queued(t, b, 9)
	release()
	if err := first()[0]; err != nil {
		t.Fatal(err)
	}
	want := []string{"row-000"}
	for i, err := range rest() {
		if rows[i].what == "bad" {
			if e, ok := errors.AsType[*pgconn.PgError](err); !ok || e.Code != "23514" {
				t.Errorf("the bad row: %v, want a check violation", err)
			}
			continue
		}
		if err != nil {
			t.Errorf("row %s: %v", rows[i].what, err)
		}
		want = append(want, rows[i].what)
	}
	wantRows(t, db, want)
	wantChain(t, db, key, 9)
	// One batch of the first row, one of the nine that failed, then nine on their own.
	if got := b.Stats(); got != (BatchStats{Transactions: 11, Rows: 9}) {
		t.Errorf("stats = %+v", got)
	}
}

func TestBatcher_ACallerGoneBeforeItsBatchIsDroppedAfterItWaits(t *testing.T) {
	b, db, admin, key := newTestBatcher(t, 2)
	release := holdHead(t, admin)
	taken, cancelTaken := context.WithCancel(context.Background())
	defer cancelTaken()
	takenErr := make(chan error, 1)
	go func() { takenErr <- b.Append(taken, testRow{what: "taken"}) }()
	waitingOnLock(t, admin, 1)
	waiting, cancelWaiting := context.WithCancel(context.Background())
	waitingErr := make(chan error, 1)
	go func() { waitingErr <- b.Append(waiting, testRow{what: "waiting"}) }()
	queued(t, b, 1)
	cancelWaiting()
	if err := <-waitingErr; !errors.Is(err, context.Canceled) {
		t.Errorf("the caller gone before its batch: %v, want context.Canceled", err)
	}
	queued(t, b, 0)
	// The taken row's caller goes too: it still gets its batch's answer.
	cancelTaken()
	release()
	if err := <-takenErr; err != nil {
		t.Errorf("the caller gone after its row was taken: %v, want the batch's answer (written)", err)
	}
	if err := b.Append(context.Background(), testRow{what: "later"}); err != nil {
		t.Fatal(err)
	}
	wantRows(t, db, []string{"taken", "later"})
	wantChain(t, db, key, 2)
}

func TestBatcher_ABatchKilledMidTransactionWritesNothing(t *testing.T) {
	b, db, admin, key := newTestBatcher(t, 3)
	ctx := context.Background()
	if err := b.Append(ctx, testRow{what: "before"}); err != nil {
		t.Fatal(err)
	}
	// An uncommitted row with ref "r" holds up the batch's INSERT of another ref "r":
	// the batch has locked the head, drawn its ids and inserted the rows before it
	// when its connection is killed.
	blocker, err := admin.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = blocker.Rollback(ctx) }()
	if _, err := blocker.Exec(ctx, `INSERT INTO log (at, what, ref) VALUES (now(), 'blocker', 'r')`); err != nil {
		t.Fatal(err)
	}
	release := holdHead(t, admin)
	first := appendAll(b, rowsNamed("kept", 0, 1))
	waitingOnLock(t, admin, 1)
	rows := rowsNamed("killed", 0, 5)
	rows[3].ref = "r"
	killed := appendAll(b, rows)
	queued(t, b, 5)
	release()
	if err := first()[0]; err != nil {
		t.Fatal(err)
	}
	pid := waitingOnLock(t, admin, 1)[0]
	if _, err := admin.Exec(ctx, `SELECT pg_terminate_backend($1)`, pid); err != nil {
		t.Fatal(err)
	}
	for i, err := range killed() {
		if err == nil {
			t.Errorf("row %s of the killed batch was reported written", rows[i].what)
		}
	}
	if err := blocker.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	wantRows(t, db, []string{"before", "kept-000"})
	wantChain(t, db, key, 2)
	if err := b.Append(ctx, testRow{what: "after", ref: "r"}); err != nil {
		t.Fatalf("an append after the killed batch: %v", err)
	}
	wantRows(t, db, []string{"before", "kept-000", "after"})
	wantChain(t, db, key, 3)
}

func TestBatcher_CloseWaitsForTheRowsSubmittedThenAppendsOneByOne(t *testing.T) {
	b, db, admin, key := newTestBatcher(t, 2)
	release := holdHead(t, admin)
	submitted := appendAll(b, rowsNamed("submitted", 0, 1))
	waitingOnLock(t, admin, 1)
	short, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := b.Close(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Close with a row still being written: %v, want it to wait past its deadline", err)
	}
	release()
	if err := b.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := submitted()[0]; err != nil {
		t.Fatal(err)
	}
	if err := b.Append(context.Background(), testRow{what: "after close"}); err != nil {
		t.Fatal(err)
	}
	wantRows(t, db, []string{"submitted-000", "after close"})
	wantChain(t, db, key, 2)
	if got := b.Stats(); got != (BatchStats{Transactions: 2, Rows: 2}) {
		t.Errorf("stats = %+v", got)
	}
}

func TestBatcher_WithoutAKeyWritesNothing(t *testing.T) {
	db := testPool(t, testURL(t), 2)
	b := NewBatcher(testLog, db, nil, unnestWriter, BatchOptions{})
	if err := b.Append(context.Background(), testRow{what: "x"}); err == nil {
		t.Error("a row was appended without a chain key")
	}
	wantRows(t, db, nil)
}

// wantMetrics checks what the batcher's collector exports under its log's name.
func wantMetrics[R any](t *testing.T, b *Batcher[R], txs, rows int64, waiting int) {
	t.Helper()
	want := fmt.Sprintf(`# HELP healthcore_audit_batch_rows_total Rows an audit log's batcher committed; over healthcore_audit_batch_transactions_total, the rows per transaction.
# TYPE healthcore_audit_batch_rows_total counter
healthcore_audit_batch_rows_total{log=%[1]q} %[3]d
# HELP healthcore_audit_batch_transactions_total Transactions an audit log's batcher ran: one per batch, and one per row of a batch retried row by row.
# TYPE healthcore_audit_batch_transactions_total counter
healthcore_audit_batch_transactions_total{log=%[1]q} %[2]d
# HELP healthcore_audit_batch_waiting Rows submitted to an audit log's batcher, and flushes of its outbox, that no batch has taken yet.
# TYPE healthcore_audit_batch_waiting gauge
healthcore_audit_batch_waiting{log=%[1]q} %[4]d
`, b.log.Name, txs, rows, waiting)
	if err := testutil.CollectAndCompare(b.Collector(), strings.NewReader(want)); err != nil {
		t.Error(err)
	}
}
