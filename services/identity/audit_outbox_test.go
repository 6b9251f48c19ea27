package identity

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"healthcore/platform/auditchain"
	"healthcore/platform/pg"
	"healthcore/platform/testkit"
)

// auditCount counts the chained entries of action about subject, and the entries in
// the outbox (committed, not yet chained) about it.
func (f *fixture) auditCount(action, subject string) (chained, pending int) {
	f.t.Helper()
	ctx := context.Background()
	if err := f.db.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE action = $1 AND subject_id = $2 AND row_hash IS NOT NULL`,
		action, subject).Scan(&chained); err != nil {
		f.t.Fatal(err)
	}
	if err := f.db.QueryRow(ctx, `SELECT count(*) FROM audit_log_pending WHERE subject_id = $1`, subject).Scan(&pending); err != nil {
		f.t.Fatal(err)
	}
	return chained, pending
}

func TestAuditOutbox_ConcurrentLoginsAndRefreshesAreEachChainedOnceBeforeTheyAnswer(t *testing.T) {
	f := newFixture(t, nil)
	const n = 12
	accounts := make([]string, n)
	for i := range n {
		accounts[i] = f.registerPatient(fmt.Sprintf("p%d@example.com", i), testkit.CPF(i)).GetId()
	}
	before := f.svc.auditLog.batch.Stats()
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			errs[i] = func() error {
				// Two logins and a refresh each, every answer after its entry is chained.
				for range 2 {
					res, err := f.login(emailLogin(fmt.Sprintf("p%d@example.com", i), "correct horse battery"))
					if err != nil {
						return err
					}
					if _, err := f.refresh(res.GetTokens().GetRefreshToken()); err != nil {
						return err
					}
				}
				return nil
			}()
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("caller %d: %v", i, err)
		}
	}
	for _, id := range accounts {
		for _, action := range []string{actLogin, actRefresh} {
			if chained, pending := f.auditCount(action, id); chained != 2 || pending != 0 {
				t.Errorf("account %s: %d %s entries chained, %d pending; want 2 chained", id, chained, action, pending)
			}
		}
	}
	// They went through the outbox: the batcher chained them (with nothing appended
	// through the pool meanwhile).
	if got := f.svc.auditLog.batch.Stats().Rows - before.Rows; got != 4*n {
		t.Errorf("the batcher chained %d rows, want the %d logins and refreshes", got, 4*n)
	}
	rep := f.verifyChain()
	if !rep.OK() || rep.Checked != int64(len(auditIDs(t, f.db))) {
		t.Errorf("report = %s; want every row checked, intact", rep)
	}
}

func TestAuditOutbox_AnActionRolledBackLeavesNoEntry(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	subject := uuid.NewString()
	failed := errors.New("the action failed after its entry")
	err := f.svc.inTx(ctx, func(tx pgx.Tx) error {
		if err := f.svc.audit(ctx, tx, actLogout, subject, subject, outcomeOK); err != nil {
			return err
		}
		return failed
	})
	if !errors.Is(err, failed) {
		t.Fatalf("inTx = %v", err)
	}
	if err := f.svc.auditLog.batch.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if chained, pending := f.auditCount(actLogout, subject); chained != 0 || pending != 0 {
		t.Errorf("%d entries chained, %d pending after the rollback; want none", chained, pending)
	}
	// The same action committed is chained once inTx returns.
	if err := f.svc.inTx(ctx, func(tx pgx.Tx) error { return f.svc.audit(ctx, tx, actLogout, subject, subject, outcomeOK) }); err != nil {
		t.Fatal(err)
	}
	if chained, pending := f.auditCount(actLogout, subject); chained != 1 || pending != 0 {
		t.Errorf("%d entries chained, %d pending after the commit; want 1 chained", chained, pending)
	}
}

func TestAuditOutbox_EntriesLeftByAProcessThatDiedAreChainedByAReplica(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	subject := uuid.NewString()
	if _, err := f.me(f.patientSession().GetAccessToken()); err != nil {
		t.Fatal(err)
	}
	// The action's transaction committed its entry, then the process died before it
	// asked for the chaining (inTx's flush never ran).
	var at time.Time
	err := pg.InTx(ctx, f.db, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT now()`).Scan(&at); err != nil {
			return err
		}
		return f.svc.audit(ctx, &auditchain.Tx{Tx: tx}, actLogout, subject, subject, outcomeOK)
	})
	if err != nil {
		t.Fatal(err)
	}
	if chained, pending := f.auditCount(actLogout, subject); chained != 0 || pending != 1 {
		t.Fatalf("%d entries chained, %d pending; want 1 pending", chained, pending)
	}
	// The chain is intact meanwhile: the outbox is not part of it.
	if rep := f.verifyChain(); !rep.OK() {
		t.Fatalf("report = %s", rep)
	}
	// Another replica chains it when it starts running.
	other := f.replica()
	runCtx, stop := context.WithCancel(ctx)
	ran := make(chan error, 1)
	go func() { ran <- other.Run(runCtx) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		chained, pending := f.auditCount(actLogout, subject)
		if chained == 1 && pending == 0 {
			break
		}
		if chained+pending != 1 {
			t.Fatalf("%d entries chained, %d pending; want the one entry", chained, pending)
		}
		if time.Now().After(deadline) {
			t.Fatal("the replica did not chain the entry left in the outbox")
		}
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	if err := <-ran; err != nil && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	var stored time.Time
	if err := f.db.QueryRow(ctx, `SELECT at FROM audit_log WHERE subject_id = $1`, subject).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if !stored.Equal(at) {
		t.Errorf("chained at %v, want its transaction's time %v", stored, at)
	}
	if rep := f.verifyChain(); !rep.OK() || rep.Checked != int64(len(auditIDs(t, f.db))) {
		t.Errorf("report = %s; want every row checked, intact", rep)
	}
}

func TestAuditOutbox_RowsAreNeitherChangedNorTruncated(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	subject := uuid.NewString()
	err := pg.InTx(ctx, f.db, func(tx pgx.Tx) error {
		return f.svc.audit(ctx, &auditchain.Tx{Tx: tx}, actLogout, subject, subject, outcomeOK)
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, sql := range []string{`UPDATE audit_log_pending SET outcome = 'denied'`, `TRUNCATE audit_log_pending`} {
		if _, err := f.db.Exec(ctx, sql); err == nil {
			t.Errorf("%s was allowed", sql)
		}
	}
	if _, pending := f.auditCount(actLogout, subject); pending != 1 {
		t.Errorf("%d entries pending, want the one unchanged", pending)
	}
}
