package records

import (
	"context"
	"iter"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	recordsv1 "healthcore/gen/healthcore/records/v1"
	"healthcore/platform/auditchain"
	"healthcore/platform/auditchain/chaintest"
	"healthcore/platform/envelope"
	"healthcore/platform/pg"
)

// accessIDs lists access_log's ids in order.
func (f *fixture) accessIDs() []int64 {
	f.t.Helper()
	rows, err := f.db.Query(context.Background(), `SELECT id FROM access_log ORDER BY id`)
	if err != nil {
		f.t.Fatal(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		f.t.Fatal(err)
	}
	return ids
}

// verifyChain runs the verifier as the audit-verify command does: the records pool and
// an Envelope on the keys service.
func (f *fixture) verifyChain() auditchain.Report {
	f.t.Helper()
	rep, err := VerifyAccessChain(context.Background(), f.db, envelope.New(f.keys, envelope.Defaults))
	if err != nil {
		f.t.Fatal(err)
	}
	return rep
}

// chainedFixture is a service whose access log holds four chained rows, written by
// patients' calls: two uploads (each logged in its transaction) and two reads of the
// log (logged after).
func chainedFixture(t *testing.T) (*fixture, []int64) {
	f := newFixture(t)
	alice, bob := f.newPatient(), f.newPatient()
	f.mustUpload(alice, meta("a", "application/pdf"), pdf(500))
	f.accessLog(alice, &recordsv1.ListAccessLogRequest{})
	f.mustUpload(bob, meta("b", "image/png"), png(500))
	f.accessLog(bob, &recordsv1.ListAccessLogRequest{})
	ids := f.accessIDs()
	if len(ids) != 4 {
		t.Fatalf("access log has %d rows, want 4", len(ids))
	}
	return f, ids
}

func TestAccessChain_ConcurrentAppendsFormOneUnbrokenChain(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	const n = 200
	before := f.svc.accessLog.batch.Stats()
	var wg sync.WaitGroup
	errc := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			e := &entry{action: actRead, documentID: uuid.NewString(), owner: uuid.NewString()}
			if i%2 == 0 { // alone, as most accesses are logged
				errc <- f.svc.write(ctx, f.db, e, nil)
				return
			}
			errc <- pg.InTx(ctx, f.db, func(tx pgx.Tx) error { // with the change it records
				return f.svc.write(ctx, tx, e, nil)
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
	if got := f.svc.accessLog.batch.Stats().Rows - before.Rows; got != n/2 {
		t.Errorf("%d rows written in batches, want the %d appended through the pool", got, n/2)
	}
	rep := f.verifyChain()
	if !rep.OK() || rep.Checked != n || rep.Unchained != 0 {
		t.Fatalf("report = %s; want %d rows checked, intact", rep, n)
	}
	ids := f.accessIDs()
	if forks := f.count(`SELECT count(*) - count(DISTINCT prev_hash) FROM access_log`); forks != 0 ||
		rep.Head.LastID != ids[len(ids)-1] || rep.Head.FirstID != ids[0] {
		t.Errorf("%d rows share a predecessor; head %+v, ids %d…%d", forks, rep.Head, ids[0], ids[len(ids)-1])
	}
}

func TestAccessChain_UntamperedVerifiesClean(t *testing.T) {
	f, ids := chainedFixture(t)
	rep := f.verifyChain()
	if !rep.OK() || rep.Checked != int64(len(ids)) || rep.Head.LastID != ids[len(ids)-1] || len(rep.Head.Hash) != auditchain.HashSize {
		t.Errorf("report = %s; want %d rows, intact, head at row %d", rep, len(ids), ids[len(ids)-1])
	}
}

func TestAccessChain_RowChangedBySuperuserIsFound(t *testing.T) {
	f, ids := chainedFixture(t)
	// The superuser hides who read the log.
	chaintest.AsSuperuser(t, f.db, accessChain, `UPDATE access_log SET actor_id = NULL WHERE id = $1`, ids[1])
	chaintest.WantBreak(t, f.verifyChain(), ids[1], auditchain.RowChanged)
}

func TestAccessChain_RowDeletedBySuperuserIsFoundAtTheNextRow(t *testing.T) {
	f, ids := chainedFixture(t)
	chaintest.AsSuperuser(t, f.db, accessChain, `DELETE FROM access_log WHERE id = $1`, ids[2])
	rep := f.verifyChain()
	chaintest.WantBreak(t, rep, ids[3], auditchain.RowMissing)
	if rep.Checked != 2 {
		t.Errorf("checked %d rows before the gap, want 2", rep.Checked)
	}
}

func TestAccessChain_LastRowDeletedIsAHeadMismatch(t *testing.T) {
	f, ids := chainedFixture(t)
	last := ids[len(ids)-1]
	chaintest.AsSuperuser(t, f.db, accessChain, `DELETE FROM access_log WHERE id = $1`, last)
	chaintest.WantBreak(t, f.verifyChain(), last, auditchain.HeadMismatch)
}

func TestAccessChain_ChainRecomputedWithAnotherKeyFails(t *testing.T) {
	f, ids := chainedFixture(t)
	// The superuser deletes a row and recomputes every hash and the head with a key of
	// their own: without the sealed secret, they cannot make it verify.
	chaintest.AsSuperuser(t, f.db, accessChain, `DELETE FROM access_log WHERE id = $1`, ids[1])
	ctx := context.Background()
	chaintest.Forge(t, f.db, accessChain, func() iter.Seq2[auditchain.Row, error] { return accessLogStore{}.chainRows(ctx, f.db) })
	chaintest.WantBreak(t, f.verifyChain(), ids[0], auditchain.RowChanged)
}

func TestAccessChain_TruncateAndHeadRemovalAreRefused(t *testing.T) {
	f, ids := chainedFixture(t)
	ctx := context.Background()
	for _, stmt := range []string{`TRUNCATE access_log`, `TRUNCATE access_log_head`, `DELETE FROM access_log_head`} {
		if _, err := f.db.Exec(ctx, stmt); err == nil {
			t.Errorf("%s was accepted", stmt)
		}
	}
	if rep := f.verifyChain(); !rep.OK() || rep.Checked != int64(len(ids)) {
		t.Errorf("after the refusals: %s", rep)
	}
}

func TestAccessChain_RowsFromBeforeTheChainAreUnchained(t *testing.T) {
	ctx := context.Background()
	// Rows as the log held them before the chain's migration, with no hashes, written
	// before any service started on it.
	f := newFixtureOver(t, DefaultConfig(), func(db *pgxpool.Pool) {
		for _, stmt := range []string{
			`ALTER TABLE access_log DROP CONSTRAINT access_log_chained`,
			`INSERT INTO access_log (at, action, outcome) VALUES (now(), 'document.list', 'ok'), (now(), 'group.list', 'denied')`,
			`ALTER TABLE access_log ADD CONSTRAINT access_log_chained CHECK (prev_hash IS NOT NULL AND row_hash IS NOT NULL) NOT VALID`,
		} {
			if _, err := db.Exec(ctx, stmt); err != nil {
				t.Fatal(err)
			}
		}
	})
	if rep := f.verifyChain(); !rep.OK() || rep.Unchained != 2 || rep.Checked != 0 {
		t.Errorf("before any chained row: %s", rep)
	}
	alice := f.newPatient()
	f.mustUpload(alice, meta("a", "application/pdf"), pdf(500))
	f.accessLog(alice, &recordsv1.ListAccessLogRequest{})
	if rep := f.verifyChain(); !rep.OK() || rep.Unchained != 2 || rep.Checked != 2 {
		t.Errorf("report = %s; want 2 unchained and 2 chained, intact", rep)
	}
	if _, err := f.db.Exec(ctx, `INSERT INTO access_log (at, action, outcome) VALUES (now(), 'document.list', 'ok')`); err == nil {
		t.Error("a row without hashes was written after the chain began")
	}

	// A superuser who clears every hash and the head, to pass chained rows off as older
	// ones, is caught: the sealed secret says where the chain began.
	ids := f.accessIDs()
	chaintest.AsSuperuser(t, f.db, accessChain, `ALTER TABLE access_log DROP CONSTRAINT access_log_chained`)
	chaintest.AsSuperuser(t, f.db, accessChain, `UPDATE access_log SET prev_hash = NULL, row_hash = NULL`)
	if _, err := f.db.Exec(ctx, `UPDATE access_log_head SET first_id = NULL, last_id = NULL, last_hash = NULL`); err != nil {
		t.Fatal(err)
	}
	chaintest.WantBreak(t, f.verifyChain(), ids[2], auditchain.RowChanged)
}

func TestNew_ReplicasShareOneChainSecret(t *testing.T) {
	f, _ := chainedFixture(t)
	// A second replica over the same database opens the secret the first created.
	again, err := New(Deps{DB: f.db, Keys: f.keys, Blobs: f.blobs, Logger: f.svc.log}, DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if err := again.write(context.Background(), f.db, &entry{action: actList}, nil); err != nil {
		t.Fatal(err)
	}
	if rep := f.verifyChain(); !rep.OK() || rep.Checked != 5 {
		t.Errorf("report = %s; want 5 rows, intact", rep)
	}
	if n := f.count(`SELECT count(*) FROM secrets`); n != 1 {
		t.Errorf("%d secrets, want 1", n)
	}
}
