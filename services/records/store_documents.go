package records

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"healthcore/platform/pagetoken"
	"healthcore/platform/pg"
)

// documentStore reads and writes the documents table: each document's metadata and
// what is needed to read its object (the sealed data key, the nonce prefix). Rows are
// never deleted; deleted_at hides them. Lookups by a caller answer pgx.ErrNoRows
// (wrapped) for someone else's document as for a missing or hidden one.
type documentStore struct{}

// documentColumns are the columns scanDocument reads, in its order, of documents d.
const documentColumns = `d.id, d.patient_id::text, d.title, d.kind, coalesce(to_char(d.exam_date, 'YYYY-MM-DD'), ''),
	d.declared_content_type, d.content_type, d.size_bytes, d.sha256, d.blob_key, d.data_key, d.chunk_size, d.nonce_prefix,
	coalesce(d.group_id::text, ''), d.created_at, d.updated_at`

// scanDocument reads documentColumns, then the columns a query selects after them
// into extra.
func scanDocument(row pgx.Row, extra ...any) (*document, error) {
	d := &document{}
	dest := append([]any{&d.id, &d.patientID, &d.title, &d.kind, &d.examDate, &d.declared, &d.contentType, &d.size,
		&d.sha256, &d.blobKey, &d.dataKey, &d.chunkSize, &d.noncePrefix, &d.groupID, &d.createdAt, &d.updatedAt}, extra...)
	return d, row.Scan(dest...)
}

// documentGroupFK is the foreign key that keeps a document in a group of its own
// patient's.
const documentGroupFK = "documents_group_id_patient_id_fkey"

// insert writes a new document's row; a group that is not the patient's is
// GROUP_NOT_FOUND.
func (documentStore) insert(ctx context.Context, q pg.Querier, d *document) error {
	_, err := q.Exec(ctx, `INSERT INTO documents (id, patient_id, title, kind, exam_date, declared_content_type, content_type,
			size_bytes, sha256, blob_key, data_key, format, chunk_size, nonce_prefix, group_id, created_at, updated_at)
		VALUES ($1, $2, $3, $4, NULLIF($5, '')::date, $6, $7, $8, $9, $10, $11, $12, $13, $14, NULLIF($15, '')::uuid, $16, $17)`,
		d.id, d.patientID, d.title, d.kind, d.examDate, d.declared, d.contentType, d.size, d.sha256, d.blobKey, d.dataKey,
		formatV1, d.chunkSize, d.noncePrefix, d.groupID, d.createdAt, d.updatedAt)
	if isViolationOf(err, "23503", documentGroupFK) {
		return errGroupNotFound
	}
	if err != nil {
		return fmt.Errorf("insert document: %w", err)
	}
	return nil
}

// getOwn returns the patient's live document id.
func (documentStore) getOwn(ctx context.Context, q pg.Querier, patientID, id string) (*document, error) {
	d, err := scanDocument(q.QueryRow(ctx, `SELECT `+documentColumns+` FROM documents d
		WHERE d.id = $1 AND d.patient_id = $2 AND d.deleted_at IS NULL`, id, patientID))
	if err != nil {
		return nil, fmt.Errorf("select document: %w", err)
	}
	return d, nil
}

// getOwnForUpdate is getOwn, locking the row until q's transaction ends.
func (documentStore) getOwnForUpdate(ctx context.Context, q pg.Querier, patientID, id string) (*document, error) {
	d, err := scanDocument(q.QueryRow(ctx, `SELECT `+documentColumns+` FROM documents d
		WHERE d.id = $1 AND d.patient_id = $2 AND d.deleted_at IS NULL FOR UPDATE`, id, patientID))
	if err != nil {
		return nil, fmt.Errorf("select document for update: %w", err)
	}
	return d, nil
}

// lockOwnForShare takes a share lock on the patient's live document id until q's
// transaction ends, so the document cannot be deleted meanwhile.
func (documentStore) lockOwnForShare(ctx context.Context, q pg.Querier, patientID, id string) error {
	var one int
	err := q.QueryRow(ctx, `SELECT 1 FROM documents WHERE id = $1 AND patient_id = $2 AND deleted_at IS NULL FOR SHARE`,
		id, patientID).Scan(&one)
	if err != nil {
		return fmt.Errorf("lock document for share: %w", err)
	}
	return nil
}

// documentChange names the fields an update sets; nil leaves one as it is, and an
// empty group takes the document out of its group.
type documentChange struct {
	title, kind, groupID *string
}

// update changes document id as ch says and returns the row. The caller has checked
// that the document is its patient's; a group that is not theirs is GROUP_NOT_FOUND.
func (documentStore) update(ctx context.Context, q pg.Querier, id string, ch documentChange, at time.Time) (*document, error) {
	d, err := scanDocument(q.QueryRow(ctx, `UPDATE documents d SET
			title = coalesce($2, d.title),
			kind = coalesce($3, d.kind),
			group_id = CASE WHEN $4::text IS NULL THEN d.group_id ELSE NULLIF($4, '')::uuid END,
			updated_at = $5
		WHERE d.id = $1 RETURNING `+documentColumns,
		id, ch.title, ch.kind, ch.groupID, at))
	if isViolationOf(err, "23503", documentGroupFK) {
		return nil, errGroupNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("update document: %w", err)
	}
	return d, nil
}

// hide marks the patient's live document id deleted at at; false when there is none.
func (documentStore) hide(ctx context.Context, q pg.Querier, patientID, id string, at time.Time) (bool, error) {
	tag, err := q.Exec(ctx, `UPDATE documents SET deleted_at = $3 WHERE id = $1 AND patient_id = $2 AND deleted_at IS NULL`,
		id, patientID, at)
	if err != nil {
		return false, fmt.Errorf("hide document: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

// documentFilter chooses the documents list returns.
type documentFilter struct {
	patientID string
	kind      string // "" for any
	groupID   string // "" for any
	// after, when set, is the last document of the previous page.
	after *pagetoken.Cursor
	limit int
}

// list returns the live documents f chooses, newest first (then by id, descending).
func (documentStore) list(ctx context.Context, q pg.Querier, f documentFilter) ([]*document, error) {
	w := &where{conds: []string{"d.deleted_at IS NULL"}}
	w.add("d.patient_id = $%d", f.patientID)
	if f.kind != "" {
		w.add("d.kind = $%d", f.kind)
	}
	if f.groupID != "" {
		w.add("d.group_id = $%d", f.groupID)
	}
	if f.after != nil {
		w.add("(d.created_at, d.id) < ($%d, $%d::uuid)", f.after.Time(), f.after.ID)
	}
	return queryAll(ctx, q, "list documents", func(row pgx.Row) (*document, error) { return scanDocument(row) },
		`SELECT `+documentColumns+` FROM documents d WHERE `+w.sql()+
			fmt.Sprintf(` ORDER BY d.created_at DESC, d.id DESC LIMIT %d`, f.limit), w.args...)
}

// listAllByPatient returns every document of the patient, deleted ones too, oldest
// first: the patient's data export.
func (documentStore) listAllByPatient(ctx context.Context, q pg.Querier, patientID string) ([]*document, error) {
	return queryAll(ctx, q, "list all documents", func(row pgx.Row) (*document, error) { return scanDocument(row) },
		`SELECT `+documentColumns+` FROM documents d WHERE d.patient_id = $1 ORDER BY d.created_at, d.id`, patientID)
}

// getAnyOwn returns the patient's document id, deleted or not.
func (documentStore) getAnyOwn(ctx context.Context, q pg.Querier, patientID, id string) (*document, error) {
	d, err := scanDocument(q.QueryRow(ctx, `SELECT `+documentColumns+` FROM documents d
		WHERE d.id = $1 AND d.patient_id = $2`, id, patientID))
	if err != nil {
		return nil, fmt.Errorf("select document: %w", err)
	}
	return d, nil
}

// holdByPatient marks every document of the patient as kept until until; a later date
// already there stays. It returns how many documents carry a hold.
func (documentStore) holdByPatient(ctx context.Context, q pg.Querier, patientID string, until time.Time) (int64, error) {
	if _, err := q.Exec(ctx, `UPDATE documents SET retention_until = $2
		WHERE patient_id = $1 AND (retention_until IS NULL OR retention_until < $2)`, patientID, until); err != nil {
		return 0, fmt.Errorf("hold documents: %w", err)
	}
	var n int64
	if err := q.QueryRow(ctx, `SELECT count(*) FROM documents WHERE patient_id = $1 AND retention_until IS NOT NULL`,
		patientID).Scan(&n); err != nil {
		return 0, fmt.Errorf("count held documents: %w", err)
	}
	return n, nil
}
