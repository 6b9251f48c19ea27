package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// OpsOptions configures a process's ops listener.
type OpsOptions struct {
	// Addr is the listen address: loopback (reached through a port-forward) or a port
	// only the cluster's scraper reaches, never a public or service port.
	Addr   string
	Logger *slog.Logger
	// Gatherer is the process's metrics registry, served at /metrics.
	Gatherer prometheus.Gatherer
	// Pprof serves Go's profiler at /debug/pprof/.
	Pprof bool
}

// Ops is the one operations listener of a process, over plain HTTP: /metrics, when
// asked /debug/pprof/, and what the process mounts with Handle; every other path is 404. The services' and the gateway's own
// ports serve neither.
type Ops struct {
	opts OpsOptions
	mux  *http.ServeMux
}

// NewOps returns the ops listener of opts.
func NewOps(opts OpsOptions) *Ops {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(opts.Gatherer, promhttp.HandlerOpts{}))
	if opts.Pprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	return &Ops{opts: opts, mux: mux}
}

// Handler returns the ops listener's HTTP handler.
func (o *Ops) Handler() http.Handler { return o.mux }

// Handle mounts h at pattern (an http.ServeMux pattern) on the ops listener, for
// what a process shows operators only, such as the gateway's upstreams; it may be
// called while the listener serves.
func (o *Ops) Handle(pattern string, h http.Handler) { o.mux.Handle(pattern, h) }

// Listen opens the configured address.
func (o *Ops) Listen() (net.Listener, error) {
	ln, err := net.Listen("tcp", o.opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("ops listener on %s: %w", o.opts.Addr, err)
	}
	return ln, nil
}

// Serve answers on ln until ctx ends, then lets in-flight requests (a CPU profile being
// recorded) finish for up to 5 s.
func (o *Ops) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           o.mux,
		ReadHeaderTimeout: 5 * time.Second,
		ErrorLog:          slog.NewLogLogger(o.opts.Logger.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	o.opts.Logger.Info("ops serving", "addr", ln.Addr().String(), "pprof", o.opts.Pprof)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		_ = hs.Close()
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
