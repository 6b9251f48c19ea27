package authn

import (
	"context"
	"slices"
)

// A peer service is the Healthcore service at the other end of the connection, as its
// transport proved it: the URI SAN spiffe://healthcore/<service> of the client
// certificate an mTLS listener verified. The listener's HTTP layer records it with
// WithPeerService; the interceptor reads it with PeerService. A connection without a
// verified service certificate (plain h2c, a browser through the gateway) has none.

// SPIFFEPrefix starts the URI SAN that names a Healthcore service in its certificate.
const SPIFFEPrefix = "spiffe://healthcore/"

type peerServiceKey struct{}

// WithPeerService returns a context recording that the connection's verified client
// certificate names services: one, or one per service of a process that serves several
// (the callee then takes the caller to be whichever of them it lets call).
func WithPeerService(ctx context.Context, services ...string) context.Context {
	return context.WithValue(ctx, peerServiceKey{}, slices.Clone(services))
}

// PeerService returns the (first) service the connection's verified client certificate
// names, or "" when there is none.
func PeerService(ctx context.Context) string {
	if s := PeerServices(ctx); len(s) > 0 {
		return s[0]
	}
	return ""
}

// PeerServices returns every service the connection's verified client certificate
// names.
func PeerServices(ctx context.Context) []string {
	s, _ := ctx.Value(peerServiceKey{}).([]string)
	return s
}

// peerCaller is the service calling by its certificate, for a method that callers
// may call: the certificate's one service, or, when it names several, the first of
// them on the list (else the first it names, to be refused by that name).
func peerCaller(ctx context.Context, callers []string) string {
	names := PeerServices(ctx)
	for _, n := range names {
		if slices.Contains(callers, n) {
			return n
		}
	}
	return PeerService(ctx)
}
