package records

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"healthcore/platform/auditchain"
	"healthcore/platform/jobs"
)

// exportBatch is the most access log rows one export writes out; a longer backlog
// drains over the next runs.
const exportBatch = 1000

// exportMsg is the msg of an exported access log line. A health record's access log is
// an audit trail: the log collector ships every line whose msg starts with "audit" to
// the audit stream, kept five years (deploy/observability/fluent-bit.yaml).
const exportMsg = "audit.record_access"

// exportAccessLogArgs is the periodic export of the access log's new rows to the log
// stream, one JSON line each.
type exportAccessLogArgs struct{}

func (exportAccessLogArgs) Kind() string { return "records.export_access_log" }

// InsertOpts keeps at most one export waiting or running.
func (exportAccessLogArgs) InsertOpts() river.InsertOpts { return jobs.OneAtATime() }

// exportJob schedules the export every AccessExportEvery (the elected leader alone schedules
// periodic jobs), and at once when a replica becomes the leader.
func (s *Service) exportJob() *river.PeriodicJob {
	return jobs.Every(s.cfg.AccessExportEvery, exportAccessLogArgs{})
}

// exportAccessLog writes the access log rows committed since the last export, at most
// limit, as log lines with msg exportMsg, and moves the cursor past them in the
// same transaction (see auditchain.Log.Export: at least once, each line with its
// export_id). The lines carry the row's ids and codes only (reason is an error reason
// code) — no names, titles or document contents, which the log never holds. It returns
// how many rows it wrote.
func (s *Service) exportAccessLog(ctx context.Context, limit int) (int, error) {
	n, err := accessChain.Export(ctx, s.db, s.log, exportMsg, limit, func(tx pgx.Tx, after int64, limit int) ([]auditchain.Entry, error) {
		rows, err := s.accessLog.after(ctx, tx, after, limit)
		out := make([]auditchain.Entry, len(rows))
		for i, r := range rows {
			out[i] = auditchain.Entry{ID: r.id, At: r.at, Cols: []auditchain.Col{{Key: "actor_id", V: r.actorID},
				{Key: "actor_role", V: r.actorRole}, {Key: "actor_crm", V: r.actorCRM}, {Key: "action", V: r.action},
				{Key: "patient_id", V: r.patientID}, {Key: "document_id", V: r.documentID}, {Key: "group_id", V: r.groupID},
				{Key: "share_id", V: r.shareID}, {Key: "outcome", V: r.outcome}, {Key: "reason", V: r.reason},
				{Key: "request_id", V: r.requestID}, {Key: "client_addr", V: r.clientAddr}}}
		}
		return out, err
	})
	if err != nil {
		return 0, fmt.Errorf("records: export access log: %w", err)
	}
	return n, nil
}
