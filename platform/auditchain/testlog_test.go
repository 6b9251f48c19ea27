package auditchain

import (
	"cmp"
	"context"
	"embed"
	"iter"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"healthcore/platform/pg"
	"healthcore/platform/pgtest"
)

// The chained log of the package's database tests and benchmarks: testdata/migrations
// makes its table and head, as a service's migrations do.

//go:embed testdata/migrations/*.sql
var testMigrations embed.FS

var testSchema = pg.Schema{Name: "chain", Migrations: pg.Dir(testMigrations, "testdata/migrations")}

var testLog = Log{Name: "chain.log", Table: "log"}

// outboxLog is the test log with its outbox (log_pending).
var outboxLog = Log{Name: "chain.log", Table: "log", Pending: "log_pending"}

// testRow is a row of the test log; ref is unique, "" stores NULL.
type testRow struct {
	who, what, ref string
}

// logKey is a chain key from a fresh random secret.
func logKey(t testing.TB) *Key {
	t.Helper()
	secret, err := NewSecret(0)
	if err != nil {
		t.Fatal(err)
	}
	k, err := NewKey(secret)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// testURL is a new database holding the test log.
func testURL(t testing.TB) string { return pgtest.URL(t, testSchema) }

// testPool opens a pool of at most conns connections on the test log's database.
func testPool(t testing.TB, url string, conns int32) *pgxpool.Pool {
	t.Helper()
	db, err := pg.Open(context.Background(), url, testSchema.Name, conns)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return db
}

func testFields(r testRow, id int64, now time.Time) []pgtype.Text {
	return []pgtype.Text{Int(id), Time(now), NullIfEmpty(r.who), Str(r.what), NullIfEmpty(r.ref)}
}

// unnestWriter inserts a batch with one INSERT … SELECT FROM unnest of one array per
// column: one statement text for any number of rows, so it is prepared once.
var unnestWriter = Writer[testRow]{Fields: testFields, Insert: func(ctx context.Context, tx pgx.Tx, rows []Appended[testRow]) error {
	c := ColumnsOf(rows, func(a Appended[testRow]) (time.Time, []pgtype.Text) {
		return a.Now, []pgtype.Text{NullIfEmpty(a.Row.who), Str(a.Row.what), NullIfEmpty(a.Row.ref)}
	})
	_, err := tx.Exec(ctx, `INSERT INTO log (id, at, who, what, ref, prev_hash, row_hash) OVERRIDING SYSTEM VALUE
		SELECT * FROM unnest($1::bigint[], $2::timestamptz[], $3::text[]::uuid[], $4::text[], $5::text[], $6::bytea[], $7::bytea[])`,
		c.Args()...)
	return err
}, Stage: stageTestRows, Take: takeTestRows}

// stageTestRows writes rows to the outbox, with the transaction's time.
func stageTestRows(ctx context.Context, tx pgx.Tx, rows []testRow) error {
	for _, r := range rows {
		if _, err := tx.Exec(ctx, `INSERT INTO log_pending (who, what, ref) VALUES ($1::text::uuid, $2, $3)`,
			NullIfEmpty(r.who), r.what, NullIfEmpty(r.ref)); err != nil {
			return err
		}
	}
	return nil
}

// takeTestRows deletes at most limit rows from the outbox and returns them in the
// order they were staged.
func takeTestRows(ctx context.Context, tx pgx.Tx, limit int) ([]Staged[testRow], error) {
	rows, err := tx.Query(ctx, `DELETE FROM log_pending WHERE seq IN (SELECT seq FROM log_pending ORDER BY seq LIMIT $1)
		RETURNING seq, at, coalesce(who::text, ''), what, coalesce(ref, '')`, limit)
	if err != nil {
		return nil, err
	}
	type taken struct {
		seq int64
		Staged[testRow]
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (taken, error) {
		var t taken
		err := row.Scan(&t.seq, &t.At, &t.Row.who, &t.Row.what, &t.Row.ref)
		return t, err
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b taken) int { return cmp.Compare(a.seq, b.seq) })
	staged := make([]Staged[testRow], len(out))
	for i, t := range out {
		staged[i] = t.Staged
	}
	return staged, nil
}

// batchWriter inserts a batch as a pgx.Batch of one single-row INSERT per row, sent
// in one round trip.
var batchWriter = Writer[testRow]{Fields: testFields, Insert: func(ctx context.Context, tx pgx.Tx, rows []Appended[testRow]) error {
	var b pgx.Batch
	for _, r := range rows {
		b.Queue(`INSERT INTO log (id, at, who, what, ref, prev_hash, row_hash) OVERRIDING SYSTEM VALUE
			VALUES ($1, $2, $3::text::uuid, $4, $5, $6, $7)`,
			r.ID, r.Now, NullIfEmpty(r.Row.who), r.Row.what, NullIfEmpty(r.Row.ref), r.Prev, r.Hash)
	}
	return tx.SendBatch(ctx, &b).Close()
}}

// copyWriter inserts a batch with COPY FROM STDIN (binary), which writes the identity
// column's values as given.
var copyWriter = Writer[testRow]{Fields: testFields, Insert: func(ctx context.Context, tx pgx.Tx, rows []Appended[testRow]) error {
	_, err := tx.CopyFrom(ctx, pgx.Identifier{"log"}, []string{"id", "at", "who", "what", "ref", "prev_hash", "row_hash"},
		pgx.CopyFromSlice(len(rows), func(i int) ([]any, error) {
			r := rows[i]
			var who pgtype.UUID
			if r.Row.who != "" {
				if err := who.Scan(r.Row.who); err != nil {
					return nil, err
				}
			}
			return []any{r.ID, r.Now, who, r.Row.what, NullIfEmpty(r.Row.ref), r.Prev, r.Hash}, nil
		}))
	return err
}}

// testRows reads the log back for the verifier.
func testRows(ctx context.Context) func(pg.Querier) iter.Seq2[Row, error] {
	return func(q pg.Querier) iter.Seq2[Row, error] {
		return Rows(ctx, q, `SELECT id, at, who::text, what, ref, prev_hash, row_hash FROM log ORDER BY id`,
			func(rows pgx.Rows) (Row, error) {
				var id int64
				var at time.Time
				var who, ref pgtype.Text
				var what string
				var r Row
				if err := rows.Scan(&id, &at, &who, &what, &ref, &r.Prev, &r.Hash); err != nil {
					return r, err
				}
				r.ID, r.Fields = id, testFields(testRow{who: who.String, what: what, ref: ref.String}, id, at)
				return r, nil
			})
	}
}

// whats returns the log's rows' what, in id order.
func whats(t testing.TB, db pg.Querier) []string {
	t.Helper()
	rows, err := db.Query(context.Background(), `SELECT what FROM log ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// holdHead locks the log's head in a transaction of the test's until the returned
// function rolls it back: appends wait for it meanwhile.
func holdHead(t testing.TB, db *pgxpool.Pool) (release func()) {
	t.Helper()
	ctx := context.Background()
	tx, err := db.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `SELECT 1 FROM log_head FOR UPDATE`); err != nil {
		t.Fatal(err)
	}
	release = func() { _ = tx.Rollback(ctx) }
	// A test that fails while holding the head still lets its waiters finish, so the
	// pools' cleanup does not wait for them forever.
	t.Cleanup(release)
	return release
}

// waitingOnLock returns the process ids of the backends waiting for a lock, polling
// until there are want of them.
func waitingOnLock(t testing.TB, db *pgxpool.Pool, want int) []int32 {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		rows, err := db.Query(context.Background(), `SELECT pid FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock' ORDER BY pid`)
		if err != nil {
			t.Fatal(err)
		}
		pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
		if err != nil {
			t.Fatal(err)
		}
		if len(pids) == want {
			return pids
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d backends wait for a lock, want %d", len(pids), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
