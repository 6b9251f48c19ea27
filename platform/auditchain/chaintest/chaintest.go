// Package chaintest is what the tamper tests of every chained log share: a chain key
// of their own, a superuser's edit of a log with its append-only triggers off, a chain
// forged under another key, and the check of where a report says the chain broke.
// Tests import it; the services do not.
package chaintest

import (
	"context"
	"iter"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"healthcore/platform/auditchain"
)

// Key is a chain key from a fresh random secret: not the service's.
func Key(t testing.TB) *auditchain.Key {
	t.Helper()
	secret, err := auditchain.NewSecret(0)
	if err != nil {
		t.Fatal(err)
	}
	k, err := auditchain.NewKey(secret)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// WantBreak fails the test unless rep names a break at row id of problem p.
func WantBreak(t testing.TB, rep auditchain.Report, id int64, p auditchain.Problem) {
	t.Helper()
	if rep.Break == nil || rep.Break.RowID != id || rep.Break.Problem != p {
		t.Errorf("report = %s; want a break at row %d: %s", rep, id, p)
	}
}

// Forge plays a superuser who rewrites every row's hashes and the head of log with a
// key of their own, after whatever edit the test made, and checks the forgery is
// consistent under that key; rows reads the log's rows in id order. The service's own
// verification must then still find the chain broken.
func Forge(t testing.TB, db *pgxpool.Pool, log auditchain.Log, rows func() iter.Seq2[auditchain.Row, error]) {
	t.Helper()
	ctx := context.Background()
	forged := Key(t)
	var all []auditchain.Row
	for r, err := range rows() {
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, r)
	}
	prev := auditchain.Head{}.Prev()
	for _, r := range all {
		hash := forged.Sum(log.Name, prev, r.Fields)
		rehash(t, db, log, r.ID, prev, hash)
		prev = hash
	}
	moveHead(t, db, log, prev)
	head, err := log.Head(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if rep, err := auditchain.Verify(forged, log.Name, head, rows()); err != nil || !rep.OK() {
		t.Fatalf("the forgery does not hold under the forger's key: %s, %v", rep, err)
	}
}
