package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"connectrpc.com/connect"

	"healthcore/platform/logging"
)

// RequestIDHeader carries the request id between the edge and every service.
const RequestIDHeader = "X-Request-Id"

// requestID takes the caller's request id (or makes one), finds the client address,
// and echoes the id in the response headers.
type requestID struct{ trusted []netip.Prefix }

func (r requestID) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		if req.Spec().IsClient {
			return next(ctx, req)
		}
		ctx, id := r.annotate(ctx, req.Header(), req.Peer().Addr)
		resp, err := next(ctx, req)
		if resp != nil {
			resp.Header().Set(RequestIDHeader, id)
		}
		// A failed call needs its id most: the caller quotes it when reporting the error.
		if ce, ok := errors.AsType[*connect.Error](err); ok {
			ce.Meta().Set(RequestIDHeader, id)
		}
		return resp, err
	}
}

func (r requestID) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (r requestID) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		ctx, id := r.annotate(ctx, conn.RequestHeader(), conn.Peer().Addr)
		conn.ResponseHeader().Set(RequestIDHeader, id)
		return next(ctx, conn)
	}
}

// annotate puts the request id and the client address in the context. It also writes
// the id it settled on back into the request headers, where recovery, which runs
// outside this interceptor, finds it when a panic unwinds past here.
func (r requestID) annotate(ctx context.Context, h http.Header, peer string) (context.Context, string) {
	id := h.Get(RequestIDHeader)
	if !ValidRequestID(id) {
		id = NewRequestID()
	}
	h.Set(RequestIDHeader, id)
	ctx = logging.WithRequestID(ctx, id)
	// Several X-Forwarded-For lines are one list, in order (RFC 9110, section 5.3);
	// reading only the first would believe the hop farthest from us.
	forwarded := strings.Join(h.Values("X-Forwarded-For"), ",")
	return context.WithValue(ctx, clientAddrKey{}, clientAddr(peer, forwarded, r.trusted)), id
}

// NewRequestID returns a random 128-bit id in hex.
func NewRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// ValidRequestID accepts ids of 8 to 128 characters from [A-Za-z0-9._-], so a caller
// cannot inject anything into logs through it.
func ValidRequestID(id string) bool {
	if len(id) < 8 || len(id) > 128 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

type clientAddrKey struct{}

// ClientAddr returns the address of the end client of the call: the peer, or, when the
// peer is a trusted proxy, the nearest untrusted address in X-Forwarded-For.
func ClientAddr(ctx context.Context) string {
	a, _ := ctx.Value(clientAddrKey{}).(string)
	return a
}

// WithClientAddr returns a context naming the client address (for callers outside an
// RPC, such as tests and jobs).
func WithClientAddr(ctx context.Context, addr string) context.Context {
	return context.WithValue(ctx, clientAddrKey{}, addr)
}

// AddrBlock is what one client controls of an address ClientAddr returned: an IPv4
// address, or the /64 an IPv6 client can pick any address from. Per-client limits key
// on it.
func AddrBlock(addr string) string {
	a, err := netip.ParseAddr(addr)
	if err != nil || a.Is4() || a.Is4In6() {
		return addr
	}
	p, _ := a.Prefix(64)
	return p.String()
}

// clientAddr finds the end client from the peer address and X-Forwarded-For: hops are
// believed only while they come from trusted proxies, reading from the right (the hop
// nearest to us). Addresses come back in canonical form (IPv4-mapped IPv6 as IPv4), so
// one client has one spelling in throttles and audit logs.
func clientAddr(peer, forwarded string, trusted []netip.Prefix) string {
	host := peer
	if h, _, err := net.SplitHostPort(peer); err == nil {
		host = h
	}
	peerAddr, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	isTrusted := func(a netip.Addr) bool {
		for _, p := range trusted {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	peerAddr = peerAddr.Unmap()
	if strings.TrimSpace(forwarded) == "" || !isTrusted(peerAddr) {
		return peerAddr.String()
	}
	hops := strings.Split(forwarded, ",")
	for i := len(hops) - 1; i >= 0; i-- {
		hop, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return peerAddr.String() // a malformed chain: believe only the peer
		}
		if hop = hop.Unmap(); !isTrusted(hop) || i == 0 {
			return hop.String()
		}
	}
	return peerAddr.String()
}
