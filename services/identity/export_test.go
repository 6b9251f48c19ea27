package identity

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	identityv1 "healthcore/gen/healthcore/identity/v1"
	"healthcore/platform/jobs"
	"healthcore/platform/logging"
	"healthcore/platform/pg"
	"healthcore/platform/testkit"
)

// captureLog points the service's logger at a buffer, as production's JSON logger.
func (f *fixture) captureLog(level slog.Level) *testkit.LogBuffer {
	out := &testkit.LogBuffer{}
	f.svc.log = logging.New(out, level)
	return out
}

// exportCursor is the id of the last audit row exported.
func (f *fixture) exportCursor() (last int64) {
	f.t.Helper()
	if err := f.db.QueryRow(context.Background(), `SELECT last_id FROM audit_log_export`).Scan(&last); err != nil {
		f.t.Fatal(err)
	}
	return last
}

// auditRowsAsLines reads the audit log as the exported lines should show it.
func (f *fixture) auditRowsAsLines() map[string]map[string]string {
	f.t.Helper()
	return testkit.ExportedRows(f.t, f.db, "identity.audit_log", `SELECT id, at, actor_id::text, actor_role, actor_crm, action,
			subject_id::text, outcome, request_id, client_addr
		FROM audit_log ORDER BY id`, "actor_id", "actor_role", "actor_crm", "action", "subject_id", "outcome", "request_id", "client_addr")
}

var errRollBack = errors.New("roll back")

func TestExportAudit_WritesEachCommittedRowOnceWithIDsOnly(t *testing.T) {
	f := newFixture(t, nil)
	out := f.captureLog(slog.LevelInfo)
	ctx := context.Background()
	pair := f.patientSession() // Maria da Silva, maria@example.com, CPF 529.982.247-25
	if _, err := f.me(pair.GetAccessToken()); err != nil {
		t.Fatal(err)
	}
	f.registerDoctor("123456", "SP") // Dr. João Pereira, doc123456@clinica.com.br
	doctor := f.mustLogin(&identityv1.LoginRequest{Login: &identityv1.LoginRequest_Crm{Crm: &identityv1.Crm{Number: "123456", Uf: "SP"}},
		Password: "doctor password 1"})
	if _, err := f.me(doctor.GetAccessToken()); err != nil { // a row with the doctor's CRM
		t.Fatal(err)
	}
	// An entry whose action rolled back never happened: it is never shipped.
	err := pg.InTx(ctx, f.db, func(tx pgx.Tx) error {
		if err := f.svc.auditLog.append(ctx, tx, auditEntry{Action: actRead, Outcome: outcomeOK, RequestID: "rolled-back-entry"}); err != nil {
			return err
		}
		return errRollBack
	})
	if !errors.Is(err, errRollBack) {
		t.Fatalf("rolled-back append: %v", err)
	}
	want := f.auditRowsAsLines()
	if len(want) != 6 {
		t.Fatalf("audit log has %d rows, want 6", len(want))
	}
	crm := false
	for _, w := range want {
		crm = crm || w["actor_crm"] != ""
	}
	if !crm {
		t.Fatal("no row carries a CRM; the test would not check it")
	}

	// Two rows per run: the backlog drains over three runs.
	for run, wantN := range []int{2, 2, 2, 0} {
		n, err := f.svc.exportAudit(ctx, 2)
		if err != nil || n != wantN {
			t.Fatalf("run %d: exported %d, %v; want %d", run, n, err, wantN)
		}
	}
	lines := out.JSONLines(t, exportMsg)
	testkit.CheckExportLines(t, lines, want)
	for _, l := range lines {
		if l["level"] != "INFO" {
			t.Errorf("%v: level %v, want INFO", l["export_id"], l["level"])
		}
	}
	ids := auditIDs(t, f.db)
	if got := f.exportCursor(); got != ids[len(ids)-1] {
		t.Errorf("cursor at %d, want the last row %d", got, ids[len(ids)-1])
	}

	// A new row is the next run's only line.
	f.mustLogin(emailLogin("maria@example.com", "correct horse battery"))
	if n, err := f.svc.exportAudit(ctx, exportBatch); err != nil || n != 1 {
		t.Fatalf("after one more row: exported %d, %v; want 1", n, err)
	}
	testkit.CheckExportLines(t, out.JSONLines(t, exportMsg), f.auditRowsAsLines())

	all := out.String()
	for _, personal := range []string{"rolled-back-entry", "529.982.247-25", "52998224725", "Maria", "maria@example.com",
		"João", "Pereira", "doc123456@", "correct horse"} {
		if strings.Contains(all, personal) {
			t.Errorf("the exported lines hold %q", personal)
		}
	}
}

func TestExportAudit_WaitsWhileTheLogLevelHidesItsLines(t *testing.T) {
	f := newFixture(t, nil)
	out := f.captureLog(slog.LevelWarn)
	f.patientSession()
	if n, err := f.svc.exportAudit(context.Background(), exportBatch); err != nil || n != 0 {
		t.Fatalf("exported %d, %v at level warn; want 0", n, err)
	}
	if got := f.exportCursor(); got != 0 {
		t.Errorf("cursor moved to %d with nothing written", got)
	}
	if len(out.JSONLines(t, exportMsg)) != 0 {
		t.Error("lines written below the log level")
	}
	// Once the level lets them through, the rows are all there.
	f.svc.log = logging.New(out, slog.LevelInfo)
	if n, err := f.svc.exportAudit(context.Background(), exportBatch); err != nil || n != 2 {
		t.Fatalf("exported %d, %v at level info; want the 2 rows", n, err)
	}
}

func TestExportAudit_TheLeaderRunsItPeriodically(t *testing.T) {
	f := newFixture(t, func(c *Config) {
		c.AuditExportEvery = time.Second
		c.Jobs = jobs.Options{PollInterval: 20 * time.Millisecond}
	})
	out := f.captureLog(slog.LevelInfo)
	f.patientSession()
	runJobs(t, f.svc)
	eventually(t, "the exported lines", func() bool { return len(out.JSONLines(t, exportMsg)) == 2 })
	testkit.CheckExportLines(t, out.JSONLines(t, exportMsg), f.auditRowsAsLines())
}

func TestExportAudit_OffWhenEveryIsZero(t *testing.T) {
	f := newFixture(t, func(c *Config) {
		c.AuditExportEvery = 0
		c.Jobs = jobs.Options{PollInterval: 20 * time.Millisecond}
	})
	out := f.captureLog(slog.LevelInfo)
	f.patientSession()
	runJobs(t, f.svc)
	// The rotation check runs at start; once it has, a scheduled export would have too.
	eventually(t, "the rotation check", func() bool {
		var n int
		if err := f.db.QueryRow(context.Background(),
			`SELECT count(*) FROM river_job WHERE kind = 'identity.rotate_keys' AND state = 'completed'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n == 1
	})
	var n int
	if err := f.db.QueryRow(context.Background(), `SELECT count(*) FROM river_job WHERE kind = 'identity.export_audit'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 || len(out.JSONLines(t, exportMsg)) != 0 {
		t.Errorf("export off, yet %d jobs and %d lines", n, len(out.JSONLines(t, exportMsg)))
	}
}
