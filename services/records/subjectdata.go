package records

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	recordsv1 "healthcore/gen/healthcore/records/v1"
	"healthcore/platform/errs"
	"healthcore/platform/pagetoken"
)

// Audited actions of identity on a patient's behalf (data export) or as the records'
// retention holder (after an erasure).
const (
	actExport = "record.export"
	actHold   = "record.hold"
)

// exportLogPage is how many access log entries one query of an export reads.
const exportLogPage = 1000

// exportPatientRecords is ExportPatientRecords: the patient's whole record but the
// files, for the patient's data export. The export is written to the patient's log.
func (s *Service) exportPatientRecords(ctx context.Context, patientID string) (_ *recordsv1.ExportPatientRecordsResponse, err error) {
	e := &entry{action: actExport, owner: patientID}
	defer func() { err = s.audited(ctx, e, err) }()
	out := &recordsv1.ExportPatientRecordsResponse{}
	docs, err := s.documents.listAllByPatient(ctx, s.db, patientID)
	if err != nil {
		return nil, errs.Internal("records: export documents", err)
	}
	for _, d := range docs {
		out.Documents = append(out.Documents, d.proto())
	}
	groups, err := s.groups.listByPatient(ctx, s.db, patientID)
	if err != nil {
		return nil, errs.Internal("records: export groups", err)
	}
	for _, g := range groups {
		out.Groups = append(out.Groups, g.proto())
	}
	shares, err := s.shares.listByPatient(ctx, s.db, patientID)
	if err != nil {
		return nil, errs.Internal("records: export shares", err)
	}
	now := s.now().UTC()
	for _, sh := range shares {
		out.Shares = append(out.Shares, sh.proto(now))
	}
	f := accessFilter{patientID: patientID, limit: exportLogPage}
	for {
		page, err := s.accessLog.list(ctx, s.db, f)
		if err != nil {
			return nil, errs.Internal("records: export access log", err)
		}
		out.AccessLog = append(out.AccessLog, page...)
		if len(page) < exportLogPage {
			return out, nil
		}
		last := page[len(page)-1]
		f.after = &pagetoken.Cursor{Micros: last.GetTime().AsTime().UnixMicro(), ID: strconv.FormatInt(last.GetId(), 10)}
	}
}

// readPatientDocument is ReadPatientDocument: one of the patient's documents, deleted
// or not, decrypted as download does, for identity (the patient's data export, or the
// platform as retention holder after an erasure). It is written to the patient's log.
func (s *Service) readPatientDocument(ctx context.Context, patientID, id string, send func(*recordsv1.ReadPatientDocumentResponse) error) (err error) {
	e := &entry{action: actDownload, documentID: id, owner: patientID}
	defer func() { err = s.audited(ctx, e, err) }()
	d, err := s.documents.getAnyOwn(ctx, s.db, patientID, id)
	if errors.Is(err, pgx.ErrNoRows) {
		return errDocumentNotFound
	}
	if err != nil {
		return errs.Internal("records: read document", err)
	}
	return s.stream(ctx, d, func() error { return send(&recordsv1.ReadPatientDocumentResponse{Document: d.proto()}) },
		func(p []byte) error { return send(&recordsv1.ReadPatientDocumentResponse{Chunk: p}) })
}

// holdPatientRecords is HoldPatientRecords: the patient's account was erased; the
// documents are kept until until, and no doctor reads them through a share anymore.
func (s *Service) holdPatientRecords(ctx context.Context, patientID string, until time.Time) (held int64, err error) {
	e := &entry{action: actHold, owner: patientID}
	defer func() { err = s.audited(ctx, e, err) }()
	err = s.atomically(ctx, "records: hold records", func(tx pgx.Tx) error {
		if err := s.shares.revokeAllByPatient(ctx, tx, patientID, s.now().UTC()); err != nil {
			return err
		}
		held, err = s.documents.holdByPatient(ctx, tx, patientID, until)
		return err
	})
	return held, err
}
