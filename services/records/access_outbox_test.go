package records

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	recordsv1 "healthcore/gen/healthcore/records/v1"
	"healthcore/platform/auditchain"
	"healthcore/platform/pg"
)

// accessCounts counts the chained entries about document, and the entries in the
// outbox (committed, not yet chained) about it.
func (f *fixture) accessCounts(document string) (chained, pending int) {
	f.t.Helper()
	return f.count(`SELECT count(*) FROM access_log WHERE document_id = $1 AND row_hash IS NOT NULL`, document),
		f.count(`SELECT count(*) FROM access_log_pending WHERE document_id = $1`, document)
}

func TestAccessOutbox_ConcurrentActionsAreEachChainedOnceBeforeTheyReturn(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	const n = 20
	before := f.svc.accessLog.batch.Stats()
	docs := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		docs[i] = uuid.NewString()
		wg.Go(func() {
			e := &entry{action: actUpload, documentID: docs[i], owner: uuid.NewString()}
			if i%2 == 0 { // a read through the pool meanwhile
				e.action = actRead
				errs[i] = f.svc.write(ctx, f.db, e, nil)
				return
			}
			errs[i] = f.svc.atomically(ctx, "test", func(tx pgx.Tx) error { return f.svc.write(ctx, tx, e, nil) })
			if errs[i] == nil {
				var k int
				if err := f.db.QueryRow(ctx, `SELECT count(*) FROM access_log WHERE document_id = $1 AND row_hash IS NOT NULL`,
					docs[i]).Scan(&k); err != nil || k != 1 {
					errs[i] = fmt.Errorf("after atomically: %d chained entries (%v), want 1", k, err)
				}
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("caller %d: %v", i, err)
		}
	}
	for _, d := range docs {
		if chained, pending := f.accessCounts(d); chained != 1 || pending != 0 {
			t.Errorf("document %s: %d entries chained, %d pending; want 1 chained", d, chained, pending)
		}
	}
	if got := f.svc.accessLog.batch.Stats().Rows - before.Rows; got != n {
		t.Errorf("the batcher chained %d rows, want all %d (the staged and the pool's)", got, n)
	}
	if rep := f.verifyChain(); !rep.OK() || rep.Checked != n {
		t.Errorf("report = %s; want %d rows checked, intact", rep, n)
	}
}

func TestAccessOutbox_AnActionRolledBackLeavesNoEntry(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	doc := uuid.NewString()
	failed := errors.New("the action failed after its entry")
	err := f.svc.atomically(ctx, "test", func(tx pgx.Tx) error {
		if err := f.svc.write(ctx, tx, &entry{action: actUpload, documentID: doc}, nil); err != nil {
			return err
		}
		return failed
	})
	if err == nil {
		t.Fatal("atomically returned nil for a failed action")
	}
	if err := f.svc.accessLog.batch.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if chained, pending := f.accessCounts(doc); chained != 0 || pending != 0 {
		t.Errorf("%d entries chained, %d pending after the rollback; want none", chained, pending)
	}
}

func TestAccessOutbox_EntriesLeftByAProcessThatDiedAreChainedLater(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.accessLog(f.newPatient(), &recordsv1.ListAccessLogRequest{})
	doc := uuid.NewString()
	at := f.now().UTC().Truncate(time.Microsecond)
	// Committed, then the process died before it asked for the chaining.
	err := pg.InTx(ctx, f.db, func(tx pgx.Tx) error {
		return f.svc.accessLog.append(ctx, &auditchain.Tx{Tx: tx}, accessRecord{at: at, action: actUpload, documentID: doc, outcome: outcomeOK})
	})
	if err != nil {
		t.Fatal(err)
	}
	if chained, pending := f.accessCounts(doc); chained != 0 || pending != 1 {
		t.Fatalf("%d entries chained, %d pending; want 1 pending", chained, pending)
	}
	if rep := f.verifyChain(); !rep.OK() {
		t.Fatalf("report = %s", rep)
	}
	if _, err := f.db.Exec(ctx, `UPDATE access_log_pending SET outcome = 'denied'`); err == nil {
		t.Error("an entry of the outbox was changed")
	}
	// What a replica does at start and every so often.
	if err := f.svc.accessLog.batch.ChainPending(ctx); err != nil {
		t.Fatal(err)
	}
	if chained, pending := f.accessCounts(doc); chained != 1 || pending != 0 {
		t.Fatalf("%d entries chained, %d pending; want 1 chained", chained, pending)
	}
	var stored time.Time
	if err := f.db.QueryRow(ctx, `SELECT at FROM access_log WHERE document_id = $1`, doc).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if !stored.Equal(at) {
		t.Errorf("chained at %v, want the action's %v", stored, at)
	}
	if rep := f.verifyChain(); !rep.OK() || rep.Checked != int64(len(f.accessIDs())) {
		t.Errorf("report = %s; want every row checked, intact", rep)
	}
}
