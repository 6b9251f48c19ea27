package chunkseal

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

// Writer seals what is written to it, chunk by chunk, and hands each sealed chunk to
// emit. A full chunk is sealed only once a further byte arrives (then it is not the
// last) or Close is called (then it is): the last chunk is sealed as such. It holds
// one chunk of plaintext at a time.
type Writer struct {
	c      *Cipher
	emit   func([]byte) error
	buf    []byte
	sealed []byte
	n      int64
	err    error
}

// NewWriter returns a Writer sealing with c into emit, which must not keep the slice
// it is given.
func NewWriter(c *Cipher, emit func([]byte) error) *Writer {
	return &Writer{c: c, emit: emit, buf: make([]byte, 0, ChunkSize), sealed: make([]byte, 0, SealedChunkSize)}
}

// Write buffers p, sealing and emitting every chunk that is known not to be the last.
func (w *Writer) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	written := 0
	for len(p) > 0 {
		if len(w.buf) == ChunkSize {
			if w.err = w.flush(false); w.err != nil {
				return written, w.err
			}
		}
		n := copy(w.buf[len(w.buf):ChunkSize], p)
		w.buf = w.buf[:len(w.buf)+n]
		p, written = p[n:], written+n
	}
	return written, nil
}

// Close seals and emits the last chunk. An empty stream is refused: the format has
// no empty last chunk.
func (w *Writer) Close() error {
	if w.err != nil {
		return w.err
	}
	if w.n == 0 && len(w.buf) == 0 {
		return errors.New("chunkseal: nothing was written")
	}
	w.err = w.flush(true)
	if w.err == nil {
		w.err = errors.New("chunkseal: writer closed")
		return nil
	}
	return w.err
}

// Size is how many plaintext bytes were sealed and emitted so far.
func (w *Writer) Size() int64 { return w.n }

func (w *Writer) flush(final bool) error {
	w.sealed = w.c.Seal(w.sealed[:0], w.buf, final)
	w.n += int64(len(w.buf))
	w.buf = w.buf[:0]
	return w.emit(w.sealed)
}

// Reader opens the sealed chunks it reads from r. A chunk is the last when r ends
// right after it; it must have been sealed as the last, so an object cut at a chunk
// boundary fails with ErrOpen, as does any altered byte.
type Reader struct {
	c      *Cipher
	r      *bufio.Reader
	sealed []byte
	plain  []byte
	rest   []byte
	done   bool
}

// NewReader returns a Reader opening with c what r yields.
func NewReader(c *Cipher, r io.Reader) *Reader {
	return &Reader{c: c, r: bufio.NewReaderSize(r, SealedChunkSize), sealed: make([]byte, SealedChunkSize),
		plain: make([]byte, 0, ChunkSize)}
}

// Read returns the next plaintext bytes; io.EOF only after the last chunk opened.
func (rd *Reader) Read(p []byte) (int, error) {
	for len(rd.rest) == 0 {
		if rd.done {
			return 0, io.EOF
		}
		if err := rd.next(); err != nil {
			return 0, err
		}
	}
	n := copy(p, rd.rest)
	rd.rest = rd.rest[n:]
	return n, nil
}

func (rd *Reader) next() error {
	n, err := io.ReadFull(rd.r, rd.sealed)
	final := false
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF):
		final = true
	case errors.Is(err, io.EOF): // no last chunk: the object is empty or was cut
		return fmt.Errorf("%w: the object ended before its last chunk", ErrOpen)
	case err != nil:
		return err
	default:
		if _, perr := rd.r.Peek(1); errors.Is(perr, io.EOF) {
			final = true
		} else if perr != nil {
			return perr
		}
	}
	pt, err := rd.c.Open(rd.plain[:0], rd.sealed[:n], final)
	if err != nil {
		return err
	}
	rd.rest, rd.done = pt, final
	return nil
}
