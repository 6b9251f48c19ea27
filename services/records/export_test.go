package records

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	recordsv1 "healthcore/gen/healthcore/records/v1"
	"healthcore/platform/jobs"
	"healthcore/platform/logging"
	"healthcore/platform/pg"
	"healthcore/platform/testkit"
)

// captureLog points the service's logger at a buffer, as production's JSON logger.
func (f *fixture) captureLog() *testkit.LogBuffer {
	out := &testkit.LogBuffer{}
	f.svc.log = logging.New(out, slog.LevelInfo)
	return out
}

// accessRowsAsLines reads the access log as the exported lines should show it.
func (f *fixture) accessRowsAsLines() map[string]map[string]string {
	f.t.Helper()
	return testkit.ExportedRows(f.t, f.db, "records.access_log", `SELECT id, at, actor_id::text, actor_role, actor_crm, action,
			patient_id::text, document_id::text, group_id::text, share_id::text, outcome, reason, request_id, client_addr
		FROM access_log ORDER BY id`, "actor_id", "actor_role", "actor_crm", "action", "patient_id", "document_id", "group_id",
		"share_id", "outcome", "reason", "request_id", "client_addr")
}

var errRollBack = errors.New("roll back")

func TestExportAccessLog_WritesEachCommittedRowOnceWithIDsOnly(t *testing.T) {
	f := newFixture(t)
	out := f.captureLog()
	ctx := context.Background()
	alice, doctor := f.newPatient(), f.listedDoctor()
	f.mustGroup(alice, "Exames da Maria Confidencial")
	doc := f.mustUpload(alice, meta("Hemograma Maria Secreto", "application/pdf"), pdf(5000))
	sh := f.mustShare(alice, doctor, []string{doc.GetId()}, nil, time.Now().Add(24*time.Hour))
	if _, err := f.client.GetDocument(ctx, authed(&recordsv1.GetDocumentRequest{DocumentId: doc.GetId()}, doctor.token)); err != nil {
		t.Fatal(err)
	}
	_, err := f.upload(alice, meta("Texto Secreto", "application/pdf"), []byte("not a pdf at all, only text")) // a refusal, with its reason
	testkit.WantReason(t, err, ReasonContentTypeMismatch)
	// An entry whose action rolled back never happened: it is never shipped.
	err = pg.InTx(ctx, f.db, func(tx pgx.Tx) error {
		if err := f.svc.accessLog.append(ctx, tx, accessRecord{at: time.Now(), action: actRead, outcome: outcomeOK,
			requestID: "rolled-back-entry"}); err != nil {
			return err
		}
		return errRollBack
	})
	if !errors.Is(err, errRollBack) {
		t.Fatalf("rolled-back append: %v", err)
	}
	want := f.accessRowsAsLines()
	var sawCRM, sawShare, sawReason bool
	for _, w := range want {
		sawCRM, sawShare, sawReason = sawCRM || w["actor_crm"] != "", sawShare || w["share_id"] == sh.GetId(), sawReason || w["reason"] != ""
	}
	if len(want) < 5 || !sawCRM || !sawShare || !sawReason {
		t.Fatalf("access log %v lacks the doctor's read through the share or the refusal", want)
	}

	for run := 0; ; run++ {
		n, err := f.svc.exportAccessLog(ctx, 2)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			if run != (len(want)+1)/2 {
				t.Fatalf("drained in %d runs of 2, want %d", run, (len(want)+1)/2)
			}
			break
		}
	}
	testkit.CheckExportLines(t, out.JSONLines(t, exportMsg), want)
	ids := f.accessIDs()
	var cursor int64
	if err := f.db.QueryRow(ctx, `SELECT last_id FROM access_log_export`).Scan(&cursor); err != nil {
		t.Fatal(err)
	}
	if cursor != ids[len(ids)-1] {
		t.Errorf("cursor at %d, want the last row %d", cursor, ids[len(ids)-1])
	}
	if n, err := f.svc.exportAccessLog(ctx, exportBatch); err != nil || n != 0 {
		t.Errorf("a second run exported %d, %v; want nothing", n, err)
	}
	all := out.String()
	for _, personal := range []string{"rolled-back-entry", "Maria", "Secret", "Exames", "Hemograma", "Ana Souza", "Paulista"} {
		if strings.Contains(all, personal) {
			t.Errorf("the exported lines hold %q", personal)
		}
	}
}

func TestExportAccessLog_TheLeaderRunsItPeriodically(t *testing.T) {
	cfg := DefaultConfig()
	cfg.AccessExportEvery = time.Second
	cfg.Jobs = jobs.Options{PollInterval: 20 * time.Millisecond}
	f := newFixtureWith(t, cfg)
	out := f.captureLog()
	alice := f.newPatient()
	f.mustGroup(alice, "Exames")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.svc.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("records jobs: %v", err)
		}
	})
	f.waitFor("the exported line", func() bool { return len(out.JSONLines(t, exportMsg)) == 1 })
	testkit.CheckExportLines(t, out.JSONLines(t, exportMsg), f.accessRowsAsLines())
}
