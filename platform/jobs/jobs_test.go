package jobs_test

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"healthcore/platform/jobs"
	"healthcore/platform/pg"
	"healthcore/platform/pgtest"
)

var schema = pg.Schema{Name: "jobs_test", Jobs: true}

type countArgs struct{ Key string }

func (countArgs) Kind() string { return "count" }

type countWorker struct {
	river.WorkerDefaults[countArgs]
	calls    atomic.Int32
	failures int32 // attempts that fail before one succeeds
	done     chan string
}

func (w *countWorker) Work(ctx context.Context, job *river.Job[countArgs]) error {
	if n := w.calls.Add(1); n <= w.failures {
		return errors.New("provider unavailable")
	}
	w.done <- job.Args.Key
	return nil
}

func start(t *testing.T, failures int32) (*jobs.Client, *countWorker, func(context.Context, func(pgx.Tx) error)) {
	t.Helper()
	c, w, db := startWith(t, failures, jobs.Options{PollInterval: 20 * time.Millisecond, Backoff: 10 * time.Millisecond})
	inTx := func(ctx context.Context, f func(pgx.Tx) error) {
		t.Helper()
		tx, err := db.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = tx.Rollback(ctx) }()
		if err := f(tx); err != nil {
			return
		}
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	}
	return c, w, inTx
}

// startWith runs a client with o over a fresh database, and returns its pool.
func startWith(t *testing.T, failures int32, o jobs.Options) (*jobs.Client, *countWorker, *pgxpool.Pool) {
	t.Helper()
	db := pgtest.Pool(t, schema.Name, schema)
	w := &countWorker{failures: failures, done: make(chan string, 10)}
	workers := river.NewWorkers()
	river.AddWorker(workers, w)
	c, err := jobs.New(db, schema.Name, workers, slog.New(slog.DiscardHandler), o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	stopped := make(chan error, 1)
	go func() { stopped <- jobs.Run(ctx, c) }()
	t.Cleanup(func() {
		cancel()
		if err := <-stopped; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return c, w, db
}

func wait(t *testing.T, w *countWorker) string {
	t.Helper()
	select {
	case k := <-w.done:
		return k
	case <-time.After(10 * time.Second):
		t.Fatalf("job not worked after 10 s (%d attempts)", w.calls.Load())
		return ""
	}
}

func TestJobCommitsWithTheTransaction(t *testing.T) {
	c, w, inTx := start(t, 0)
	ctx := t.Context()
	// Rolled back: the job never existed.
	inTx(ctx, func(tx pgx.Tx) error {
		if _, err := c.InsertTx(ctx, tx, countArgs{Key: "rolled-back"}, nil); err != nil {
			t.Fatal(err)
		}
		return errors.New("abort")
	})
	inTx(ctx, func(tx pgx.Tx) error {
		_, err := c.InsertTx(ctx, tx, countArgs{Key: "committed"}, nil)
		return err
	})
	if got := wait(t, w); got != "committed" {
		t.Fatalf("worked %q, want the committed job", got)
	}
	time.Sleep(200 * time.Millisecond)
	if n := w.calls.Load(); n != 1 {
		t.Fatalf("worker ran %d times, want 1 (the rolled-back job must not run)", n)
	}
}

func TestFailedJobIsRetriedUntilItSucceeds(t *testing.T) {
	c, w, inTx := start(t, 3)
	ctx := t.Context()
	var id int64
	inTx(ctx, func(tx pgx.Tx) error {
		res, err := c.InsertTx(ctx, tx, countArgs{Key: "flaky"}, nil)
		if err == nil {
			id = res.Job.ID
		}
		return err
	})
	if got := wait(t, w); got != "flaky" {
		t.Fatalf("worked %q", got)
	}
	if n := w.calls.Load(); n != 4 {
		t.Fatalf("worker ran %d times, want 4 (3 failures, then success)", n)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		job, err := c.JobGet(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if job.State == rivertype.JobStateCompleted {
			if len(job.Errors) != 3 {
				t.Fatalf("job recorded %d errors, want 3", len(job.Errors))
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("job state %s, want completed", job.State)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// River announces a queue's inserts at most once per fetch cooldown (a second here), when
// the job is inserted, not when its transaction commits: a job inserted just after another
// and committed after the workers fetched that one would wait for the next poll. Every
// committed job wakes the workers: here the poll never comes, so only the wakeup of
// the second transaction's commit can get its job worked.
func TestEveryCommittedJobWakesTheWorkers(t *testing.T) {
	c, w, db := startWith(t, 0, jobs.Options{PollInterval: time.Hour, FetchCooldown: time.Second})
	ctx := t.Context()
	begin := func(key string) pgx.Tx {
		t.Helper()
		tx, err := db.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = tx.Rollback(context.WithoutCancel(ctx)) })
		if _, err := c.InsertTx(ctx, tx, countArgs{Key: key}, nil); err != nil {
			t.Fatal(err)
		}
		return tx
	}
	first, second := begin("first"), begin("second") // River announces the first only
	if err := first.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if got := wait(t, w); got != "first" {
		t.Fatalf("worked %q, want the first job", got)
	}
	if err := second.Commit(ctx); err != nil { // after the fetch that found the first
		t.Fatal(err)
	}
	if got := wait(t, w); got != "second" {
		t.Fatalf("worked %q, want the second job", got)
	}
}

// The same for a job inserted in a transaction of its own (Insert): River does not
// announce the second within the cooldown, and it is worked anyway.
func TestInsertedJobWakesTheWorkers(t *testing.T) {
	c, w, _ := startWith(t, 0, jobs.Options{PollInterval: time.Hour, FetchCooldown: time.Second})
	ctx := t.Context()
	for _, key := range []string{"first", "second"} {
		if _, err := c.Insert(ctx, countArgs{Key: key}, nil); err != nil {
			t.Fatal(err)
		}
		if got := wait(t, w); got != key {
			t.Fatalf("worked %q, want %q", got, key)
		}
	}
}

// Jobs inserted together (InsertManyTx) commit or roll back with their transaction, and
// its commit wakes the workers for those due at once, like InsertTx's: here the poll
// never comes, so only that wake-up can get them worked; a job scheduled for later
// stays waiting.
func TestJobsInsertedTogetherCommitWithTheTransactionAndWakeTheWorkers(t *testing.T) {
	c, w, db := startWith(t, 0, jobs.Options{PollInterval: time.Hour, FetchCooldown: time.Second})
	ctx := t.Context()
	begin := func() pgx.Tx {
		t.Helper()
		tx, err := db.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = tx.Rollback(context.WithoutCancel(ctx)) })
		return tx
	}
	insertMany := func(tx pgx.Tx, keys ...string) []*rivertype.JobInsertResult {
		t.Helper()
		var params []river.InsertManyParams
		for _, k := range keys {
			p := river.InsertManyParams{Args: countArgs{Key: k}}
			if k == "later" {
				p.InsertOpts = &river.InsertOpts{ScheduledAt: time.Now().Add(time.Hour)}
			}
			params = append(params, p)
		}
		res, err := c.InsertManyTx(ctx, tx, params)
		if err != nil || len(res) != len(keys) {
			t.Fatalf("InsertManyTx: %d results, %v; want %d", len(res), err, len(keys))
		}
		return res
	}
	rolledBack := begin()
	insertMany(rolledBack, "rolled-back-1", "rolled-back-2")
	if err := rolledBack.Rollback(ctx); err != nil {
		t.Fatal(err)
	}

	first := begin()
	if _, err := c.InsertTx(ctx, first, countArgs{Key: "first"}, nil); err != nil {
		t.Fatal(err)
	}
	second := begin()
	res := insertMany(second, "second", "third", "later")
	if res[2].Job.State != rivertype.JobStateScheduled {
		t.Fatalf("the later job is %s, want scheduled", res[2].Job.State)
	}
	if err := first.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if got := wait(t, w); got != "first" {
		t.Fatalf("worked %q, want the first job", got)
	}
	// After the fetch that found the first, and after the one River makes a cooldown
	// later when a fetch found jobs: only the commit's announcement can wake them now.
	time.Sleep(1500 * time.Millisecond)
	if err := second.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{wait(t, w): true, wait(t, w): true}
	if !got["second"] || !got["third"] {
		t.Fatalf("worked %v, want the second and third jobs", got)
	}
	time.Sleep(200 * time.Millisecond)
	if n := w.calls.Load(); n != 3 {
		t.Fatalf("worker ran %d times, want 3 (neither the rolled-back jobs nor the later one)", n)
	}
}
