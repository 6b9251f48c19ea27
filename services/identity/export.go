package identity

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"healthcore/platform/auditchain"
	"healthcore/platform/jobs"
)

// exportBatch is the most audit rows one export writes out; a longer backlog drains
// over the next runs.
const exportBatch = 1000

// exportMsg is the msg of an exported audit line: the log collector ships every line
// whose msg starts with "audit" to the audit stream (deploy/observability/fluent-bit.yaml).
const exportMsg = "audit.account"

// exportAuditArgs is the periodic export of the audit log's new rows to the log
// stream, one JSON line each.
type exportAuditArgs struct{}

func (exportAuditArgs) Kind() string { return "identity.export_audit" }

// InsertOpts keeps at most one export waiting or running.
func (exportAuditArgs) InsertOpts() river.InsertOpts { return jobs.OneAtATime() }

// exportAuditPeriodic schedules the export every AuditExportEvery (the elected leader alone schedules
// periodic jobs), and at once when a replica becomes the leader.
func (s *Service) exportAuditPeriodic() *river.PeriodicJob {
	return jobs.Every(s.cfg.AuditExportEvery, exportAuditArgs{})
}

// exportAudit writes the audit rows committed since the last export, at most
// limit, as log lines with msg exportMsg, and moves the cursor past them in the
// same transaction (see auditchain.Log.Export: at least once, each line with its
// export_id). The lines carry the row's ids and codes only — no names, CPF or e-mail,
// which the log never holds. It returns how many rows it wrote.
func (s *Service) exportAudit(ctx context.Context, limit int) (int, error) {
	n, err := auditChain.Export(ctx, s.db, s.log, exportMsg, limit, func(tx pgx.Tx, after int64, limit int) ([]auditchain.Entry, error) {
		rows, err := s.auditLog.after(ctx, tx, after, limit)
		out := make([]auditchain.Entry, len(rows))
		for i, r := range rows {
			out[i] = auditchain.Entry{ID: r.id, At: r.at, Cols: []auditchain.Col{{Key: "actor_id", V: r.actorID},
				{Key: "actor_role", V: r.actorRole}, {Key: "actor_crm", V: r.actorCRM}, {Key: "action", V: r.action},
				{Key: "subject_id", V: r.subjectID}, {Key: "outcome", V: r.outcome}, {Key: "request_id", V: r.requestID},
				{Key: "client_addr", V: r.clientAddr}}}
		}
		return out, err
	})
	if err != nil {
		return 0, fmt.Errorf("identity: export audit log: %w", err)
	}
	return n, nil
}
