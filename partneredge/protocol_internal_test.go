package partneredge

import (
	"encoding/binary"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestBoundDeadline_LowersLongOnesAndSetsMissingOnes(t *testing.T) {
	l := Limits{DefaultTimeout: 10 * time.Second, MaxTimeout: 30 * time.Second}
	tests := []struct {
		name, contentType, header, value string
		want                             time.Duration
		wantHeader                       string
	}{
		{"gRPC an hour", "application/grpc", grpcTimeoutHeader, "1H", 30 * time.Second, "30000m"},
		{"gRPC 5 s", "application/grpc+proto", grpcTimeoutHeader, "5S", 5 * time.Second, "5000m"},
		{"gRPC none", "application/grpc", grpcTimeoutHeader, "", 10 * time.Second, "10000m"},
		{"gRPC garbage", "application/grpc", grpcTimeoutHeader, "12x", 10 * time.Second, "10000m"},
		{"gRPC-Web 2500 ms", "application/grpc-web+proto", grpcTimeoutHeader, "2500m", 2500 * time.Millisecond, "2500m"},
		{"Connect 100 s", "application/json", connectTimeoutHeader, "100000", 30 * time.Second, "30000"},
		{"Connect 1 s", "application/proto", connectTimeoutHeader, "1000", time.Second, "1000"},
		{"Connect none", "application/json", connectTimeoutHeader, "", 10 * time.Second, "10000"},
		{"Connect negative", "application/json", connectTimeoutHeader, "-5", 10 * time.Second, "10000"},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(http.MethodPost, "/x.v1.S/M", nil)
		r.Header.Set("Content-Type", tt.contentType)
		if tt.value != "" {
			r.Header.Set(tt.header, tt.value)
		}
		if got := boundDeadline(r, l); got != tt.want || r.Header.Get(tt.header) != tt.wantHeader {
			t.Errorf("%s: %s, header %q; want %s, %q", tt.name, got, r.Header.Get(tt.header), tt.want, tt.wantHeader)
		}
	}
}

// frame is a length-prefixed message: flags, big-endian length, payload.
func frame(flags byte, payload string) []byte {
	b := make([]byte, 5, 5+len(payload))
	b[0] = flags
	binary.BigEndian.PutUint32(b[1:], uint32(len(payload)))
	return append(b, payload...)
}

func TestRecorder_ReadsTheStatusOfEachProtocol(t *testing.T) {
	tests := []struct {
		name   string
		proto  protocol
		status int
		header map[string]string
		body   [][]byte // written in these pieces
		want   string
	}{
		{"gRPC trailer", protoGRPC, 200, map[string]string{http.TrailerPrefix + "Grpc-Status": "5"}, nil, "not_found"},
		{"gRPC trailers-only", protoGRPC, 200, map[string]string{"Grpc-Status": "0"}, nil, "ok"},
		{"gRPC-Web trailers frame split across writes", protoGRPCWeb, 200, nil,
			func() [][]byte {
				b := append(frame(0, "message"), frame(0x80, "grpc-status: 7\r\ngrpc-message: no\r\n")...)
				return [][]byte{b[:3], b[3:9], b[9:]}
			}(), "permission_denied"},
		{"Connect stream end", protoConnectStream, 200, nil,
			[][]byte{frame(0, "m"), frame(0x02, `{"error": {"code": "resource_exhausted"}}`)}, "resource_exhausted"},
		{"Connect stream end ok", protoConnectStream, 200, nil, [][]byte{frame(0x02, `{}`)}, "ok"},
		{"Connect unary ok", protoConnect, 200, nil, [][]byte{[]byte("{}")}, "ok"},
		{"Connect unary error", protoConnect, 404, nil, [][]byte{[]byte(`{"code": "not_found", "message": "x"}`)}, "not_found"},
	}
	for _, tt := range tests {
		w := httptest.NewRecorder()
		rec := newRecorder(w, tt.proto)
		for k, v := range tt.header {
			rec.Header().Set(k, v)
		}
		rec.WriteHeader(tt.status)
		for _, b := range tt.body {
			_, _ = rec.Write(b)
		}
		if got := rec.code(); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}
