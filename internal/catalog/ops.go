package catalog

import (
	"context"
	"flag"
	"net/http"

	"healthcore/platform/config"
	"healthcore/platform/server"
)

// Ops is what a process exposes of itself to operators: its ops listener (the metrics
// of its registry, Go's profiler when asked) and gRPC reflection on its service ports.
type Ops struct {
	OpsAddr    string
	Pprof      bool
	Reflection bool
}

func (o *Ops) registerFlags(fs *flag.FlagSet, dev bool) {
	fs.StringVar(&o.OpsAddr, "ops-addr", "127.0.0.1:9090",
		"the process's ops listener: /metrics, /readyz (its dependencies; and /debug/pprof/ with -pprof, /gateway/readyz where the gateway runs), plain HTTP; loopback, or a port only the metrics scraper reaches, never a public one; none when empty")
	fs.BoolVar(&o.Pprof, "pprof", false, "serve Go's profiler (/debug/pprof/) on the ops listener")
	fs.BoolVar(&o.Reflection, "reflection", dev,
		"serve gRPC server reflection on the service ports (grpcurl list/describe without the proto files); on in dev")
}

// StartOps opens the process's ops listener (-ops-addr), serving the process's
// registry at /metrics — its services' RPC metrics and its gateway's HTTP metrics —
// and, with -pprof, Go's profiler; besides them only what the process mounts with
// HandleOps (the gateway's upstreams). It serves until ctx ends or stop is
// called, which waits for it. An address in use fails here, at start.
func (p *Process) StartOps(ctx context.Context) (stop func(), err error) {
	if p.cfg.OpsAddr == "" {
		return func() {}, nil
	}
	ops := server.NewOps(server.OpsOptions{
		Addr: p.cfg.OpsAddr, Logger: p.log.With("listener", "ops"), Gatherer: p.reg, Pprof: p.cfg.Pprof,
	})
	ops.Handle("GET /readyz", p.readyzHandler())
	ln, err := ops.Listen()
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	p.ops = ops
	p.mu.Unlock()
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := ops.Serve(ctx, ln); err != nil {
			p.log.Error("ops listener stopped", "error", err.Error())
		}
	}()
	return func() { cancel(); <-done }, nil
}

// HandleOps mounts h at pattern on the process's ops listener (a no-op without one,
// -ops-addr empty, or before StartOps).
func (p *Process) HandleOps(pattern string, h http.Handler) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ops != nil {
		p.ops.Handle(pattern, h)
	}
}

func (o *Ops) check(p *config.Problems) {
	p.Check(!o.Pprof || o.OpsAddr != "", "-pprof: the profiler is served on the ops listener, and -ops-addr is empty")
}
