package blobs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"runtime/debug"

	"connectrpc.com/connect"

	blobsv1 "healthcore/gen/healthcore/blobs/v1"
)

// errDriverStopped ends the stream feeder when the driver stops reading early (the
// object passed its limit, or the storage failed): the driver's error is the answer.
var errDriverStopped = errors.New("blobs: driver stopped reading")

// put stores the object a Put stream carries. The first message must be the header;
// the chunks that follow are fed, in order and one at a time, through a pipe to the
// driver, which runs beside the receive loop: no more than one message is held, so
// memory stays flat whatever the object's size. When the stream breaks — the client
// goes away, or sends a second header — the pipe fails, the driver discards what it
// had, and put waits for it to finish undoing before returning, so nothing is stored
// by the time the caller hears of the failure.
//
// A stream's clean end does not prove the object complete: a client that cancels and
// then half-closes can race its reset against the end of stream. So the driver sees
// the end of its input only after the trailer — the size and SHA-256 the client sent —
// matched what arrived; a stream that ends without it, or with a wrong one, fails the
// pipe and nothing is stored.
func (s *Service) put(ctx context.Context, stream *connect.ClientStream[blobsv1.PutRequest]) (ObjectInfo, error) {
	if !stream.Receive() {
		if err := stream.Err(); err != nil {
			return ObjectInfo{}, streamError(ctx, err)
		}
		return ObjectInfo{}, errHeaderMissing
	}
	h := stream.Msg().GetHeader()
	if h == nil {
		return ObjectInfo{}, errHeaderMissing
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pr, pw := io.Pipe()
	type result struct {
		info ObjectInfo
		err  error
	}
	done := make(chan result, 1)
	go func() {
		var res result
		defer func() {
			// The server's recovery covers the handler's goroutine, not this one.
			if p := recover(); p != nil {
				res = result{err: fmt.Errorf("blobs: driver panicked: %v\n%s", p, debug.Stack())}
			}
			pr.CloseWithError(errDriverStopped)
			done <- res
		}()
		res.info, res.err = s.driver.Put(ctx, h.GetKey(), pr, h.GetMaxBytes())
	}()

	streamErr := feed(ctx, stream, pw)
	if streamErr != nil {
		pw.CloseWithError(streamErr)
		cancel() // stop a storage call in flight too; the driver's clean-up outlives ctx
	} else {
		pw.Close()
	}
	res := <-done
	switch {
	case streamErr != nil && !errors.Is(streamErr, errDriverStopped):
		return ObjectInfo{}, streamErr
	case res.err != nil:
		if errors.Is(res.err, ErrTooLarge) {
			return ObjectInfo{}, tooLarge(h.GetMaxBytes(), res.err)
		}
		return ObjectInfo{}, res.err
	case streamErr != nil:
		return ObjectInfo{}, errors.New("blobs: the driver stopped reading before the end without an error")
	}
	return res.info, nil
}

// feed copies the chunks of the stream's remaining messages into w. It returns nil at
// the stream's end, errDriverStopped when the driver stopped reading, or the
// stream's failure.
func feed(ctx context.Context, stream *connect.ClientStream[blobsv1.PutRequest], w *io.PipeWriter) error {
	sum := sha256.New()
	var size int64
	var trailer *blobsv1.PutTrailer
	for stream.Receive() {
		msg := stream.Msg()
		switch {
		case msg.GetHeader() != nil:
			return errHeaderRepeated
		case trailer != nil:
			return errAfterTrailer
		case msg.GetTrailer() != nil:
			trailer = msg.GetTrailer()
			continue
		}
		chunk := msg.GetChunk()
		sum.Write(chunk)
		size += int64(len(chunk))
		if _, err := w.Write(chunk); err != nil {
			return errDriverStopped
		}
	}
	if err := stream.Err(); err != nil {
		return streamError(ctx, err)
	}
	switch {
	case trailer == nil:
		return errTrailerMissing
	case trailer.GetSize() != size || trailer.GetSha256() != hex.EncodeToString(sum.Sum(nil)):
		return errTrailerMismatch(size)
	}
	return nil
}

// streamError reports a broken stream: as the context's error when the client went
// away (answered CANCELED, not logged as a fault), else as it came (a validation
// failure of a message, or a protocol error).
func streamError(ctx context.Context, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return ctxErr
	}
	return err
}
