package records

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"log/slog"
	"time"

	"connectrpc.com/connect"

	blobsv1 "healthcore/gen/healthcore/blobs/v1"
)

// blobTimeout bounds one object's upload to or removal from the blobs service.
const blobTimeout = time.Hour

// blobPut streams one object into the blobs service as its chunks are sealed, so the
// records service holds one chunk at a time whatever the document's size.
//
// Its context is the request's without the cancellation: when the patient's client
// goes away, the upload is not reset but closed without a trailer, and blobs answers
// only once it has thrown away what it had. So by the time the upload's failure is
// logged and answered, no object and no temporary file is left.
type blobPut struct {
	key     string
	max     int64
	stream  *connect.ClientStreamForClient[blobsv1.PutRequest, blobsv1.PutResponse]
	cancel  context.CancelFunc
	sum     hash.Hash
	size    int64
	started bool
	closed  bool
	msg     blobsv1.PutRequest
	chunk   blobsv1.PutRequest_Chunk
}

func (s *Service) newBlobPut(ctx context.Context, key string, maxBytes int64) *blobPut {
	bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), blobTimeout)
	b := &blobPut{key: key, max: maxBytes, stream: s.blobs.Put(bctx), cancel: cancel, sum: sha256.New()}
	b.msg.Part = &b.chunk
	return b
}

// write sends the next bytes of the object. Send copies them before returning.
func (b *blobPut) write(p []byte) error {
	if !b.started {
		b.started = true
		if err := b.stream.Send(&blobsv1.PutRequest{Part: &blobsv1.PutRequest_Header{
			Header: &blobsv1.PutHeader{Key: b.key, MaxBytes: b.max}}}); err != nil {
			return b.failed(err)
		}
	}
	b.chunk.Chunk = p
	if err := b.stream.Send(&b.msg); err != nil {
		return b.failed(err)
	}
	b.sum.Write(p)
	b.size += int64(len(p))
	return nil
}

// failed returns the real error of a broken stream: Send reports only io.EOF.
func (b *blobPut) failed(sendErr error) error {
	b.closed = true
	_, err := b.stream.CloseAndReceive()
	if err == nil {
		err = sendErr
	}
	return fmt.Errorf("records: store object: %w", err)
}

// commit sends the trailer and returns once blobs has stored the object.
func (b *blobPut) commit() error {
	b.closed = true
	if err := b.stream.Send(&blobsv1.PutRequest{Part: &blobsv1.PutRequest_Trailer{Trailer: &blobsv1.PutTrailer{
		Size: b.size, Sha256: hex.EncodeToString(b.sum.Sum(nil))}}}); err != nil {
		_, err2 := b.stream.CloseAndReceive()
		if err2 != nil {
			err = err2
		}
		return fmt.Errorf("records: store object: %w", err)
	}
	if _, err := b.stream.CloseAndReceive(); err != nil {
		return fmt.Errorf("records: store object: %w", err)
	}
	return nil
}

// abort ends an unfinished upload: closed without its trailer, blobs stores nothing
// and answers when it has cleaned up.
func (b *blobPut) abort() {
	if b.started && !b.closed {
		b.closed = true
		_, _ = b.stream.CloseAndReceive() // TRAILER_REQUIRED, by design
	}
	b.cancel()
}

// removeObject deletes an object stored for a document whose row could not be
// written, so no orphan ciphertext is left.
func (s *Service) removeObject(ctx context.Context, key string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	if _, err := s.blobs.Delete(ctx, connect.NewRequest(&blobsv1.DeleteRequest{Key: key})); err != nil {
		s.log.ErrorContext(ctx, "orphan object left in storage", slog.String("key", key), slog.String("error", err.Error()))
	}
}
