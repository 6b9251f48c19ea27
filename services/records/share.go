package records

import (
	"context"
	"errors"
	"time"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/timestamppb"

	directoryv1 "healthcore/gen/healthcore/directory/v1"
	notificationsv1 "healthcore/gen/healthcore/notifications/v1"
	recordsv1 "healthcore/gen/healthcore/records/v1"
	"healthcore/platform/doctors"
	"healthcore/platform/errs"
)

// share is a shares row with what it grants.
type share struct {
	id, patientID, doctorID string
	documentIDs, groupIDs   []string
	expiresAt, createdAt    time.Time
	revokedAt               *time.Time
	// revokedNow is set by shareStore.revoke when that call ended the grant.
	revokedNow bool
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

// sharedDocument returns a live document that a grant to doctorID covers, checked
// now, in one statement: the grant must be neither revoked nor expired at this
// instant. The access is filed under the document's owner. A document no grant to
// this doctor ever covered (or a missing or deleted one) is DOCUMENT_NOT_FOUND,
// revealing nothing; when every covering grant has ended, the most recent one says
// why: SHARE_REVOKED or SHARE_EXPIRED.
func (s *Service) sharedDocument(ctx context.Context, e *entry, doctorID, id string) (*document, error) {
	d, g, err := s.shares.documentForDoctor(ctx, s.db, doctorID, id, s.now().UTC())
	if errors.Is(err, pgx.ErrNoRows) {
		s.countShareCheck(shareNotShared)
		return nil, errDocumentNotFound
	}
	if err != nil {
		return nil, errs.Internal("records: read shared document", err)
	}
	e.owner = d.patientID
	switch {
	case g.live != "":
		e.shareID = g.live
		s.countShareCheck(shareAllowed)
		return d, nil
	case g.latest == "":
		s.countShareCheck(shareNotShared)
		return nil, errDocumentNotFound
	case g.revoked:
		e.shareID = g.latest
		s.countShareCheck(shareRevoked)
		return nil, errShareRevoked
	default:
		e.shareID = g.latest
		s.countShareCheck(shareExpired)
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
	if !p.EmailVerified {
		return nil, ReasonEmailNotVerified.New("sharing records needs a confirmed e-mail address: " + "confirm your e-mail address first (the link in the e-mail we sent; POST /v1/me/email:resend-verification sends a new one), then refresh the session so its token carries the confirmation")
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
	if err := s.doctorVerified(ctx, r.GetDoctorId()); err != nil {
		return nil, err
	}

	sh := &share{id: uuid.NewString(), patientID: p.UserID, doctorID: r.GetDoctorId(),
		documentIDs: r.GetDocumentIds(), groupIDs: r.GetGroupIds(), expiresAt: expires, createdAt: now}
	var stored *share
	err = s.atomically(ctx, "records: share records", func(tx pgx.Tx) error {
		for i, id := range sh.documentIDs {
			// FOR SHARE: a document deleted meanwhile waits for this grant, or fails it.
			err := s.documents.lockOwnForShare(ctx, tx, p.UserID, id)
			if errors.Is(err, pgx.ErrNoRows) {
				return errShareDocumentNotFound(i)
			}
			if err != nil {
				return err
			}
		}
		for i, id := range sh.groupIDs {
			err := s.groups.lockForShare(ctx, tx, p.UserID, id)
			if errors.Is(err, pgx.ErrNoRows) {
				return errShareGroupNotFound(i)
			}
			if err != nil {
				return err
			}
		}
		if err := s.shares.insert(ctx, tx, sh); err != nil {
			return err
		}
		var err error
		if stored, err = s.shares.get(ctx, tx, sh.id); err != nil {
			return err
		}
		e.shareID = sh.id
		if err := s.tellShare(ctx, tx, stored, notificationsv1.Event_EVENT_SHARE_GRANTED); err != nil {
			return err
		}
		return s.write(ctx, tx, e, nil)
	})
	if err != nil {
		e.written = false // the entry went with the rolled-back transaction
		return nil, err
	}
	return stored.proto(now), nil
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
	case errs.Has(err, ReasonDoctorNotFound):
		return errDoctorNotFound
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	}
	return errDirectory(err)
}

// doctorVerified asks identity, the authority, whether the doctor is VERIFIED now: a
// patient's records go to no doctor pending, rejected or suspended.
func (s *Service) doctorVerified(ctx context.Context, doctorID string) error {
	standing, err := doctors.Check(ctx, s.identity, doctorID)
	switch {
	case err != nil:
		return ReasonIdentityUnavailable.New("identity cannot be reached to check the doctor; retry").WithCause(err)
	case standing == doctors.Unknown:
		return errDoctorNotFound
	case standing != doctors.Verified:
		return ReasonDoctorNotVerified.New("the doctor's CRM is not verified: records cannot be shared with them")
	}
	return nil
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
	var sh *share
	err = s.atomically(ctx, "records: revoke share", func(tx pgx.Tx) error {
		var err error
		sh, err = s.shares.revoke(ctx, tx, p.UserID, id, now)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return errShareNotFound
		case err != nil || !sh.revokedNow:
			return err
		}
		return s.tellShare(ctx, tx, sh, notificationsv1.Event_EVENT_SHARE_REVOKED)
	})
	if errors.Is(err, errShareNotFound) {
		e.shareID = ""
	}
	if err != nil {
		return nil, err
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
	shares, err := s.shares.listByPatient(ctx, s.db, p.UserID)
	if err != nil {
		return nil, errs.Internal("records: list shares", err)
	}
	out := make([]*recordsv1.Share, len(shares))
	for i, sh := range shares {
		out[i] = sh.proto(now)
	}
	return out, nil
}

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
	docs, err := s.shares.documentsForDoctor(ctx, s.db, p.UserID, now)
	if err != nil {
		return nil, s.audited(ctx, &entry{action: actList}, errs.Internal("records: list shared documents", err))
	}
	out := make([]*recordsv1.SharedDocument, len(docs))
	for i, sd := range docs {
		out[i] = &recordsv1.SharedDocument{Document: sd.doc.proto(), ExpireTime: timestamppb.New(sd.expiresAt)}
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
