package identity

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"time"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"google.golang.org/protobuf/types/known/timestamppb"

	blobsv1 "healthcore/gen/healthcore/blobs/v1"
	identityv1 "healthcore/gen/healthcore/identity/v1"
	keysv1 "healthcore/gen/healthcore/keys/v1"
	"healthcore/platform/authn"
	"healthcore/platform/blobio"
	"healthcore/platform/chunkseal"
	"healthcore/platform/errs"
)

// A patient's data export (LGPD art. 18, II and V). CreateDataExport records a
// pending export and commits the identity.export_subject_data job with it; the job
// gathers the patient's data from every service, writes the archive (see archive.go)
// sealed into blobs under a data key of its own, and marks the export ready, with the
// identity.expire_data_export job scheduled at the end of its download window. Reads
// check the window themselves, so an export past it is refused even before that job
// has run.

// Audited actions of data rights.
const (
	actExportCreate   = "data_export.create"
	actExportReady    = "data_export.ready"
	actExportDownload = "data_export.download"
	actExportExpire   = "data_export.expire"
	actErase          = "account.erase"
)

// exportAAD labels the chunk format of export archives (platform/chunkseal).
var exportAAD = []byte("healthcore/identity/data-export/v1")

var (
	errExportNotFound = ReasonExportNotFound.New("no such data export")
	errExportNotReady = ReasonExportNotReady.New("the data export is not ready: ask again later")
	errExportExpired  = ReasonExportExpired.New("the data export's download window has passed: ask for a new one")
	errExportFailed   = ReasonExportNotReady.New("the data export failed: ask for a new one")
)

// exportSubjectDataArgs is the job that produces export ExportID.
type exportSubjectDataArgs struct {
	ExportID string `json:"export_id"`
}

func (exportSubjectDataArgs) Kind() string { return "identity.export_subject_data" }

// expireDataExportArgs is the job that deletes export ExportID's archive once its
// download window has passed.
type expireDataExportArgs struct {
	ExportID string `json:"export_id"`
}

func (expireDataExportArgs) Kind() string { return "identity.expire_data_export" }

// keyContext is the encryption context of an export's data key: ids only.
func (e dataExport) keyContext() map[string]string {
	return map[string]string{"service": "identity", "export": e.ID, "account": e.AccountID}
}

// state is the export's state at now: a ready export past its window is expired.
func (e dataExport) state(now time.Time) string {
	if e.State == exportReady && e.ExpiresAt != nil && !now.Before(*e.ExpiresAt) {
		return exportExpired
	}
	return e.State
}

var exportStateProto = map[string]identityv1.DataExportState{
	exportPending: identityv1.DataExportState_DATA_EXPORT_STATE_PENDING,
	exportReady:   identityv1.DataExportState_DATA_EXPORT_STATE_READY,
	exportExpired: identityv1.DataExportState_DATA_EXPORT_STATE_EXPIRED,
	exportFailed:  identityv1.DataExportState_DATA_EXPORT_STATE_FAILED,
}

func (e dataExport) proto(now time.Time) *identityv1.DataExport {
	out := &identityv1.DataExport{Id: e.ID, State: exportStateProto[e.state(now)], CreateTime: timestamppb.New(e.CreatedAt)}
	if e.ReadyAt != nil {
		out.ReadyTime, out.ExpireTime, out.SizeBytes = timestamppb.New(*e.ReadyAt), timestamppb.New(*e.ExpiresAt), e.Size
	}
	return out
}

// createDataExport is CreateDataExport: a pending export of the caller, with the job
// that produces it, or the one already pending.
func (s *Service) createDataExport(ctx context.Context) (*identityv1.DataExport, error) {
	p, _ := authn.FromContext(ctx)
	if _, err := s.account(ctx, p.UserID); err != nil {
		return nil, err
	}
	var out dataExport
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		e, created, err := s.exports.insert(ctx, tx, uuid.NewString(), p.UserID, s.now())
		if err != nil || !created {
			out = e
			return err
		}
		out = e
		if _, err := s.jobs.InsertTx(ctx, tx, exportSubjectDataArgs{ExportID: e.ID}, nil); err != nil {
			return fmt.Errorf("queue data export: %w", err)
		}
		return s.audit(ctx, tx, actExportCreate, "", p.UserID, outcomeOK)
	})
	if err != nil {
		return nil, errs.Internal("identity: create data export", err)
	}
	return out.proto(s.now()), nil
}

// ownExport returns the caller's export id; another account's is EXPORT_NOT_FOUND,
// like a missing one.
func (s *Service) ownExport(ctx context.Context, id string) (dataExport, error) {
	p, _ := authn.FromContext(ctx)
	e, err := s.exports.get(ctx, s.db, id)
	if errors.Is(err, pgx.ErrNoRows) || err == nil && e.AccountID != p.UserID {
		return dataExport{}, errExportNotFound
	}
	if err != nil {
		return dataExport{}, errs.Internal("identity: read data export", err)
	}
	return e, nil
}

// getDataExport is GetDataExport.
func (s *Service) getDataExport(ctx context.Context, id string) (*identityv1.DataExport, error) {
	e, err := s.ownExport(ctx, id)
	if err != nil {
		return nil, err
	}
	return e.proto(s.now()), nil
}

// downloadDataExport is DownloadDataExport: the export first, then the archive's
// plaintext, opened chunk by chunk as it is read from blobs. Every download, and every
// refused one, is audited.
func (s *Service) downloadDataExport(ctx context.Context, id string, send func(*identityv1.DownloadDataExportResponse) error) (err error) {
	p, _ := authn.FromContext(ctx)
	defer func() {
		outcome := outcomeOK
		if err != nil {
			outcome = outcomeDenied
		}
		_ = s.audit(context.WithoutCancel(ctx), s.db, actExportDownload, "", p.UserID, outcome)
	}()
	e, err := s.ownExport(ctx, id)
	if err != nil {
		return err
	}
	switch e.state(s.now()) {
	case exportPending:
		return errExportNotReady
	case exportFailed:
		return errExportFailed
	case exportExpired:
		return errExportExpired
	}
	dk, err := s.peers.keys.Decrypt(ctx, connect.NewRequest(&keysv1.DecryptRequest{CiphertextBlob: e.DataKey, EncryptionContext: e.keyContext()}))
	if err != nil {
		return errs.Internal("identity: decrypt data export key", err)
	}
	c, err := chunkseal.New(exportAAD, dk.Msg.GetPlaintext(), uuid.MustParse(e.ID), e.NoncePrefix)
	clear(dk.Msg.GetPlaintext())
	if err != nil {
		return errs.Internal("identity: open data export", err)
	}
	obj, err := s.peers.blobs.Get(ctx, connect.NewRequest(&blobsv1.GetRequest{Key: e.BlobKey}))
	if err != nil {
		return errs.Internal("identity: read data export archive", err)
	}
	defer obj.Close()
	if !obj.Receive() { // the object's metadata
		return errs.Internal("identity: read data export archive", obj.Err())
	}
	if err := send(&identityv1.DownloadDataExportResponse{Export: e.proto(s.now())}); err != nil {
		return err
	}
	r := chunkseal.NewReader(c, &blobio.Reader{Stream: obj})
	buf := make([]byte, chunkseal.ChunkSize)
	var sent int64
	for {
		n, rerr := r.Read(buf)
		if n > 0 {
			sent += int64(n)
			if err := send(&identityv1.DownloadDataExportResponse{Chunk: buf[:n]}); err != nil {
				return err
			}
		}
		if errors.Is(rerr, io.EOF) {
			break
		}
		if rerr != nil {
			return errs.Internal("identity: open data export archive", rerr)
		}
	}
	if sent != e.Size {
		return errs.Internal("identity: open data export archive", fmt.Errorf("%d bytes, want %d", sent, e.Size))
	}
	return nil
}

// workExport runs export_subject_data. On its last attempt a failure marks the export
// failed, so the patient is told to ask again rather than wait for ever.
func (s *Service) workExport(ctx context.Context, j *river.Job[exportSubjectDataArgs]) error {
	err := s.produceExport(ctx, j.Args.ExportID)
	if err != nil && j.Attempt >= j.MaxAttempts {
		if ferr := s.exports.end(ctx, s.db, j.Args.ExportID, exportFailed, exportPending); ferr != nil {
			return errors.Join(err, ferr)
		}
	}
	return err
}

// produceExport gathers export id's data and stores its sealed archive. It is
// idempotent: an export no longer pending is left alone, and a rerun after a failure
// writes a fresh object (under a fresh key) in place of the unfinished one.
func (s *Service) produceExport(ctx context.Context, id string) error {
	e, err := s.exports.get(ctx, s.db, id)
	if err != nil {
		return fmt.Errorf("identity: data export: %w", err)
	}
	if e.State != exportPending {
		return nil
	}
	a, ok, err := s.accounts.get(ctx, s.db, e.AccountID)
	if err != nil {
		return fmt.Errorf("identity: data export: %w", err)
	}
	if !ok || a.ErasedAt != nil {
		return s.exports.end(ctx, s.db, id, exportFailed, exportPending)
	}
	e.BlobKey = "identity/exports/" + e.ID
	e.NoncePrefix = make([]byte, chunkseal.PrefixSize)
	if _, err := rand.Read(e.NoncePrefix); err != nil {
		return err
	}
	dk, err := s.peers.keys.GenerateDataKey(ctx, connect.NewRequest(&keysv1.GenerateDataKeyRequest{EncryptionContext: e.keyContext()}))
	if err != nil {
		return fmt.Errorf("identity: data export: generate data key: %w", err)
	}
	c, err := chunkseal.New(exportAAD, dk.Msg.GetPlaintext(), uuid.MustParse(e.ID), e.NoncePrefix)
	clear(dk.Msg.GetPlaintext())
	if err != nil {
		return err
	}
	e.DataKey = dk.Msg.GetCiphertextBlob()
	size, err := s.writeArchive(ctx, a, e.BlobKey, c)
	if err != nil {
		return err
	}
	now := s.now()
	e.Size, e.ReadyAt, e.ExpiresAt = size, &now, new(now.Add(s.cfg.ExportTTL))
	ready := false
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		ready, err = s.exports.markReady(ctx, tx, e)
		if err != nil || !ready {
			return err
		}
		if _, err := s.jobs.InsertTx(ctx, tx, expireDataExportArgs{ExportID: e.ID},
			&river.InsertOpts{ScheduledAt: *e.ExpiresAt}); err != nil {
			return fmt.Errorf("queue data export expiry: %w", err)
		}
		return s.audit(ctx, tx, actExportReady, a.ID, a.ID, outcomeOK)
	})
	if err == nil && !ready {
		// The export ended meanwhile (its account was erased): its archive goes too.
		if _, derr := s.peers.blobs.Delete(ctx, connect.NewRequest(&blobsv1.DeleteRequest{Key: e.BlobKey})); derr != nil {
			return fmt.Errorf("identity: delete the archive of an ended data export: %w", derr)
		}
	}
	return err
}

// expireExport deletes export id's archive and marks it expired (a pending one, when
// its account was erased, fails). Deleting an object already gone is no error.
func (s *Service) expireExport(ctx context.Context, id string) error {
	e, err := s.exports.get(ctx, s.db, id)
	if err != nil {
		return fmt.Errorf("identity: expire data export: %w", err)
	}
	if e.BlobKey != "" {
		if _, err := s.peers.blobs.Delete(ctx, connect.NewRequest(&blobsv1.DeleteRequest{Key: e.BlobKey})); err != nil &&
			connect.CodeOf(err) != connect.CodeNotFound {
			return fmt.Errorf("identity: delete data export archive: %w", err)
		}
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if err := s.exports.end(ctx, tx, id, exportExpired, exportReady); err != nil {
			return err
		}
		if err := s.exports.end(ctx, tx, id, exportFailed, exportPending); err != nil {
			return err
		}
		return s.audit(ctx, tx, actExportExpire, e.AccountID, e.AccountID, outcomeOK)
	})
}
