package records

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"connectrpc.com/connect"

	blobsv1 "healthcore/gen/healthcore/blobs/v1"
	"healthcore/platform/blobio"
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
	put    *blobio.Put
	cancel context.CancelFunc
}

func (s *Service) newBlobPut(ctx context.Context, key string, maxBytes int64) *blobPut {
	bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), blobTimeout)
	return &blobPut{put: blobio.NewPut(bctx, s.blobs, key, maxBytes), cancel: cancel}
}

// write sends the next bytes of the object.
func (b *blobPut) write(p []byte) error {
	if _, err := b.put.Write(p); err != nil {
		return fmt.Errorf("records: %w", err)
	}
	return nil
}

// commit sends the trailer and returns once blobs has stored the object.
func (b *blobPut) commit() error {
	if err := b.put.Commit(); err != nil {
		return fmt.Errorf("records: %w", err)
	}
	return nil
}

// abort ends an unfinished upload, storing nothing.
func (b *blobPut) abort() {
	b.put.Abort()
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
