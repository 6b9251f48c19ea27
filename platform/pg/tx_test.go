package pg

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

func TestInTx_CommitsOnNilAndRollsBackOnError(t *testing.T) {
	db := openTestPool(t)
	ctx := context.Background()
	if _, err := db.Exec(ctx, `CREATE TABLE tx_probe (v int PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	if err := InTx(ctx, db, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO tx_probe VALUES (1)`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("domain refusal")
	err := InTx(ctx, db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO tx_probe VALUES (2)`); err != nil {
			return err
		}
		return boom
	})
	if err != boom {
		t.Fatalf("InTx returned %v, want f's own error unchanged", err)
	}
	var got []int32
	rows, _ := db.Query(ctx, `SELECT v FROM tx_probe ORDER BY v`)
	got, err = pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != 1 {
		t.Fatalf("rows %v, want [1]: the failed transaction's insert must be rolled back", got)
	}
}

// Two SERIALIZABLE transactions that each read what the other writes: PostgreSQL aborts
// one with 40001, and InTx runs it again, so both end committed.
func TestInTx_RetriesASerializationFailure(t *testing.T) {
	db := openTestPool(t)
	ctx := context.Background()
	if _, err := db.Exec(ctx, `CREATE TABLE tx_counter (k text PRIMARY KEY, n int NOT NULL); INSERT INTO tx_counter VALUES ('a', 0), ('b', 0)`); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	attempts := 0
	// Both read before either writes: each first attempt waits for the other's read.
	var bothRead sync.WaitGroup
	bothRead.Add(2)
	var wg sync.WaitGroup
	errsSeen := make([]error, 2)
	for i, keys := range [][2]string{{"a", "b"}, {"b", "a"}} {
		wg.Go(func() {
			var once sync.Once
			errsSeen[i] = InTx(ctx, db, func(tx pgx.Tx) error {
				mu.Lock()
				attempts++
				mu.Unlock()
				if _, err := tx.Exec(ctx, `SET TRANSACTION ISOLATION LEVEL SERIALIZABLE`); err != nil {
					return err
				}
				var n int
				if err := tx.QueryRow(ctx, `SELECT sum(n) FROM tx_counter WHERE k = $1`, keys[0]).Scan(&n); err != nil {
					return err
				}
				once.Do(func() {
					bothRead.Done()
					bothRead.Wait()
				})
				_, err := tx.Exec(ctx, `UPDATE tx_counter SET n = n + 1 WHERE k = $1`, keys[1])
				return err
			})
		})
	}
	wg.Wait()
	for i, err := range errsSeen {
		if err != nil {
			t.Fatalf("transaction %d: %v (InTx must retry a serialization failure)", i, err)
		}
	}
	var sum int
	if err := db.QueryRow(ctx, `SELECT sum(n) FROM tx_counter`).Scan(&sum); err != nil {
		t.Fatal(err)
	}
	if sum != 2 {
		t.Fatalf("sum %d, want 2: both transactions commit once each", sum)
	}
	if attempts < 3 {
		t.Fatalf("attempts %d, want at least 3: PostgreSQL aborts one of the two, and InTx reruns it", attempts)
	}
}

func TestIsRetryable(t *testing.T) {
	for code, want := range map[string]bool{"40001": true, "40P01": true, "23505": false, "57014": false} {
		if got := IsRetryable(&pgconn.PgError{Code: code}); got != want {
			t.Errorf("IsRetryable(%s) = %v, want %v", code, got, want)
		}
	}
	if IsRetryable(errors.New("plain")) {
		t.Error("a plain error is not retryable")
	}
}

// openTestPool opens a pool on a fresh empty database, closed when the test ends.
func openTestPool(t *testing.T) *pgxpool.Pool {
	t.Helper()
	u := emptyDatabase(t)
	db, err := Open(context.Background(), u, "public", 4)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return db
}
