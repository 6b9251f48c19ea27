package catalog

import (
	"flag"
	"log/slog"
	"path/filepath"

	"connectrpc.com/connect"

	"healthcore/gen/healthcore/identity/v1/identityv1connect"
	"healthcore/partneredge"
	"healthcore/platform/authn"
	"healthcore/platform/config"
	"healthcore/platform/mtls"
)

// PartnerEdge is the partner edge's configuration (-partner-edge.*): its public
// listener and certificate, the limits it applies to each client, and the secret of
// its call log's chain.
type PartnerEdge struct {
	Addr            string
	TLSCert, TLSKey string
	Limits          partneredge.Limits
	CallLogSecret   string
}

func (e *PartnerEdge) registerFlags(fs *flag.FlagSet) {
	fs.StringVar(&e.Addr, "partner-edge.addr", ":8090", "partner edge listen address: gRPC, gRPC-Web and Connect for partner clinics (host from -listen-host when empty)")
	fs.StringVar(&e.TLSCert, "partner-edge.tls-cert", "",
		"the partner edge's public certificate (PEM): serve TLS (h2 and HTTP/1.1) on -partner-edge.addr; empty serves h2c and HTTP/1.1, for dev on loopback or behind a load balancer that terminates TLS")
	fs.StringVar(&e.TLSKey, "partner-edge.tls-key", "", "the partner edge certificate's private key (PEM)")
	l := partneredge.DefaultLimits
	e.Limits = l
	fs.Int64Var(&e.Limits.MaxBodyBytes, "partner-edge.max-body-bytes", l.MaxBodyBytes,
		"largest partner request body (all its messages); a larger one is refused RESOURCE_EXHAUSTED REQUEST_TOO_LARGE before any service")
	fs.DurationVar(&e.Limits.DefaultTimeout, "partner-edge.default-timeout", l.DefaultTimeout, "deadline of a partner call that sends none (grpc-timeout, Connect-Timeout-Ms)")
	fs.DurationVar(&e.Limits.MaxTimeout, "partner-edge.max-timeout", l.MaxTimeout, "largest deadline of a partner call: a longer one is lowered to it")
	fs.Float64Var(&e.Limits.Rate, "partner-edge.rate", l.Rate,
		"partner calls per second each client may make under each scope (a token bucket per client and scope, per edge replica)")
	fs.IntVar(&e.Limits.Burst, "partner-edge.burst", l.Burst, "calls a client may make at once under each scope (the bucket's size)")
	fs.StringVar(&e.CallLogSecret, "partner-edge.call-log-secret", "",
		"file holding the secret (base64) the partner call log's hash chain is keyed by; dev makes <data-dir>/partner-edge/call-log.secret when empty (healthcore dev-certs writes one)")
}

func (e *PartnerEdge) check(p *config.Problems) {
	if err := e.Limits.Check(); err != nil {
		p.Addf("-partner-edge.*: %v", err)
	}
	p.Check((e.TLSCert == "") == (e.TLSKey == ""), "-partner-edge.tls-cert and -partner-edge.tls-key: give both or neither")
}

// PartnerEdgeListenAddr is where the partner edge listens: -partner-edge.addr, on
// -listen-host when that names no host.
func (c *Config) PartnerEdgeListenAddr() string { return c.onListenHost(c.PartnerEdge.Addr) }

// PartnerEdgeTLS is the partner edge's public certificate, or nil when it serves h2c.
func (c *Config) PartnerEdgeTLS(log *slog.Logger) (*mtls.Public, error) {
	if c.PartnerEdge.TLSCert == "" {
		return nil, nil
	}
	return mtls.OpenPublic(c.PartnerEdge.TLSCert, c.PartnerEdge.TLSKey, log)
}

// PartnerCallLogSecret is the file of the call log's chain secret: the flag's, or in
// dev (when it is empty) one under the data folder.
func (c *Config) PartnerCallLogSecret(dev bool) string {
	if c.PartnerEdge.CallLogSecret == "" && dev {
		return filepath.Join(c.DataDir, "partner-edge", "call-log.secret")
	}
	return c.PartnerEdge.CallLogSecret
}

// PartnerUpstreams are the catalog's services as the partner edge reaches them, by
// full name: at their URLs, over the process's transport to each (mTLS with the
// process's certificate, which names the edge, or h2c where a mesh secures it).
func (p *Process) PartnerUpstreams() map[string]partneredge.Upstream {
	out := map[string]partneredge.Upstream{}
	for _, s := range services {
		out[s.FQName] = partneredge.Upstream{URL: p.url(s.Name), Transport: p.httpFor(s.Name).Transport}
	}
	return out
}

// PartnerVerifier verifies partner clients' tokens against identity's JWKS (a public
// method). It does not poll identity's ended sessions (an internal method no service
// lists the edge for): the services behind it refuse the token of a revoked secret.
func (p *Process) PartnerVerifier() *authn.Verifier {
	jwks := identityv1connect.NewIdentityServiceClient(p.httpFor("identity"), p.url("identity"), connect.WithGRPC())
	return authn.NewVerifier(authn.JWKSFromIdentity(jwks)).WithProfile(p.cfg.TokenProfile())
}
