package records

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"healthcore/platform/pg"
)

// shareStore reads and writes the grants: shares, with the documents and groups each
// one names (share_documents, share_groups), and answers the read-time checks of a
// doctor's access. Grants are never deleted; revoked_at ends one early.
type shareStore struct{}

const shareColumns = `s.id::text, s.patient_id::text, s.doctor_id::text,
	coalesce((SELECT array_agg(document_id::text ORDER BY document_id) FROM share_documents WHERE share_id = s.id), '{}'),
	coalesce((SELECT array_agg(group_id::text ORDER BY group_id) FROM share_groups WHERE share_id = s.id), '{}'),
	s.expires_at, s.created_at, s.revoked_at`

func scanShare(row pgx.Row) (*share, error) {
	sh := &share{}
	return sh, row.Scan(&sh.id, &sh.patientID, &sh.doctorID, &sh.documentIDs, &sh.groupIDs, &sh.expiresAt, &sh.createdAt, &sh.revokedAt)
}

// covers is the condition that share s grants document d: directly, or through the
// group d is filed in now (groups are evaluated at read time).
const covers = `(EXISTS (SELECT 1 FROM share_documents sd WHERE sd.share_id = s.id AND sd.document_id = d.id)
	OR EXISTS (SELECT 1 FROM share_groups sg WHERE sg.share_id = s.id AND sg.group_id = d.group_id))`

// insert writes the grant sh with its documents and groups. The caller has checked
// (and locked) them as the patient's.
func (shareStore) insert(ctx context.Context, q pg.Querier, sh *share) error {
	if _, err := q.Exec(ctx, `INSERT INTO shares (id, patient_id, doctor_id, expires_at, created_at) VALUES ($1, $2, $3, $4, $5)`,
		sh.id, sh.patientID, sh.doctorID, sh.expiresAt, sh.createdAt); err != nil {
		return fmt.Errorf("insert share: %w", err)
	}
	if _, err := q.Exec(ctx, `INSERT INTO share_documents (share_id, document_id) SELECT $1, unnest($2::uuid[])`,
		sh.id, sh.documentIDs); err != nil {
		return fmt.Errorf("insert share documents: %w", err)
	}
	if _, err := q.Exec(ctx, `INSERT INTO share_groups (share_id, group_id) SELECT $1, unnest($2::uuid[])`,
		sh.id, sh.groupIDs); err != nil {
		return fmt.Errorf("insert share groups: %w", err)
	}
	return nil
}

// get returns grant id as stored (its documents and groups sorted by id).
func (shareStore) get(ctx context.Context, q pg.Querier, id string) (*share, error) {
	sh, err := scanShare(q.QueryRow(ctx, `SELECT `+shareColumns+` FROM shares s WHERE s.id = $1`, id))
	if err != nil {
		return nil, fmt.Errorf("select share: %w", err)
	}
	return sh, nil
}

// revoke ends the patient's grant id at at, unless it had ended before, and returns
// it as it now is; pgx.ErrNoRows (wrapped) when the grant is not theirs.
func (shareStore) revoke(ctx context.Context, q pg.Querier, patientID, id string, at time.Time) (*share, error) {
	sh, err := scanShare(q.QueryRow(ctx, `WITH r AS (
			UPDATE shares SET revoked_at = $3 WHERE id = $1 AND patient_id = $2 AND revoked_at IS NULL AND expires_at > $3
		) SELECT `+shareColumns+` FROM shares s WHERE s.id = $1 AND s.patient_id = $2`, id, patientID, at))
	if err != nil {
		return nil, fmt.Errorf("revoke share: %w", err)
	}
	// The CTE's update is not visible to the SELECT of the same statement; the row's
	// revoked_at is at, unless it had ended before.
	if sh.revokedAt == nil && sh.expiresAt.After(at) {
		sh.revokedAt, sh.revokedNow = &at, true
	}
	return sh, nil
}

// listByPatient returns the patient's grants, newest first.
func (shareStore) listByPatient(ctx context.Context, q pg.Querier, patientID string) ([]*share, error) {
	return queryAll(ctx, q, "list shares", scanShare,
		`SELECT `+shareColumns+` FROM shares s WHERE s.patient_id = $1 ORDER BY s.created_at DESC, s.id DESC`, patientID)
}

// grantState is how the grants to one doctor stand for one document at an instant.
type grantState struct {
	// live is a grant that covers the document now (the one that runs longest), or "".
	live string
	// latest is the most recent grant that ever covered it, or "" when none did.
	latest string
	// revoked tells whether latest was revoked (else it ended, or is live).
	revoked bool
}

// documentForDoctor returns live document id with how the grants of its owner to
// doctorID stand for it at at, all read in one statement so a revocation committed
// before it is seen. A missing or deleted document is pgx.ErrNoRows (wrapped).
func (shareStore) documentForDoctor(ctx context.Context, q pg.Querier, doctorID, id string, at time.Time) (*document, grantState, error) {
	var g grantState
	d, err := scanDocument(q.QueryRow(ctx, `SELECT `+documentColumns+`,
			coalesce((SELECT s.id::text FROM shares s WHERE s.doctor_id = $2 AND s.patient_id = d.patient_id
				AND s.revoked_at IS NULL AND s.expires_at > $3 AND `+covers+` ORDER BY s.expires_at DESC LIMIT 1), ''),
			coalesce((SELECT s.id::text FROM shares s WHERE s.doctor_id = $2 AND s.patient_id = d.patient_id
				AND `+covers+` ORDER BY s.created_at DESC, s.id DESC LIMIT 1), ''),
			coalesce((SELECT s.revoked_at IS NOT NULL FROM shares s WHERE s.doctor_id = $2 AND s.patient_id = d.patient_id
				AND `+covers+` ORDER BY s.created_at DESC, s.id DESC LIMIT 1), false)
		FROM documents d WHERE d.id = $1 AND d.deleted_at IS NULL`, id, doctorID, at), &g.live, &g.latest, &g.revoked)
	if err != nil {
		return nil, grantState{}, fmt.Errorf("select shared document: %w", err)
	}
	return d, g, nil
}

// sharedDocument is a document a doctor may read, and until when.
type sharedDocument struct {
	doc *document
	// expiresAt is the latest expiry among the live grants that cover it.
	expiresAt time.Time
}

// documentsForDoctor returns the live documents that live grants to doctorID cover
// at at, newest first.
func (shareStore) documentsForDoctor(ctx context.Context, q pg.Querier, doctorID string, at time.Time) ([]sharedDocument, error) {
	return queryAll(ctx, q, "list shared documents", func(row pgx.Row) (sharedDocument, error) {
		var sd sharedDocument
		var err error
		sd.doc, err = scanDocument(row, &sd.expiresAt)
		return sd, err
	}, `SELECT `+documentColumns+`, max(s.expires_at)
		FROM shares s JOIN documents d ON d.patient_id = s.patient_id AND d.deleted_at IS NULL AND `+covers+`
		WHERE s.doctor_id = $1 AND s.revoked_at IS NULL AND s.expires_at > $2
		GROUP BY d.id ORDER BY d.created_at DESC, d.id DESC`, doctorID, at)
}

// revokeAllByPatient ends at at every grant of the patient still running.
func (shareStore) revokeAllByPatient(ctx context.Context, q pg.Querier, patientID string, at time.Time) error {
	if _, err := q.Exec(ctx, `UPDATE shares SET revoked_at = $2 WHERE patient_id = $1 AND revoked_at IS NULL AND expires_at > $2`,
		patientID, at); err != nil {
		return fmt.Errorf("revoke all shares: %w", err)
	}
	return nil
}
