package catalog

import (
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"

	"healthcore/platform/config"
	"healthcore/platform/mtls"
)

// Transport is how a process's connections are secured: its service certificate
// (mTLS between services, the production default), or -insecure-transport where a
// mesh secures them; and the public certificate of the REST edge, if it terminates
// TLS itself.
type Transport struct {
	TLSCert, TLSKey, TLSCA string
	InsecureTransport      bool
	GatewayTLSCert         string
	GatewayTLSKey          string
	GatewayHSTS            bool

	source *mtls.Source // set by OpenTLS
}

func (t *Transport) registerFlags(fs *flag.FlagSet) {
	fs.StringVar(&t.TLSCert, "tls-cert", "", "this process's certificate (PEM), naming its services as spiffe://healthcore/<service>; reloaded when the file changes")
	fs.StringVar(&t.TLSKey, "tls-key", "", "the certificate's private key (PEM)")
	fs.StringVar(&t.TLSCA, "tls-ca", "", "the CA certificate(s) (PEM) every service's certificate chains to")
	fs.BoolVar(&t.InsecureTransport, "insecure-transport", false,
		"serve and call over plain h2c, without TLS: only where a mesh encrypts and authenticates every connection (then -service-keys identifies the services)")
	fs.StringVar(&t.GatewayTLSCert, "gateway.tls-cert", "", "the REST edge's public certificate (PEM): serve HTTPS (and HSTS) on -gateway.addr; empty when a load balancer terminates TLS")
	fs.StringVar(&t.GatewayTLSKey, "gateway.tls-key", "", "the public certificate's private key (PEM)")
	fs.BoolVar(&t.GatewayHSTS, "gateway.hsts", false, "send Strict-Transport-Security: set it when a load balancer terminates TLS for the edge (on with -gateway.tls-cert)")
}

func (t *Transport) check(p *config.Problems) {
	set := 0
	for _, f := range []string{t.TLSCert, t.TLSKey, t.TLSCA} {
		if f != "" {
			set++
		}
	}
	p.Check(set == 0 || set == 3, "-tls-cert, -tls-key and -tls-ca: give all three or none")
	p.Check(set == 0 || !t.InsecureTransport, "-insecure-transport: not with -tls-cert, -tls-key and -tls-ca")
	p.Check((t.GatewayTLSCert == "") == (t.GatewayTLSKey == ""), "-gateway.tls-cert and -gateway.tls-key: give both or neither")
}

// OpenTLS loads the process's service certificate when -tls-* are given. required
// (serve and gateway: production) refuses to go on without them unless
// -insecure-transport says a mesh secures the connections.
func (c *Config) OpenTLS(required bool) error {
	if c.TLSCert == "" {
		if required && !c.InsecureTransport {
			return fmt.Errorf("-tls-cert, -tls-key and -tls-ca (%s, %s, %s) are required: this process's certificate, "+
				"its key and the services' CA (healthcore dev-certs makes a local set); -insecure-transport only where a mesh "+
				"encrypts and authenticates every connection", config.EnvName("tls-cert"), config.EnvName("tls-key"), config.EnvName("tls-ca"))
		}
		return nil
	}
	src, err := mtls.Open(mtls.Files{Cert: c.TLSCert, Key: c.TLSKey, CA: c.TLSCA}, c.Logger())
	if err != nil {
		return fmt.Errorf("-tls-cert: %w", err)
	}
	c.source = src
	return nil
}

// TLS is the process's service certificate, or nil when it serves and calls over h2c.
func (c *Config) TLS() *mtls.Source { return c.source }

// GatewayTLS is the edge's public certificate, or nil when TLS ends before the edge.
func (c *Config) GatewayTLS(log *slog.Logger) (*mtls.Public, error) {
	if c.GatewayTLSCert == "" {
		return nil, nil
	}
	pub, err := mtls.OpenPublic(c.GatewayTLSCert, c.GatewayTLSKey, log)
	if err != nil {
		return nil, fmt.Errorf("-gateway.tls-cert: %w", err)
	}
	return pub, nil
}

// ListenAddr is where the named service listens: its -<service>.addr, on -listen-host
// when that address names no host (":7001", the default).
func (c *Config) ListenAddr(name string) string { return c.onListenHost(*c.Addr[name]) }

// GatewayListenAddr is where the REST edge listens: -gateway.addr, on -listen-host when
// that names no host.
func (c *Config) GatewayListenAddr() string { return c.onListenHost(c.GatewayAddr) }

func (c *Config) onListenHost(addr string) string {
	if host, port, err := net.SplitHostPort(addr); err == nil && host == "" {
		return net.JoinHostPort(c.ListenHost, port)
	}
	return addr
}

// httpFor returns the HTTP client of calls to the service callee: over mTLS, one per
// callee, since each checks that the server's certificate names its callee; over h2c,
// the process's one.
func (p *Process) httpFor(callee string) *http.Client {
	src := p.cfg.TLS()
	if src == nil {
		return p.http
	}
	p.clientsMu.Lock()
	defer p.clientsMu.Unlock()
	c, ok := p.clients[callee]
	if !ok {
		c = newHTTPClient(src.ClientTLS(callee))
		p.clients[callee] = c
	}
	return c
}
