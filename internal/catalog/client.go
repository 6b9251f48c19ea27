package catalog

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"connectrpc.com/connect"

	"healthcore/gen/healthcore/keys/v1/keysv1connect"
	"healthcore/platform/authn"
	"healthcore/platform/envelope"
	"healthcore/platform/server"
)

// client returns the client by which the service caller calls the service callee,
// over mTLS when the process has a certificate (which names caller to callee), and
// sending caller's service tokens when it has service keys: how one service calls
// another (callee's methods admit it only if they list caller). newClient is the
// generated constructor, e.g. schedulingv1connect.NewSchedulingServiceClient.
func client[T any](p *Process, caller, callee string, newClient func(connect.HTTPClient, string, ...connect.ClientOption) T) T {
	opts := []connect.ClientOption{connect.WithGRPC()}
	// Tracing outermost: the client span covers minting the service token too.
	if tp := p.Tracer(caller); tp != nil {
		opts = append(opts, connect.WithInterceptors(server.Tracing(tp)))
	}
	switch {
	case p.keys != nil:
		opts = append(opts, connect.WithInterceptors(authn.ServiceCaller(p.keys, caller)))
	case p.cfg.TLS() == nil:
		panic("catalog: the process runs services but has neither a certificate nor service keys (Config.OpenTLS, Config.OpenServiceKeys)")
	}
	return newClient(p.httpFor(callee), p.url(callee), opts...)
}

// Envelope is envelope encryption through the keys service, called as the service
// caller: how caller seals and opens its secrets, in the service and in the commands
// that read its data outside it (create-admin, audit-verify).
func (p *Process) Envelope(caller string) *envelope.Envelope {
	return envelope.New(client(p, caller, "keys", keysv1connect.NewKeysServiceClient), envelope.Defaults)
}

// url is where the named service is reached: its -<service>.url, https when the
// process has a certificate (its listeners speak nothing else).
func (p *Process) url(name string) string {
	u, ok := p.cfg.URL[name]
	if !ok {
		panic(fmt.Sprintf("catalog: no service %q to call", name))
	}
	if rest, plain := strings.CutPrefix(*u, "http://"); plain && p.cfg.TLS() != nil {
		return "https://" + rest
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

// newHTTPClient is the client of service-to-service calls: HTTP/2 over mTLS with
// tlsConfig (one multiplexed connection per peer), or without TLS (h2c) when it is nil,
// where a mesh provides transport security.
//
// It has no overall Timeout: http.Client.Timeout runs until the whole response body is
// read, so it would cut a stream (records ↔ blobs) that lasts longer however healthy.
// Each call's deadline comes from its context instead (records gives an object's
// transfer an hour); the transport bounds only the waits that a healthy peer never
// makes long.
func newHTTPClient(tlsConfig *tls.Config) *http.Client {
	var protocols http.Protocols
	if tlsConfig != nil {
		protocols.SetHTTP2(true)
	} else {
		protocols.SetUnencryptedHTTP2(true)
	}
	return &http.Client{Transport: &http.Transport{
		Protocols:             &protocols,
		TLSClientConfig:       tlsConfig,
		DialContext:           (&net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   dialTimeout,
		ResponseHeaderTimeout: responseHeaderTimeout,
		IdleConnTimeout:       90 * time.Second,
		HTTP2:                 &http.HTTP2Config{SendPingTimeout: pingAfter, PingTimeout: pingTimeout},
	}}
}
