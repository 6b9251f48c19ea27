package server

import (
	"net"
	"net/http"
	"net/netip"
)

// plainForTrusted answers the calls of trusted peers (TrustedProxies: the gateway,
// on the platform's own network) uncompressed, whatever compression they accept:
// gRPC clients that link a gzip codec (grpc-go does, through the OTLP exporter)
// advertise it on every call, and gzip on both ends of a loopback or in-cluster hop
// cost about a third of a search's CPU in the service and a tenth in the gateway
// (bench/search) while saving nothing that matters. Other callers keep it.
func plainForTrusted(next http.Handler, trusted []netip.Prefix) http.Handler {
	if len(trusted) == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Grpc-Accept-Encoding") != "" || r.Header.Get("Connect-Accept-Encoding") != "" {
			if isTrustedPeer(r.RemoteAddr, trusted) {
				r.Header.Del("Grpc-Accept-Encoding")
				r.Header.Del("Connect-Accept-Encoding")
			}
		}
		next.ServeHTTP(w, r)
	})
}

func isTrustedPeer(peer string, trusted []netip.Prefix) bool {
	host, _, err := net.SplitHostPort(peer)
	if err != nil {
		host = peer
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	a = a.Unmap()
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
