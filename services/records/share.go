package records

import (
	"context"
	"errors"
	"fmt"
	"time"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/timestamppb"

	directoryv1 "healthcore/gen/healthcore/directory/v1"
	recordsv1 "healthcore/gen/healthcore/records/v1"
	"healthcore/platform/errs"
)

// Sharing failures.
var (
	errShareExpired  = errs.PermissionDenied("SHARE_EXPIRED", "the patient's grant of this document to you has expired")
	errShareRevoked  = errs.PermissionDenied("SHARE_REVOKED", "the patient revoked the grant of this document to you")
	errShareNotFound = errs.NotFound("SHARE_NOT_FOUND", "no such share in your record")
	errShareEmpty    = errs.InvalidArgument("SHARE_EMPTY", "a share must name at least one document or group",
		errs.Violation{Field: "document_ids", Description: "name at least one document, or a group in group_ids"})
	errDoctorNotFound = errs.InvalidArgument("DOCTOR_NOT_FOUND", "no doctor in the directory has this id",
		errs.Violation{Field: "doctor_id", Description: "must be the id of a doctor in the directory"})
	errExpirePast = errs.InvalidArgument("EXPIRE_TIME_INVALID", "expire_time is not in the future",
		errs.Violation{Field: "expire_time", Description: "must be in the future"})
)

func errExpireTooFar(limit time.Duration) error {
	return errs.InvalidArgument("EXPIRE_TIME_INVALID", "expire_time is further ahead than a share may run",
		errs.Violation{Field: "expire_time", Description: "must be at most " + limit.String() + " from now"})
}

func errDirectory(err error) error {
	return errs.Unavailable("DIRECTORY_UNAVAILABLE", "the doctor directory cannot be reached; retry", err)
}

// share is a shares row with what it grants.
type share struct {
	id, patientID, doctorID string
	documentIDs, groupIDs   []string
	expiresAt, createdAt    time.Time
	revokedAt               *time.Time
}

const shareColumns = `s.id::text, s.patient_id::text, s.doctor_id::text,
	coalesce((SELECT array_agg(document_id::text ORDER BY document_id) FROM share_documents WHERE share_id = s.id), '{}'),
	coalesce((SELECT array_agg(group_id::text ORDER BY group_id) FROM share_groups WHERE share_id = s.id), '{}'),
	s.expires_at, s.created_at, s.revoked_at`

func scanShare(row pgx.Row) (*share, error) {
	sh := &share{}
	return sh, row.Scan(&sh.id, &sh.patientID, &sh.doctorID, &sh.documentIDs, &sh.groupIDs, &sh.expiresAt, &sh.createdAt, &sh.revokedAt)
}

func (sh *share) proto(now time.Time) *recordsv1.Share {
	out := &recordsv1.Share{
		Id: sh.id, PatientId: sh.patientID, DoctorId: sh.doctorID, DocumentIds: sh.documentIDs, GroupIds: sh.groupIDs,
		ExpireTime: timestamppb.New(sh.expiresAt), CreateTime: timestamppb.New(sh.createdAt),
		Status: recordsv1.ShareStatus_SHARE_STATUS_LIVE,
	}
	switch {
	case sh.revokedAt != nil:
		out.RevokeTime = timestamppb.New(*sh.revokedAt)
		out.Status = recordsv1.ShareStatus_SHARE_STATUS_REVOKED
	case !sh.expiresAt.After(now):
		out.Status = recordsv1.ShareStatus_SHARE_STATUS_EXPIRED
	}
	return out
}

// covers is the condition that share s grants document d: directly, or through the
// group d is filed in now (groups are evaluated at read time).
const covers = `(EXISTS (SELECT 1 FROM share_documents sd WHERE sd.share_id = s.id AND sd.document_id = d.id)
	OR EXISTS (SELECT 1 FROM share_groups sg WHERE sg.share_id = s.id AND sg.group_id = d.group_id))`

// sharedDocument returns a live document that a grant to doctorID covers, checked
// now, in one statement: the grant must be neither revoked nor expired at this
// instant. The access is filed under the document's owner. A document no grant to
// this doctor ever covered (or a missing or deleted one) is DOCUMENT_NOT_FOUND,
// revealing nothing; when every covering grant has ended, the most recent one says
// why: SHARE_REVOKED or SHARE_EXPIRED.
func (s *Service) sharedDocument(ctx context.Context, e *entry, doctorID, id string) (*document, error) {
	now := s.now().UTC()
	var (
		live, ended string // share ids
		revoked     bool
	)
	row := s.db.QueryRow(ctx, `SELECT `+documentColumns+`,
			coalesce((SELECT s.id::text FROM shares s WHERE s.doctor_id = $2 AND s.patient_id = d.patient_id
				AND s.revoked_at IS NULL AND s.expires_at > $3 AND `+covers+` ORDER BY s.expires_at DESC LIMIT 1), ''),
			coalesce((SELECT s.id::text FROM shares s WHERE s.doctor_id = $2 AND s.patient_id = d.patient_id
				AND `+covers+` ORDER BY s.created_at DESC, s.id DESC LIMIT 1), ''),
			coalesce((SELECT s.revoked_at IS NOT NULL FROM shares s WHERE s.doctor_id = $2 AND s.patient_id = d.patient_id
				AND `+covers+` ORDER BY s.created_at DESC, s.id DESC LIMIT 1), false)
		FROM documents d WHERE d.id = $1 AND d.deleted_at IS NULL`, id, doctorID, now)
	d := &document{}
	err := row.Scan(&d.id, &d.patientID, &d.title, &d.kind, &d.examDate, &d.declared, &d.contentType, &d.size, &d.sha256,
		&d.blobKey, &d.dataKey, &d.chunkSize, &d.noncePrefix, &d.groupID, &d.createdAt, &d.updatedAt, &live, &ended, &revoked)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errDocumentNotFound
	}
	if err != nil {
		return nil, errs.Internal("records: sharedDocument", err)
	}
	e.owner = d.patientID
	switch {
	case live != "":
		e.shareID = live
		return d, nil
	case ended == "":
		return nil, errDocumentNotFound
	case revoked:
		e.shareID = ended
		return nil, errShareRevoked
	default:
		e.shareID = ended
		return nil, errShareExpired
	}
}

// shareRecords is ShareRecords.
func (s *Service) shareRecords(ctx context.Context, r *recordsv1.ShareRecordsRequest) (_ *recordsv1.Share, err error) {
	e := &entry{action: actShare}
	defer func() { err = s.audited(ctx, e, err) }()
	p, err := patient(ctx)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	expires := r.GetExpireTime().AsTime()
	switch {
	case !expires.After(now):
		return nil, errExpirePast
	case expires.After(now.Add(s.cfg.MaxShare)):
		return nil, errExpireTooFar(s.cfg.MaxShare)
	case len(r.GetDocumentIds()) == 0 && len(r.GetGroupIds()) == 0:
		return nil, errShareEmpty
	}
	if err := s.doctorExists(ctx, r.GetDoctorId()); err != nil {
		return nil, err
	}

	tx, err := s.db.Begin(ctx)
	if err != nil {
		return nil, errs.Internal("records: shareRecords", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	for i, id := range r.GetDocumentIds() {
		// FOR SHARE: a document deleted meanwhile waits for this grant, or fails it.
		var one int
		err := tx.QueryRow(ctx, `SELECT 1 FROM documents WHERE id = $1 AND patient_id = $2 AND deleted_at IS NULL FOR SHARE`,
			id, p.UserID).Scan(&one)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, errs.InvalidArgument("DOCUMENT_NOT_FOUND", "a document to share is not in your record",
				errs.Violation{Field: fmt.Sprintf("document_ids[%d]", i), Description: "no such document in your record"})
		}
		if err != nil {
			return nil, errs.Internal("records: shareRecords", err)
		}
	}
	for i, id := range r.GetGroupIds() {
		var one int
		err := tx.QueryRow(ctx, `SELECT 1 FROM groups WHERE id = $1 AND patient_id = $2 FOR SHARE`, id, p.UserID).Scan(&one)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, errs.InvalidArgument("GROUP_NOT_FOUND", "a group to share is not in your record",
				errs.Violation{Field: fmt.Sprintf("group_ids[%d]", i), Description: "no such group in your record"})
		}
		if err != nil {
			return nil, errs.Internal("records: shareRecords", err)
		}
	}
	id := uuid.NewString()
	if _, err := tx.Exec(ctx, `INSERT INTO shares (id, patient_id, doctor_id, expires_at, created_at) VALUES ($1, $2, $3, $4, $5)`,
		id, p.UserID, r.GetDoctorId(), expires, now); err != nil {
		return nil, errs.Internal("records: shareRecords", err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO share_documents (share_id, document_id) SELECT $1, unnest($2::uuid[])`,
		id, r.GetDocumentIds()); err != nil {
		return nil, errs.Internal("records: shareRecords", err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO share_groups (share_id, group_id) SELECT $1, unnest($2::uuid[])`,
		id, r.GetGroupIds()); err != nil {
		return nil, errs.Internal("records: shareRecords", err)
	}
	sh, err := scanShare(tx.QueryRow(ctx, `SELECT `+shareColumns+` FROM shares s WHERE s.id = $1`, id))
	if err != nil {
		return nil, errs.Internal("records: shareRecords", err)
	}
	e.shareID = id
	if err := s.write(ctx, tx, e, nil); err != nil {
		return nil, errs.Internal("records: shareRecords", err)
	}
	if err := tx.Commit(ctx); err != nil {
		e.written = false
		return nil, errs.Internal("records: shareRecords", err)
	}
	return sh.proto(now), nil
}

// doctorExists asks the directory whether doctorID is a doctor.
func (s *Service) doctorExists(ctx context.Context, doctorID string) error {
	if s.dir == nil {
		return errDirectory(errors.New("records: no directory client configured"))
	}
	_, err := s.dir.GetPracticeSettings(ctx, connect.NewRequest(&directoryv1.GetPracticeSettingsRequest{DoctorId: doctorID}))
	switch {
	case err == nil:
		return nil
	case connect.CodeOf(err) == connect.CodeNotFound:
		return errDoctorNotFound
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	}
	return errDirectory(err)
}

// revokeShare is RevokeShare: it ends the grant now, for the doctor's very next
// request (reads check revoked_at when they arrive). Revoking an ended grant changes
// nothing and succeeds.
func (s *Service) revokeShare(ctx context.Context, id string) (_ *recordsv1.Share, err error) {
	e := &entry{action: actRevoke, shareID: id}
	defer func() { err = s.audited(ctx, e, err) }()
	p, err := patient(ctx)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	sh, err := scanShare(s.db.QueryRow(ctx, `WITH r AS (
			UPDATE shares SET revoked_at = $3 WHERE id = $1 AND patient_id = $2 AND revoked_at IS NULL AND expires_at > $3
		) SELECT `+shareColumns+` FROM shares s WHERE s.id = $1 AND s.patient_id = $2`, id, p.UserID, now))
	if errors.Is(err, pgx.ErrNoRows) {
		e.shareID = ""
		return nil, errShareNotFound
	}
	if err != nil {
		return nil, errs.Internal("records: revokeShare", err)
	}
	// The CTE's update is not visible to the SELECT of the same statement; the row's
	// revoked_at is now, unless it had ended before.
	if sh.revokedAt == nil && sh.expiresAt.After(now) {
		sh.revokedAt = &now
	}
	return sh.proto(now), nil
}

// listShares is ListShares: the caller's grants, newest first.
func (s *Service) listShares(ctx context.Context) (_ []*recordsv1.Share, err error) {
	e := &entry{action: actShareList}
	defer func() { err = s.audited(ctx, e, err) }()
	p, err := patient(ctx)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	rows, err := s.db.Query(ctx, `SELECT `+shareColumns+` FROM shares s WHERE s.patient_id = $1 ORDER BY s.created_at DESC, s.id DESC`, p.UserID)
	if err != nil {
		return nil, errs.Internal("records: listShares", err)
	}
	shares, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*share, error) { return scanShare(row) })
	if err != nil {
		return nil, errs.Internal("records: listShares", err)
	}
	out := make([]*recordsv1.Share, len(shares))
	for i, sh := range shares {
		out[i] = sh.proto(now)
	}
	return out, nil
}

// sharedDocumentColumns are documentColumns of documents d joined with shares s.
const sharedDocumentColumns = `d.id, d.patient_id::text, d.title, d.kind, coalesce(to_char(d.exam_date, 'YYYY-MM-DD'), ''),
	d.declared_content_type, d.content_type, d.size_bytes, d.sha256, d.blob_key, d.data_key, d.chunk_size, d.nonce_prefix,
	coalesce(d.group_id::text, ''), d.created_at, d.updated_at`

// listSharedWithMe is ListSharedWithMe: the live documents live grants to the
// calling doctor cover now, each with the latest expiry among those grants. Each
// owner's log gets one document.list entry by the doctor.
func (s *Service) listSharedWithMe(ctx context.Context) (_ []*recordsv1.SharedDocument, err error) {
	p, doctor, err := reader(ctx)
	if err == nil && !doctor {
		err = errNotPatient
	}
	if err != nil {
		return nil, s.audited(ctx, &entry{action: actList}, err)
	}
	now := s.now().UTC()
	rows, err := s.db.Query(ctx, `SELECT `+sharedDocumentColumns+`, max(s.expires_at)
		FROM shares s JOIN documents d ON d.patient_id = s.patient_id AND d.deleted_at IS NULL AND `+covers+`
		WHERE s.doctor_id = $1 AND s.revoked_at IS NULL AND s.expires_at > $2
		GROUP BY d.id ORDER BY d.created_at DESC, d.id DESC`, p.UserID, now)
	if err != nil {
		return nil, s.audited(ctx, &entry{action: actList}, errs.Internal("records: listSharedWithMe", err))
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*recordsv1.SharedDocument, error) {
		d := &document{}
		var exp time.Time
		err := row.Scan(&d.id, &d.patientID, &d.title, &d.kind, &d.examDate, &d.declared, &d.contentType, &d.size, &d.sha256,
			&d.blobKey, &d.dataKey, &d.chunkSize, &d.noncePrefix, &d.groupID, &d.createdAt, &d.updatedAt, &exp)
		return &recordsv1.SharedDocument{Document: d.proto(), ExpireTime: timestamppb.New(exp)}, err
	})
	if err != nil {
		return nil, s.audited(ctx, &entry{action: actList}, errs.Internal("records: listSharedWithMe", err))
	}
	seen := map[string]bool{}
	for _, sd := range out {
		owner := sd.GetDocument().GetPatientId()
		if seen[owner] {
			continue
		}
		seen[owner] = true
		if err := s.audited(ctx, &entry{action: actList, owner: owner}, nil); err != nil {
			return nil, err
		}
	}
	return out, nil
}
