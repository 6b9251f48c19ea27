package catalog

import (
	"fmt"
	"net"
	"net/http"
	"time"

	"connectrpc.com/connect"

	"healthcore/platform/authn"
)

// client returns the client by which the service caller calls the service callee,
// sending caller's service tokens: how one service calls another (callee's methods
// admit it only if they list caller). newClient is the generated constructor, e.g.
// schedulingv1connect.NewSchedulingServiceClient.
func client[T any](p *Process, caller, callee string, newClient func(connect.HTTPClient, string, ...connect.ClientOption) T) T {
	if p.keys == nil {
		panic("catalog: the process runs services but its service keys were not opened (Config.OpenServiceKeys)")
	}
	return newClient(p.http, p.url(callee), connect.WithGRPC(), connect.WithInterceptors(authn.ServiceCaller(p.keys, caller)))
}

// url is where the named service is reached.
func (p *Process) url(name string) string {
	u, ok := p.cfg.URL[name]
	if !ok {
		panic(fmt.Sprintf("catalog: no service %q to call", name))
	}
	return *u
}

// Bounds of the steps of a call that wait on the peer alone, so a dead peer is noticed
// whatever the call's own deadline.
const (
	dialTimeout = 10 * time.Second
	// responseHeaderTimeout runs from the end of the request (its last streamed message
	// included) to the response's headers: the unary work of the peer.
	responseHeaderTimeout = 30 * time.Second
	// pingAfter is how long a connection may stay silent before an HTTP/2 ping checks
	// it, and pingTimeout how long the ping's answer may take before it is closed: this
	// is what ends a stream whose peer died mid-way.
	pingAfter   = 30 * time.Second
	pingTimeout = 15 * time.Second
)

// newHTTPClient is the client of service-to-service calls: HTTP/2 without TLS (h2c),
// one multiplexed connection per peer; in a cluster, the mesh or network policy
// provides transport security.
//
// It has no overall Timeout: http.Client.Timeout runs until the whole response body is
// read, so it would cut a stream (records ↔ blobs) that lasts longer however healthy.
// Each call's deadline comes from its context instead (records gives an object's
// transfer an hour); the transport bounds only the waits that a healthy peer never
// makes long.
func newHTTPClient() *http.Client {
	var protocols http.Protocols
	protocols.SetUnencryptedHTTP2(true)
	return &http.Client{Transport: &http.Transport{
		Protocols:             &protocols,
		DialContext:           (&net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   dialTimeout,
		ResponseHeaderTimeout: responseHeaderTimeout,
		IdleConnTimeout:       90 * time.Second,
		HTTP2:                 &http.HTTP2Config{SendPingTimeout: pingAfter, PingTimeout: pingTimeout},
	}}
}
