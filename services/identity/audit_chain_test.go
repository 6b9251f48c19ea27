package identity

import (
	"context"
	"iter"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"healthcore/platform/auditchain"
	"healthcore/platform/auditchain/chaintest"
	"healthcore/platform/envelope"
	"healthcore/platform/pg"
	"healthcore/platform/testkit"
)

// auditIDs lists audit_log's ids in order.
func auditIDs(t *testing.T, db *pgxpool.Pool) []int64 {
	t.Helper()
	rows, err := db.Query(context.Background(), `SELECT id FROM audit_log ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

func (f *fixture) verifyChain() auditchain.Report {
	f.t.Helper()
	rep, err := VerifyAuditChain(context.Background(), f.db, f.svc.env)
	if err != nil {
		f.t.Fatal(err)
	}
	return rep
}

// chainedFixture is a service whose audit log holds a few chained rows (a patient
// registered, logged in and read their account) and a doctor's.
func chainedFixture(t *testing.T) (*fixture, []int64) {
	f := newFixture(t, nil)
	pair := f.patientSession()
	if _, err := f.me(pair.GetAccessToken()); err != nil {
		t.Fatal(err)
	}
	f.registerDoctor("123456", "SP")
	ids := auditIDs(t, f.db)
	if len(ids) != 4 {
		t.Fatalf("audit log has %d rows, want 4", len(ids))
	}
	return f, ids
}

func TestAuditChain_ConcurrentAppendsFormOneUnbrokenChain(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	const n = 200
	before := f.svc.auditLog.batch.Stats()
	var wg sync.WaitGroup
	errc := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			subject := uuid.NewString()
			if i%2 == 0 { // alone, as refusals are written
				errc <- f.svc.audit(ctx, f.db, actRead, subject, subject, outcomeOK)
				return
			}
			errc <- pg.InTx(ctx, f.db, func(tx pgx.Tx) error { // with the action it records
				return f.svc.audit(ctx, tx, actLogout, subject, subject, outcomeOK)
			})
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			t.Fatal(err)
		}
	}
	// The appends through the pool went by group commit.
	if got := f.svc.auditLog.batch.Stats().Rows - before.Rows; got != n/2 {
		t.Errorf("%d rows written in batches, want the %d appended through the pool", got, n/2)
	}
	rep := f.verifyChain()
	if !rep.OK() || rep.Checked != n || rep.Unchained != 0 {
		t.Fatalf("report = %s; want %d rows checked, intact", rep, n)
	}
	ids := auditIDs(t, f.db)
	var forks int
	if err := f.db.QueryRow(ctx, `SELECT count(*) - count(DISTINCT prev_hash) FROM audit_log`).Scan(&forks); err != nil {
		t.Fatal(err)
	}
	if forks != 0 || rep.Head.LastID != ids[len(ids)-1] || rep.Head.FirstID != ids[0] {
		t.Errorf("%d rows share a predecessor; head %+v, ids %d…%d", forks, rep.Head, ids[0], ids[len(ids)-1])
	}
}

func TestAuditChain_UntamperedVerifiesClean(t *testing.T) {
	f, ids := chainedFixture(t)
	rep := f.verifyChain()
	if !rep.OK() || rep.Checked != int64(len(ids)) || rep.Head.LastID != ids[len(ids)-1] || len(rep.Head.Hash) != auditchain.HashSize {
		t.Errorf("report = %s; want %d rows, intact, head at row %d", rep, len(ids), ids[len(ids)-1])
	}
}

func TestAuditChain_RowChangedBySuperuserIsFound(t *testing.T) {
	f, ids := chainedFixture(t)
	chaintest.AsSuperuser(t, f.db, auditChain, `UPDATE audit_log SET outcome = 'denied' WHERE id = $1`, ids[1])
	chaintest.WantBreak(t, f.verifyChain(), ids[1], auditchain.RowChanged)
}

func TestAuditChain_RowDeletedBySuperuserIsFoundAtTheNextRow(t *testing.T) {
	f, ids := chainedFixture(t)
	chaintest.AsSuperuser(t, f.db, auditChain, `DELETE FROM audit_log WHERE id = $1`, ids[1])
	rep := f.verifyChain()
	chaintest.WantBreak(t, rep, ids[2], auditchain.RowMissing)
	if rep.Checked != 1 {
		t.Errorf("checked %d rows before the gap, want 1", rep.Checked)
	}
}

func TestAuditChain_FirstRowDeletedIsFound(t *testing.T) {
	f, ids := chainedFixture(t)
	chaintest.AsSuperuser(t, f.db, auditChain, `DELETE FROM audit_log WHERE id = $1`, ids[0])
	chaintest.WantBreak(t, f.verifyChain(), ids[1], auditchain.RowMissing)
}

func TestAuditChain_LastRowDeletedIsAHeadMismatch(t *testing.T) {
	f, ids := chainedFixture(t)
	last := ids[len(ids)-1]
	chaintest.AsSuperuser(t, f.db, auditChain, `DELETE FROM audit_log WHERE id = $1`, last)
	chaintest.WantBreak(t, f.verifyChain(), last, auditchain.HeadMismatch)
}

func TestAuditChain_ChainRecomputedWithAnotherKeyFails(t *testing.T) {
	f, ids := chainedFixture(t)
	// The superuser rewrites a row and recomputes every hash and the head, with a key of
	// their own: without the sealed secret, they cannot make it verify.
	chaintest.AsSuperuser(t, f.db, auditChain, `UPDATE audit_log SET outcome = 'denied' WHERE id = $1`, ids[2])
	ctx := context.Background()
	chaintest.Forge(t, f.db, auditChain, func() iter.Seq2[auditchain.Row, error] { return auditStore{}.rows(ctx, f.db) })
	chaintest.WantBreak(t, f.verifyChain(), ids[0], auditchain.RowChanged)
}

func TestAuditChain_TruncateIsRefused(t *testing.T) {
	f, ids := chainedFixture(t)
	ctx := context.Background()
	for _, table := range []string{"audit_log", "audit_log_head"} {
		if _, err := f.db.Exec(ctx, `TRUNCATE `+table); err == nil {
			t.Errorf("%s accepted a TRUNCATE", table)
		}
	}
	if _, err := f.db.Exec(ctx, `DELETE FROM audit_log_head`); err == nil {
		t.Error("audit_log_head accepted a DELETE")
	}
	if rep := f.verifyChain(); !rep.OK() || rep.Checked != int64(len(ids)) {
		t.Errorf("after the refusals: %s", rep)
	}
}

func TestAuditChain_RowsFromBeforeTheChainAreUnchained(t *testing.T) {
	db, ctx := storeDB(t), context.Background()
	// Rows as the log held them before the chain's migration, with no hashes, written
	// before any service started on it.
	for _, stmt := range []string{
		`ALTER TABLE audit_log DROP CONSTRAINT audit_log_chained`,
		`INSERT INTO audit_log (action, outcome) VALUES ('account.login', 'denied'), ('account.read', 'ok')`,
		`ALTER TABLE audit_log ADD CONSTRAINT audit_log_chained CHECK (prev_hash IS NOT NULL AND row_hash IS NOT NULL) NOT VALID`,
	} {
		if _, err := db.Exec(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	env := envelope.New(testkit.Keys(t, "identity"), envelope.Defaults)
	verify := func() auditchain.Report {
		t.Helper()
		rep, err := VerifyAuditChain(ctx, db, env)
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	if rep := verify(); !rep.OK() || rep.Unchained != 2 || rep.Checked != 0 {
		t.Errorf("before the service ever started: %s", rep)
	}
	cfg := DefaultConfig()
	cfg.Argon2 = testArgon2
	svc, err := New(ctx, Deps{DB: db, Envelope: env, Logger: testkit.Logger(t)}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := svc.audit(ctx, db, actRead, "", uuid.NewString(), outcomeOK); err != nil {
			t.Fatal(err)
		}
	}
	if rep := verify(); !rep.OK() || rep.Unchained != 2 || rep.Checked != 2 {
		t.Errorf("report = %s; want 2 unchained and 2 chained, intact", rep)
	}
	if _, err := db.Exec(ctx, `INSERT INTO audit_log (action, outcome) VALUES ('account.read', 'ok')`); err == nil {
		t.Error("a row without hashes was written after the chain began")
	}

	// A superuser who clears every hash and the head, to pass chained rows off as older
	// ones, is caught: the sealed secret says where the chain began.
	ids := auditIDs(t, db)
	chaintest.AsSuperuser(t, db, auditChain, `ALTER TABLE audit_log DROP CONSTRAINT audit_log_chained`)
	chaintest.AsSuperuser(t, db, auditChain, `UPDATE audit_log SET prev_hash = NULL, row_hash = NULL`)
	if _, err := db.Exec(ctx, `UPDATE audit_log_head SET first_id = NULL, last_id = NULL, last_hash = NULL`); err != nil {
		t.Fatal(err)
	}
	rep := verify()
	if rep.Break == nil || rep.Break.RowID != ids[2] || rep.Break.Problem != auditchain.RowChanged {
		t.Errorf("report = %s; want a break at row %d: %s", rep, ids[2], auditchain.RowChanged)
	}
}
