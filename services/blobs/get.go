package blobs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"connectrpc.com/connect"

	blobsv1 "healthcore/gen/healthcore/blobs/v1"
)

var chunkBufs = sync.Pool{New: func() any { b := make([]byte, GetChunkSize); return &b }}

// get streams an object: a first message with its metadata, then its bytes in chunks
// of GetChunkSize through one pooled buffer (Send marshals before returning, so the
// buffer is free again at once). An object that ends before its size — a connection
// to the storage cut mid-way — fails the stream instead of ending it cleanly, so the
// client never takes a short object for a whole one.
func (s *Service) get(ctx context.Context, key string, stream *connect.ServerStream[blobsv1.GetResponse]) error {
	rc, info, err := s.driver.Get(ctx, key)
	if err != nil {
		return err
	}
	defer rc.Close()
	if err := stream.Send(&blobsv1.GetResponse{Object: infoProto(info)}); err != nil {
		return err
	}
	bufp := chunkBufs.Get().(*[]byte)
	defer chunkBufs.Put(bufp)
	var sent int64
	msg := &blobsv1.GetResponse{}
	for {
		n, err := io.ReadFull(rc, *bufp)
		if n > 0 {
			msg.Chunk = (*bufp)[:n]
			if err := stream.Send(msg); err != nil {
				return err
			}
			sent += int64(n)
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("blobs: read %s: %w", key, err)
		}
	}
	if sent != info.Size {
		return fmt.Errorf("%w: object %s ended after %d of its %d bytes", ErrUnavailable, key, sent, info.Size)
	}
	return nil
}
