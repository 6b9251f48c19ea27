package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"time"

	"connectrpc.com/connect"
	"connectrpc.com/grpchealth"
	"connectrpc.com/grpcreflect"
	"go.opentelemetry.io/otel/trace"

	"healthcore/platform/mtls"
)

// Options configures a Server.
type Options struct {
	// Addr is the listen address, e.g. ":7001" or "127.0.0.1:0".
	Addr   string
	Logger *slog.Logger
	// Metrics records per-RPC metrics; share one per process.
	Metrics *Metrics
	// Tracer records a span per call (nil: no tracing): the service's TracerProvider.
	Tracer trace.TracerProvider
	// Reflection serves gRPC server reflection (grpcurl's list and describe); off, a
	// client needs the proto files. Metrics are served by the process's ops listener
	// (Ops), never here.
	Reflection bool
	// Auth authenticates calls (authn.Interceptor); nil means no authentication, which
	// only tests of the platform itself use.
	Auth connect.Interceptor
	// TrustedProxies are peers (the gateway, a load balancer) whose X-Forwarded-For is
	// believed when finding the client address.
	TrustedProxies []netip.Prefix
	// DrainDelay is how long the server keeps serving after reporting NOT_SERVING, so
	// load balancers stop sending before connections close.
	DrainDelay time.Duration
	// ShutdownTimeout bounds how long in-flight calls may take to finish.
	ShutdownTimeout time.Duration
	// ReadMaxBytes limits the size of one request message.
	ReadMaxBytes int
	// TLS, when set, makes the server answer HTTP/2 over TLS 1.3 only (by ALPN) with
	// the source's certificate, verifying client certificates against its CA and
	// recording the service a client's certificate names for the interceptor. Nil
	// serves h2c (development, or behind a mesh that terminates TLS).
	TLS *mtls.Source
	// Ready, when set, says whether what the services need to serve is there (their
	// database): while it fails, health reports every service NOT_SERVING, and SERVING
	// again once it passes. Asked at most once a second, each time for at most 2 s.
	Ready func(context.Context) error
}

// Server serves the Connect handlers of one or more services on one port.
type Server struct {
	opts    Options
	tracing connect.Interceptor // nil without Options.Tracer
	mux     *http.ServeMux
	names   []string
	checker *grpchealth.StaticChecker
}

// New returns a server with nothing mounted.
func New(opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.ShutdownTimeout == 0 {
		opts.ShutdownTimeout = 20 * time.Second
	}
	if opts.ReadMaxBytes == 0 {
		opts.ReadMaxBytes = 4 << 20
	}
	s := &Server{opts: opts, mux: http.NewServeMux()}
	if opts.Tracer != nil {
		s.tracing = Tracing(opts.Tracer)
	}
	return s
}

// HandlerOptions returns what every generated New…Handler of this server must be given:
// the interceptor chain and the message size limit.
//
// The order matters (docs/architecture.md records it):
//  1. recovery first, so a panic anywhere below — including in another interceptor —
//     becomes an INTERNAL answer instead of a dropped connection;
//  2. request id (and client address) next, so everything after can log them;
//  3. tracing, which continues the caller's trace (W3C traceparent): inside request
//     id, whose settled id it records on the span, and outside logging, so the call's
//     log line carries the trace and span ids and the span the status logging
//     converted; the span covers authentication, validation and the handler;
//  4. logging, which also turns domain errors into gRPC statuses: it must be outside
//     metrics and auth to log their failures with the request id;
//  5. metrics, outside auth so refused calls are counted;
//  6. authentication before validation, so anonymous callers learn nothing about the
//     shape of valid input;
//  7. validation last, right before the handler, which may then assume valid input.
func (s *Server) HandlerOptions() []connect.HandlerOption {
	chain := []connect.Interceptor{
		recovery{log: s.opts.Logger},
		requestID{trusted: s.opts.TrustedProxies},
	}
	if s.tracing != nil {
		chain = append(chain, s.tracing)
	}
	chain = append(chain, logger{log: s.opts.Logger})
	if s.opts.Metrics != nil {
		chain = append(chain, s.opts.Metrics)
	}
	if s.opts.Auth != nil {
		chain = append(chain, s.opts.Auth)
	}
	chain = append(chain, validator{})
	return []connect.HandlerOption{
		connect.WithInterceptors(chain...),
		connect.WithReadMaxBytes(s.opts.ReadMaxBytes),
	}
}

// Handle mounts what a generated New…ServiceHandler returns, so it reads
// srv.Handle(svc.Handler(srv.HandlerOptions()...)). The path ("/pkg.Service/") names the
// service reported by health and reflection.
func (s *Server) Handle(path string, h http.Handler) {
	s.names = append(s.names, strings.Trim(path, "/"))
	s.mux.Handle(path, h)
}

// Handler returns the HTTP handler with health, and reflection when Options.Reflection,
// mounted. Call it once, after every Handle.
func (s *Server) Handler() http.Handler {
	if s.checker == nil {
		s.checker = grpchealth.NewStaticChecker(s.names...)
		s.mux.Handle(grpchealth.NewHandler(&readyChecker{static: s.checker, ready: s.opts.Ready, opts: &s.opts}))
		if s.opts.Reflection {
			// Reflection lists the platform's own services too, as grpc-go servers do,
			// so that grpcurl's "list" and "describe" show health and reflection.
			listed := append(slices.Clone(s.names), grpchealth.HealthV1ServiceName,
				grpcreflect.ReflectV1ServiceName, grpcreflect.ReflectV1AlphaServiceName)
			reflector := grpcreflect.NewStaticReflector(listed...)
			s.mux.Handle(grpcreflect.NewHandlerV1(reflector))
			s.mux.Handle(grpcreflect.NewHandlerV1Alpha(reflector))
		}
	}
	return s.mux
}

// Listen opens the configured address.
func (s *Server) Listen() (net.Listener, error) {
	ln, err := net.Listen("tcp", s.opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", s.opts.Addr, err)
	}
	return ln, nil
}

// Serve serves on ln until ctx is cancelled, then stops gracefully: every service
// reports NOT_SERVING, the server keeps answering for DrainDelay, then stops accepting
// and waits up to ShutdownTimeout for in-flight calls.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	handler := withCallStack(plainForTrusted(s.Handler(), s.opts.TrustedProxies))
	if s.opts.TLS != nil {
		protocols.SetHTTP2(true)
		ln = tls.NewListener(ln, s.opts.TLS.ServerTLS())
		handler = mtls.Middleware(handler)
	} else {
		protocols.SetUnencryptedHTTP2(true)
	}
	hs := &http.Server{
		Handler:           handler,
		Protocols:         &protocols,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.opts.Logger.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	s.opts.Logger.Info("serving", "addr", ln.Addr().String(), "services", s.names, "tls", s.opts.TLS != nil)

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.checker.SetStatus("", grpchealth.StatusNotServing)
	for _, n := range s.names {
		s.checker.SetStatus(n, grpchealth.StatusNotServing)
	}
	s.opts.Logger.Info("draining", "addr", ln.Addr().String(), "delay", s.opts.DrainDelay.String())
	time.Sleep(s.opts.DrainDelay)
	sctx, cancel := context.WithTimeout(context.Background(), s.opts.ShutdownTimeout)
	defer cancel()
	err := hs.Shutdown(sctx)
	if serveErr := <-errc; !errors.Is(serveErr, http.ErrServerClosed) && err == nil {
		err = serveErr
	}
	s.opts.Logger.Info("stopped", "addr", ln.Addr().String())
	return err
}

// Run listens on the configured address and serves until ctx is cancelled.
func (s *Server) Run(ctx context.Context) error {
	ln, err := s.Listen()
	if err != nil {
		return err
	}
	return s.Serve(ctx, ln)
}
