package partneredge

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
	"time"

	"connectrpc.com/connect"
)

// protocol is how a request speaks: which header carries its deadline, and where its
// answer's status is.
type protocol int

const (
	protoConnect       protocol = iota // Connect unary: the HTTP status, a JSON error body
	protoConnectStream                 // Connect streaming: an end-of-stream message
	protoGRPC                          // gRPC: grpc-status in the trailers (or headers)
	protoGRPCWeb                       // gRPC-Web: grpc-status in a trailers frame of the body
)

func protocolOf(r *http.Request) protocol {
	ct := r.Header.Get("Content-Type")
	switch {
	case strings.HasPrefix(ct, "application/grpc-web"):
		return protoGRPCWeb
	case strings.HasPrefix(ct, "application/grpc"):
		return protoGRPC
	case strings.HasPrefix(ct, "application/connect+"):
		return protoConnectStream
	}
	return protoConnect
}

const (
	grpcTimeoutHeader    = "Grpc-Timeout"
	connectTimeoutHeader = "Connect-Timeout-Ms"
)

// boundDeadline returns the call's deadline as the edge allows it: the one the client
// sent, lowered to the largest allowed, or the default when it sent none (or one that
// does not parse); and writes it back into the request's header, so the service works
// to the same deadline.
func boundDeadline(r *http.Request, l Limits) time.Duration {
	grpcish := protocolOf(r) == protoGRPC || protocolOf(r) == protoGRPCWeb
	var d time.Duration
	var ok bool
	if grpcish {
		d, ok = parseGRPCTimeout(r.Header.Get(grpcTimeoutHeader))
	} else {
		var ms int64
		ms, err := strconv.ParseInt(r.Header.Get(connectTimeoutHeader), 10, 64)
		d, ok = time.Duration(ms)*time.Millisecond, err == nil && ms > 0 && ms < 1e10
	}
	switch {
	case !ok:
		d = l.DefaultTimeout
	case d > l.MaxTimeout:
		d = l.MaxTimeout
	}
	if grpcish {
		r.Header.Set(grpcTimeoutHeader, strconv.FormatInt(d.Milliseconds(), 10)+"m")
	} else {
		r.Header.Set(connectTimeoutHeader, strconv.FormatInt(d.Milliseconds(), 10))
	}
	return d
}

// parseGRPCTimeout reads a grpc-timeout value: at most 8 digits and a unit (H, M, S,
// m, u, n).
func parseGRPCTimeout(v string) (time.Duration, bool) {
	if len(v) < 2 || len(v) > 9 {
		return 0, false
	}
	n, err := strconv.ParseInt(v[:len(v)-1], 10, 64)
	if err != nil || n <= 0 {
		return 0, false
	}
	unit, ok := map[byte]time.Duration{'H': time.Hour, 'M': time.Minute, 'S': time.Second,
		'm': time.Millisecond, 'u': time.Microsecond, 'n': time.Nanosecond}[v[len(v)-1]]
	return time.Duration(n) * unit, ok
}

// recorder passes the answer on and notes its status for the call log: from the
// gRPC status header or trailer, a gRPC-Web trailers frame, a Connect end-of-stream
// message, or a Connect unary answer's HTTP status and JSON error.
type recorder struct {
	http.ResponseWriter
	proto  protocol
	status int
	// frames reads the length-prefixed messages of a gRPC-Web or Connect stream; body
	// keeps (the start of) a Connect unary error.
	frames frameReader
	body   []byte
	found  string // the status found in a frame
}

func newRecorder(w http.ResponseWriter, p protocol) *recorder {
	return &recorder{ResponseWriter: w, proto: p}
}

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
	r.ResponseWriter.WriteHeader(status)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	switch {
	case r.proto == protoGRPCWeb || r.proto == protoConnectStream:
		r.frames.feed(b, r.onFrame)
	case r.proto == protoConnect && r.status != http.StatusOK && len(r.body) < 4096:
		r.body = append(r.body, b[:min(len(b), 4096-len(r.body))]...)
	}
	return r.ResponseWriter.Write(b)
}

// Flush and Unwrap let the proxy flush a stream's messages through the recorder.
func (r *recorder) Flush() { _ = http.NewResponseController(r.ResponseWriter).Flush() }

// Unwrap returns the writer recorded.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (r *recorder) onFrame(flags byte, payload []byte) {
	switch {
	case r.proto == protoGRPCWeb && flags&0x80 != 0:
		tp := textproto.NewReader(bufio.NewReader(bytes.NewReader(payload)))
		if h, err := tp.ReadMIMEHeader(); err == nil || len(h) > 0 {
			r.found = grpcCode(h.Get("Grpc-Status"))
		}
	case r.proto == protoConnectStream && flags&0x02 != 0:
		var end struct {
			Error *struct {
				Code string `json:"code"`
			} `json:"error"`
		}
		if json.Unmarshal(payload, &end) == nil {
			r.found = "ok"
			if end.Error != nil {
				r.found = end.Error.Code
			}
		}
	}
}

// code is how the call ended: "ok" or a code's name (not_found, resource_exhausted…).
func (r *recorder) code() string {
	h := r.Header()
	for _, k := range []string{"Grpc-Status", http.TrailerPrefix + "Grpc-Status"} {
		if v := h.Get(k); v != "" {
			return grpcCode(v)
		}
	}
	if r.found != "" {
		return r.found
	}
	switch {
	case r.status == 0:
		return "unknown"
	case r.proto == protoConnect && r.status == http.StatusOK:
		return "ok"
	case r.proto == protoConnect:
		var e struct {
			Code string `json:"code"`
		}
		if json.Unmarshal(r.body, &e) == nil && e.Code != "" {
			return e.Code
		}
	}
	return "unknown"
}

// grpcCode names a grpc-status value as Connect does.
func grpcCode(v string) string {
	n, err := strconv.ParseUint(v, 10, 32)
	if err != nil {
		return "unknown"
	}
	if n == 0 {
		return "ok"
	}
	return connect.Code(n).String()
}

// frameReader splits a body into its length-prefixed messages (a flags byte, a
// 4-byte big-endian length, the payload), keeping at most 64 KiB of one payload.
type frameReader struct {
	head    []byte
	left    uint32
	flags   byte
	payload []byte
}

func (f *frameReader) feed(b []byte, onFrame func(flags byte, payload []byte)) {
	for len(b) > 0 {
		if len(f.head) < 5 {
			n := min(5-len(f.head), len(b))
			f.head, b = append(f.head, b[:n]...), b[n:]
			if len(f.head) < 5 {
				return
			}
			f.flags, f.left, f.payload = f.head[0], binary.BigEndian.Uint32(f.head[1:5]), f.payload[:0]
		}
		n := min(int(f.left), len(b))
		if len(f.payload)+n <= 64<<10 {
			f.payload = append(f.payload, b[:n]...)
		}
		f.left -= uint32(n)
		b = b[n:]
		if f.left == 0 {
			onFrame(f.flags, f.payload)
			f.head = f.head[:0]
		}
	}
}
