package records

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"

	"connectrpc.com/connect"

	blobsv1 "healthcore/gen/healthcore/blobs/v1"
	keysv1 "healthcore/gen/healthcore/keys/v1"
	recordsv1 "healthcore/gen/healthcore/records/v1"
	"healthcore/platform/blobio"
	"healthcore/platform/errs"
	"healthcore/platform/server"
)

// download is DownloadDocument: the metadata, then the plaintext decrypted on the fly,
// one cipher chunk at a time. Each chunk is authenticated before any byte of it is
// sent, and the last one only after the whole document's size and SHA-256 matched its
// row, so a client that got a clean end of stream got exactly the uploaded bytes; any
// damage (a changed byte, a cut or lengthened object, a data key from another row)
// ends the stream with DATA_LOSS DOCUMENT_CORRUPT instead.
//
// A doctor's download is authorised once, when the request arrives: a download
// already streaming when its grant expires or is revoked is allowed to finish (the
// bytes were granted when it started), but no new request passes. Nothing issued here
// outlives the grant: there are no URLs or tokens, only the stream itself.
func (s *Service) download(ctx context.Context, id string, send func(*recordsv1.DownloadDocumentResponse) error) (err error) {
	e := &entry{action: actDownload, documentID: id}
	defer func() { err = s.audited(ctx, e, err) }()
	d, err := s.readable(ctx, e, id)
	if err != nil {
		return err
	}
	return s.stream(ctx, d, func() error { return send(&recordsv1.DownloadDocumentResponse{Document: d.proto()}) },
		func(p []byte) error { return send(&recordsv1.DownloadDocumentResponse{Chunk: p}) })
}

// stream opens document d's data key and object, calls meta once both are open, then
// emit with each plaintext chunk (see download).
func (s *Service) stream(ctx context.Context, d *document, meta func() error, emit func([]byte) error) error {
	dk, err := s.keys.Decrypt(ctx, connect.NewRequest(&keysv1.DecryptRequest{CiphertextBlob: d.dataKey, EncryptionContext: d.keyContext()}))
	if err != nil {
		// An altered key or another row's (DECRYPT_FAILED), or a stored key keys refuses
		// to read at all (emptied, overlong: VALIDATION_FAILED), is a corrupt document.
		if errs.Has(err, ReasonDecryptFailed) || errs.Has(err, server.ReasonValidationFailed) {
			return errDocumentCorrupt.WithCause(fmt.Errorf("decrypt data key of %s: %w", d.id, err))
		}
		return fmt.Errorf("records: decrypt data key: %w", err)
	}
	cc, err := newChunkCipher(dk.Msg.GetPlaintext(), d.id, d.noncePrefix)
	clear(dk.Msg.GetPlaintext())
	if err != nil {
		return errDocumentCorrupt.WithCause(err)
	}

	obj, err := s.blobs.Get(ctx, connect.NewRequest(&blobsv1.GetRequest{Key: d.blobKey}))
	if err != nil {
		return objectError(d, err)
	}
	defer obj.Close()
	if !obj.Receive() { // the object's metadata
		return objectError(d, obj.Err())
	}
	if err := meta(); err != nil {
		return err
	}
	return s.decrypt(d, cc, &blobio.Reader{Stream: obj}, emit)
}

// decrypt opens the sealed chunks r yields and hands each plaintext chunk to emit.
// A chunk is the last when the object ends right after it; it must have been sealed
// as the last, so an object cut at a chunk boundary fails too.
func (s *Service) decrypt(d *document, cc *chunkCipher, r io.Reader, emit func([]byte) error) error {
	if d.chunkSize != chunkSize {
		return errDocumentCorrupt.WithCause(fmt.Errorf("document %s: chunk size %d, want %d", d.id, d.chunkSize, chunkSize))
	}
	br := bufio.NewReaderSize(r, sealedChunkSize)
	sealed := make([]byte, sealedChunkSize)
	plain := make([]byte, 0, chunkSize)
	sum := sha256.New()
	var size int64
	for {
		n, err := io.ReadFull(br, sealed)
		final := false
		switch {
		case errors.Is(err, io.ErrUnexpectedEOF):
			final = true
		case errors.Is(err, io.EOF): // no last chunk: the object is empty or was cut
			return errDocumentCorrupt.WithCause(fmt.Errorf("document %s: object ended before its last chunk", d.id))
		case err != nil:
			return objectError(d, err)
		default:
			if _, perr := br.Peek(1); errors.Is(perr, io.EOF) {
				final = true
			} else if perr != nil {
				return objectError(d, perr)
			}
		}
		pt, err := cc.open(plain[:0], sealed[:n], final)
		if err != nil {
			return errDocumentCorrupt.WithCause(fmt.Errorf("document %s: %w", d.id, err))
		}
		sum.Write(pt)
		size += int64(len(pt))
		if final && (size != d.size || !bytes.Equal(sum.Sum(nil), d.sha256)) {
			return errDocumentCorrupt.WithCause(fmt.Errorf("document %s: %d bytes decrypted do not match the row's size or SHA-256", d.id, size))
		}
		if err := emit(pt); err != nil {
			return err
		}
		if final {
			return nil
		}
	}
}

// objectError maps a failure to read a document's object. An object that is missing,
// or that the storage itself finds damaged (reported as INTERNAL), is a corrupt
// document; an unavailable storage or a cancelled call stays what it is.
func objectError(d *document, err error) error {
	switch {
	case err == nil:
		return errDocumentCorrupt.WithCause(fmt.Errorf("document %s: object stream ended without its metadata", d.id))
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	}
	if errs.Has(err, ReasonObjectNotFound) {
		return errDocumentCorrupt.WithCause(fmt.Errorf("object of document %s is missing: %w", d.id, err))
	}
	switch connect.CodeOf(err) {
	case connect.CodeInternal, connect.CodeDataLoss, connect.CodeUnknown:
		return errDocumentCorrupt.WithCause(fmt.Errorf("read object of document %s: %w", d.id, err))
	}
	return fmt.Errorf("records: read object of document %s: %w", d.id, err)
}
