package authn

import "context"

// A peer service is the Healthcore service at the other end of the connection, as its
// transport proved it: the URI SAN spiffe://healthcore/<service> of the client
// certificate an mTLS listener verified. The listener's HTTP layer records it with
// WithPeerService; the interceptor reads it with PeerService. A connection without a
// verified service certificate (plain h2c, a browser through the gateway) has none.

// SPIFFEPrefix starts the URI SAN that names a Healthcore service in its certificate.
const SPIFFEPrefix = "spiffe://healthcore/"

type peerServiceKey struct{}

// WithPeerService returns a context recording that the connection's verified client
// certificate names service.
func WithPeerService(ctx context.Context, service string) context.Context {
	return context.WithValue(ctx, peerServiceKey{}, service)
}

// PeerService returns the service the connection's verified client certificate names,
// or "" when there is none.
func PeerService(ctx context.Context) string {
	s, _ := ctx.Value(peerServiceKey{}).(string)
	return s
}
