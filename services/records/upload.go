package records

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	keysv1 "healthcore/gen/healthcore/keys/v1"
	recordsv1 "healthcore/gen/healthcore/records/v1"
	"healthcore/platform/authn"
	"healthcore/platform/errs"
)

// upload is UploadDocument. The document's bytes pass through once, in order: each
// arriving chunk is counted against the limit, hashed, cut into cipher chunks, sealed
// and sent on to blobs, so memory stays flat (one cipher chunk and one message) at any
// size. The first cipher chunk is held until its bytes have been checked against the
// declared type, so a refused document never reaches storage. The row is written only
// after blobs has stored the whole object, in the transaction of its access-log entry;
// when that fails the object is deleted. Any failure before leaves no object.
func (s *Service) upload(ctx context.Context, stream *connect.ClientStream[recordsv1.UploadDocumentRequest]) (_ *document, err error) {
	e := &entry{action: actUpload}
	defer func() { err = s.audited(ctx, e, err) }()
	p, err := patient(ctx)
	if err != nil {
		return nil, err
	}
	if !stream.Receive() {
		if err := stream.Err(); err != nil {
			return nil, streamError(ctx, err)
		}
		return nil, errMetadataMissing
	}
	md := stream.Msg().GetMetadata()
	if md == nil {
		return nil, errMetadataMissing
	}
	e.groupID = md.GetGroupId()
	d, err := s.newDocument(ctx, p, md)
	if err != nil {
		return nil, err
	}

	dk, err := s.keys.GenerateDataKey(ctx, connect.NewRequest(&keysv1.GenerateDataKeyRequest{EncryptionContext: d.keyContext()}))
	if err != nil {
		return nil, fmt.Errorf("records: generate data key: %w", err)
	}
	cc, err := newChunkCipher(dk.Msg.GetPlaintext(), d.id, d.noncePrefix)
	clear(dk.Msg.GetPlaintext()) // the cipher holds the key schedule; the raw key goes now
	if err != nil {
		return nil, errs.Internal("records: start chunk cipher", err)
	}
	d.dataKey = dk.Msg.GetCiphertextBlob()

	put := s.newBlobPut(ctx, d.blobKey, sealedSize(s.cfg.MaxUploadBytes))
	stored := false
	defer func() {
		if !stored {
			put.abort()
		}
	}()
	if err := s.encrypt(ctx, stream, d, cc, put); err != nil {
		return nil, err
	}
	if err := put.commit(); err != nil {
		return nil, err
	}
	stored = true
	if err := s.insertDocument(ctx, d, e); err != nil {
		s.removeObject(ctx, d.blobKey)
		return nil, err
	}
	return d, nil
}

// newDocument checks the metadata and starts the row of a new document.
func (s *Service) newDocument(ctx context.Context, p authn.Principal, md *recordsv1.UploadMetadata) (*document, error) {
	title := strings.TrimSpace(md.GetTitle())
	if title == "" {
		return nil, errBlankTitle
	}
	if err := checkNoBidi("metadata.title", "the title", title); err != nil {
		return nil, err
	}
	if md.GetExamDate() != "" {
		day, err := time.Parse(time.DateOnly, md.GetExamDate())
		if err != nil {
			return nil, errBadExamDate
		}
		// Brazil's clocks are behind UTC, so a patient's today is never after UTC's:
		// comparing with UTC refuses no real date and lets at most one day through.
		if day.After(s.now().UTC()) {
			return nil, errFutureExamDate
		}
	}
	declared := normalizeType(md.GetContentType())
	if !slices.Contains(s.cfg.ContentTypes, declared) {
		return nil, errTypeNotAllowed(s.cfg.ContentTypes)
	}
	if md.GetGroupId() != "" {
		if err := s.checkGroup(ctx, p.UserID, md.GetGroupId()); err != nil {
			return nil, err
		}
	}
	d := &document{
		id: uuid.New(), patientID: p.UserID, title: title, kind: kindName(md.GetKind()), examDate: md.GetExamDate(),
		declared: declared, blobKey: "records/" + uuid.NewString(), chunkSize: chunkSize,
		noncePrefix: make([]byte, prefixSize), groupID: md.GetGroupId(),
	}
	if _, err := rand.Read(d.noncePrefix); err != nil {
		return nil, errs.Internal("records: draw nonce prefix", err)
	}
	return d, nil
}

// encrypt reads the rest of the upload, checks it, and sends its sealed chunks to put.
// A cipher chunk is sealed only once the next byte arrives (then it is not the last)
// or the trailer checks out (then it is): the last chunk is sealed as such.
func (s *Service) encrypt(ctx context.Context, stream *connect.ClientStream[recordsv1.UploadDocumentRequest],
	d *document, cc *chunkCipher, put *blobPut) error {
	sum := sha256.New()
	buf := make([]byte, 0, chunkSize)
	sealed := make([]byte, 0, sealedChunkSize)
	var size int64
	var trailer *recordsv1.UploadTrailer
	first := true
	flush := func(final bool) error {
		if first {
			first = false
			d.contentType = detectContentType(buf[:min(len(buf), sniffLen)])
			if d.contentType == "application/dicom" {
				if program := executablePreamble(buf); program != "" {
					return errExecutablePreamble(program)
				}
			}
			if d.contentType != d.declared {
				return errTypeMismatch(d.declared)
			}
		}
		sealed = cc.seal(sealed[:0], buf, final)
		buf = buf[:0]
		return put.write(sealed)
	}
	for stream.Receive() {
		msg := stream.Msg()
		switch {
		case msg.GetMetadata() != nil:
			return errMetadataRepeated
		case trailer != nil:
			return errAfterTrailer
		case msg.GetTrailer() != nil:
			trailer = msg.GetTrailer()
			continue
		}
		chunk := msg.GetChunk()
		if size += int64(len(chunk)); size > s.cfg.MaxUploadBytes {
			return errTooLarge(s.cfg.MaxUploadBytes)
		}
		sum.Write(chunk)
		for len(chunk) > 0 {
			if len(buf) == chunkSize {
				if err := flush(false); err != nil {
					return err
				}
			}
			n := min(chunkSize-len(buf), len(chunk))
			buf, chunk = append(buf, chunk[:n]...), chunk[n:]
		}
	}
	if err := stream.Err(); err != nil {
		return streamError(ctx, err)
	}
	d.size, d.sha256 = size, sum.Sum(nil)
	switch {
	case trailer == nil:
		return errTrailerMissing
	case size == 0:
		return errEmpty
	case trailer.GetSize() != size || trailer.GetSha256() != hex.EncodeToString(d.sha256):
		return errTrailerMismatch
	}
	return flush(true)
}

// insertDocument writes the row and its access-log entry in one transaction.
func (s *Service) insertDocument(ctx context.Context, d *document, e *entry) error {
	now := s.now().UTC().Truncate(time.Microsecond)
	d.createdAt, d.updatedAt = now, now
	err := s.atomically(ctx, "records: insert document", func(tx pgx.Tx) error {
		if err := s.documents.insert(ctx, tx, d); err != nil {
			return err // GROUP_NOT_FOUND: checked before, so only a group deleted meanwhile
		}
		e.documentID = d.id.String()
		return s.write(ctx, tx, e, nil)
	})
	if err != nil {
		e.written, e.documentID = false, "" // the entry went with the rolled-back transaction
	}
	return err
}

// streamError reports a broken stream: as the context's error when the client went
// away (CANCELED, not a fault), else as it came (a message that failed validation).
func streamError(ctx context.Context, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return ctxErr
	}
	return err
}
