package blobio

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"

	"connectrpc.com/connect"

	blobsv1 "healthcore/gen/healthcore/blobs/v1"
)

// Reader reads the bytes of a blobs Get stream whose first message (the object's
// metadata) was received already.
type Reader struct {
	Stream interface {
		Receive() bool
		Msg() *blobsv1.GetResponse
		Err() error
	}
	rest []byte
}

func (o *Reader) Read(p []byte) (int, error) {
	for len(o.rest) == 0 {
		if !o.Stream.Receive() {
			if err := o.Stream.Err(); err != nil {
				return 0, err
			}
			return 0, io.EOF
		}
		o.rest = o.Stream.Msg().GetChunk()
	}
	n := copy(p, o.rest)
	o.rest = o.rest[n:]
	return n, nil
}

// Put stores one object through a blobs Put stream as it is written: the object
// appears only when Commit's trailer (size and SHA-256) matches what arrived; Abort
// (or a failure) leaves nothing stored.
type Put struct {
	key     string
	max     int64
	stream  *connect.ClientStreamForClient[blobsv1.PutRequest, blobsv1.PutResponse]
	sum     hash.Hash
	size    int64
	started bool
	closed  bool
	msg     blobsv1.PutRequest
	chunk   blobsv1.PutRequest_Chunk
}

// NewPut starts storing object key, of at most maxBytes (0: the service's limit).
func NewPut(ctx context.Context, c interface {
	Put(context.Context) *connect.ClientStreamForClient[blobsv1.PutRequest, blobsv1.PutResponse]
}, key string, maxBytes int64) *Put {
	p := &Put{key: key, max: maxBytes, stream: c.Put(ctx), sum: sha256.New()}
	p.msg.Part = &p.chunk
	return p
}

// Write sends the next bytes of the object (at most 1 MiB at a time). Send copies
// them before returning.
func (p *Put) Write(b []byte) (int, error) {
	if !p.started {
		p.started = true
		if err := p.stream.Send(&blobsv1.PutRequest{Part: &blobsv1.PutRequest_Header{
			Header: &blobsv1.PutHeader{Key: p.key, MaxBytes: p.max}}}); err != nil {
			return 0, p.failed(err)
		}
	}
	p.chunk.Chunk = b
	if err := p.stream.Send(&p.msg); err != nil {
		return 0, p.failed(err)
	}
	p.sum.Write(b)
	p.size += int64(len(b))
	return len(b), nil
}

// failed returns the real error of a broken stream: Send reports only io.EOF.
func (p *Put) failed(sendErr error) error {
	p.closed = true
	_, err := p.stream.CloseAndReceive()
	if err == nil {
		err = sendErr
	}
	return fmt.Errorf("store object: %w", err)
}

// Commit sends the trailer and returns once blobs has stored the object.
func (p *Put) Commit() error {
	p.closed = true
	if err := p.stream.Send(&blobsv1.PutRequest{Part: &blobsv1.PutRequest_Trailer{Trailer: &blobsv1.PutTrailer{
		Size: p.size, Sha256: hex.EncodeToString(p.sum.Sum(nil))}}}); err != nil {
		if _, err2 := p.stream.CloseAndReceive(); err2 != nil {
			err = err2
		}
		return fmt.Errorf("store object: %w", err)
	}
	if _, err := p.stream.CloseAndReceive(); err != nil {
		return fmt.Errorf("store object: %w", err)
	}
	return nil
}

// Abort ends an unfinished upload: closed without its trailer, blobs stores nothing
// and answers when it has cleaned up.
func (p *Put) Abort() {
	if p.started && !p.closed {
		p.closed = true
		_, _ = p.stream.CloseAndReceive() // TRAILER_REQUIRED, by design
	}
}
