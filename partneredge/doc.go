// Package partneredge is the public gRPC edge of partner clinics: one listener that
// speaks gRPC, gRPC-Web and Connect, verifies the partner client's token, applies the
// client's limits (body size, deadline, a token bucket per client and scope), forwards
// only the RPCs whose access rule admits partners to the service that owns them, and
// writes every call to its chained call log.
package partneredge
